/**
 * HMAC-SHA-1 specialised for OATH (RFC 4226), written the way token firmware does it.
 *
 * The HMAC message is always the 8-byte big-endian counter, so:
 * - the SHA-1 chaining values after compressing `key ^ ipad` and `key ^ opad` are computed once
 *   per key (they are as secret as the key itself);
 * - each code then costs exactly two compressions: the inner block (counter + padding) and the
 *   outer block (20-byte inner digest + padding);
 * - nothing is allocated per code: the two block buffers and the working chaining words live in
 *   the key object, the message schedule in the compression function's locals.
 *
 * Words are kept as signed 32-bit integers (`| 0`), which V8 holds unboxed; callers that need
 * unsigned words use `>>> 0`.
 */

import { oathTruncatedValue } from './sha1-oath-digest.ts';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 20;

const K1 = 0x5a827999;
const K2 = 0x6ed9eba1;
const K3 = 0x8f1bbcdc | 0;
const K4 = 0xca62c1d6 | 0;

const IV: readonly number[] = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];


/**
 * Compresses one block into the five chaining words `state[at..at+4]`; `w[0..15]` holds the block
 * as big-endian words (left unchanged).
 *
 * Fully unrolled, as firmware does it: the 80-word message schedule is a ring of 16 local words
 * (w[t] replaces w[t-16] in place) and the a..e roles rotate through the variables instead of
 * being shuffled each round. In V8 this measured about twice as fast as the looped form over an
 * 80-word array. Each round is one line, e += rotl5(a) + f(b, c, d) + K + w[t]; b = rotl30(b),
 * preceded from round 16 on by the line that computes its schedule word.
 */
