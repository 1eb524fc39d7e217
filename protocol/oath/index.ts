/**
 * The OATH code engine that the token firmware and the validation server both compute with:
 * HOTP (RFC 4226) and TOTP (RFC 6238) over HMAC-SHA-1/256/512.
 *
 * Firmware-safe: imports nothing from Node. Keys are prepared once (the HMAC key state is cached)
 * and each code then costs two hash compressions for SHA-1.
 */
import { createHmacEngine, padDigits, type OathHmacEngine } from './engines.ts';
import { MAX_DIGITS, MIN_DIGITS, OATH_ALGORITHMS, type OathAlgorithm } from './parameters.ts';

export { MAX_DIGITS, MIN_DIGITS, OATH_ALGORITHMS, type OathAlgorithm } from './parameters.ts';


/** A prepared key: holds the HMAC key state, which is as secret as the seed itself. */
export interface OathKey {
  readonly algorithm: OathAlgorithm;
  /** RFC 4226 dynamic truncation of HMAC(key, counter): a 31-bit number. */
  truncatedValue(counter: number): number;
  /** Overwrites the cached key state with zeros; the key is unusable afterwards (throws). */
  destroy(): void;
}

// The messages below are short: only a programming mistake reaches them (the token and the server
// check what they are given first), and the firmware keeps each text loaded.
const TWO_POW_32 = 2 ** 32;
const TOTP_TIME = 'TOTP time: not finite, before T0 or its step above 2^53-1';
const POWERS_OF_TEN: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

function assertDigits(digits: number): void {
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(`OATH digits: not an integer ${MIN_DIGITS}..${MAX_DIGITS}`);
  }
}

class PreparedOathKey implements OathKey {
  readonly algorithm: OathAlgorithm;
  #engine: OathHmacEngine | null;
  declare toJSON: () => string;

  constructor(algorithm: OathAlgorithm, engine: OathHmacEngine) {
    this.algorithm = algorithm;
    this.#engine = engine;
  }

  truncatedValue(counter: number): number {
    const engine = this.#engine;
    if (engine === null) throw new Error(`${this.toString()} has been destroyed`);
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw new RangeError('OATH counter: not an integer 0..2^53-1');
    }
    // The counter's 32-bit halves, without Math (which a small engine instantiates whole on first
    // use): `>>> 0` is the low half exactly for a safe integer from 0 up, so the rest is exact too.
    return engine.truncatedValue((counter - (counter >>> 0)) / TWO_POW_32, counter >>> 0);
  }

  destroy(): void {
    this.#engine?.wipe();
    this.#engine = null;
  }

  // An accidental log line or JSON dump of a key shows only its kind, never its state.
  toString(): string {
    return `OathKey(${this.algorithm})`;
  }
}

// JSON and Node's inspect show the key by the same function as toString, not one function each
// (the firmware keeps every function in RAM); non-enumerable, as class methods are.
for (const name of ['toJSON', Symbol.for('nodejs.util.inspect.custom')]) {
  Object.defineProperty(PreparedOathKey.prototype, name, { value: PreparedOathKey.prototype.toString, writable: true, configurable: true });
}

/**
 * Prepares `secret` for code generation. The caller keeps ownership of `secret` (it is not
 * retained or modified); the returned key holds derived state until `destroy()`.
 */
export function createOathKey(secret: Uint8Array, algorithm: OathAlgorithm): OathKey {
  if (!(secret instanceof Uint8Array)) throw new TypeError('OATH secret: not a Uint8Array');
  if (secret.length < 1) throw new RangeError('OATH secret: empty');
  // indexOf, not includes: the firmware calls indexOf already, and each built-in method it calls
  // costs it memory.
  if (OATH_ALGORITHMS.indexOf(algorithm) < 0) throw new TypeError(`OATH algorithm: not one of ${OATH_ALGORITHMS.join(', ')}`);
  return new PreparedOathKey(algorithm, createHmacEngine(algorithm, secret));
}

/** The numeric HOTP code (value mod 10^digits). `digits` is 6..8, else RangeError. */
export function hotpValue(key: OathKey, counter: number, digits: number): number {
  // assertDigits, inline: this is the server's hot loop, and the firmware's one function fewer.
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(`OATH digits: not an integer ${MIN_DIGITS}..${MAX_DIGITS}`);
  }
  return key.truncatedValue(counter) % POWERS_OF_TEN[digits]!;
}

/** The code as a zero-padded string of `digits` characters. */
export function hotpCode(key: OathKey, counter: number, digits: number): string {
  // hotpValue and padDigits, inline: the firmware calls only this one, and keeps every function
  // it has in RAM; 10 ** digits (exact) rather than POWERS_OF_TEN, the server's hot loop's table,
  // which the firmware then leaves out. (The server verifies with hotpValue, not this.)
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(`OATH digits: not an integer ${MIN_DIGITS}..${MAX_DIGITS}`);
  }
  return String(key.truncatedValue(counter) % 10 ** digits).padStart(digits, '0');
}

/** Zero-pads a code value to `digits` characters; the value must be below 10^digits. */
export function formatCode(value: number, digits: number): string {
  assertDigits(digits);
  if (!Number.isInteger(value) || value < 0 || value >= POWERS_OF_TEN[digits]!) {
    throw new RangeError(`OATH code value must be an integer from 0 to 10^${digits}-1`);
  }
  return padDigits(value, digits);
}

/**
 * RFC 6238 time step: floor((unixMs/1000 - t0Seconds) / periodSeconds). Throws RangeError for a
 * time before T0 (there is no step to compute a code for) or a period that is not a whole
 * number of seconds ≥ 1.
 */
export function totpStep(unixMs: number, periodSeconds: number, t0Seconds = 0): number {
  if (!Number.isSafeInteger(periodSeconds) || periodSeconds < 1 || !Number.isSafeInteger(t0Seconds)) {
    throw new RangeError('TOTP period or T0: not whole seconds (the period at least 1)');
  }
  // Integer milliseconds over integer milliseconds: one rounding, so exact step boundaries.
  const quotient = (unixMs - t0Seconds * 1000) / (periodSeconds * 1000);
  // One message for every bad time (a NaN or -Infinity fails here, +Infinity at the step's check
  // below): the firmware keeps each distinct text loaded.
  if (!(quotient >= 0)) throw new RangeError(TOTP_TIME);
  // Its floor without Math (which a small engine instantiates whole on first use), for a number
  // from 0 up: `>>> 0` below 2^32 (as fast as Math.floor on V8), else less its fraction, which
  // `% 1` gives exactly (NaN for +Infinity).
  const step = quotient < TWO_POW_32 ? quotient >>> 0 : quotient - (quotient % 1);
  if (!Number.isSafeInteger(step)) throw new RangeError(TOTP_TIME);
  return step;
}

/** The TOTP code (T0 = 0) at `unixMs` as a zero-padded string of `digits` characters. */
export function totpCode(key: OathKey, unixMs: number, periodSeconds: number, digits: number): string {
  return hotpCode(key, totpStep(unixMs, periodSeconds), digits);
}
