import { describe, expect, it } from 'vitest';
import { referenceTruncated } from '../../test/support/oath-reference.ts';
import { randomBytes, xorshift32 } from '../../test/support/random.ts';
import * as compact from './engines-compact.ts';
import * as fast from './engines.ts';
import { OATH_ALGORITHMS } from './parameters.ts';

describe('the compact OATH engine parts give the fast ones’ answers', () => {
  it('exports exactly what engines.ts exports (the firmware bundle swaps one for the other)', () => {
    expect(Object.keys(compact).sort()).toEqual(Object.keys(fast).sort());
  });

  it.each(OATH_ALGORITHMS)('%s: node:crypto’s truncated HMAC for keys around the block size, counters across both halves', (algorithm) => {
    const next = xorshift32(0x16);
    for (const length of [1, 20, 32, 55, 63, 64, 65, 111, 127, 128, 129, 200]) {
      const secret = randomBytes(next, length);
      const key = compact.createHmacEngine(algorithm, secret);
      for (let i = 0; i < 40; i++) {
        const hi = i < 20 ? 0 : next() & 0x1fffff;
        const lo = next();
        expect(key.truncatedValue(hi, lo), `key length ${length}, counter ${hi}:${lo}`).toBe(referenceTruncated(algorithm, secret, hi, lo));
      }
    }
  });

  it.each(OATH_ALGORITHMS)('%s: the same values as engines.ts on 500 random keys', (algorithm) => {
    const next = xorshift32(0x1616);
    for (let i = 0; i < 500; i++) {
      const secret = randomBytes(next, 1 + (next() % 140));
      const hi = next() & 0x1fffff;
      const lo = next();
      expect(compact.createHmacEngine(algorithm, secret).truncatedValue(hi, lo)).toBe(fast.createHmacEngine(algorithm, secret).truncatedValue(hi, lo));
    }
  });

  it('wipe() zeroes the key state: the same counter no longer gives the same value', () => {
    const key = compact.createHmacEngine('sha1', new Uint8Array(20).fill(7));
    const before = key.truncatedValue(0, 1);
    key.wipe();
    expect(key.truncatedValue(0, 1)).not.toBe(before);
  });

  it('pads codes as engines.ts does, for 6 to 8 digits', () => {
    for (const digits of [6, 7, 8]) {
      for (const value of [0, 7, 42, 999, 1000, 123_456, 999_999, 10 ** digits - 1]) {
        if (value < 10 ** digits) expect(compact.padDigits(value, digits)).toBe(fast.padDigits(value, digits));
      }
    }
  });
});
