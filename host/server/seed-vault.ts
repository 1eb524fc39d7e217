/**
 * Seeds at rest: AES-256-GCM under the master key, each sealed with a fresh nonce and bound to its
 * token's serial (as additional data), so a sealed seed copied onto another record does not open.
 *
 *   sealed = version (1 byte) | nonce (12) | tag (16) | ciphertext
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

export class VaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultError';
  }
}

export class SeedVault {
  readonly #key: Buffer;

  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== MASTER_KEY_BYTES) throw new VaultError(`the master key must be ${MASTER_KEY_BYTES} bytes`);
    this.#key = Buffer.from(masterKey);
  }

  seal(serial: string, seed: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(additionalData(serial));
    const ciphertext = Buffer.concat([cipher.update(seed), cipher.final()]);
    return new Uint8Array(Buffer.concat([Buffer.of(VERSION), nonce, cipher.getAuthTag(), ciphertext]));
  }

  /** The seed; the caller wipes it (`fill(0)`) as soon as it has made its key. */
  open(serial: string, sealed: Uint8Array): Uint8Array {
    const bytes = Buffer.from(sealed);
    if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== VERSION) throw new VaultError(`the sealed seed of ${serial} is not readable`);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(additionalData(serial));
    decipher.setAuthTag(bytes.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES));
    try {
      return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]));
    } catch {
      throw new VaultError(`the sealed seed of ${serial} does not open with this master key`);
    }
  }

  /** A keyed digest of `value` for `purpose` (e.g. a CPR number, to find a person without storing it). */
  digest(purpose: string, value: string): string {
    return createHmac('sha256', this.#key).update(`noegleviser:${purpose}:v1:`).update(value, 'utf8').digest('hex');
  }

  /** A value that identifies the master key without revealing it, stored to refuse a wrong key at start-up. */
  keyCheck(): string {
    return createHmac('sha256', this.#key).update('noegleviser master key check v1').digest('hex');
  }

  matches(check: string): boolean {
    const expected = Buffer.from(this.keyCheck(), 'hex');
    const given = Buffer.from(check, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  toJSON(): string {
    return 'SeedVault';
  }
}

function additionalData(serial: string): Buffer {
  return Buffer.from(`noegleviser:seed:v1:${serial}`, 'utf8');
}
