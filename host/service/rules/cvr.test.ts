/**
 * CVR numbers: real published numbers pass (each weighted sum worked out by hand below), every
 * single-digit corruption of them fails, and form and check-digit errors have distinct messages.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../../protocol/coded-error.ts';
import { parseCvr } from './cvr.ts';

// Weights 2,7,6,5,4,3,2,1.
const REAL = [
  // Statsministeriet, Departementet: 2+0+6+0+12+27+8+0 = 55 = 5·11
  '10103940',
  // Novo Nordisk A/S: 4+28+12+25+24+21+18+0 = 132 = 12·11
  '24256790',
  // Carlsberg A/S: 12+7+0+25+24+12+2+6 = 88 = 8·11
  '61056416',
  // A.P. Møller - Mærsk A/S: 4+14+42+25+24+6+2+4 = 121 = 11·11
  '22756214',
  // Danske Bank A/S: 12+7+6+10+24+6+4+8 = 77 = 7·11
  '61126228',
  // LEGO A/S: 10+28+30+30+8+15+2+9 = 132 = 12·11
  '54562519',
];

function refusal(text: string): CodedError {
  try {
    parseCvr(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).status).toBe(400);
    expect((error as CodedError).code).toBe('NV_BAD_CVR');
    return error as CodedError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('parseCvr', () => {
  it.each(REAL)('accepts the published CVR number %s', (cvr) => {
    expect(parseCvr(cvr)).toBe(cvr);
    expect(parseCvr(` ${cvr}  `)).toBe(cvr);
  });

  it('refuses every single-digit corruption of the real numbers', () => {
    const checkDigit = refusal('10103941').message;
    const leadingZero = refusal('00103940').message;
    let corruptions = 0;
    for (const cvr of REAL) {
      for (let position = 0; position < 8; position++) {
        for (let digit = 0; digit <= 9; digit++) {
          if (String(digit) === cvr[position]) continue;
          const corrupted = cvr.slice(0, position) + String(digit) + cvr.slice(position + 1);
          const expected = position === 0 && digit === 0 ? leadingZero : checkDigit;
          expect(refusal(corrupted).message).toBe(expected);
          corruptions++;
        }
      }
    }
    expect(corruptions).toBe(REAL.length * 8 * 9);
  });

  it('refuses a swap of two neighbouring digits when the weights tell them apart', () => {
    // 10103940 → 01103940 starts with 0; 10103940 → 11003940: 2+7+0+0+12+27+8+0 = 56, not a multiple of 11.
    expect(refusal('11003940').message).toMatch(/check digit/);
  });

  it('tells form errors from check-digit errors', () => {
    const form = ['1010394', '101039400', '1010394a', '', '1010-3940', 'DK10103940'].map((text) => refusal(text).message);
    for (const message of form) expect(message).toMatch(/8 digits/);
    expect(refusal('00000000').message).toMatch(/starts with 0/);
    expect(refusal('10103941').message).toMatch(/check digit/);
    expect(new Set([form[0], refusal('00000000').message, refusal('10103941').message]).size).toBe(3);
  });
});