export function sha1Compress(state: Int32Array, at: number, w: Int32Array): void {
  let w0 = w[0]!, w1 = w[1]!, w2 = w[2]!, w3 = w[3]!, w4 = w[4]!, w5 = w[5]!, w6 = w[6]!, w7 = w[7]!;
  let w8 = w[8]!, w9 = w[9]!, w10 = w[10]!, w11 = w[11]!, w12 = w[12]!, w13 = w[13]!, w14 = w[14]!, w15 = w[15]!;
  let a = state[at]!, b = state[at + 1]!, c = state[at + 2]!, d = state[at + 3]!, e = state[at + 4]!;
  // rounds 0..19: Ch
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + K1 + w0) | 0; b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + K1 + w1) | 0; a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + K1 + w2) | 0; e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + K1 + w3) | 0; d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + K1 + w4) | 0; c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + K1 + w5) | 0; b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + K1 + w6) | 0; a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + K1 + w7) | 0; e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + K1 + w8) | 0; d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + K1 + w9) | 0; c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + K1 + w10) | 0; b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + K1 + w11) | 0; a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + K1 + w12) | 0; e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + K1 + w13) | 0; d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + K1 + w14) | 0; c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + K1 + w15) | 0; b = (b << 30) | (b >>> 2);
  w0 ^= w13 ^ w8 ^ w2; w0 = (w0 << 1) | (w0 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + K1 + w0) | 0; a = (a << 30) | (a >>> 2);
  w1 ^= w14 ^ w9 ^ w3; w1 = (w1 << 1) | (w1 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + K1 + w1) | 0; e = (e << 30) | (e >>> 2);
  w2 ^= w15 ^ w10 ^ w4; w2 = (w2 << 1) | (w2 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + K1 + w2) | 0; d = (d << 30) | (d >>> 2);
  w3 ^= w0 ^ w11 ^ w5; w3 = (w3 << 1) | (w3 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + K1 + w3) | 0; c = (c << 30) | (c >>> 2);
  // rounds 20..39: Parity
  w4 ^= w1 ^ w12 ^ w6; w4 = (w4 << 1) | (w4 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K2 + w4) | 0; b = (b << 30) | (b >>> 2);
  w5 ^= w2 ^ w13 ^ w7; w5 = (w5 << 1) | (w5 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K2 + w5) | 0; a = (a << 30) | (a >>> 2);
  w6 ^= w3 ^ w14 ^ w8; w6 = (w6 << 1) | (w6 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K2 + w6) | 0; e = (e << 30) | (e >>> 2);
  w7 ^= w4 ^ w15 ^ w9; w7 = (w7 << 1) | (w7 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K2 + w7) | 0; d = (d << 30) | (d >>> 2);
  w8 ^= w5 ^ w0 ^ w10; w8 = (w8 << 1) | (w8 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K2 + w8) | 0; c = (c << 30) | (c >>> 2);
  w9 ^= w6 ^ w1 ^ w11; w9 = (w9 << 1) | (w9 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K2 + w9) | 0; b = (b << 30) | (b >>> 2);
  w10 ^= w7 ^ w2 ^ w12; w10 = (w10 << 1) | (w10 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K2 + w10) | 0; a = (a << 30) | (a >>> 2);
  w11 ^= w8 ^ w3 ^ w13; w11 = (w11 << 1) | (w11 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K2 + w11) | 0; e = (e << 30) | (e >>> 2);
  w12 ^= w9 ^ w4 ^ w14; w12 = (w12 << 1) | (w12 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K2 + w12) | 0; d = (d << 30) | (d >>> 2);
  w13 ^= w10 ^ w5 ^ w15; w13 = (w13 << 1) | (w13 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K2 + w13) | 0; c = (c << 30) | (c >>> 2);
  w14 ^= w11 ^ w6 ^ w0; w14 = (w14 << 1) | (w14 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K2 + w14) | 0; b = (b << 30) | (b >>> 2);
  w15 ^= w12 ^ w7 ^ w1; w15 = (w15 << 1) | (w15 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K2 + w15) | 0; a = (a << 30) | (a >>> 2);
  w0 ^= w13 ^ w8 ^ w2; w0 = (w0 << 1) | (w0 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K2 + w0) | 0; e = (e << 30) | (e >>> 2);
  w1 ^= w14 ^ w9 ^ w3; w1 = (w1 << 1) | (w1 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K2 + w1) | 0; d = (d << 30) | (d >>> 2);
  w2 ^= w15 ^ w10 ^ w4; w2 = (w2 << 1) | (w2 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K2 + w2) | 0; c = (c << 30) | (c >>> 2);
  w3 ^= w0 ^ w11 ^ w5; w3 = (w3 << 1) | (w3 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K2 + w3) | 0; b = (b << 30) | (b >>> 2);
  w4 ^= w1 ^ w12 ^ w6; w4 = (w4 << 1) | (w4 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K2 + w4) | 0; a = (a << 30) | (a >>> 2);
  w5 ^= w2 ^ w13 ^ w7; w5 = (w5 << 1) | (w5 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K2 + w5) | 0; e = (e << 30) | (e >>> 2);
  w6 ^= w3 ^ w14 ^ w8; w6 = (w6 << 1) | (w6 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K2 + w6) | 0; d = (d << 30) | (d >>> 2);
  w7 ^= w4 ^ w15 ^ w9; w7 = (w7 << 1) | (w7 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K2 + w7) | 0; c = (c << 30) | (c >>> 2);
  // rounds 40..59: Maj
  w8 ^= w5 ^ w0 ^ w10; w8 = (w8 << 1) | (w8 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + K3 + w8) | 0; b = (b << 30) | (b >>> 2);
  w9 ^= w6 ^ w1 ^ w11; w9 = (w9 << 1) | (w9 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + K3 + w9) | 0; a = (a << 30) | (a >>> 2);
  w10 ^= w7 ^ w2 ^ w12; w10 = (w10 << 1) | (w10 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + K3 + w10) | 0; e = (e << 30) | (e >>> 2);
  w11 ^= w8 ^ w3 ^ w13; w11 = (w11 << 1) | (w11 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + K3 + w11) | 0; d = (d << 30) | (d >>> 2);
  w12 ^= w9 ^ w4 ^ w14; w12 = (w12 << 1) | (w12 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + K3 + w12) | 0; c = (c << 30) | (c >>> 2);
  w13 ^= w10 ^ w5 ^ w15; w13 = (w13 << 1) | (w13 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + K3 + w13) | 0; b = (b << 30) | (b >>> 2);
  w14 ^= w11 ^ w6 ^ w0; w14 = (w14 << 1) | (w14 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + K3 + w14) | 0; a = (a << 30) | (a >>> 2);
  w15 ^= w12 ^ w7 ^ w1; w15 = (w15 << 1) | (w15 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + K3 + w15) | 0; e = (e << 30) | (e >>> 2);
  w0 ^= w13 ^ w8 ^ w2; w0 = (w0 << 1) | (w0 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + K3 + w0) | 0; d = (d << 30) | (d >>> 2);
  w1 ^= w14 ^ w9 ^ w3; w1 = (w1 << 1) | (w1 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + K3 + w1) | 0; c = (c << 30) | (c >>> 2);
  w2 ^= w15 ^ w10 ^ w4; w2 = (w2 << 1) | (w2 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + K3 + w2) | 0; b = (b << 30) | (b >>> 2);
  w3 ^= w0 ^ w11 ^ w5; w3 = (w3 << 1) | (w3 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + K3 + w3) | 0; a = (a << 30) | (a >>> 2);
  w4 ^= w1 ^ w12 ^ w6; w4 = (w4 << 1) | (w4 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + K3 + w4) | 0; e = (e << 30) | (e >>> 2);
  w5 ^= w2 ^ w13 ^ w7; w5 = (w5 << 1) | (w5 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + K3 + w5) | 0; d = (d << 30) | (d >>> 2);
  w6 ^= w3 ^ w14 ^ w8; w6 = (w6 << 1) | (w6 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + K3 + w6) | 0; c = (c << 30) | (c >>> 2);
  w7 ^= w4 ^ w15 ^ w9; w7 = (w7 << 1) | (w7 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + K3 + w7) | 0; b = (b << 30) | (b >>> 2);
  w8 ^= w5 ^ w0 ^ w10; w8 = (w8 << 1) | (w8 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + K3 + w8) | 0; a = (a << 30) | (a >>> 2);
  w9 ^= w6 ^ w1 ^ w11; w9 = (w9 << 1) | (w9 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + K3 + w9) | 0; e = (e << 30) | (e >>> 2);
  w10 ^= w7 ^ w2 ^ w12; w10 = (w10 << 1) | (w10 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + K3 + w10) | 0; d = (d << 30) | (d >>> 2);
  w11 ^= w8 ^ w3 ^ w13; w11 = (w11 << 1) | (w11 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + K3 + w11) | 0; c = (c << 30) | (c >>> 2);
  // rounds 60..79: Parity
  w12 ^= w9 ^ w4 ^ w14; w12 = (w12 << 1) | (w12 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K4 + w12) | 0; b = (b << 30) | (b >>> 2);
  w13 ^= w10 ^ w5 ^ w15; w13 = (w13 << 1) | (w13 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K4 + w13) | 0; a = (a << 30) | (a >>> 2);
  w14 ^= w11 ^ w6 ^ w0; w14 = (w14 << 1) | (w14 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K4 + w14) | 0; e = (e << 30) | (e >>> 2);
  w15 ^= w12 ^ w7 ^ w1; w15 = (w15 << 1) | (w15 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K4 + w15) | 0; d = (d << 30) | (d >>> 2);
  w0 ^= w13 ^ w8 ^ w2; w0 = (w0 << 1) | (w0 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K4 + w0) | 0; c = (c << 30) | (c >>> 2);
  w1 ^= w14 ^ w9 ^ w3; w1 = (w1 << 1) | (w1 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K4 + w1) | 0; b = (b << 30) | (b >>> 2);
  w2 ^= w15 ^ w10 ^ w4; w2 = (w2 << 1) | (w2 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K4 + w2) | 0; a = (a << 30) | (a >>> 2);
  w3 ^= w0 ^ w11 ^ w5; w3 = (w3 << 1) | (w3 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K4 + w3) | 0; e = (e << 30) | (e >>> 2);
  w4 ^= w1 ^ w12 ^ w6; w4 = (w4 << 1) | (w4 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K4 + w4) | 0; d = (d << 30) | (d >>> 2);
  w5 ^= w2 ^ w13 ^ w7; w5 = (w5 << 1) | (w5 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K4 + w5) | 0; c = (c << 30) | (c >>> 2);
  w6 ^= w3 ^ w14 ^ w8; w6 = (w6 << 1) | (w6 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K4 + w6) | 0; b = (b << 30) | (b >>> 2);
  w7 ^= w4 ^ w15 ^ w9; w7 = (w7 << 1) | (w7 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K4 + w7) | 0; a = (a << 30) | (a >>> 2);
  w8 ^= w5 ^ w0 ^ w10; w8 = (w8 << 1) | (w8 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K4 + w8) | 0; e = (e << 30) | (e >>> 2);
  w9 ^= w6 ^ w1 ^ w11; w9 = (w9 << 1) | (w9 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K4 + w9) | 0; d = (d << 30) | (d >>> 2);
  w10 ^= w7 ^ w2 ^ w12; w10 = (w10 << 1) | (w10 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K4 + w10) | 0; c = (c << 30) | (c >>> 2);
  w11 ^= w8 ^ w3 ^ w13; w11 = (w11 << 1) | (w11 >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + K4 + w11) | 0; b = (b << 30) | (b >>> 2);
  w12 ^= w9 ^ w4 ^ w14; w12 = (w12 << 1) | (w12 >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + K4 + w12) | 0; a = (a << 30) | (a >>> 2);
  w13 ^= w10 ^ w5 ^ w15; w13 = (w13 << 1) | (w13 >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + K4 + w13) | 0; e = (e << 30) | (e >>> 2);
  w14 ^= w11 ^ w6 ^ w0; w14 = (w14 << 1) | (w14 >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + K4 + w14) | 0; d = (d << 30) | (d >>> 2);
  w15 ^= w12 ^ w7 ^ w1; w15 = (w15 << 1) | (w15 >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + K4 + w15) | 0; c = (c << 30) | (c >>> 2);
  state[at] = (state[at]! + a) | 0;
  state[at + 1] = (state[at + 1]! + b) | 0;
  state[at + 2] = (state[at + 2]! + c) | 0;
  state[at + 3] = (state[at + 3]! + d) | 0;
  state[at + 4] = (state[at + 4]! + e) | 0;
}

