/** Typed fields: each codec's accepted and refused texts, and how schemas encode and decode a message's fields. */
import { describe, expect, it } from 'vitest';
import { bool, decodeFields, decodeValue, digitString, encodeFields, encodeValue, hexBytes, oneOf, optional, uint, word, type Schema } from './fields.ts';

describe('uint', () => {
  const any = uint();

  it.each([
    ['0', 0],
    ['1', 1],
    ['10', 10],
    ['65535', 65535],
    ['4294967296', 4294967296],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('decodes %j as %d', (text, value) => {
    expect(decodeValue(any, text)).toBe(value);
  });

  it.each([
    [''],
    ['00'],
    ['01'],
    ['007'],
    ['-0'],
    ['-1'],
    ['+1'],
    [' 1'],
    ['1 '],
    ['1.0'],
    ['1.5'],
    ['1e3'],
    ['0x10'],
    ['0b1'],
    ['1_000'],
    ['1,000'],
    ['Infinity'],
    ['NaN'],
    ['abc'],
    ['\u0661'], // ARABIC-INDIC DIGIT ONE
    ['１'], // FULLWIDTH DIGIT ONE
    ['9007199254740992'], // MAX_SAFE_INTEGER + 1
    ['9007199254740993'], // rounds to MAX_SAFE_INTEGER + 1 as a double
    ['9999999999999999'],
    ['10000000000000000'],
    ['99999999999999999999'],
  ])('refuses %j', (text) => {
    expect(decodeValue(any, text)).toBeUndefined();
  });

  it('applies its bounds inclusively', () => {
    const digits = uint(6, 8);
    expect(decodeValue(digits, '5')).toBeUndefined();
    expect(decodeValue(digits, '6')).toBe(6);
    expect(decodeValue(digits, '8')).toBe(8);
    expect(decodeValue(digits, '9')).toBeUndefined();
    const port = uint(1, 0xffff);
    expect(decodeValue(port, '0')).toBeUndefined();
    expect(decodeValue(port, '1')).toBe(1);
    expect(decodeValue(port, '65535')).toBe(65535);
    expect(decodeValue(port, '65536')).toBeUndefined();
    expect(decodeValue(uint(0, 0), '0')).toBe(0);
    expect(decodeValue(uint(0, 0), '1')).toBeUndefined();
  });

  it('encodes as plain decimal that decodes to the same number', () => {
    expect(encodeValue(any, 0)).toBe('0');
    expect(encodeValue(any, 42)).toBe('42');
    expect(encodeValue(any, Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(encodeValue(any, 1e15)).toBe('1000000000000000');
    let state = 12345;
    for (let i = 0; i < 2000; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      const value = i % 2 ? state : Math.floor((state / 2147483648) * Number.MAX_SAFE_INTEGER);
      expect(decodeValue(any, encodeValue(any, value))).toBe(value);
    }
  });
});

describe('bool', () => {
  it('is 1 or 0 and nothing else', () => {
    expect(encodeValue(bool, true)).toBe('1');
    expect(encodeValue(bool, false)).toBe('0');
    expect(decodeValue(bool, '1')).toBe(true);
    expect(decodeValue(bool, '0')).toBe(false);
    for (const text of ['', 'true', 'false', 'on', 'off', 'yes', '01', '00', '10', '2', '-1', 'T', ' 1', '1 ']) {
      expect(decodeValue(bool, text), text).toBeUndefined();
    }
  });
});

describe('word', () => {
  it('accepts 1 to 32 characters of letters, digits and . _ : + -', () => {
    for (const text of ['a', 'NV1', 'johnny-five', '0.1.0', 'v1.2.3+build:7', 'A_b', 'x'.repeat(32), '40000001']) {
      expect(decodeValue(word, text), text).toBe(text);
      expect(encodeValue(word, text)).toBe(text);
    }
  });

  it('refuses empty, longer than 32, and other characters', () => {
    for (const text of ['', 'x'.repeat(33), 'a b', 'a/b', 'a=b', 'a*b', 'a,b', 'a@b', 'a#b', 'blå', 'a\tb', '"a"', "a'b", 'a~b', 'a!b']) {
      expect(decodeValue(word, text), JSON.stringify(text)).toBeUndefined();
    }
  });
});

describe('digitString', () => {
  const code = digitString(6, 8);

  it('keeps leading zeros and accepts the length range', () => {
    expect(decodeValue(code, '000000')).toBe('000000');
    expect(decodeValue(code, '0123456')).toBe('0123456');
    expect(decodeValue(code, '00000001')).toBe('00000001');
    expect(encodeValue(code, '007007')).toBe('007007');
  });

  it('refuses other lengths and non-digits', () => {
    for (const text of ['', '12345', '123456789', '12345a', '-12345', '+123456', '123 456', '1234.5', '1e5678', '１２３４５６', '\u0661'.repeat(6)]) {
      expect(decodeValue(code, text), text).toBeUndefined();
    }
    expect(decodeValue(digitString(1, 1), '7')).toBe('7');
    expect(decodeValue(digitString(1, 1), '77')).toBeUndefined();
  });
});

describe('hexBytes', () => {
  const secret = hexBytes(1, 4);

  it('decodes lower- and upper-case hex into bytes', () => {
    expect(decodeValue(secret, '00')).toEqual(new Uint8Array([0]));
    expect(decodeValue(secret, 'ff')).toEqual(new Uint8Array([255]));
    expect(decodeValue(secret, 'FF')).toEqual(new Uint8Array([255]));
    expect(decodeValue(secret, '0aB1')).toEqual(new Uint8Array([0x0a, 0xb1]));
    expect(decodeValue(secret, 'deadBEEF')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(decodeValue(secret, 'deadBEEF')).toBeInstanceOf(Uint8Array);
  });

  it('refuses too few or too many bytes, odd length and non-hex', () => {
    for (const text of ['', 'deadbeef00', 'a', 'abc', 'zz', 'g0', '0x', '0x12', ' 12', '12 ', '-1', '+1', '1.', 'éé']) {
      expect(decodeValue(secret, text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('accepts the empty string only when zero bytes are allowed', () => {
    expect(decodeValue(hexBytes(0, 2), '')).toEqual(new Uint8Array(0));
    expect(decodeValue(hexBytes(1, 2), '')).toBeUndefined();
  });

  it('encodes as lower-case hex, two digits a byte', () => {
    expect(encodeValue(secret, new Uint8Array([0, 1, 0xab, 0xff]))).toBe('0001abff');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const wide = hexBytes(0, 256);
    const text = encodeValue(wide, all);
    expect(text).toBe(Buffer.from(all).toString('hex'));
    expect(decodeValue(wide, text)).toEqual(all);
    expect(decodeValue(wide, text.toUpperCase())).toEqual(all);
  });
});

describe('oneOf', () => {
  const mode = oneOf(['hotp', 'totp'] as const);

  it('accepts exactly the listed values', () => {
    expect(decodeValue(mode, 'hotp')).toBe('hotp');
    expect(decodeValue(mode, 'totp')).toBe('totp');
    expect(encodeValue(mode, 'totp')).toBe('totp');
    for (const text of ['', 'HOTP', 'hotp ', 'ho', 'hotpx', 'ocra', 'toString', 'constructor', '0', 'length']) {
      expect(decodeValue(mode, text), text).toBeUndefined();
    }
  });
});

interface Sample {
  name: string;
  count: number;
  flag?: boolean;
  key?: Uint8Array;
}

const SAMPLE: Schema<Sample> = {
  name: word,
  count: uint(0, 100),
  flag: optional(bool),
  key: optional(hexBytes(1, 8)),
};

describe('encodeFields', () => {
  it('encodes each present property under its own key, by its codec', () => {
    expect(encodeFields(SAMPLE, { name: 'n1', count: 7, flag: false, key: new Uint8Array([1, 0xfe]) })).toEqual({
      name: 'n1',
      count: '7',
      flag: '0',
      key: '01fe',
    });
  });

  it('leaves out optional properties that are absent or undefined', () => {
    const fields = encodeFields(SAMPLE, { name: 'n', count: 0 });
    expect(fields).toEqual({ name: 'n', count: '0' });
    expect(Object.keys(fields)).toEqual(['name', 'count']);
    expect(Object.keys(encodeFields(SAMPLE, { name: 'n', count: 0, flag: undefined }))).toEqual(['name', 'count']);
  });

  it('refuses a missing required property', () => {
    expect(() => encodeFields(SAMPLE, { name: 'n' } as unknown as Sample)).toThrow(RangeError);
    expect(() => encodeFields(SAMPLE, { count: 1, name: undefined } as unknown as Sample)).toThrow(/name/);
  });

  it('does not put properties the schema does not name on the wire', () => {
    const fields = encodeFields(SAMPLE, { name: 'n', count: 1, extra: 'x' } as Sample);
    expect(fields).toEqual({ name: 'n', count: '1' });
  });
});

describe('decodeFields', () => {
  it('decodes each key by its codec', () => {
    expect(decodeFields(SAMPLE, { name: 'n1', count: '100', flag: '1', key: 'AABB' }, true)).toEqual({
      ok: true,
      value: { name: 'n1', count: 100, flag: true, key: new Uint8Array([0xaa, 0xbb]) },
    });
  });

  it('leaves absent optional keys out of the value', () => {
    const result = decodeFields(SAMPLE, { name: 'n', count: '3' }, true);
    expect(result).toEqual({ ok: true, value: { name: 'n', count: 3 } });
    expect(result.ok && 'flag' in result.value).toBe(false);
    expect(result.ok && 'key' in result.value).toBe(false);
  });

  it('names a missing required key', () => {
    expect(decodeFields(SAMPLE, { count: '3' }, true)).toEqual({ ok: false, key: 'name' });
    expect(decodeFields(SAMPLE, { name: 'n' }, false)).toEqual({ ok: false, key: 'count' });
    expect(decodeFields(SAMPLE, {}, false).ok).toBe(false);
  });

  it('names a key whose value its codec refuses, required or optional', () => {
    expect(decodeFields(SAMPLE, { name: 'n', count: '101' }, true)).toEqual({ ok: false, key: 'count' });
    expect(decodeFields(SAMPLE, { name: 'n', count: '01' }, false)).toEqual({ ok: false, key: 'count' });
    expect(decodeFields(SAMPLE, { name: 'a b', count: '1' }, false)).toEqual({ ok: false, key: 'name' });
    expect(decodeFields(SAMPLE, { name: 'n', count: '1', flag: 'yes' }, true)).toEqual({ ok: false, key: 'flag' });
    expect(decodeFields(SAMPLE, { name: 'n', count: '1', key: 'abc' }, false)).toEqual({ ok: false, key: 'key' });
    expect(decodeFields(SAMPLE, { name: 'n', count: '1', key: '00'.repeat(9) }, false)).toEqual({ ok: false, key: 'key' });
  });

  it('strict mode refuses a key the schema does not name, and names it', () => {
    expect(decodeFields(SAMPLE, { name: 'n', count: '1', extra: 'x' }, true)).toEqual({ ok: false, key: 'extra' });
    expect(decodeFields(SAMPLE, { zz: '1', name: 'n', count: '1' }, true)).toEqual({ ok: false, key: 'zz' });
    // keys that exist on every object are unknown keys too
    expect(decodeFields(SAMPLE, { name: 'n', count: '1', constructor: 'x' }, true)).toEqual({ ok: false, key: 'constructor' });
    expect(decodeFields(SAMPLE, { name: 'n', count: '1', tostring: 'x' }, true)).toEqual({ ok: false, key: 'tostring' });
  });

  it('lenient mode ignores unknown keys and does not copy them into the value', () => {
    const result = decodeFields(SAMPLE, { name: 'n', count: '1', extra: 'x', constructor: 'y' }, false);
    expect(result).toEqual({ ok: true, value: { name: 'n', count: 1 } });
    expect(result.ok && Object.keys(result.value)).toEqual(['name', 'count']);
  });

  it('lenient mode still refuses bad values of known keys', () => {
    expect(decodeFields(SAMPLE, { name: 'n', count: 'x', extra: 'x' }, false)).toEqual({ ok: false, key: 'count' });
  });

  it('an empty schema takes no keys in strict mode and anything in lenient mode', () => {
    const none: Schema<Record<never, never>> = {};
    expect(decodeFields(none, {}, true)).toEqual({ ok: true, value: {} });
    expect(decodeFields(none, { a: '1' }, true)).toEqual({ ok: false, key: 'a' });
    expect(decodeFields(none, { a: '1' }, false)).toEqual({ ok: true, value: {} });
  });

  it('round-trips encodeFields for random values', () => {
    let state = 99;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (let i = 0; i < 1000; i++) {
      const value: Sample = { name: `w${Math.floor(next() * 1e6)}`, count: Math.floor(next() * 101) };
      if (next() < 0.5) value.flag = next() < 0.5;
      if (next() < 0.5) value.key = Uint8Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 256));
      expect(decodeFields(SAMPLE, encodeFields(SAMPLE, value), true)).toEqual({ ok: true, value });
    }
  });
});
