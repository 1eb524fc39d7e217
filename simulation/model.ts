/**
 * The fleet a simulation runs: each token's make (HOTP or TOTP, its crystal, its battery, its
 * flash) and its holder's habits, and the year of planned use that follows from them. Every
 * choice is drawn from the seed, in the token's own stream.
 */
import type { FlashGeometry } from '../device/hal/flash.ts';
import { Random } from './random.ts';

export const DAY_MS = 86_400_000;
/** The simulated year starts on a Monday, at midnight UTC (the simulation's days are UTC days). */
export const SIMULATION_START_MS = Date.UTC(2027, 0, 4);
export const TOTP_PERIOD_SECONDS = 30;

/** The cheap part a share of the fleet is built with: two 256-byte pages, rated for 1,000 erases. */
export const SMALL_FLASH: { readonly geometry: FlashGeometry; readonly endurance: number } = { geometry: { pageSize: 256, pageCount: 2 }, endurance: 1000 };
export const SMALL_FLASH_SHARE = 0.2;
export const TOTP_SHARE = 0.3;

/** Charge (percent) each code costs, and each second the display is lit. */
export const COST_PER_CODE = 0.002;
export const COST_PER_DISPLAY_SECOND = 0.00005;

/** A crystal's frequency error falls with the square of the distance from its turnover temperature. */
export const CRYSTAL_TURNOVER_C = 25;
export const CRYSTAL_PARABOLA_PPM_PER_C2 = -0.034;

export type TokenKind = 'hotp' | 'totp';

export interface Habits {
  /** Logins on a working day (the mean of a Poisson count), and on a weekend day. */
  readonly weekdayLogins: number;
  readonly weekendLogins: number;
  /** Bursts of accidental presses in a pocket or bag, a week, and the mean presses in one. */
  readonly pocketBurstsPerWeek: number;
  readonly pocketBurstMean: number;
  /** A mistyped code, a login form sent twice, a bad day of several wrong codes in a row. */
  readonly typoRate: number;
  readonly doubleSubmitRate: number;
  readonly fumbleRate: number;
}

export interface TokenProfile {
  readonly index: number;
  readonly serial: string;
  readonly kind: TokenKind;
  /** The seed, registered with the server and written to the token; never in any output. */
  readonly seed: Uint8Array;
  /** The crystal's error at its turnover temperature, and the temperatures it lives through. */
  readonly crystalPpm: number;
  readonly indoorC: number;
  readonly startPercent: number;
  readonly selfDischargePerDay: number;
  readonly smallFlash: boolean;
  readonly habits: Habits;
  readonly holidays: readonly { readonly from: number; readonly to: number }[];
  /** The day the token is lost, if it is. */
  readonly lostDay: number | undefined;
  /** The day a child plays with it: more presses than a resync can reach. */
  readonly wildDay: number | undefined;
}

export type Activity =
  | { readonly kind: 'login'; readonly at: number }
  | { readonly kind: 'pocket'; readonly at: number; readonly presses: readonly number[] }
  | { readonly kind: 'lost'; readonly at: number }
  | { readonly kind: 'finder'; readonly at: number };

export function buildFleet(seed: string, tokens: number, days: number): TokenProfile[] {
  const serials = new Random(seed, 'serials');
  const taken = new Set<string>();
  const fleet: TokenProfile[] = [];
  for (let index = 0; index < tokens; index++) {
    let serial: string;
    do serial = String(serials.int(10_000_000, 99_999_999));
    while (taken.has(serial));
    taken.add(serial);
    fleet.push(profile(new Random(seed, `token/${index}`), index, serial, days));
  }
  return fleet;
}

function profile(random: Random, index: number, serial: string, days: number): TokenProfile {
  const kind: TokenKind = random.chance(TOTP_SHARE) ? 'totp' : 'hotp';
  const seed = random.bytes(20);
  // Watch crystals: ±20 ppm at 25 °C is the usual tolerance; a few are worse.
  const crystalPpm = Math.max(-40, Math.min(40, random.normal(0, 10)));
  const indoorC = random.between(17, 24);
  // Most cells start nearly full; old stock from a drawer starts low.
  const oldStock = random.chance(0.12);
  const startPercent = oldStock ? random.between(3, 25) : random.between(70, 100);
  const selfDischargePerDay = oldStock ? random.between(0.01, 0.12) : random.between(0.004, 0.012);
  const smallFlash = random.chance(SMALL_FLASH_SHARE);
  const weekdayLogins = random.between(0.4, 2.2);
  const habits: Habits = {
    weekdayLogins,
    weekendLogins: weekdayLogins * random.between(0.05, 0.4),
    pocketBurstsPerWeek: random.chance(0.3) ? random.between(1, 5) : random.between(0, 0.5),
    pocketBurstMean: random.between(2, 30),
    typoRate: random.between(0.005, 0.04),
    doubleSubmitRate: random.between(0, 0.03),
    fumbleRate: random.between(0, 0.004),
  };
  const holidays: { from: number; to: number }[] = [];
  for (let n = random.int(1, 3); n > 0; n--) {
    const from = random.int(0, Math.max(0, days - 1));
    holidays.push({ from, to: from + random.int(5, 21) });
  }
  const lostDay = random.chance(0.03) ? random.int(0, Math.max(0, days - 1)) : undefined;
  const wildDay = random.chance(0.006) ? random.int(0, Math.max(0, days - 1)) : undefined;
  return { index, serial, kind, seed, crystalPpm, indoorC, startPercent, selfDischargePerDay, smallFlash, habits, holidays, lostDay, wildDay };
}

