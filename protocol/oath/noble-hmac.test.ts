import { describe, expect, it } from 'vitest';
import { referenceTruncated as nodeTruncated } from '../../test/support/oath-reference.ts';
import { createNobleOathHmac, type NobleOathAlgorithm } from './noble-hmac.ts';

describe.each<NobleOathAlgorithm>(['sha256', 'sha512'])('NobleOathHmac %s', (algorithm) => {
  it('matches node:crypto for keys around the block size and many counters on one key', () => {
    for (const length of [1, 20, 32, 63, 64, 65, 127, 128, 129, 200]) {
      const secret = new Uint8Array(length).map((_, i) => (i * 37 + length) & 0xff);
      const key = createNobleOathHmac(algorithm, secret);
      for (let counter = 0; counter < 50; counter++) {
        const hi = counter * 40_503;
        const lo = (counter * 2_654_435_761) >>> 0;
        expect(key.truncatedValue(hi, lo), `key length ${length}`).toBe(nodeTruncated(algorithm, secret, hi, lo));
      }
    }
  });

  it('keeps interleaved keys independent (the scratch state is per key)', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    const keyA = createNobleOathHmac(algorithm, a);
    const keyB = createNobleOathHmac(algorithm, b);
    for (let lo = 0; lo < 20; lo++) {
      expect(keyA.truncatedValue(0, lo)).toBe(nodeTruncated(algorithm, a, 0, lo));
      expect(keyB.truncatedValue(0, lo)).toBe(nodeTruncated(algorithm, b, 0, lo));
    }
  });

  it('wipe() destroys the prepared state', () => {
    const key = createNobleOathHmac(algorithm, new Uint8Array(16).fill(3));
    key.truncatedValue(0, 0);
    key.wipe();
    // noble refuses to clone a destroyed hash.
    expect(() => key.truncatedValue(0, 0)).toThrow();
  });
});
