/**
 * The OATH engine's parts in as little code and memory as they fit, for the firmware bundle that
 * runs on a small engine (QuickJS-NG, Moddable XS; see device/targets/engine). The same exports
 * and the same answers as `engines.ts` (engines-compact.test.ts checks them against it): SHA-1,
 * SHA-256 and SHA-512 as looped compressions over one working array each, the HMAC key state
 * cached per key as in the fast engines, codes padded without a table. A code costs a few small
 * allocations, which a reference-counting engine frees at once.
 */
import type { OathHmacEngine } from './engines.ts';
import type { OathAlgorithm } from './parameters.ts';

export type { OathHmacEngine } from './engines.ts';

/**
 * Each hash's initial state, then its round constants, as one array read from hex. The state's
 * length in 32-bit words names the hash everywhere below: 5 for SHA-1, 8 for SHA-256, 16 for
 * SHA-512 (whose 64-bit words are (hi, lo) pairs); its digest is the whole final state.
 */
function words(hex: string): Int32Array {
  // Eight hex digits and a space a word; the array wraps those above 2^31 to their 32-bit pattern.
  const out = new Int32Array((hex.length + 1) / 9);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(9 * i, 9 * i + 8), 16);
  return out;
}

const SHA512 = words(
  '6a09e667 f3bcc908 bb67ae85 84caa73b 3c6ef372 fe94f82b a54ff53a 5f1d36f1 510e527f ade682d1 9b05688c 2b3e6c1f 1f83d9ab fb41bd6b 5be0cd19 137e2179 ' +
  '428a2f98 d728ae22 71374491 23ef65cd b5c0fbcf ec4d3b2f e9b5dba5 8189dbbc 3956c25b f348b538 59f111f1 b605d019 923f82a4 af194f9b ab1c5ed5 da6d8118 ' +
  'd807aa98 a3030242 12835b01 45706fbe 243185be 4ee4b28c 550c7dc3 d5ffb4e2 72be5d74 f27b896f 80deb1fe 3b1696b1 9bdc06a7 25c71235 c19bf174 cf692694 ' +
  'e49b69c1 9ef14ad2 efbe4786 384f25e3 0fc19dc6 8b8cd5b5 240ca1cc 77ac9c65 2de92c6f 592b0275 4a7484aa 6ea6e483 5cb0a9dc bd41fbd4 76f988da 831153b5 ' +
  '983e5152 ee66dfab a831c66d 2db43210 b00327c8 98fb213f bf597fc7 beef0ee4 c6e00bf3 3da88fc2 d5a79147 930aa725 06ca6351 e003826f 14292967 0a0e6e70 ' +
  '27b70a85 46d22ffc 2e1b2138 5c26c926 4d2c6dfc 5ac42aed 53380d13 9d95b3df 650a7354 8baf63de 766a0abb 3c77b2a8 81c2c92e 47edaee6 92722c85 1482353b ' +
  'a2bfe8a1 4cf10364 a81a664b bc423001 c24b8b70 d0f89791 c76c51a3 0654be30 d192e819 d6ef5218 d6990624 5565a910 f40e3585 5771202a 106aa070 32bbd1b8 ' +
  '19a4c116 b8d2d0c8 1e376c08 5141ab53 2748774c df8eeb99 34b0bcb5 e19b48a8 391c0cb3 c5c95a63 4ed8aa4a e3418acb 5b9cca4f 7763e373 682e6ff3 d6b2b8a3 ' +
  '748f82ee 5defb2fc 78a5636f 43172f60 84c87814 a1f0ab72 8cc70208 1a6439ec 90befffa 23631e28 a4506ceb de82bde9 bef9a3f7 b2c67915 c67178f2 e372532b ' +
  'ca273ece ea26619c d186b8c7 21c0c207 eada7dd6 cde0eb1e f57d4f7f ee6ed178 06f067aa 72176fba 0a637dc5 a2c898a6 113f9804 bef90dae 1b710b35 131c471b ' +
  '28db77f5 23047d84 32caab7b 40c72493 3c9ebe0a 15c9bebc 431d67c4 9c100d4c 4cc5d4be cb3e42b6 597f299c fc657e2a 5fcb6fab 3ad6faec 6c44198c 4a475817',
);

