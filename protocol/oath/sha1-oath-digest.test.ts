import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { generate } from '../../scripts/generate-sha1-oath.ts';
import { oathTruncatedValue } from './sha1-oath-digest.ts';
import { referenceTruncated } from '../../test/support/oath-reference.ts';
import { sha1Compress } from './sha1-hmac.ts';

describe('the generated OATH digest', () => {
  it('is what the generator writes today (regenerate with `npx tsx scripts/generate-sha1-oath.ts`)', () => {
    expect(readFileSync(new URL('./sha1-oath-digest.ts', import.meta.url), 'utf8')).toBe(generate());
  });

  it('is the truncated HMAC-SHA-1 of the counter, for random keys and counters', () => {
    for (let trial = 0; trial < 500; trial++) {
      const key = new Uint8Array(1 + (trial % 64)).map((_, i) => (trial * 31 + i * 7) & 0xff);
      const state = keyState(key);
      const hi = (trial * 2654435761) >>> 11;
      const lo = (trial * 40503 + 12345) >>> 0;
      expect(oathTruncatedValue(state, hi, lo)).toBe(referenceTruncated('sha1', key, hi, lo));
    }
  });
});

/** The two chaining values after key ^ ipad and key ^ opad, laid out as oathDigest reads them. */
function keyState(key: Uint8Array): Int32Array {
  const state = new Int32Array(10);
  const iv = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];
  state.set(iv, 0);
  state.set(iv, 5);
  const block = new Int32Array(16);
  const padded = new Uint8Array(64);
  padded.set(key);
  const view = new DataView(padded.buffer);
  for (let i = 0; i < 16; i++) block[i] = view.getInt32(i * 4) ^ 0x36363636;
  sha1Compress(state, 0, block);
  for (let i = 0; i < 16; i++) block[i] = view.getInt32(i * 4) ^ 0x5c5c5c5c;
  sha1Compress(state, 5, block);
  return state;
}
