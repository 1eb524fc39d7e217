/**
 * The token's speaker, as on an audio code reader (NemID's lydkodeviser, MitID's kodeoplæser): the
 * firmware asks it to say a short sequence of words from a small vocabulary, at a volume and a
 * speed it keeps in its settings. The words are what the token holds recordings of; how they
 * sound (a language, a voice, beeps on a buzzer) is the target's business.
 */
import { MAX_SPEED, MAX_VOLUME, MIN_SPEED, MIN_VOLUME, NORMAL_SPEED } from '../../protocol/commands.ts';

/**
 * What a token can say: the ten digits, and one word for each message its display shows. A
 * target needs a recording (or a beep pattern) of each; hardware-notes.md lists them with the
 * Danish and English the emulator says.
 */
export const WORDS = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  /** Said before the digits of the serial number (after a hold). */
  'serial',
  /** Said before the level after a double press stepped the volume. */
  'volume',
  'ready',
  'no-seed',
  'low-battery',
  'error',
  'hold-to-clear',
  'cancelled',
  'cleared',
] as const;
export type Word = (typeof WORDS)[number];

export function isWord(text: string): text is Word {
  return (WORDS as readonly string[]).includes(text);
}

/**
 * Volume 0 is silent: the token says nothing; each level above it is 6 dB louder than the one
 * below. Speed 3 is the voice's own pace; each level is a factor (SPEED_FACTORS) on how fast it
 * speaks. The ranges are the protocol's (`audio`).
 */
export { MAX_SPEED, MAX_VOLUME, MIN_SPEED, MIN_VOLUME, NORMAL_SPEED };

/** How much faster than normal each speed level speaks (1 = the voice's own pace): durations divide by it. */
export const SPEED_FACTORS: Readonly<Record<number, number>> = { 1: 0.6, 2: 0.8, 3: 1, 4: 1.25, 5: 1.5 };

/** The amplitude factor of a volume level: 1 at the loudest, half for each level below it, 0 when silent. */
export function volumeGain(volume: number): number {
  return volume <= MIN_VOLUME ? 0 : 2 ** (Math.min(volume, MAX_VOLUME) - MAX_VOLUME);
}

/** The speaking-rate factor of a speed level (1 for NORMAL_SPEED). */
export function speedFactor(speed: number): number {
  return SPEED_FACTORS[speed] ?? 1;
}

export interface Utterance {
  readonly words: readonly Word[];
  /** 1..MAX_VOLUME: the firmware does not ask a silent token to speak. */
  readonly volume: number;
  readonly speed: number;
}

export interface Speaker {
  /** Starts saying `utterance`, cutting off whatever it was still saying. Returns at once. */
  say(utterance: Utterance): void;
}
