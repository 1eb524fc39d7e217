/**
 * The token's HAL on johnny-five components: the button, and the two supported displays (an
 * 8-digit MAX7219 module through Led.Digits, a 16x2 HD44780 LCD through LCD, parallel or on an
 * I2C backpack), plus a status LED and an optional buzzer. The firmware sends segment patterns;
 * each display shows them in its own way.
 */
import { segmentsToText } from '../../firmware/segments.ts';
import type { Button } from '../../hal/button.ts';
import { DISPLAY_POSITIONS, type SegmentDisplay } from '../../hal/display.ts';
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

/** A buzzer chirps when the display lights up (a code, or a message). */
export class Buzzer implements SegmentDisplay {
  private lit = false;

  constructor(private readonly piezo: J5Piezo) {}

  show(segments: Uint8Array): void {
    const lit = segments.some((byte) => byte !== 0);
    if (lit && !this.lit) this.piezo.frequency(2000, 40);
    this.lit = lit;
  }
}
