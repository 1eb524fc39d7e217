/** The simulated token's other parts: clock, real-time clock, button, display, speaker, battery, random source. */
import type { Button } from '../hal/button.ts';
import type { MonotonicClock, RealTimeClock } from '../hal/clock.ts';
import { DISPLAY_POSITIONS, type SegmentDisplay } from '../hal/display.ts';
import type { Power, PowerWork } from '../hal/power.ts';
import type { Rng } from '../hal/rng.ts';
import type { Speaker, Utterance } from '../hal/speaker.ts';

/**
 * Milliseconds since power-on: a time source (real elapsed time in the emulator, nothing in a
 * test) plus whatever `advance` has added.
 *
 * A lab finger's press "warps" time: the firmware's timers see the press take its 100 ms, but the
 * real-time clock does not move, so a thousand emulated presses do not leave the RTC ahead of
 * the wall clock. `wallNow()` is the time without warps, which the RTC counts from.
 */
export class SimClock implements MonotonicClock {
  private offset = 0;
  private warped = 0;
  private wake: number | null = null;

  constructor(
    private readonly source: () => number = () => 0,
    private readonly onWakeRequest?: (atMs: number | null) => void,
  ) {}

  now(): number {
    return this.source() + this.offset + this.warped;
  }

  wallNow(): number {
    return this.source() + this.offset;
  }

  wakeAt(atMs: number | null): void {
    this.wake = atMs;
    this.onWakeRequest?.(atMs);
  }

  get pendingWake(): number | null {
    return this.wake;
  }

  /** Moves time on; a `warp` moves only the firmware's own timebase, not the wall clock. */
  advance(ms: number, warp = false): void {
    if (warp) this.warped += ms;
    else this.offset += ms;
  }
}

interface RtcState {
  /** The clock's reading when the wall time was `wallMs`. */
  readonly unixMs: number;
  readonly wallMs: number;
}

/** A real-time clock counting wall time, fast or slow by `driftPpm` parts per million. */
export class SimRtc implements RealTimeClock {
  private state: RtcState;

  constructor(
    private readonly clock: SimClock,
    initialUnixMs: number,
    public driftPpm = 0,
    private readonly onWrite?: (unixMs: number) => void,
  ) {
    this.state = { unixMs: initialUnixMs, wallMs: clock.wallNow() };
  }

  read(): number {
    return this.state.unixMs + (this.clock.wallNow() - this.state.wallMs) * (1 + this.driftPpm / 1e6);
  }

  write(unixMs: number): void {
    this.state = { unixMs, wallMs: this.clock.wallNow() };
    this.onWrite?.(unixMs);
  }
}

export class SimButton implements Button {
  pressed = false;

  isPressed(): boolean {
    return this.pressed;
  }
}

export class SimDisplay implements SegmentDisplay {
  segments = new Uint8Array(DISPLAY_POSITIONS);
  private readonly listeners: ((segments: Uint8Array) => void)[] = [];

  show(segments: Uint8Array): void {
    this.segments = segments.slice();
    for (const listener of this.listeners) listener(this.segments);
  }

  onChange(listener: (segments: Uint8Array) => void): void {
    this.listeners.push(listener);
  }
}

/** Shows what the firmware shows on several displays at once (the emulator's mirror and a board's own). */
export class TeeDisplay implements SegmentDisplay {
  constructor(private readonly displays: readonly SegmentDisplay[]) {}

  show(segments: Uint8Array): void {
    for (const display of this.displays) display.show(segments);
  }
}

/** A speaker that keeps what it was asked to say: the last utterance, how many, and listeners (the emulator renders them). */
export class SimSpeaker implements Speaker {
  last: Utterance | undefined;
  count = 0;
  private readonly listeners: ((utterance: Utterance) => void)[] = [];

  say(utterance: Utterance): void {
    this.last = { words: [...utterance.words], volume: utterance.volume, speed: utterance.speed };
    this.count++;
    for (const listener of this.listeners) listener(this.last);
  }

  onSay(listener: (utterance: Utterance) => void): void {
    this.listeners.push(listener);
  }
}

/** Says what the firmware says on several speakers at once (the emulator's and a board's buzzer). */
export class TeeSpeaker implements Speaker {
  constructor(private readonly speakers: readonly Speaker[]) {}

  say(utterance: Utterance): void {
    for (const speaker of this.speakers) speaker.say(utterance);
  }
}

/** A coin cell: every code costs a little charge. */
export class SimPower implements Power {
  constructor(
    public percent = 100,
    private readonly costPerCode = 0.005,
  ) {}

  batteryPercent(): number {
    return this.percent;
  }

  spend(work: PowerWork): void {
    if (work === 'code') this.percent = Math.max(0, this.percent - this.costPerCode);
  }
}

/** Randomness from Web Crypto, or from a function a test supplies for reproducible runs. */
export class SimRng implements Rng {
  constructor(private readonly source: (bytes: Uint8Array) => void = (bytes) => globalThis.crypto.getRandomValues(bytes)) {}

  fill(bytes: Uint8Array): void {
    this.source(bytes);
  }
}