const SHA1 = words('67452301 efcdab89 98badcfe 10325476 c3d2e1f0 ' + '5a827999 6ed9eba1 8f1bbcdc ca62c1d6');

/**
 * Sums of 32-bit words are carried with `sum / TWO_POW_32 >>> 0`: floor for a sum from 0 to 2^64
 * (here at most 7 · 2^32), without Math, which the firmware would otherwise instantiate whole.
 */
const TWO_POW_32 = 4294967296;

/**
 * Compresses `message` into `state`, which is changed in place; `table` is the hash's (SHA1 or SHA512).
 * Without `before` the message is whole blocks and nothing is returned. With it (the bytes already
 * compressed into `state`), the message is padded first with its 0x80 marker and bit length, and
 * the digest is returned, `state` zeroed. The three hashes and both uses are one function, not
 * several, and the working variables a, b, c… are one array shifted each round, not a local each:
 * the firmware keeps every function it has in RAM, and a slot in it for each of its locals.
 * Rotations are written out, not a function: a 32-bit word x rotated right by n is
 * (x >>> n | x << 32 − n); the high word of a 64-bit (hi, lo) rotated by n < 32 is
 * (hi >>> n | lo << 32 − n), its low word (lo >>> n | hi << 32 − n), and a rotation by n ≥ 32
 * swaps hi and lo and rotates by n − 32.
 */
