/**
 * The paper code card (nøglekort): 148 pairs of a 4-digit number and its 6-digit key, all derived
 * from the card's 32-byte secret, so the store keeps only that secret (sealed) and a bitmap of the
 * keys used. The service, not the person, picks which number to ask for.
 *
 * Derivation: two byte streams, HMAC-SHA256(secret, label | counter) for counter = 0, 1, 2, …
 * (label the ASCII "numbers" or "keys", counter 4 bytes big-endian), concatenated. Numbers take 2
 * bytes at a time (big-endian, 0…65535), keys 3 bytes (0…16777215); a value at or above the largest
 * multiple of the range (60000, 16000000) is skipped so the remainder is unbiased, and so is a
 * value already on the card. Pair i is the i-th number kept with the i-th key kept.
 *
 * Used keys: bit (i mod 8) of byte ⌊i / 8⌋, least significant bit first.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';
import { CARD_KEYS } from './store/types.ts';

export interface CardPair {
  /** 4 digits, leading zeros kept. */
  readonly number: string;
  /** 6 digits, leading zeros kept. */
  readonly key: string;
}

export const CARD_SECRET_BYTES = 32;
export const USED_KEYS_BYTES = Math.ceil(CARD_KEYS / 8);

export function newCardSecret(): Uint8Array {
  return new Uint8Array(randomBytes(CARD_SECRET_BYTES));
}

/** The card's 148 pairs, always the same for the same secret. */
export function cardPairs(secret: Uint8Array): CardPair[] {
  if (secret.length !== CARD_SECRET_BYTES) throw new RangeError(`a card secret is ${CARD_SECRET_BYTES} bytes`);
  const numbers = distinctValues(secret, 'numbers', 2, 10_000);
  const keys = distinctValues(secret, 'keys', 3, 1_000_000);
  return numbers.map((number, i) => ({ number: String(number).padStart(4, '0'), key: String(keys[i]).padStart(6, '0') }));
}

/** CARD_KEYS distinct values in [0, range), read `width` bytes at a time from the label's stream. */
function distinctValues(secret: Uint8Array, label: string, width: number, range: number): number[] {
  const limit = Math.floor(256 ** width / range) * range;
  const seen = new Set<number>();
  const values: number[] = [];
  let block: Buffer = Buffer.alloc(0);
  let offset = 0;
  let counter = 0;
  const nextByte = (): number => {
    if (offset === block.length) {
      const message = Buffer.alloc(label.length + 4);
      message.write(label, 'ascii');
      message.writeUInt32BE(counter++, label.length);
      block = createHmac('sha256', secret).update(message).digest();
      offset = 0;
    }
    return block[offset++] ?? 0;
  };
  while (values.length < CARD_KEYS) {
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 256 + nextByte();
    if (value >= limit) continue;
    value %= range;
    if (seen.has(value)) continue;
    seen.add(value);
    values.push(value);
  }
  return values;
}

/** A card's printed serial, `K` and nine random digits: `K123-456-789`. */
export function newCardSerial(): string {
  const digits = String(randomInt(1_000_000_000)).padStart(9, '0');
  return `K${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
}

export function emptyUsedKeys(): Uint8Array {
  return new Uint8Array(USED_KEYS_BYTES);
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= CARD_KEYS) throw new RangeError(`a key index is 0–${CARD_KEYS - 1}`);
}

function checkUsed(used: Uint8Array): void {
  if (used.length !== USED_KEYS_BYTES) throw new RangeError(`a used-keys bitmap is ${USED_KEYS_BYTES} bytes`);
}

export function isKeyUsed(used: Uint8Array, index: number): boolean {
  checkUsed(used);
  checkIndex(index);
  return ((used[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
}

/** A copy of `used` with key `index` marked used. */
export function withKeyUsed(used: Uint8Array, index: number): Uint8Array {
  checkUsed(used);
  checkIndex(index);
  const copy = new Uint8Array(used);
  copy[index >> 3] = (copy[index >> 3] ?? 0) | (1 << (index & 7));
  return copy;
}

/** How many of the card's keys are not used yet. */
export function countUnusedKeys(used: Uint8Array): number {
  let unused = 0;
  for (let index = 0; index < CARD_KEYS; index++) if (!isKeyUsed(used, index)) unused++;
  return unused;
}

/** A uniformly random index among the keys not used yet; 409 NV_CARD_USED_UP when there is none. */
export function chooseChallenge(usedKeys: Uint8Array): number {
  const unused: number[] = [];
  for (let index = 0; index < CARD_KEYS; index++) if (!isKeyUsed(usedKeys, index)) unused.push(index);
  if (unused.length === 0) throw new CodedError('NV_CARD_USED_UP', 'every key on this code card has been used', 409);
  return unused[randomInt(unused.length)] ?? 0;
}

/** Whether `key` is the key of pair `index`, compared in constant time; false for anything not 6 digits. */
export function keyMatches(pairs: readonly CardPair[], index: number, key: string): boolean {
  const pair = Number.isInteger(index) ? pairs[index] : undefined;
  if (!pair || !/^[0-9]{6}$/.test(key) || pair.key.length !== 6) return false;
  return timingSafeEqual(Buffer.from(key, 'ascii'), Buffer.from(pair.key, 'ascii'));
}
