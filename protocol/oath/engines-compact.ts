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
 * Each hash's initial state, then its round constants, as one array. The state's length in 32-bit
 * words names the hash everywhere below: 5 for SHA-1, 8 for SHA-256, 16 for SHA-512 (whose 64-bit
 * words are (hi, lo) pairs); its digest is the whole final state.
 */
const words = (hex: string): Int32Array => Int32Array.from(hex.split(' '), (word) => parseInt(word, 16) | 0);

const TABLES: Readonly<Record<OathAlgorithm, Int32Array>> = {
  sha1: words('67452301 efcdab89 98badcfe 10325476 c3d2e1f0 ' + '5a827999 6ed9eba1 8f1bbcdc ca62c1d6'),
  sha256: words(
    '6a09e667 bb67ae85 3c6ef372 a54ff53a 510e527f 9b05688c 1f83d9ab 5be0cd19 ' +
    '428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5 d807aa98 12835b01 243185be 550c7dc3 72be5d74 80deb1fe 9bdc06a7 c19bf174 ' +
    'e49b69c1 efbe4786 0fc19dc6 240ca1cc 2de92c6f 4a7484aa 5cb0a9dc 76f988da 983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 06ca6351 14292967 ' +
    '27b70a85 2e1b2138 4d2c6dfc 53380d13 650a7354 766a0abb 81c2c92e 92722c85 a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070 ' +
    '19a4c116 1e376c08 2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3 748f82ee 78a5636f 84c87814 8cc70208 90befffa a4506ceb bef9a3f7 c67178f2',
  ),
  sha512: words(
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
  ),
};

/**
 * The high word of the 64-bit (hi, lo) rotated right by n, 0 < n < 32; its low word is
 * rotr(lo, hi, n), a rotation by n ≥ 32 swaps hi and lo and rotates by n − 32, and a 32-bit word
 * x rotated is rotr(x, x, n).
 */
const rotr = (hi: number, lo: number, n: number): number => (hi >>> n) | (lo << (32 - n));
const TWO_POW_32 = 4294967296;

/**
 * Compresses `message` into `state`, which is changed in place; `table` is the hash's from TABLES.
 * Without `before` the message is whole blocks and nothing is returned. With it (the bytes already
 * compressed into `state`), the message is padded first with its 0x80 marker and bit length, and
 * the digest is returned, `state` zeroed. The three hashes and both uses are one function, not
 * several: the firmware keeps every function it has in RAM.
 */
