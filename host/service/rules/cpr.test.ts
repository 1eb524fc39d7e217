/**
 * CPR numbers: the century table, real calendar dates, and one clear NV_BAD_CPR message per
 * malformation, none of which repeats the number. Expected birth dates are written out by hand
 * from the CPR office's table, not computed.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../../protocol/coded-error.ts';
import { parseCpr } from './cpr.ts';

const TODAY = new Date(Date.UTC(2025, 10, 26, 12)); // 2025-11-26

function refusal(text: string, today = TODAY): CodedError {
  try {
    parseCpr(text, today);
  } catch (error) {
    expect(error).toBeInstanceOf(CodedError);
    const apiError = error as CodedError;
    expect(apiError.status).toBe(400);
    expect(apiError.code).toBe('NV_BAD_CPR');
    const digits = text.replace(/\D/g, '');
    if (digits.length >= 6) {
      expect(apiError.message).not.toContain(digits);
      expect(apiError.message).not.toContain(digits.slice(0, 6));
      expect(apiError.message).not.toContain(digits.slice(6));
    }
    return apiError;
  }
  throw new Error('expected a refusal');
}

describe('parseCpr', () => {
  it('accepts both forms and trims surrounding spaces', () => {
    expect(parseCpr('010190-1234', TODAY)).toEqual({ digits: '0101901234', birthDate: '1990-01-01' });
    expect(parseCpr('0101901234', TODAY)).toEqual({ digits: '0101901234', birthDate: '1990-01-01' });
    expect(parseCpr('  010190-1234 \t', TODAY)).toEqual({ digits: '0101901234', birthDate: '1990-01-01' });
  });

  it('does not require the modulus-11 check', () => {
    // 0101901234: weights 4,3,2,7,6,5,4,3,2,1 give 0+3+0+7+54+0+4+6+6+4 = 84, and 84 % 11 = 7.
    expect(parseCpr('010190-1234', TODAY).birthDate).toBe('1990-01-01');
  });

  it.each([
    // seventh digit 0–3: always 1900s
    ['150536-0000', '1936-05-15'],
    ['150500-3999', '1900-05-15'],
    ['150599-2000', '1999-05-15'],
    // 4 and 9: 2000s up to 36, else 1900s
    ['150500-4000', '2000-05-15'],
    ['150436-4000', '2036-04-15'],
    ['150537-4000', '1937-05-15'],
    ['150110-9000', '2010-01-15'],
    ['150599-9000', '1999-05-15'],
    // 5–8: 2000s up to 57, else 1800s
    ['150510-5000', '2010-05-15'],
    ['150558-6000', '1858-05-15'],
    ['150599-8999', '1899-05-15'],
    ['150520-7000', '2020-05-15'],
  ])('reads the century of %s as %s', (cpr, birthDate) => {
    expect(parseCpr(cpr, new Date(Date.UTC(2040, 0, 1))).birthDate).toBe(birthDate);
  });

  it('knows leap years, including the century rule', () => {
    expect(parseCpr('290296-1234', TODAY).birthDate).toBe('1996-02-29');
    expect(parseCpr('290200-4321', TODAY).birthDate).toBe('2000-02-29'); // 2000 is a leap year
    expect(refusal('290200-1234').message).toMatch(/does not exist/); // 1900 is not
    expect(refusal('290297-1234').message).toMatch(/does not exist/);
    expect(refusal('300290-1234').message).toMatch(/does not exist/);
    expect(refusal('310490-1234').message).toMatch(/does not exist/);
    expect(parseCpr('310190-1234', TODAY).birthDate).toBe('1990-01-31');
  });

  it('gives each malformation its own message', () => {
    const messages = [
      refusal('01019-01234'), // hyphen in the wrong place
      refusal('010190-12345'), // 11 digits
      refusal('010190-123'), // 9 digits
      refusal('01a190-1234'), // a letter
      refusal('000190-1234'), // day 0
      refusal('320190-1234'), // day 32
      refusal('011390-1234'), // month 13
      refusal('010090-1234'), // month 0
      refusal('300290-1234'), // no such date
      refusal('011225-4000'), // 2025-12-01, after TODAY
    ].map((error) => error.message);
    expect(messages[0]).toMatch(/hyphen/);
    expect(messages[1]).toMatch(/10 digits/);
    expect(messages[2]).toMatch(/10 digits/);
    expect(messages[3]).toMatch(/only digits/);
    expect(messages[4]).toMatch(/day/);
    expect(messages[5]).toBe(messages[4]);
    expect(messages[6]).toMatch(/month/);
    expect(messages[7]).toBe(messages[6]);
    expect(messages[8]).toMatch(/does not exist/);
    expect(messages[9]).toMatch(/future/);
    expect(new Set([messages[0], messages[1], messages[3], messages[4], messages[6], messages[8], messages[9]]).size).toBe(7);
  });

  it('refuses the empty string, two hyphens and inner spaces', () => {
    expect(refusal('').message).toMatch(/10 digits/);
    expect(refusal('010190--1234').message).toMatch(/hyphen/);
    expect(refusal('010190 1234').message).toMatch(/only digits/);
  });

  it('takes a birth date of today but not tomorrow, by the UTC date', () => {
    expect(parseCpr('261125-4000', TODAY).birthDate).toBe('2025-11-26');
    expect(refusal('271125-4000').message).toMatch(/future/);
    // 23:30 UTC on 26 November is still 26 November.
    expect(parseCpr('261125-4000', new Date(Date.UTC(2025, 10, 26, 23, 30))).birthDate).toBe('2025-11-26');
  });
});
