/**
 * The hardware abstraction the firmware core is written against. A target (the emulator, a
 * johnny-five board, a test rig) implements these and feeds the core its inputs.
 */
import type { Button } from './button.ts';
import type { MonotonicClock, RealTimeClock } from './clock.ts';
import type { SegmentDisplay } from './display.ts';
import type { Flash } from './flash.ts';
import type { Power } from './power.ts';
import type { Rng } from './rng.ts';
import type { Speaker } from './speaker.ts';
import type { Transport } from './transport.ts';

export type { Button } from './button.ts';
export type { MonotonicClock, RealTimeClock } from './clock.ts';
export { DISPLAY_POSITIONS, type SegmentDisplay } from './display.ts';
export type { Flash, FlashGeometry } from './flash.ts';
export type { Power, PowerWork } from './power.ts';
export type { Rng } from './rng.ts';
export { MAX_SPEED, MAX_VOLUME, MIN_SPEED, MIN_VOLUME, NORMAL_SPEED, WORDS, isWord, speedFactor, volumeGain, type Speaker, type Utterance, type Word } from './speaker.ts';
export type { Framing, Transport } from './transport.ts';

export interface Hal {
  readonly button: Button;
  readonly display: SegmentDisplay;
  readonly clock: MonotonicClock;
  readonly rtc: RealTimeClock;
  readonly flash: Flash;
  readonly rng: Rng;
  readonly power: Power;
  /** Says digits and short messages (a silent token never asks it to). */
  readonly speaker: Speaker;
  /** The host links; an input event names its link by index. */
  readonly transports: readonly Transport[];
}

/** Everything that happens to the firmware arrives as one of these, in order. */
export type InputEvent =
  | { readonly type: 'button'; readonly pressed: boolean }
  | { readonly type: 'received'; readonly link: number; readonly bytes: Uint8Array }
  | { readonly type: 'tick' };
