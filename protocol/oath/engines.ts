/**
 * The OATH engine's fast parts, for V8 and the server's hot path: the hand-written SHA-1 with its
 * generated, unrolled per-code digest, @noble/hashes for SHA-256/512, and codes written three
 * digits at a time from a table. The firmware bundle for small engines swaps this module for
 * `engines-compact.ts` (same exports, same answers, a fraction of the code; see
 * device/build/firmware-bundle.ts).
 */
import { createNobleOathHmac } from './noble-hmac.ts';
import type { OathAlgorithm } from './parameters.ts';
import { Sha1OathHmac } from './sha1-hmac.ts';

/** A prepared HMAC key: the counter arrives split into 32-bit halves. */
export interface OathHmacEngine {
  /** RFC 4226 dynamic truncation of HMAC(key, counter): a 31-bit number. */
  truncatedValue(counterHi: number, counterLo: number): number;
  /** Overwrites the cached key state with zeros. */
  wipe(): void;
}

/** Prepares `secret` (not retained) as an HMAC key of `algorithm`. */
export function createHmacEngine(algorithm: OathAlgorithm, secret: Uint8Array): OathHmacEngine {
  return algorithm === 'sha1' ? new Sha1OathHmac(secret) : createNobleOathHmac(algorithm, secret);
}

/** "000".."999": a code is written as two or three of these, not digit by digit. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/** `value` (already checked to be below 10^digits, digits 6..8) as exactly `digits` characters. */
export function padDigits(value: number, digits: number): string {
  const high = Math.floor(value / 1_000_000);
  const middle = Math.floor(value / 1000) % 1000;
  const six = THREE_DIGITS[middle]! + THREE_DIGITS[value % 1000]!;
  return digits === 6 ? six : THREE_DIGITS[high]!.slice(9 - digits) + six;
}
