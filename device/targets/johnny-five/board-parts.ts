/**
 * The token's HAL on johnny-five components: the button, and the two supported displays (an
 * 8-digit MAX7219 module through Led.Digits, a 16x2 HD44780 LCD through LCD, parallel or on an
 * I2C backpack), plus a status LED and an optional buzzer, which is also the board's speaker: it
 * beeps what the token says. The firmware sends segment patterns; each display shows them in its
 * own way.
 */
import { segmentsToText } from '../../firmware/segments.ts';
import type { Button } from '../../hal/button.ts';
import { DISPLAY_POSITIONS, type SegmentDisplay } from '../../hal/display.ts';
import { speedFactor, type Speaker, type Utterance } from '../../hal/speaker.ts';
import { digitRegister, toMax7219, type DigitOrder } from './display-decoders.ts';
import type { J5Button, J5Digits, J5Lcd, J5Led, J5Piezo } from './j5.ts';

/** The push button, wired to ground with the pin's pull-up on: low is pressed. */
export class BoardButton implements Button {
  constructor(private readonly button: J5Button) {}

  isPressed(): boolean {
    return this.button.isDown;
  }

  onEdge(listener: (pressed: boolean) => void): void {
    this.button.on('down', () => listener(true));
    this.button.on('up', () => listener(false));
  }
}

/** An 8-digit 7-segment module on a MAX7219 in no-decode mode: segments go to the chip as they are. */
export class Max7219Display implements SegmentDisplay {
  private readonly shown = new Int16Array(DISPLAY_POSITIONS).fill(-1);

  constructor(
    private readonly digits: J5Digits,
    private readonly order: DigitOrder,
  ) {
    digits.on();
  }

  show(segments: Uint8Array): void {
    for (let position = 0; position < DISPLAY_POSITIONS; position++) {
      const byte = toMax7219(segments[position] ?? 0);
      if (this.shown[position] === byte) continue;
      this.shown[position] = byte;
      this.digits.sendDigit(0, digitRegister(position, this.order) - 1, byte);
    }
  }
}

/** A 16x2 character LCD: the first line reads what the 7-segment display would, centred. */
export class LcdDisplay implements SegmentDisplay {
  private line = '';

  constructor(private readonly lcd: J5Lcd) {
    lcd.clear();
  }

  show(segments: Uint8Array): void {
    const text = segmentsToText(segments).trim();
    const line = text.padStart(Math.floor((16 + text.length) / 2)).padEnd(16);
    if (line === this.line) return;
    this.line = line;
    this.lcd.cursor(0, 0).print(line);
  }
}

/** The status LED is lit while the display shows anything. */
export class StatusLed implements SegmentDisplay {
  private lit: boolean | undefined;

  constructor(private readonly led: J5Led) {}

  show(segments: Uint8Array): void {
    const lit = segments.some((byte) => byte !== 0);
    if (lit === this.lit) return;
    this.lit = lit;
    if (lit) this.led.on();
    else this.led.off();
  }
}

/** One tone of the buzzer, and the pause after it. */
export interface Beep {
  readonly hz: number;
  readonly ms: number;
  readonly restMs: number;
}

/**
 * How the buzzer says words, at speed 3: a digit 1..9 is that many short beeps, 0 one long beep,
 * any other word (volume, ready, error, …) one low tone; a longer pause between words. Other
 * speeds divide every length by the speed's factor (device/hal/speaker.ts). Low tones, because a
 * Firmata board makes them by the host toggling the pin over the serial line.
 */
export const BEEPS = { digitHz: 880, wordHz: 440, beepMs: 80, zeroMs: 400, wordMs: 300, beepRestMs: 150, wordRestMs: 600 } as const;

/** The beeps that say `utterance`, one word after the other; no pause after the last. */
export function beepsFor({ words, speed }: Utterance): Beep[] {
  const length = (ms: number) => Math.round(ms / speedFactor(speed));
  const beeps: Beep[] = [];
  for (const word of words) {
    const digit = /^[0-9]$/.test(word);
    const count = digit && word !== '0' ? Number(word) : 1;
    const tone = !digit ? { hz: BEEPS.wordHz, ms: BEEPS.wordMs } : word === '0' ? { hz: BEEPS.digitHz, ms: BEEPS.zeroMs } : { hz: BEEPS.digitHz, ms: BEEPS.beepMs };
    for (let i = 0; i < count; i++) beeps.push({ hz: tone.hz, ms: length(tone.ms), restMs: length(i === count - 1 ? BEEPS.wordRestMs : BEEPS.beepRestMs) });
  }
  if (beeps.length > 0) beeps[beeps.length - 1] = { ...beeps[beeps.length - 1]!, restMs: 0 };
  return beeps;
}

/**
 * A passive piezo: it chirps when the display lights up, and as the board's speaker it beeps what
 * the token says (beepsFor), a new utterance cutting off the one still being beeped. A piezo on a
 * digital pin has one loudness: any volume above 0 sounds the same (0 is silence: the firmware
 * then says nothing).
 */
export class Buzzer implements SegmentDisplay, Speaker {
  private lit = false;
  private timer: NodeJS.Timeout | undefined;
  private beeps: readonly Beep[] = [];
  private played = 0;

  constructor(private readonly piezo: J5Piezo) {}

  /** The beeps of the last utterance that the piezo was given so far (a new utterance starts them afresh). */
  get beeped(): readonly Beep[] {
    return this.beeps.slice(0, this.played);
  }

  /** Whether it is beeping an utterance now. */
  get speaking(): boolean {
    return this.timer !== undefined;
  }

  show(segments: Uint8Array): void {
    const lit = segments.some((byte) => byte !== 0);
    if (lit && !this.lit && this.timer === undefined) this.piezo.frequency(2000, 40);
    this.lit = lit;
  }

  say(utterance: Utterance): void {
    this.stop();
    const beeps = beepsFor(utterance);
    this.beeps = beeps;
    this.played = 0;
    const next = (index: number) => {
      const beep = beeps[index];
      if (!beep) {
        this.timer = undefined;
        return;
      }
      this.piezo.frequency(beep.hz, beep.ms);
      this.played = index + 1;
      this.timer = setTimeout(() => next(index + 1), beep.ms + beep.restMs);
    };
    next(0);
  }

  /** Silences it now (a new utterance, or the board shutting down). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.piezo.off();
  }
}
