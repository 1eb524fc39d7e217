import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { referenceMac, referenceTruncated, truncate } from '../../test/support/oath-reference.ts';
import { randomBytes, xorshift32 } from '../../test/support/random.ts';
import { Sha1OathHmac, sha1 } from './sha1-hmac.ts';

describe('sha1', () => {
  it('matches node:crypto for every length 0..300 (all padding cases)', () => {
    const next = xorshift32(0x5a1);
    for (let length = 0; length <= 300; length++) {
      const message = randomBytes(next, length);
      const expected = createHash('sha1').update(message).digest('hex');
      expect(Buffer.from(sha1(message)).toString('hex'), `length ${length}`).toBe(expected);
    }
  });

  it('hashes the FIPS 180 "abc" vector', () => {
    const digest = sha1(new TextEncoder().encode('abc'));
    expect(Buffer.from(digest).toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });
});

describe('Sha1OathHmac', () => {
  it('gives the RFC 4226 appendix D truncated values', () => {
    const key = new Sha1OathHmac(new TextEncoder().encode('12345678901234567890'));
    const truncatedHex = [
      0x4c93cf18, 0x41397eea, 0x082fef30, 0x66ef7655, 0x61c5938a, 0x33c083d4, 0x7256c032, 0x04e5b397,
      0x2823443f, 0x2679dc69,
    ];
    truncatedHex.forEach((value, counter) => expect(key.truncatedValue(0, counter)).toBe(value));
  });

  it('matches node:crypto HMAC-SHA-1 for random keys of 1..200 bytes and any counter', () => {
    const next = xorshift32(20240611);
    for (let i = 0; i < 5000; i++) {
      const secret = randomBytes(next, 1 + (next() % 200));
      const key = new Sha1OathHmac(secret);
      for (let j = 0; j < 4; j++) {
        const hi = next() % 2 ** 21; // counters up to 2^53-1
        const lo = next();
        const expected = referenceTruncated('sha1', secret, hi, lo);
        expect(key.truncatedValue(hi, lo), `key length ${secret.length}`).toBe(expected);
      }
    }
  });

  it('covers every truncation offset 0..15', () => {
    const secret = new TextEncoder().encode('offsets');
    const key = new Sha1OathHmac(secret);
    const seen = new Set<number>();
    for (let lo = 0; seen.size < 16; lo++) {
      const mac = referenceMac('sha1', secret, 0, lo);
      seen.add(mac[19]! & 0xf);
      expect(key.truncatedValue(0, lo)).toBe(truncate(mac));
    }
  });

  it('treats a 64-byte key as one block and a 65-byte key as hashed (RFC 2104)', () => {
    for (const length of [63, 64, 65, 128]) {
      const secret = new Uint8Array(length).fill(0xa5);
      const expected = referenceTruncated('sha1', secret, 1, 2);
      expect(new Sha1OathHmac(secret).truncatedValue(1, 2), `length ${length}`).toBe(expected);
    }
  });

  it('does not modify the caller\'s secret, and wipe() zeroes its state', () => {
    const secret = new Uint8Array(100).fill(7);
    const key = new Sha1OathHmac(secret);
    expect(secret.every((b) => b === 7)).toBe(true);
    const before = key.truncatedValue(0, 0);
    key.wipe();
    // With zeroed chaining values the result is no longer the keyed HMAC.
    expect(key.truncatedValue(0, 0)).not.toBe(before);
  });
});
