/**
 * The emulator's two voices: what each of the token's words (device/hal/speaker.ts) is in Danish
 * and in English, as text for the debug link and as what espeak-ng is asked to say. A digit is
 * itself: espeak-ng reads "7" as the voice's language says it ("syv", "seven").
 */
import type { Word } from '../../hal/speaker.ts';

export const VOICES = ['da', 'en'] as const;
export type Voice = (typeof VOICES)[number];
export const DEFAULT_VOICE: Voice = 'da';

export function isVoice(name: string): name is Voice {
  return (VOICES as readonly string[]).includes(name);
}

type MessageWord = Exclude<Word, '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9'>;

const PHRASES: { readonly [V in Voice]: { readonly [W in MessageWord]: string } } = {
  da: {
    serial: 'serienummer',
    volume: 'lydstyrke',
    ready: 'klar',
    'no-seed': 'ingen nøgle',
    'low-battery': 'lavt batteri',
    error: 'fejl',
    'hold-to-clear': 'hold knappen inde for at slette',
    cancelled: 'annulleret',
    cleared: 'slettet',
  },
  en: {
    serial: 'serial number',
    volume: 'volume',
    ready: 'ready',
    'no-seed': 'no seed',
    'low-battery': 'low battery',
    error: 'error',
    'hold-to-clear': 'hold the button to clear',
    cancelled: 'cancelled',
    cleared: 'cleared',
  },
};

/** One word as the voice says it. */
export function phrase(word: Word, voice: Voice): string {
  return /^[0-9]$/.test(word) ? word : PHRASES[voice][word as MessageWord];
}

/** An utterance as text: its words as the voice says them, a space apart ("7 5 5 2 2 4", "lavt batteri"). */
export function spokenText(words: readonly Word[], voice: Voice): string {
  return words.map((word) => phrase(word, voice)).join(' ');
}

/** espeak-ng's name for each voice (`espeak-ng --voices`). */
export const ESPEAK_VOICE: { readonly [V in Voice]: string } = { da: 'da', en: 'en' };