/** Loads 64 bytes starting at `offset` into `w[0..15]` as big-endian words. */
function loadBlock(w: Int32Array, bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++, offset += 4) {
    w[i] = (bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  }
}

/**
 * General SHA-1 of a whole message (used for keys longer than one block, RFC 2104 §2).
 * Not on the per-code path; it allocates and wipes its own scratch.
 */
export function sha1(message: Uint8Array): Uint8Array {
  const state = Int32Array.from(IV);
  const w = new Int32Array(16);
  const fullBlocks = Math.floor(message.length / BLOCK_BYTES);
  for (let i = 0; i < fullBlocks; i++) {
    loadBlock(w, message, i * BLOCK_BYTES);
    sha1Compress(state, 0, w);
  }
  // The tail, the 0x80 marker and the 64-bit bit length fit in one or two final blocks.
  const rest = message.length - fullBlocks * BLOCK_BYTES;
  const tail = new Uint8Array(rest < 56 ? BLOCK_BYTES : 2 * BLOCK_BYTES);
  tail.set(message.subarray(fullBlocks * BLOCK_BYTES));
  tail[rest] = 0x80;
  const bits = message.length * 8;
  const end = tail.length;
  const bitsHi = Math.floor(bits / 2 ** 32);
  const bitsLo = bits >>> 0;
  tail[end - 8] = bitsHi >>> 24;
  tail[end - 7] = bitsHi >>> 16;
  tail[end - 6] = bitsHi >>> 8;
  tail[end - 5] = bitsHi;
  tail[end - 4] = bitsLo >>> 24;
  tail[end - 3] = bitsLo >>> 16;
  tail[end - 2] = bitsLo >>> 8;
  tail[end - 1] = bitsLo;
  for (let offset = 0; offset < end; offset += BLOCK_BYTES) {
    loadBlock(w, tail, offset);
    sha1Compress(state, 0, w);
  }
  const digest = new Uint8Array(DIGEST_BYTES);
  for (let i = 0; i < 5; i++) {
    const word = state[i]!;
    digest[4 * i] = word >>> 24;
    digest[4 * i + 1] = word >>> 16;
    digest[4 * i + 2] = word >>> 8;
    digest[4 * i + 3] = word;
  }
  tail.fill(0);
  w.fill(0);
  state.fill(0);
  return digest;
}

