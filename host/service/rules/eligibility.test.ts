/**
 * The seed's eligibility rules at the age boundaries (the day before and the day of the 13th and
 * 15th birthday), with and without a CPR number, and the birthday rule of ageOn against dates
 * worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { Cpr } from './cpr.ts';
import { ageOn, eligibility } from './eligibility.ts';

const day = (iso: string, hour = 12) => new Date(`${iso}T${String(hour).padStart(2, '0')}:00:00Z`);
const cpr = (birthDate: string): Cpr => ({ digits: '0000000000', birthDate });

function refusal(run: () => unknown): CodedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CodedError);
    return error as CodedError;
  }
  throw new Error('expected a refusal');
}

describe('ageOn', () => {
  it('adds a year on the birthday, not the day before', () => {
    expect(ageOn('2010-11-26', day('2025-11-25'))).toBe(14);
    expect(ageOn('2010-11-26', day('2025-11-26'))).toBe(15);
    expect(ageOn('2010-11-26', day('2025-11-27'))).toBe(15);
    expect(ageOn('2010-11-26', day('2025-12-01'))).toBe(15);
    expect(ageOn('2010-11-26', day('2025-10-30'))).toBe(14);
    expect(ageOn('2010-11-26', day('2010-11-26'))).toBe(0);
  });

  it('uses the UTC date of today', () => {
    expect(ageOn('2010-11-26', day('2025-11-25', 23))).toBe(14);
    expect(ageOn('2010-11-26', day('2025-11-26', 0))).toBe(15);
  });

  it('lets someone born on 29 February turn a year older on 1 March in other years', () => {
    expect(ageOn('2008-02-29', day('2023-02-28'))).toBe(14);
    expect(ageOn('2008-02-29', day('2023-03-01'))).toBe(15);
    expect(ageOn('2008-02-29', day('2024-02-29'))).toBe(16);
  });

  it('refuses a malformed or impossible birth date', () => {
    for (const bad of ['2010-11-31', '2010-13-01', '2011-02-29', '10-11-26', '2010-1-26', '26-11-2010']) {
      const error = refusal(() => ageOn(bad, day('2025-01-01')));
      expect(error.code).toBe('NV_BAD_FIELD');
      expect(error.status).toBe(400);
    }
  });
});

describe('eligibility with a CPR number', () => {
  it('gives full use from the 15th birthday', () => {
    expect(eligibility({ cpr: cpr('2010-11-26') }, day('2025-11-26'))).toBe('full');
    expect(eligibility({ cpr: cpr('1950-01-01') }, day('2025-11-26'))).toBe('full');
  });

  it('gives view-only (kontokig) from 13 until the 15th birthday', () => {
    expect(eligibility({ cpr: cpr('2010-11-26') }, day('2025-11-25'))).toBe('view-only');
    expect(eligibility({ cpr: cpr('2012-11-26') }, day('2025-11-26'))).toBe('view-only');
  });

  it('refuses anyone under 13', () => {
    const error = refusal(() => eligibility({ cpr: cpr('2012-11-26') }, day('2025-11-25')));
    expect(error.status).toBe(422);
    expect(error.code).toBe('NV_NOT_ELIGIBLE');
    expect(error.message).toBe('under 13: NemID is from 13 years');
  });

  it('accepts a matching birth date and refuses a different one', () => {
    expect(eligibility({ cpr: cpr('1990-01-01'), birthDate: '1990-01-01' }, day('2025-11-26'))).toBe('full');
    const error = refusal(() => eligibility({ cpr: cpr('1990-01-01'), birthDate: '1990-01-02' }, day('2025-11-26')));
    expect(error.status).toBe(400);
    expect(error.code).toBe('NV_BAD_FIELD');
    expect(error.message).not.toContain('1990');
  });
});

describe('eligibility without a CPR number', () => {
  it('gives bank-only from the 15th birthday', () => {
    expect(eligibility({ birthDate: '2010-11-26' }, day('2025-11-26'))).toBe('bank-only');
    expect(eligibility({ birthDate: ' 1970-06-30 ' }, day('2025-11-26'))).toBe('bank-only');
  });

  it('refuses anyone under 15, also the 13- and 14-year-olds a CPR number would let in', () => {
    for (const birthDate of ['2010-11-26', '2012-11-26', '2020-01-01']) {
      const error = refusal(() => eligibility({ birthDate }, day('2025-11-25')));
      expect(error.status).toBe(422);
      expect(error.code).toBe('NV_NOT_ELIGIBLE');
      expect(error.message).toBe('without a CPR number NemID is from 15 years, for the bank only');
    }
  });

  it('needs a birth date', () => {
    for (const input of [{}, { birthDate: '' }, { birthDate: '   ' }]) {
      const error = refusal(() => eligibility(input, day('2025-11-26')));
      expect(error.status).toBe(400);
      expect(error.code).toBe('NV_MISSING_FIELD');
    }
  });

  it('refuses a malformed, impossible or future birth date as a bad field', () => {
    for (const birthDate of ['1.1.1990', '1990-02-30', '2025-11-27']) {
      const error = refusal(() => eligibility({ birthDate }, day('2025-11-26')));
      expect(error.status).toBe(400);
      expect(error.code).toBe('NV_BAD_FIELD');
    }
  });
});
