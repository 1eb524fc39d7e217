/**
 * Danish CPR numbers (personnumre): form and date validation at ordering. A CPR number is personal
 * data, so no error message here ever repeats it, whole or in part.
 *
 * There is no modulus-11 check: the CPR office stopped guaranteeing it in 2007, when some birth
 * dates ran out of numbers that pass it, so valid numbers issued since then may fail it.
 */
import { CodedError } from '../../../protocol/coded-error.ts';

export interface Cpr {
  /** The 10 digits, without the hyphen. */
  readonly digits: string;
  /** YYYY-MM-DD. */
  readonly birthDate: string;
}

const badCpr = (message: string) => new CodedError('NV_BAD_CPR', message, 400);

/**
 * Accepts `DDMMYY-SSSS` or `DDMMYYSSSS` (surrounding spaces ignored). `today` bounds the birth
 * date (a number with a birth date after it is refused); its UTC date counts.
 */
export function parseCpr(text: string, today: Date = new Date()): Cpr {
  const trimmed = text.trim();
  if (!/^[0-9-]*$/.test(trimmed)) throw badCpr('a CPR number may contain only digits and one hyphen (DDMMYY-SSSS)');
  const hyphens = trimmed.split('-').length - 1;
  if (hyphens > 1 || (hyphens === 1 && trimmed.indexOf('-') !== 6)) {
    throw badCpr('a CPR number has its hyphen after the sixth digit (DDMMYY-SSSS), if it has one');
  }
  const digits = trimmed.replace('-', '');
  if (digits.length !== 10) throw badCpr(`a CPR number has 10 digits (DDMMYY-SSSS), this one has ${digits.length}`);

  const day = Number(digits.slice(0, 2));
  const month = Number(digits.slice(2, 4));
  const yy = Number(digits.slice(4, 6));
  const seventh = Number(digits[6]);
  if (day < 1 || day > 31) throw badCpr("the CPR number's day (its first two digits) must be 01–31");
  if (month < 1 || month > 12) throw badCpr("the CPR number's month (its third and fourth digits) must be 01–12");

  const year = centuryOf(seventh, yy) + yy;
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 30 February over into March: a changed month means no such day.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw badCpr("the CPR number's birth date does not exist in the calendar (like 30 February, or 29 February outside a leap year)");
  }
  const todayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  if (date.getTime() > todayUtc) throw badCpr("the CPR number's birth date is in the future");

  return { digits, birthDate: isoDate(year, month, day) };
}

/** The CPR office's table: the century from the seventh digit and the two-digit year. */
function centuryOf(seventh: number, yy: number): number {
  if (seventh <= 3) return 1900;
  if (seventh === 4 || seventh === 9) return yy <= 36 ? 2000 : 1900;
  return yy <= 57 ? 2000 : 1800;
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
