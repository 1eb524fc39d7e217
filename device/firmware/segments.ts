/**
 * The 7-segment font: text to segment patterns and back. Bit 0..6 = segments a..g, bit 7 = the
 * decimal point. Some letters share a pattern with a digit (S and 5, O and 0); decoding prefers
 * the digit, as a person reading the display would for a code.
 */
import { DISPLAY_POSITIONS } from '../hal/display.ts';

export const DECIMAL_POINT = 0x80;

/**
 * The font as a table: each character of FONT_CHARS lights the pattern whose char code is at the
 * same index of FONT_PATTERNS (a string: 1 byte a pattern where an array of numbers takes 8 in an
 * engine like QuickJS). Digits come first, so a pattern shared with a letter reads as the digit.
 */
const FONT_CHARS = '0123456789 -_AbCcdEFGHhIiJLnoOPqrStUuy';
const FONT_PATTERNS =
  '\x3f\x06\x5b\x4f\x66\x6d\x7d\x07\x7f\x6f' + // 0..9
  '\x00\x40\x08' + // space - _
  '\x77\x7c\x39\x58\x5e\x79\x71\x3d\x76\x74' + // A b C c d E F G H h
  '\x30\x04\x1e\x38\x54\x5c\x3f\x73\x67\x50' + // I i J L n o O P q r
  '\x6d\x78\x3e\x1c\x6e'; // S t U u y

export function canDisplay(text: string): boolean {
  return [...text.replace(/\./g, '')].every((char) => FONT_CHARS.includes(char));
}

/**
 * Lays `text` out on the display, left-aligned; a `.` lights the decimal point of the character
 * before it. Characters outside the font are a programming error.
 */
export function textToSegments(text: string, positions = DISPLAY_POSITIONS): Uint8Array {
  const segments = new Uint8Array(positions);
  let position = -1;
  for (const char of text) {
    if (char === '.' && position >= 0) {
      segments[position]! |= DECIMAL_POINT;
      continue;
    }
    const index = FONT_CHARS.indexOf(char);
    if (index < 0) throw new RangeError(`no glyph for "${char}"`);
    position++;
    if (position >= positions) throw new RangeError(`"${text}" is too long`);
    segments[position] = FONT_PATTERNS.charCodeAt(index);
  }
  return segments;
}

/** What a person reads off the display: `?` for a pattern that is no glyph, trailing blanks kept. */
export function segmentsToText(segments: Uint8Array): string {
  let text = '';
  for (const pattern of segments) {
    text += FONT_CHARS[FONT_PATTERNS.indexOf(String.fromCharCode(pattern & ~DECIMAL_POINT))] ?? '?';
    if (pattern & DECIMAL_POINT) text += '.';
  }
  return text;
}