function hash(table: Int32Array, state: Int32Array, message: Uint8Array, before?: number): Uint8Array | undefined {
  const n = state.length;
  const blockBytes = n === 16 ? 128 : 64;
  let bytes = message;
  if (before !== undefined) {
    bytes = new Uint8Array(Math.ceil((message.length + 1 + blockBytes / 8) / blockBytes) * blockBytes);
    bytes.set(message);
    bytes[message.length] = 0x80;
    const bits = (before + message.length) * 8;
    const end = new DataView(bytes.buffer);
    end.setUint32(bytes.length - 8, Math.floor(bits / TWO_POW_32));
    end.setUint32(bytes.length - 4, bits >>> 0);
  }
  // The message schedule: 80 words for SHA-1, 64 for SHA-256, 80 pairs for SHA-512.
  const w = new Int32Array(n === 5 ? 80 : n === 8 ? 64 : 160);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0; block < bytes.length; block += blockBytes) {
    for (let i = 0; i < blockBytes / 4; i++) w[i] = view.getInt32(block + 4 * i);
    if (n === 5) {
      // SHA-1
      for (let t = 16; t < 80; t++) {
        const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
        w[t] = rotr(x, x, 31);
      }
      let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!;
      for (let t = 0; t < 80; t++) {
        const f = t < 20 ? d ^ (b & (c ^ d)) : t >= 40 && t < 60 ? (b & c) | (d & (b | c)) : b ^ c ^ d;
        const next = (rotr(a, a, 27) + f + e + table[5 + ((t / 20) | 0)]! + w[t]!) | 0;
        e = d;
        d = c;
        c = rotr(b, b, 2);
        b = a;
        a = next;
      }
      // The chaining value: each word plus the block's result, modulo 2^32 (the array wraps it).
      state[0]! += a;
      state[1]! += b;
      state[2]! += c;
      state[3]! += d;
      state[4]! += e;
    } else if (n === 8) {
      // SHA-256
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15]!;
        const y = w[t - 2]!;
        w[t] = (rotr(x, x, 7) ^ rotr(x, x, 18) ^ (x >>> 3)) + (rotr(y, y, 17) ^ rotr(y, y, 19) ^ (y >>> 10)) + w[t - 7]! + w[t - 16]!;
      }
      let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
      for (let t = 0; t < 64; t++) {
        const t1 = (h + (rotr(e, e, 6) ^ rotr(e, e, 11) ^ rotr(e, e, 25)) + (g ^ (e & (f ^ g))) + table[8 + t]! + w[t]!) | 0;
        const t2 = ((rotr(a, a, 2) ^ rotr(a, a, 13) ^ rotr(a, a, 22)) + ((a & b) | (c & (a | b)))) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      state[0]! += a;
      state[1]! += b;
      state[2]! += c;
      state[3]! += d;
      state[4]! += e;
      state[5]! += f;
      state[6]! += g;
      state[7]! += h;
    } else {
      // SHA-512 over 32-bit halves: a sum's low halves are carried into its high half.
      for (let t = 32; t < 160; t += 2) {
        const xh = w[t - 30]!, xl = w[t - 29]!, yh = w[t - 4]!, yl = w[t - 3]!;
        // σ0(x) = x ⋙ 1 ⊕ x ⋙ 8 ⊕ x ≫ 7, σ1(y) = y ⋙ 19 ⊕ y ⋙ 61 ⊕ y ≫ 6
        const lo =
          ((rotr(xl, xh, 1) ^ rotr(xl, xh, 8) ^ rotr(xl, xh, 7)) >>> 0) +
          ((rotr(yl, yh, 19) ^ rotr(yh, yl, 29) ^ rotr(yl, yh, 6)) >>> 0) +
          (w[t - 13]! >>> 0) +
          (w[t - 31]! >>> 0);
        w[t] = (rotr(xh, xl, 1) ^ rotr(xh, xl, 8) ^ (xh >>> 7)) + (rotr(yh, yl, 19) ^ rotr(yl, yh, 29) ^ (yh >>> 6)) + w[t - 14]! + w[t - 32]! + Math.floor(lo / TWO_POW_32);
        w[t + 1] = lo;
      }
      let ah = state[0]!, al = state[1]!, bh = state[2]!, bl = state[3]!, ch = state[4]!, cl = state[5]!, dh = state[6]!, dl = state[7]!;
      let eh = state[8]!, el = state[9]!, fh = state[10]!, fl = state[11]!, gh = state[12]!, gl = state[13]!, hh = state[14]!, hl = state[15]!;
      for (let t = 0; t < 160; t += 2) {
        // Σ1(e) = e ⋙ 14 ⊕ e ⋙ 18 ⊕ e ⋙ 41, Σ0(a) = a ⋙ 28 ⊕ a ⋙ 34 ⊕ a ⋙ 39
        const t1l = (hl >>> 0) + ((rotr(el, eh, 14) ^ rotr(el, eh, 18) ^ rotr(eh, el, 9)) >>> 0) + ((gl ^ (el & (fl ^ gl))) >>> 0) + (table[17 + t]! >>> 0) + (w[t + 1]! >>> 0);
        const t1h = hh + (rotr(eh, el, 14) ^ rotr(eh, el, 18) ^ rotr(el, eh, 9)) + (gh ^ (eh & (fh ^ gh))) + table[16 + t]! + w[t]! + Math.floor(t1l / TWO_POW_32);
        const t2l = ((rotr(al, ah, 28) ^ rotr(ah, al, 2) ^ rotr(ah, al, 7)) >>> 0) + (((al & bl) | (cl & (al | bl))) >>> 0);
        const t2h = (rotr(ah, al, 28) ^ rotr(al, ah, 2) ^ rotr(al, ah, 7)) + ((ah & bh) | (ch & (ah | bh))) + Math.floor(t2l / TWO_POW_32);
        hh = gh;
        hl = gl;
        gh = fh;
        gl = fl;
        fh = eh;
        fl = el;
        const e = (dl >>> 0) + (t1l >>> 0);
        eh = (dh + t1h + Math.floor(e / TWO_POW_32)) | 0;
        el = e | 0;
        dh = ch;
        dl = cl;
        ch = bh;
        cl = bl;
        bh = ah;
        bl = al;
        const a = (t1l >>> 0) + (t2l >>> 0);
        ah = (t1h + t2h + Math.floor(a / TWO_POW_32)) | 0;
        al = a | 0;
      }
      const v = [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl];
      for (let i = 0; i < 16; i += 2) {
        const lo = (state[i + 1]! >>> 0) + (v[i + 1]! >>> 0);
        state[i] = state[i]! + v[i]! + Math.floor(lo / TWO_POW_32);
        state[i + 1] = lo;
      }
    }
  }
  w.fill(0);
  if (before === undefined) return undefined;
  bytes.fill(0);
  const digest = new Uint8Array(n * 4);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < n; i++) out.setInt32(4 * i, state[i]!);
  state.fill(0);
  return digest;
}

/** Prepares `secret` (not retained) as an HMAC key of `algorithm`: the key blocks are compressed once. */
export function createHmacEngine(algorithm: OathAlgorithm, secret: Uint8Array): OathHmacEngine {
  const table = TABLES[algorithm];
  const initial = table.subarray(0, algorithm === 'sha1' ? 5 : algorithm === 'sha256' ? 8 : 16);
  const blockBytes = algorithm === 'sha512' ? 128 : 64;
  const block = new Uint8Array(blockBytes);
  if (secret.length > blockBytes) {
    const digest = hash(table, initial.slice(), secret, 0)!;
    block.set(digest);
    digest.fill(0);
  } else {
    block.set(secret);
  }
  const inner = initial.slice();
  const outer = initial.slice();
  for (let i = 0; i < block.length; i++) block[i]! ^= 0x36;
  hash(table, inner, block);
  for (let i = 0; i < block.length; i++) block[i]! ^= 0x36 ^ 0x5c;
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
      const offset = mac[mac.length - 1]! & 0xf;
      const value = new DataView(mac.buffer).getUint32(offset) & 0x7fffffff;
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