function hash(table: Int32Array, state: Int32Array, message: Uint8Array, before?: number): Uint8Array | undefined {
  const n = state.length;
  const blockBytes = n === 16 ? 128 : 64;
  // The round's scratch words, declared once for all three hashes.
  let i: number, t: number, x: number, xl: number, y: number, yl: number, hi: number, lo = 0;
  if (before !== undefined) {
    lo = (before + message.length) * 8;
    // Whole blocks for the message, its 0x80 marker and its bit length (B / 8 bytes; B a power of two).
    const padded = new Uint8Array((message.length + blockBytes / 8 + blockBytes) & -blockBytes);
    padded.set(message);
    padded[message.length] = 0x80;
    message = padded;
  }
  let view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (before !== undefined) {
    view.setUint32(message.length - 8, lo / TWO_POW_32 >>> 0);
    view.setUint32(message.length - 4, lo >>> 0);
  }
  // The message schedule: 80 words for SHA-1, 64 for SHA-256, 80 pairs for SHA-512.
  const w = new Int32Array(n === 5 ? 80 : n === 8 ? 64 : 160);
  // The working variables a, b, c… (a pair each for SHA-512): v[0] is a.
  const v = state.slice();
  for (let block = 0; block < message.length; block += blockBytes) {
    for (i = 0; i < blockBytes / 4; i++) w[i] = view.getInt32(block + 4 * i);
    v.set(state);
    if (n === 5) {
      // SHA-1. Each round shifts a..d into b..e (the array wraps every sum modulo 2^32).
      for (t = 16; t < 80; t++) {
        x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
        w[t] = (x >>> 31 | x << 1);
      }
      for (t = 0; t < 80; t++) {
        x = v[1]!; // b
        y = v[3]!; // d
        hi = t < 20 ? y ^ (x & (v[2]! ^ y)) : t >= 40 && t < 60 ? (x & v[2]!) | (y & (x | v[2]!)) : x ^ v[2]! ^ y;
        hi += (v[0]! >>> 27 | v[0]! << 5) + v[4]! + table[5 + ((t / 20) | 0)]! + w[t]!;
        v.copyWithin(1, 0, 4);
        v[2] = (x >>> 2 | x << 30);
        v[0] = hi;
      }
    } else if (n === 8) {
      // SHA-256
      for (t = 16; t < 64; t++) {
        x = w[t - 15]!;
        y = w[t - 2]!;
        w[t] = ((x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ (x >>> 3)) + ((y >>> 17 | y << 15) ^ (y >>> 19 | y << 13) ^ (y >>> 10)) + w[t - 7]! + w[t - 16]!;
      }
      for (t = 0; t < 64; t++) {
        // t1 = h + Σ1(e) + Ch(e, f, g) + K + W in hi, t2 = Σ0(a) + Maj(a, b, c) in lo
        x = v[4]!;
        hi = v[7]! + ((x >>> 6 | x << 26) ^ (x >>> 11 | x << 21) ^ (x >>> 25 | x << 7)) + (v[6]! ^ (x & (v[5]! ^ v[6]!))) + table[16 + 2 * t]! + w[t]!;
        x = v[0]!;
        y = v[1]!;
        lo = ((x >>> 2 | x << 30) ^ (x >>> 13 | x << 19) ^ (x >>> 22 | x << 10)) + ((x & y) | (v[2]! & (x | y)));
        v.copyWithin(1, 0, 7);
        v[4]! += hi; // e = d + t1
        v[0] = hi + lo;
      }
    } else {
      // SHA-512 over 32-bit halves: a sum's low halves are carried into its high half.
      for (t = 32; t < 160; t += 2) {
        x = w[t - 30]!;
        xl = w[t - 29]!;
        y = w[t - 4]!;
        yl = w[t - 3]!;
        // σ0(x) = x ⋙ 1 ⊕ x ⋙ 8 ⊕ x ≫ 7, σ1(y) = y ⋙ 19 ⊕ y ⋙ 61 ⊕ y ≫ 6
        lo =
          (((xl >>> 1 | x << 31) ^ (xl >>> 8 | x << 24) ^ (xl >>> 7 | x << 25)) >>> 0) +
          (((yl >>> 19 | y << 13) ^ (y >>> 29 | yl << 3) ^ (yl >>> 6 | y << 26)) >>> 0) +
          (w[t - 13]! >>> 0) +
          (w[t - 31]! >>> 0);
        w[t] = ((x >>> 1 | xl << 31) ^ (x >>> 8 | xl << 24) ^ (x >>> 7)) + ((y >>> 19 | yl << 13) ^ (yl >>> 29 | y << 3) ^ (y >>> 6)) + w[t - 14]! + w[t - 32]! + (lo / TWO_POW_32 >>> 0);
        w[t + 1] = lo;
      }
      for (t = 0; t < 160; t += 2) {
        // t1 = h + Σ1(e) + Ch(e, f, g) + K + W: hi without the low half's carry, lo unreduced.
        // Σ1(e) = e ⋙ 14 ⊕ e ⋙ 18 ⊕ e ⋙ 41, Σ0(a) = a ⋙ 28 ⊕ a ⋙ 34 ⊕ a ⋙ 39
        x = v[8]!;
        xl = v[9]!;
        lo = (v[15]! >>> 0) + (((xl >>> 14 | x << 18) ^ (xl >>> 18 | x << 14) ^ (x >>> 9 | xl << 23)) >>> 0) + ((v[13]! ^ (xl & (v[11]! ^ v[13]!))) >>> 0) + (table[17 + t]! >>> 0) + (w[t + 1]! >>> 0);
        hi = v[14]! + ((x >>> 14 | xl << 18) ^ (x >>> 18 | xl << 14) ^ (xl >>> 9 | x << 23)) + (v[12]! ^ (x & (v[10]! ^ v[12]!))) + table[16 + t]! + w[t]!;
        // t2 = Σ0(a) + Maj(a, b, c), the same way, into (y, yl), which it reads last.
        x = v[0]!;
        xl = v[1]!;
        y = v[2]!;
        yl = v[3]!;
        yl = (((xl >>> 28 | x << 4) ^ (x >>> 2 | xl << 30) ^ (x >>> 7 | xl << 25)) >>> 0) + (((xl & yl) | (v[5]! & (xl | yl))) >>> 0);
        y = ((x >>> 28 | xl << 4) ^ (xl >>> 2 | x << 30) ^ (xl >>> 7 | x << 25)) + ((x & y) | (v[4]! & (x | y)));
        v.copyWithin(2, 0, 14);
        // e = d + t1 (d has just moved into e's place), a = t1 + t2
        // (x, free now, holds each low half's sum.)
        x = (v[9]! >>> 0) + lo;
        v[8]! += hi + (x / TWO_POW_32 >>> 0);
        v[9] = x;
        x = lo + yl;
        v[0] = hi + y + (x / TWO_POW_32 >>> 0);
        v[1] = x;
      }
    }
    // The chaining value: each word plus the block's result, modulo 2^32 (the array wraps it);
    // SHA-512's low words carry into their high ones.
    for (i = n - 1, lo = 0; i >= 0; i--) {
      x = (state[i]! >>> 0) + (v[i]! >>> 0) + lo;
      state[i] = x;
      lo = n === 16 && i % 2 ? x / TWO_POW_32 >>> 0 : 0;
    }
  }
  w.fill(0);
  v.fill(0);
  if (before === undefined) return undefined;
  message.fill(0); // the padded copy
  // The digest, in the padded copy's variable (one local fewer).
  message = new Uint8Array(n * 4);
  view = new DataView(message.buffer);
  for (i = 0; i < n; i++) view.setInt32(4 * i, state[i]!);
  state.fill(0);
  return message;
}

/** Prepares `secret` (not retained) as an HMAC key of `algorithm`: the key blocks are compressed once. */
export function createHmacEngine(algorithm: OathAlgorithm, secret: Uint8Array): OathHmacEngine {
  // SHA-256 has no table of its own: its initial state and round constants are the high halves of
  // SHA-512's first 8 and 64 words (the first 32 and 64 bits of the same roots' fractional parts).
  const table = algorithm === 'sha1' ? SHA1 : SHA512;
  const n = algorithm === 'sha1' ? 5 : algorithm === 'sha256' ? 8 : 16;
  const blockBytes = n === 16 ? 128 : 64;
  // The initial state (SHA-256's: every other word of SHA-512's, its high halves).
  const inner = new Int32Array(n);
  let i: number;
  for (i = 0; i < n; i++) inner[i] = table[n === 8 ? 2 * i : i]!;
  const outer = inner.slice();
  const block = new Uint8Array(blockBytes);
  if (secret.length > blockBytes) {
    const digest = hash(table, inner.slice(), secret, 0)!;
    block.set(digest);
    digest.fill(0);
  } else {
    block.set(secret);
  }
  for (i = 0; i < blockBytes; i++) block[i]! ^= 0x36;
  hash(table, inner, block);
  for (i = 0; i < blockBytes; i++) block[i]! ^= 0x36 ^ 0x5c;
  hash(table, outer, block);
  block.fill(0);
  const counter = new Uint8Array(8);
  const counterView = new DataView(counter.buffer);
  return {
    truncatedValue(counterHi, counterLo) {
      counterView.setUint32(0, counterHi);
      counterView.setUint32(4, counterLo);
      const innerDigest = hash(table, inner.slice(), counter, blockBytes)!;
      const mac = hash(table, outer.slice(), innerDigest, blockBytes)!;
      innerDigest.fill(0);
      // RFC 4226's dynamic truncation: 31 bits from the offset the last byte's low nibble gives.
      const value = new DataView(mac.buffer).getUint32(mac[mac.length - 1]! & 0xf) & 0x7fffffff;
      mac.fill(0);
      return value;
    },
    wipe() {
      inner.fill(0);
      outer.fill(0);
      counter.fill(0);
    },
  };
}

/** `value` (below 10^digits) as exactly `digits` characters. */
export function padDigits(value: number, digits: number): string {
  return String(value).padStart(digits, '0');
}
