/**
 * A whole token on simulated parts: the firmware core, its flash, clocks, button, display, speaker
 * and battery, plus the lab's powers over it (press, hold, read the display, advance time, cut power).
 * The emulator serves this over a pty and a debug socket; tests use it in-process.
 */
import { DEFAULT_TIMINGS, Firmware, type FirmwareConfig } from '../firmware/token.ts';
import { segmentsToText } from '../firmware/segments.ts';
import type { Button, Hal, InputEvent, SegmentDisplay, Speaker } from '../hal/index.ts';
import type { Rng } from '../hal/rng.ts';
import type { Transport } from '../hal/transport.ts';
import { PowerLossError, SimFlash, type PowerCutPlan } from './sim-flash.ts';
import { SimButton, SimClock, SimDisplay, SimPower, SimRng, SimRtc, SimSpeaker, TeeDisplay, TeeSpeaker } from './sim-parts.ts';

/**
 * The firmware as the token's parts see it: booted once per power-on, then fed inputs. Where it
 * runs is the factory's business: in this process (`inProcessCore`, V8) or inside another engine
 * (device/targets/quickjs runs the firmware bundle in QuickJS-NG).
 */
export interface FirmwareCore {
  readonly serialNumber: string;
  boot(): void;
  input(event: InputEvent): void;
  /** Power went: whatever holds the firmware's memory is let go. */
  dispose?(): void;
}

export type CoreFactory = (hal: Hal, config: FirmwareConfig) => FirmwareCore;

export const inProcessCore: CoreFactory = (hal, config) => new Firmware(hal, config);

export interface SimTokenParts {
  readonly config: FirmwareConfig;
  /** Where the firmware runs; in this process by default. */
  readonly core?: CoreFactory;
  readonly flash: SimFlash;
  readonly transports: readonly Transport[];
  /** A real button (a board's) instead of the simulated one the lab's finger presses. */
  readonly button?: Button;
  /** Displays that show what the firmware shows, beside the simulated one (a board's MAX7219 or LCD). */
  readonly displays?: readonly SegmentDisplay[];
  /** Speakers that say what the firmware says, beside the simulated one (a board's buzzer). */
  readonly speakers?: readonly Speaker[];
  readonly clock?: SimClock;
  readonly rtc?: SimRtc;
  readonly power?: SimPower;
  readonly rng?: Rng;
}

/** How long the lab's finger stays on the button for a press, and how long it lets go after. */
export const PRESS_MS = 100;
export const RELEASE_MS = 100;

export class SimToken {
  readonly flash: SimFlash;
  readonly clock: SimClock;
  readonly rtc: SimRtc;
  readonly button = new SimButton();
  readonly display = new SimDisplay();
  readonly speaker = new SimSpeaker();
  readonly power: SimPower;
  private readonly hal: Hal;
  private firmware: FirmwareCore | undefined;
  private readonly powerListeners: ((on: boolean) => void)[] = [];
  /** Times the firmware has booted, the first power-on included. */
  boots = 0;

  constructor(private readonly parts: SimTokenParts) {
    this.flash = parts.flash;
    this.clock = parts.clock ?? new SimClock();
    this.rtc = parts.rtc ?? new SimRtc(this.clock, Date.UTC(2026, 0, 1));
    this.power = parts.power ?? new SimPower();
    this.hal = {
      button: parts.button ?? this.button,
      display: parts.displays?.length ? new TeeDisplay([this.display, ...parts.displays]) : this.display,
      clock: this.clock,
      rtc: this.rtc,
      flash: this.flash,
      rng: parts.rng ?? new SimRng(),
      power: this.power,
      speaker: parts.speakers?.length ? new TeeSpeaker([this.speaker, ...parts.speakers]) : this.speaker,
      transports: parts.transports,
    };
  }

  /** The serial number the firmware booted with (undefined while off). */
  get serial(): string | undefined {
    return this.firmware?.serialNumber;
  }

  get poweredOn(): boolean {
    return this.firmware !== undefined;
  }

  /** Boots the firmware from what the flash holds. A power cut during boot leaves the token off. */
  powerOn(): void {
    if (this.firmware) return;
    this.flash.restorePower();
    const firmware = (this.parts.core ?? inProcessCore)(this.hal, this.parts.config);
    this.boots++;
    if (this.guard(() => firmware.boot())) {
      this.firmware = firmware;
      this.notifyPower(true);
    } else {
      firmware.dispose?.();
    }
  }

  /** Power goes now: whatever the firmware was doing stops where it is. */
  powerOff(): void {
    this.firmware?.dispose?.();
    this.firmware = undefined;
    this.clock.wakeAt(null);
    this.display.show(new Uint8Array(this.display.segments.length));
    this.notifyPower(false);
  }

  /** Power will fail in the middle of a coming flash operation. */
  armPowerCut(plan: PowerCutPlan): void {
    this.flash.armPowerCut(plan);
  }

  input(event: InputEvent): void {
    const firmware = this.firmware;
    if (firmware) this.guard(() => firmware.input(event));
  }

  receive(link: number, bytes: Uint8Array): void {
    this.input({ type: 'received', link, bytes });
  }

  /** Moves time on by `ms`, delivering every timer that falls due on the way, in order. */
  advance(ms: number): void {
    this.step(ms, false);
  }

  /**
   * Like advance, for the lab's own actions (a press takes its 100 ms): the firmware's timers see
   * the time pass, the real-time clock does not (see SimClock).
   */
  private warp(ms: number): void {
    this.step(ms, true);
  }

  private step(ms: number, warp: boolean): void {
    const target = this.clock.now() + ms;
    for (let wake = this.clock.pendingWake; wake !== null && wake <= target && this.firmware; wake = this.clock.pendingWake) {
      this.clock.advance(Math.max(0, wake - this.clock.now()), warp);
      this.input({ type: 'tick' });
      if (this.clock.pendingWake === wake) break;
    }
    this.clock.advance(Math.max(0, target - this.clock.now()), warp);
    this.input({ type: 'tick' });
  }

  setButton(pressed: boolean): void {
    this.button.pressed = pressed;
    this.input({ type: 'button', pressed });
  }

  /** A short press, as a finger makes it. */
  press(): void {
    this.setButton(true);
    this.warp(PRESS_MS);
    this.setButton(false);
    this.warp(RELEASE_MS);
  }

  /** Holds the button for `ms` (by default just past the hold time), then lets go. */
  hold(ms = (this.parts.config.timings?.holdMs ?? DEFAULT_TIMINGS.holdMs) + 200): void {
    this.setButton(true);
    this.warp(ms);
    this.setButton(false);
    this.warp(RELEASE_MS);
  }

  /** What a person reads off the display now. */
  readDisplay(): string {
    return segmentsToText(this.display.segments);
  }

  onPowerChange(listener: (on: boolean) => void): void {
    this.powerListeners.push(listener);
  }

  /** Runs firmware code; a power loss inside it turns the token off. False when power was lost. */
  private guard(run: () => void): boolean {
    try {
      run();
      return true;
    } catch (error) {
      if (!(error instanceof PowerLossError)) throw error;
      this.powerOff();
      return false;
    }
  }

  private notifyPower(on: boolean): void {
    for (const listener of this.powerListeners) listener(on);
  }
}
