/**
 * The 7-segment font: text to segment patterns and back. Bit 0..6 = segments a..g, bit 7 = the
 * decimal point. Some letters share a pattern with a digit (S and 5, O and 0); decoding prefers
 * the digit, as a person reading the display would for a code.
 */
import { DISPLAY_POSITIONS } from '../hal/display.ts';

export const DECIMAL_POINT = 0x80;

/**
 * The font as a table: each character of FONT_CHARS lights the pattern at the same index of
 * FONT_PATTERNS. Digits come first, so a pattern shared with a letter reads as the digit.
 */
const FONT_CHARS = '0123456789 -_AbCcdEFGHhIiJLnoOPqrStUuy';
// prettier-ignore
const FONT_PATTERNS: readonly number[] = [
  0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f, // 0..9
  0x00, 0x40, 0x08, // space - _
  0x77, 0x7c, 0x39, 0x58, 0x5e, 0x79, 0x71, 0x3d, 0x76, 0x74, // A b C c d E F G H h
  0x30, 0x04, 0x1e, 0x38, 0x54, 0x5c, 0x3f, 0x73, 0x67, 0x50, // I i J L n o O P q r
  0x6d, 0x78, 0x3e, 0x1c, 0x6e, // S t U u y
];

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
    const pattern = FONT_PATTERNS[FONT_CHARS.indexOf(char)];
    if (pattern === undefined) throw new RangeError(`"${char}" has no 7-segment glyph`);
    position++;
    if (position >= positions) throw new RangeError(`"${text}" does not fit ${positions} positions`);
    segments[position] = pattern;
  }
  return segments;
}

/** What a person reads off the display: `?` for a pattern that is no glyph, trailing blanks kept. */
export function segmentsToText(segments: Uint8Array): string {
  let text = '';
  for (const pattern of segments) {
    text += FONT_CHARS[FONT_PATTERNS.indexOf(pattern & ~DECIMAL_POINT)] ?? '?';
    if (pattern & DECIMAL_POINT) text += '.';
  }
  return text;
}

/** Centres a code on the display: six digits at positions 1..6, as on a NemID token. */
export function codeToText(code: string, positions = DISPLAY_POSITIONS): string {
  // Half the free positions, rounded down, on the left (gap >> 1 is floor(gap / 2) for a small gap > 0).
  const gap = positions - code.length;
  return ' '.repeat(gap > 0 ? gap >> 1 : 0) + code;
}