export function dayOf(atMs: number): number {
  return Math.floor((atMs - SIMULATION_START_MS) / DAY_MS);
}

function onHoliday(token: TokenProfile, day: number): boolean {
  return token.holidays.some((h) => day >= h.from && day <= h.to);
}

/** The temperature a token's crystal sees on a day: indoors, the season, the day's weather, a pocket. */
export function temperatureC(token: TokenProfile, day: number, random: Random): number {
  const season = -6 * Math.cos((2 * Math.PI * (day + 4 - 15)) / 365);
  return token.indoorC + season * 0.4 + random.normal(0, 2.5) + (random.chance(0.5) ? 6 : 0);
}

export function crystalPpmAt(token: TokenProfile, celsius: number): number {
  return token.crystalPpm + CRYSTAL_PARABOLA_PPM_PER_C2 * (celsius - CRYSTAL_TURNOVER_C) ** 2;
}

/**
 * The token's planned year: logins on working days (fewer at weekends, none on holiday), bursts
 * of pocket presses, the day it is lost (and a finder tries it the day after), a child's day.
 * Planned activities of one token start at least `gap` apart.
 */
export function planYear(token: TokenProfile, seed: string, days: number): Activity[] {
  const random = new Random(seed, `plan/${token.index}`);
  const plan: Activity[] = [];
  const at = (day: number, fromHour: number, toHour: number) => SIMULATION_START_MS + day * DAY_MS + Math.floor(random.between(fromHour, toHour) * 3_600_000);
  for (let day = 0; day < days; day++) {
    if (token.lostDay !== undefined && day > token.lostDay) {
      if (day === token.lostDay + 1) plan.push({ kind: 'finder', at: at(day, 9, 20) });
      break;
    }
    if (onHoliday(token, day)) continue;
    const weekday = day % 7 < 5;
    const today: Activity[] = [];
    for (let n = random.poisson(weekday ? token.habits.weekdayLogins : token.habits.weekendLogins); n > 0; n--) today.push({ kind: 'login', at: at(day, 7, 22) });
    if (random.chance(token.habits.pocketBurstsPerWeek / 7)) today.push(pocketBurst(at(day, 8, 20), Math.max(1, Math.round(random.exponential(token.habits.pocketBurstMean))), random));
    if (token.wildDay === day) today.push(pocketBurst(at(day, 6, 7), random.int(1050, 1300), random, 31_000, 45_000));
    if (token.lostDay === day) today.push({ kind: 'lost', at: at(day, 22.5, 23.5) });
    today.sort((a, b) => a.at - b.at);
    plan.push(...spaced(today));
  }
  return plan;
}

/** Presses a while apart (each after the display has gone dark: a pocket burst runs the counter ahead). */
function pocketBurst(start: number, presses: number, random: Random, minGap = 35_000, maxGap = 300_000): Activity {
  const times: number[] = [];
  let at = start;
  for (let i = 0; i < presses; i++) {
    times.push(at);
    at += Math.floor(random.between(minGap, maxGap));
  }
  return { kind: 'pocket', at: start, presses: times };
}

/** Activities of a day at least ten minutes apart, each starting after the last one's presses. */
function spaced(activities: Activity[]): Activity[] {
  const out: Activity[] = [];
  let free = -Infinity;
  for (const activity of activities) {
    const shift = Math.max(0, free - activity.at);
    const moved = shift === 0 ? activity : move(activity, shift);
    out.push(moved);
    free = (moved.kind === 'pocket' ? moved.presses[moved.presses.length - 1]! : moved.at) + 10 * 60_000;
  }
  return out;
}

function move(activity: Activity, by: number): Activity {
  return activity.kind === 'pocket' ? { ...activity, at: activity.at + by, presses: activity.presses.map((t) => t + by) } : { ...activity, at: activity.at + by };
}
