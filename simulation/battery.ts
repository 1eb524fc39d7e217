/**
 * The coin cell as the simulation models it: it loses charge with time (self-discharge), with each
 * code the firmware makes (the firmware says so through the Power HAL), and with each second the
 * display is lit (measured from what the display shows). It knows the instant it fell below the
 * firmware's empty mark. `forecastEmpty` is the same model run over a token's planned presses
 * alone, before the year starts: the day the battery model dooms it.
 */
import { BATTERY_EMPTY, DEFAULT_TIMINGS } from '../device/firmware/token.ts';
import type { PowerWork } from '../device/hal/power.ts';
import { SimPower } from '../device/sim/sim-parts.ts';
import { COST_PER_CODE, COST_PER_DISPLAY_SECOND, DAY_MS, type Activity } from './model.ts';

export class SimBattery extends SimPower {
  private at: number;
  private litSince: number | undefined;
  /** When the charge first fell below the firmware's empty mark. */
  emptyAt: number | undefined;
  codes = 0;
  displaySeconds = 0;

  constructor(
    startPercent: number,
    private readonly selfDischargePerDay: number,
    startMs: number,
    /** The instant now, as the token's world sees it (the simulated wall clock). */
    private readonly now: () => number,
  ) {
    super(startPercent, COST_PER_CODE);
    this.at = startMs;
  }

  override batteryPercent(): number {
    this.advanceTo(this.now());
    return this.percent;
  }

  override spend(work: PowerWork): void {
    this.advanceTo(this.now());
    if (work !== 'code') return;
    this.codes++;
    this.drain(COST_PER_CODE, this.at);
  }

  /** The display went on or off (at the token's world time). */
  displayLit(lit: boolean): void {
    const now = this.now();
    this.advanceTo(now);
    if (lit && this.litSince === undefined) this.litSince = now;
    if (!lit && this.litSince !== undefined) {
      const seconds = (now - this.litSince) / 1000;
      this.litSince = undefined;
      this.displaySeconds += seconds;
      this.drain(seconds * COST_PER_DISPLAY_SECOND, now);
    }
  }

  /** Self-discharge up to `ms`; the instant of crossing the empty mark is found exactly. */
  advanceTo(ms: number): void {
    if (ms <= this.at) return;
    const loss = ((ms - this.at) / DAY_MS) * this.selfDischargePerDay;
    if (this.emptyAt === undefined && this.percent >= BATTERY_EMPTY && this.percent - loss < BATTERY_EMPTY) {
      this.emptyAt = this.at + ((this.percent - BATTERY_EMPTY) / loss) * (ms - this.at);
    }
    this.percent = Math.max(0, this.percent - loss);
    this.at = ms;
  }

  /** Takes `amount` off the charge at `at` (the forecast charges a planned press this way). */
  drain(amount: number, at: number): void {
    const before = this.percent;
    this.percent = Math.max(0, this.percent - amount);
    if (this.emptyAt === undefined && before >= BATTERY_EMPTY && this.percent < BATTERY_EMPTY) this.emptyAt = at;
  }
}

/** Every press a plan makes (a login's one press, each of a pocket burst's, the finder's). */
export function plannedPresses(plan: readonly Activity[]): number[] {
  const presses: number[] = [];
  for (const activity of plan) {
    if (activity.kind === 'login' || activity.kind === 'finder') presses.push(activity.at);
    else if (activity.kind === 'pocket') presses.push(...activity.presses);
  }
  return presses;
}

/**
 * When the model says the battery falls below empty if the token is used as planned and no more:
 * each press a code and a lit display (the simulation presses only on a dark display), and
 * self-discharge. Unplanned presses (resyncs, retries) only bring it forward.
 */
export function forecastEmpty(startPercent: number, selfDischargePerDay: number, startMs: number, endMs: number, presses: readonly number[]): number | undefined {
  const battery = new SimBattery(startPercent, selfDischargePerDay, startMs, () => startMs);
  const displaySeconds = DEFAULT_TIMINGS.displayMs / 1000;
  for (const at of presses) {
    if (at >= endMs || battery.emptyAt !== undefined) break;
    battery.advanceTo(at);
    if (battery.percent < BATTERY_EMPTY) break;
    battery.codes++;
    battery.drain(COST_PER_CODE, at);
    battery.advanceTo(at + DEFAULT_TIMINGS.displayMs);
    battery.drain(displaySeconds * COST_PER_DISPLAY_SECOND, at + DEFAULT_TIMINGS.displayMs);
  }
  battery.advanceTo(endMs);
  return battery.emptyAt;
}