/**
 * A prepared HMAC-SHA-1 key for OATH. Holds the inner/outer chaining values, which are as
 * secret as the key: `wipe()` when done. A code then costs the two compressions of
 * `oathTruncatedValue` (generated, with the fixed words of both blocks folded in).
 */
export class Sha1OathHmac {
  /** Words 0..4: the chaining value after key ^ ipad; 5..9: after key ^ opad. */
  readonly #state = new Int32Array(10);

  constructor(secret: Uint8Array) {
    const key = secret.length > BLOCK_BYTES ? sha1(secret) : secret;
    const padded = new Uint8Array(BLOCK_BYTES);
    padded.set(key);
    if (key !== secret) key.fill(0);
    const state = this.#state;
    state.set(IV, 0);
    state.set(IV, 5);
    const block = new Int32Array(16);
    loadBlock(block, padded, 0);
    padded.fill(0);
    for (let i = 0; i < 16; i++) block[i] = block[i]! ^ 0x36363636;
    sha1Compress(state, 0, block);
    for (let i = 0; i < 16; i++) block[i] = block[i]! ^ (0x36363636 ^ 0x5c5c5c5c);
    sha1Compress(state, 5, block);
    block.fill(0);
  }

  /**
   * RFC 4226 §5.3 dynamic truncation of HMAC-SHA-1(key, counter), the counter given as its
   * high and low 32-bit halves. Returns a 31-bit non-negative number.
   */
  truncatedValue(counterHi: number, counterLo: number): number {
    return oathTruncatedValue(this.#state, counterHi, counterLo);
  }

  /** Overwrites the chaining values and blocks with zeros. */
  wipe(): void {
    this.#state.fill(0);
  }
}
