import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  OATH_ALGORITHMS,
  createOathKey,
  formatCode,
  hotpCode,
  hotpValue,
  totpCode,
  totpStep,
  type OathAlgorithm,
} from './index.ts';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('RFC 4226 appendix D (HMAC-SHA-1, seed "12345678901234567890")', () => {
  // [count, truncated hexadecimal, truncated decimal, 6-digit HOTP], as printed in the RFC.
  const table: ReadonlyArray<readonly [number, number, number, string]> = [
    [0, 0x4c93cf18, 1284755224, '755224'],
    [1, 0x41397eea, 1094287082, '287082'],
    [2, 0x82fef30, 137359152, '359152'],
    [3, 0x66ef7655, 1726969429, '969429'],
    [4, 0x61c5938a, 1640338314, '338314'],
    [5, 0x33c083d4, 868254676, '254676'],
    [6, 0x7256c032, 1918287922, '287922'],
    [7, 0x4e5b397, 82162583, '162583'],
    [8, 0x2823443f, 673399871, '399871'],
    [9, 0x2679dc69, 645520489, '520489'],
  ];
  const key = createOathKey(ascii('12345678901234567890'), 'sha1');

  it.each(table)('count %i', (count, hex, decimal, hotp) => {
    expect(hex).toBe(decimal);
    expect(key.truncatedValue(count)).toBe(decimal);
    expect(hotpValue(key, count, 6)).toBe(Number(hotp));
    expect(hotpCode(key, count, 6)).toBe(hotp);
  });
});

describe('RFC 6238 appendix B (8 digits, 30 s period, T0 = 0)', () => {
  const seeds: Record<OathAlgorithm, string> = {
    sha1: '12345678901234567890',
    sha256: '12345678901234567890123456789012',
    sha512: '1234567890123456789012345678901234567890123456789012345678901234',
  };
  // [unix seconds, step (hex in the RFC), SHA1, SHA256, SHA512]
  const table: ReadonlyArray<readonly [number, number, string, string, string]> = [
    [59, 0x1, '94287082', '46119246', '90693936'],
    [1111111109, 0x23523ec, '07081804', '68084774', '25091201'],
    [1111111111, 0x23523ed, '14050471', '67062674', '99943326'],
    [1234567890, 0x273ef07, '89005924', '91819424', '93441116'],
    [2000000000, 0x3f940aa, '69279037', '90698825', '38618901'],
    [20000000000, 0x27bc86aa, '65353130', '77737706', '47863826'],
  ];
  const keys = {
    sha1: createOathKey(ascii(seeds.sha1), 'sha1'),
    sha256: createOathKey(ascii(seeds.sha256), 'sha256'),
    sha512: createOathKey(ascii(seeds.sha512), 'sha512'),
  };

  it('uses seeds of 20, 32 and 64 bytes', () => {
    expect([seeds.sha1.length, seeds.sha256.length, seeds.sha512.length]).toEqual([20, 32, 64]);
  });

  it.each(table)('time %i', (seconds, step, sha1, sha256, sha512) => {
    expect(totpStep(seconds * 1000, 30)).toBe(step);
    expect(totpCode(keys.sha1, seconds * 1000, 30, 8)).toBe(sha1);
    expect(totpCode(keys.sha256, seconds * 1000, 30, 8)).toBe(sha256);
    expect(totpCode(keys.sha512, seconds * 1000, 30, 8)).toBe(sha512);
  });
});

describe('totpStep', () => {
  it('changes exactly at period boundaries', () => {
    expect(totpStep(29_999, 30)).toBe(0);
    expect(totpStep(30_000, 30)).toBe(1);
    expect(totpStep(59_999.9, 30)).toBe(1);
    expect(totpStep(60_000, 30)).toBe(2);
    expect(totpStep(1, 1)).toBe(0);
    expect(totpStep(1000, 1)).toBe(1);
  });

  it('counts from T0', () => {
    expect(totpStep(100_000, 30, 100)).toBe(0);
    expect(totpStep(130_000, 30, 100)).toBe(1);
    expect(totpStep(1_111_111_109_000, 60, 1_000_000_000)).toBe(Math.floor(111_111_109 / 60));
  });

  it('is the floor of the quotient on both sides of 2^32 steps (it floors without Math)', () => {
    for (const step of [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 3, 2 ** 43]) {
      for (const into of [0, 1, 999, 500]) {
        const unixMs = step * 1000 + into;
        expect(totpStep(unixMs, 1), `${unixMs} ms`).toBe(Math.floor(unixMs / 1000));
      }
    }
    expect(totpStep(2 ** 32 * 30_000 + 29_999.5, 30)).toBe(2 ** 32);
  });

  it('rejects bad periods, times and times before T0', () => {
    for (const period of [0, -30, 0.5, 30.5, Number.NaN, Infinity]) {
      expect(() => totpStep(0, period)).toThrow(RangeError);
    }
    for (const time of [Number.NaN, Infinity, -Infinity]) expect(() => totpStep(time, 30)).toThrow(RangeError);
    expect(() => totpStep(-1, 30)).toThrow(RangeError);
    expect(() => totpStep(99_999, 30, 100)).toThrow(RangeError);
    expect(() => totpStep(0, 30, 1.5)).toThrow(RangeError);
  });
});

