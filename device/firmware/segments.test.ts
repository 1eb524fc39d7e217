import { describe, expect, it } from 'vitest';
import { canDisplay, DECIMAL_POINT, segmentsToText, textToSegments } from './segments.ts';
import { drawSegments } from '../targets/emulator/face.ts';

/** Segment patterns of the digits, a..g as bits 0..6, from the usual 7-segment table. */
const DIGITS = [0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f];

describe('the 7-segment font', () => {
  it('lights the standard segments for every digit', () => {
    expect([...textToSegments('01234567')]).toEqual(DIGITS.slice(0, 8));
    expect([...textToSegments('89')].slice(0, 2)).toEqual(DIGITS.slice(8));
  });

  it('reads back every code of every length as the same digits', () => {
    for (let i = 0; i < 1000; i++) {
      const digits = 6 + (i % 3);
      const code = String(Math.floor(Math.random() * 10 ** digits)).padStart(digits, '0');
      expect(segmentsToText(textToSegments(code)).trim()).toBe(code);
    }
  });

  it('puts a decimal point on the character before it', () => {
    const segments = textToSegments('12.3');
    expect(segments[1]).toBe(DIGITS[2]! | DECIMAL_POINT);
    expect(segmentsToText(segments)).toBe('12.3     ');
  });

  it('refuses text it cannot show or that does not fit', () => {
    expect(canDisplay('no SEEd')).toBe(true);
    expect(canDisplay('km')).toBe(false);
    expect(() => textToSegments('m')).toThrow(RangeError);
    expect(() => textToSegments('123456789')).toThrow(RangeError);
  });

  it('reads a pattern that is no glyph as ?', () => {
    expect(segmentsToText(Uint8Array.of(0x01 | 0x08))).toBe('?');
  });

  it('draws an 8 with every segment and its decimal point in the terminal face', () => {
    expect(drawSegments(Uint8Array.of(0xff))).toEqual([' _  ', '|_| ', '|_|.']);
    expect(drawSegments(Uint8Array.of(DIGITS[1]!))).toEqual(['    ', '  | ', '  | ']);
  });
});
