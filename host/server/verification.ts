/**
 * Where a code lies in a token's sequence: the window searches of verify and resync. Pure. Every
 * candidate in a window is computed and compared without an early exit, so the time taken does
 * not tell where, or whether, a code matched. Codes are compared as numbers (the caller has
 * checked that a code is exactly `digits` decimal digits).
 */
import { hotpValue, totpStep, type OathKey } from '../../protocol/oath/index.ts';

/** The first counter in [from, from + count) whose code is `code`, or undefined. */
export function findCounter(key: OathKey, digits: number, code: string, from: number, count: number): number | undefined {
  const wanted = Number(code);
  let found = -1;
  const start = Math.max(0, from);
  const end = Math.min(from + count, Number.MAX_SAFE_INTEGER);
  for (let counter = start; counter < end; counter++) {
    const miss = hotpValue(key, counter, digits) ^ wanted;
    found = found < 0 && miss === 0 ? counter : found;
  }
  return found < 0 ? undefined : found;
}

/**
 * The first counter c in [from, from + count) with code(c) = first and code(c + 1) = second: two
 * consecutive codes, which only the token can produce.
 */
export function findConsecutive(key: OathKey, digits: number, first: string, second: string, from: number, count: number): number | undefined {
  const wantedFirst = Number(first);
  const wantedSecond = Number(second);
  let found = -1;
  let previousMatched = false;
  const start = Math.max(0, from);
  const end = Math.min(from + count + 1, Number.MAX_SAFE_INTEGER);
  for (let counter = start; counter < end; counter++) {
    const value = hotpValue(key, counter, digits);
    found = found < 0 && previousMatched && (value ^ wantedSecond) === 0 ? counter - 1 : found;
    previousMatched = counter < from + count && (value ^ wantedFirst) === 0;
  }
  return found < 0 ? undefined : found;
}

/** The TOTP steps [centre - radius, centre + radius] later than `afterStep`, as a counter range. */
export function stepRange(centre: number, radius: number, afterStep: number): { from: number; count: number } {
  const from = Math.max(centre - radius, afterStep + 1, 0);
  return { from, count: Math.max(0, centre + radius - from + 1) };
}

export function currentStep(nowMs: number, periodSeconds: number): number {
  return totpStep(nowMs, periodSeconds);
}
