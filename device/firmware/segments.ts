/**
 * The 7-segment font: text to segment patterns and back. Bit 0..6 = segments a..g, bit 7 = the
 * decimal point. Some letters share a pattern with a digit (S and 5, O and 0); decoding prefers
 * the digit, as a person reading the display would for a code.
 */
import { DISPLAY_POSITIONS } from '../hal/display.ts';

export const DECIMAL_POINT = 0x80;

const FONT: Readonly<Record<string, number>> = {
  ' ': 0x00, '-': 0x40, '_': 0x08,
  '0': 0x3f, '1': 0x06, '2': 0x5b, '3': 0x4f, '4': 0x66,
  '5': 0x6d, '6': 0x7d, '7': 0x07, '8': 0x7f, '9': 0x6f,
  A: 0x77, b: 0x7c, C: 0x39, c: 0x58, d: 0x5e, E: 0x79, F: 0x71, G: 0x3d, H: 0x76, h: 0x74,
  I: 0x30, i: 0x04, J: 0x1e, L: 0x38, n: 0x54, o: 0x5c, O: 0x3f, P: 0x73, q: 0x67, r: 0x50,
  S: 0x6d, t: 0x78, U: 0x3e, u: 0x1c, y: 0x6e,
};

const GLYPHS: ReadonlyMap<number, string> = (() => {
  const glyphs = new Map<number, string>();
  for (const [char, pattern] of Object.entries(FONT)) if (!glyphs.has(pattern)) glyphs.set(pattern, char);
  return glyphs;
})();

export function canDisplay(text: string): boolean {
  return [...text.replace(/\./g, '')].every((char) => char in FONT);
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
    const pattern = FONT[char];
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
    text += GLYPHS.get(pattern & ~DECIMAL_POINT) ?? '?';
    if (pattern & DECIMAL_POINT) text += '.';
  }
  return text;
}

/** Centres a code on the display: six digits at positions 1..6, as on a NemID token. */
export function codeToText(code: string, positions = DISPLAY_POSITIONS): string {
  const left = Math.floor((positions - code.length) / 2);
  return ' '.repeat(Math.max(0, left)) + code;
}