describe('input validation', () => {
  const key = createOathKey(ascii('12345678901234567890'), 'sha1');

  it('accepts 6, 7 and 8 digits only', () => {
    expect(hotpCode(key, 0, 7)).toBe('4755224');
    expect(hotpCode(key, 0, 8)).toBe('84755224');
    for (const digits of [0, 1, 5, 9, 10, 6.5, Number.NaN, -6]) {
      expect(() => hotpValue(key, 0, digits), `digits ${digits}`).toThrow(RangeError);
      expect(() => hotpCode(key, 0, digits)).toThrow(RangeError);
      expect(() => totpCode(key, 0, 30, digits)).toThrow(RangeError);
      expect(() => formatCode(0, digits)).toThrow(RangeError);
    }
  });

  it('accepts counters 0..2^53-1 and rejects everything else', () => {
    expect(() => key.truncatedValue(0)).not.toThrow();
    expect(() => key.truncatedValue(Number.MAX_SAFE_INTEGER)).not.toThrow();
    for (const counter of [-1, -0.5, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Infinity]) {
      expect(() => key.truncatedValue(counter), `counter ${counter}`).toThrow(RangeError);
      expect(() => hotpCode(key, counter, 6)).toThrow(RangeError);
    }
  });

  it('splits counters across the 32-bit boundary correctly', () => {
    // The high word must carry: 2^32 is not counter 0, 2^32 + 1 is not counter 1.
    expect(key.truncatedValue(2 ** 32)).not.toBe(key.truncatedValue(0));
    expect(key.truncatedValue(2 ** 32 + 1)).not.toBe(key.truncatedValue(1));
  });

  it('validates secrets and algorithms', () => {
    expect(() => createOathKey(new Uint8Array(0), 'sha1')).toThrow(RangeError);
    expect(() => createOathKey('12345678901234567890' as unknown as Uint8Array, 'sha1')).toThrow(TypeError);
    expect(() => createOathKey(new Uint8Array(20), 'md5' as OathAlgorithm)).toThrow(TypeError);
    expect(createOathKey(new Uint8Array(1), 'sha1').algorithm).toBe('sha1');
  });

  it('never puts key material in error messages', () => {
    const secret = ascii('SECRETSEEDSECRETSEED');
    const secretHex = Buffer.from(secret).toString('hex');
    const messages: string[] = [];
    const capture = (fn: () => unknown): void => {
      try {
        fn();
      } catch (error) {
        messages.push(String(error), (error as Error).stack ?? '');
      }
    };
    const k = createOathKey(secret, 'sha256');
    capture(() => createOathKey(secret, 'nope' as OathAlgorithm));
    capture(() => hotpCode(k, -1, 6));
    capture(() => hotpCode(k, 0, 99));
    k.destroy();
    capture(() => hotpCode(k, 0, 6));
    expect(messages.length).toBe(8);
    for (const message of messages) {
      expect(message).not.toContain('SECRETSEED');
      expect(message).not.toContain(secretHex);
    }
  });

  it('formats values with leading zeros and rejects out-of-range values', () => {
    expect(formatCode(0, 6)).toBe('000000');
    expect(formatCode(42, 8)).toBe('00000042');
    expect(formatCode(999999, 6)).toBe('999999');
    for (const value of [-1, 1_000_000, 1.5, Number.NaN]) expect(() => formatCode(value, 6)).toThrow(RangeError);
  });
});

describe.each(OATH_ALGORITHMS)('OathKey %s lifecycle and logging', (algorithm) => {
  it('destroy() makes the key unusable', () => {
    const key = createOathKey(ascii('12345678901234567890'), algorithm);
    expect(hotpCode(key, 1, 6)).toMatch(/^\d{6}$/);
    key.destroy();
    expect(() => key.truncatedValue(1)).toThrow(/destroyed/);
    expect(() => hotpCode(key, 1, 6)).toThrow(/destroyed/);
    expect(() => key.destroy()).not.toThrow();
  });

  it('reveals no state through JSON, inspect or string conversion', () => {
    const key = createOathKey(ascii('12345678901234567890'), algorithm);
    key.truncatedValue(0);
    const shown = [
      JSON.stringify(key),
      JSON.stringify({ nested: [key] }),
      inspect(key),
      inspect({ nested: key }, { depth: Infinity }),
      inspect(key, { customInspect: false, showHidden: true, depth: Infinity, getters: true }),
      String(key),
      `${key}`,
      JSON.stringify(Object.entries(key)),
      JSON.stringify(structuredClone(key)),
    ];
    expect(shown[0]).toBe(`"OathKey(${algorithm})"`);
    expect(shown[2]).toBe(`OathKey(${algorithm})`);
    for (const text of shown) {
      expect(text).not.toMatch(/Array|\d{4,}|0x|buffer|state/i);
      expect(text).not.toContain('1234567890');
    }
  });
});

it('lists the algorithms', () => {
  expect(OATH_ALGORITHMS).toEqual(['sha1', 'sha256', 'sha512']);
  expect(Object.isFrozen(OATH_ALGORITHMS)).toBe(true);
});
