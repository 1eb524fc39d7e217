/**
 * CRC-32 (IEEE 802.3) against the standard check value, a bit-at-a-time reference written here,
 * and node:zlib's own crc32 where this Node has it.
 */
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { uniform } from '../test/support/random.ts';
import { crc32, crc32Ascii, crcHex } from './crc32.ts';

/** Bitwise reflected CRC-32, no table: slow, obviously right. */
function referenceCrc32(bytes: ArrayLike<number>): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i]! & 0xff;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

const SEED = 0xc0ffee;

function randomBytes(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

function randomAscii(random: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(Math.floor(random() * 128));
  return text;
}

const bytesOf = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe('crc32', () => {
  it('gives the standard check value 0xCBF43926 for "123456789"', () => {
    expect(crc32(bytesOf('123456789'))).toBe(0xcbf43926);
    expect(crc32Ascii('123456789')).toBe(0xcbf43926);
    expect(referenceCrc32(bytesOf('123456789'))).toBe(0xcbf43926); // the reference itself is right
  });

  it('gives known values for other well-known inputs', () => {
    // Published CRC-32 values (e.g. as printed by `crc32` / zlib).
    expect(crc32Ascii('The quick brown fox jumps over the lazy dog')).toBe(0x414fa339);
    expect(crc32Ascii('a')).toBe(0xe8b7be43);
    expect(crc32(new Uint8Array([0]))).toBe(0xd202ef8d);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it('is 0 for empty input', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32Ascii('')).toBe(0);
  });

  it('agrees with a bitwise reference on random bytes of every length up to 300', () => {
    const random = uniform(SEED);
    for (let length = 0; length <= 300; length++) {
      const bytes = randomBytes(random, length);
      expect(crc32(bytes), `seed ${SEED.toString(16)} length ${length}`).toBe(referenceCrc32(bytes));
    }
  });

  it.runIf(typeof zlibCrc32 === 'function')('agrees with node:zlib crc32 on 2,000 random inputs', () => {
    const random = uniform(SEED + 1);
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(random, Math.floor(random() * 600));
      expect(crc32(bytes), `seed ${(SEED + 1).toString(16)} case ${i}`).toBe(zlibCrc32!(bytes) >>> 0);
    }
  });

  it('returns an unsigned 32-bit integer', () => {
    const random = uniform(SEED + 2);
    let sawHighBit = false;
    for (let i = 0; i < 500; i++) {
      const value = crc32(randomBytes(random, 1 + Math.floor(random() * 40)));
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(0xffffffff);
      if (value >= 0x80000000) sawHighBit = true;
    }
    expect(sawHighBit).toBe(true);
  });

  it('crc32Ascii(text) equals crc32 of the same characters as bytes, on random ASCII', () => {
    const random = uniform(SEED + 3);
    for (let i = 0; i < 2000; i++) {
      const text = randomAscii(random, Math.floor(random() * 300));
      const expected = referenceCrc32(bytesOf(text));
      expect(crc32Ascii(text), JSON.stringify(text)).toBe(expected);
      expect(crc32(bytesOf(text))).toBe(expected);
    }
  });

  it('crc32Ascii takes each char code 0..255 as one byte', () => {
    let all = '';
    for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(crc32Ascii(all)).toBe(referenceCrc32(bytes));
    for (let c = 0; c < 256; c++) expect(crc32Ascii(String.fromCharCode(c))).toBe(referenceCrc32([c]));
  });

  it('covers exactly bytes[start, end) when given a range', () => {
    const random = uniform(SEED + 4);
    for (let i = 0; i < 1000; i++) {
      const bytes = randomBytes(random, Math.floor(random() * 100));
      const start = Math.floor(random() * (bytes.length + 1));
      const end = start + Math.floor(random() * (bytes.length - start + 1));
      const expected = referenceCrc32(bytes.slice(start, end));
      expect(crc32(bytes, start, end), `len ${bytes.length} [${start}, ${end})`).toBe(expected);
      // the default end is the array's length
      expect(crc32(bytes, start)).toBe(referenceCrc32(bytes.slice(start)));
    }
    const text = bytesOf('xx123456789yy');
    expect(crc32(text, 2, 11)).toBe(0xcbf43926);
    expect(crc32(text, 5, 5)).toBe(0);
    // a subarray view is read from its own offset, not the underlying buffer's start
    expect(crc32(text.subarray(2, 11))).toBe(0xcbf43926);
  });

  it('detects every single-bit change in a 64-byte message', () => {
    const random = uniform(SEED + 5);
    const bytes = randomBytes(random, 64);
    const original = crc32(bytes);
    const seen = new Set<number>();
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = bytes.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      const value = crc32(copy);
      expect(value).not.toBe(original);
      expect(value).toBe(referenceCrc32(copy));
      seen.add(value);
    }
    expect(seen.size).toBe(64 * 8);
  });
});

describe('crcHex', () => {
  it('formats as exactly eight upper-case hex digits, zero padded', () => {
    expect(crcHex(0)).toBe('00000000');
    expect(crcHex(1)).toBe('00000001');
    expect(crcHex(0xabc)).toBe('00000ABC');
    expect(crcHex(0xcbf43926)).toBe('CBF43926');
    expect(crcHex(0xffffffff)).toBe('FFFFFFFF');
    expect(crcHex(0x0a0b0c0d)).toBe('0A0B0C0D');
  });

  it('treats a negative (signed 32-bit) number as its unsigned value', () => {
    expect(crcHex(-1)).toBe('FFFFFFFF');
    expect(crcHex(0xcbf43926 | 0)).toBe('CBF43926');
    expect(crcHex(-0x80000000)).toBe('80000000');
  });

  it('round-trips random values through parseInt', () => {
    const random = uniform(SEED + 6);
    for (let i = 0; i < 2000; i++) {
      const value = Math.floor(random() * 0x1_0000_0000);
      const hex = crcHex(value);
      expect(hex).toMatch(/^[0-9A-F]{8}$/);
      expect(parseInt(hex, 16)).toBe(value);
      expect(hex).toBe(value.toString(16).toUpperCase().padStart(8, '0'));
    }
  });
});
