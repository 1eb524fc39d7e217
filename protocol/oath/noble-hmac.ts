/**
 * HMAC-SHA-256 / HMAC-SHA-512 for OATH over @noble/hashes, shaped like the SHA-1 engine:
 * the HMAC is keyed once (noble compresses `key ^ ipad` and `key ^ opad` in the constructor),
 * and each code clones that prepared state into a preallocated scratch instead of re-keying.
 */
import { _HMAC } from '@noble/hashes/hmac.js';
import { sha256, sha512, type _SHA256, type _SHA512 } from '@noble/hashes/sha2.js';
import type { CHash, Hash } from '@noble/hashes/utils.js';

export type NobleOathAlgorithm = 'sha256' | 'sha512';

/** Prepares `secret` as an HMAC-SHA-256 or HMAC-SHA-512 key. */
export function createNobleOathHmac(algorithm: NobleOathAlgorithm, secret: Uint8Array): NobleOathHmac {
  return algorithm === 'sha256'
    ? new NobleOathHmac<_SHA256>(sha256, secret)
    : new NobleOathHmac<_SHA512>(sha512, secret);
}

/** A prepared HMAC key for OATH. The prepared state is as secret as the key: `wipe()` when done. */
export class NobleOathHmac<T extends Hash<T> = _SHA256 | _SHA512> {
  readonly #prepared: _HMAC<T>;
  readonly #scratch: _HMAC<T>;
  readonly #counter = new Uint8Array(8);
  readonly #counterView = new DataView(this.#counter.buffer);
  readonly #mac: Uint8Array;

  constructor(hash: CHash<T>, secret: Uint8Array) {
    this.#prepared = new _HMAC<T>(hash, secret);
    this.#scratch = this.#prepared.clone();
    this.#mac = new Uint8Array(this.#prepared.outputLen);
  }

  /**
   * RFC 4226 §5.3 dynamic truncation of HMAC(key, counter), the counter given as its high and
   * low 32-bit halves. Returns a 31-bit non-negative number.
   */
  truncatedValue(counterHi: number, counterLo: number): number {
    const view = this.#counterView;
    view.setUint32(0, counterHi);
    view.setUint32(4, counterLo);
    const scratch = this.#prepared._cloneInto(this.#scratch);
    scratch.update(this.#counter);
    // digestInto also destroys (zeroes) the scratch; the next _cloneInto revives it.
    scratch.digestInto(this.#mac);
    const mac = this.#mac;
    const offset = mac[mac.length - 1]! & 0xf;
    return (
      ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!
    );
  }

  /** Overwrites the prepared state, scratch and buffers with zeros. */
  wipe(): void {
    this.#prepared.destroy();
    this.#scratch.destroy();
    this.#counter.fill(0);
    this.#mac.fill(0);
  }
}
