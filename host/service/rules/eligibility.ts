/**
 * Who may have NemID, and with what scope, as the seed states it: from 15 with a CPR number, full
 * use; 13–14 with a CPR number, view-only (kontokig); from 15 without a CPR number, bank only.
 * Ages are whole years on the UTC date of `today`.
 */
import { CodedError } from '../../../protocol/coded-error.ts';
import type { Scope } from '../store/types.ts';
import type { Cpr } from './cpr.ts';

export const FULL_AGE = 15;
export const VIEW_ONLY_AGE = 13;

export function eligibility(input: { cpr?: Cpr; birthDate?: string }, today: Date): Scope {
  const given = input.birthDate?.trim() ? input.birthDate.trim() : undefined;
  if (given !== undefined) parseIsoDate(given);

  if (input.cpr) {
    if (given !== undefined && given !== input.cpr.birthDate) {
      throw new CodedError('NV_BAD_FIELD', "the birth date given does not match the CPR number's birth date", 400);
    }
    const age = ageOn(input.cpr.birthDate, today);
    if (age >= FULL_AGE) return 'full';
    if (age >= VIEW_ONLY_AGE) return 'view-only';
    throw new CodedError('NV_NOT_ELIGIBLE', 'under 13: NemID is from 13 years', 422);
  }

  if (given === undefined) throw new CodedError('NV_MISSING_FIELD', 'without a CPR number a birth date (YYYY-MM-DD) is required', 400);
  const todayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  if (parseIsoDate(given).getTime() > todayUtc) throw new CodedError('NV_BAD_FIELD', 'the birth date is in the future', 400);
  if (ageOn(given, today) >= FULL_AGE) return 'bank-only';
  throw new CodedError('NV_NOT_ELIGIBLE', 'without a CPR number NemID is from 15 years, for the bank only', 422);
}

/**
 * Whole years from `birthDate` (YYYY-MM-DD) to the UTC date of `today`: one more on each birthday.
 * Someone born on 29 February turns a year older on 1 March in other years.
 */
export function ageOn(birthDate: string, today: Date): number {
  const birth = parseIsoDate(birthDate);
  const months = today.getUTCMonth() - birth.getUTCMonth();
  const beforeBirthday = months < 0 || (months === 0 && today.getUTCDate() < birth.getUTCDate());
  return today.getUTCFullYear() - birth.getUTCFullYear() - (beforeBirthday ? 1 : 0);
}

/** A real calendar date in `YYYY-MM-DD` form, as UTC midnight; NV_BAD_FIELD otherwise. */
function parseIsoDate(text: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) throw new CodedError('NV_BAD_FIELD', 'a birth date is written YYYY-MM-DD', 400);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, does not read years 0–99 as 1900–1999
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new CodedError('NV_BAD_FIELD', 'the birth date does not exist in the calendar', 400);
  }
  return date;
}
