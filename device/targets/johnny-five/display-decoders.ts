/**
 * What a display chip makes of the signals a driver sends it: a MAX7219 (bit-banged SPI on data,
 * clock and chip-select) and an HD44780 LCD controller (4-bit parallel, or through a PCF8574 I2C
 * backpack). The virtual board feeds them every pin write, and they hold what the display shows,
 * so a test reads the digits off the driver's own writes, not off the firmware.
 */
import { DECIMAL_POINT, segmentsToText } from '../../firmware/segments.ts';
import { DISPLAY_POSITIONS } from '../../hal/display.ts';

export type DigitOrder = 'rtl' | 'ltr';

/** Register 1 (DIG0) is the rightmost digit on the common 8-digit modules: `rtl`. */
export function digitRegister(position: number, order: DigitOrder): number {
  return order === 'rtl' ? DISPLAY_POSITIONS - position : position + 1;
}

/** Our segment byte (bit 0..6 = a..g, bit 7 = dp) as the MAX7219 wants it in no-decode mode (DP A B C D E F G). */
export function toMax7219(segments: number): number {
  let byte = segments & DECIMAL_POINT ? 0x80 : 0;
  for (let segment = 0; segment < 7; segment++) if (segments & (1 << segment)) byte |= 0x40 >> segment;
  return byte;
}

export function fromMax7219(byte: number): number {
  let segments = byte & 0x80 ? DECIMAL_POINT : 0;
  for (let segment = 0; segment < 7; segment++) if (byte & (0x40 >> segment)) segments |= 1 << segment;
  return segments;
}

const MAX7219 = { NOOP: 0x00, DECODE_MODE: 0x09, INTENSITY: 0x0a, SCAN_LIMIT: 0x0b, SHUTDOWN: 0x0c, DISPLAY_TEST: 0x0f } as const;

export interface Max7219Pins {
  readonly data: number;
  readonly clock: number;
  readonly cs: number;
}

export class Max7219Decoder {
  /** DIG0..DIG7 as last written. */
  readonly digits = new Uint8Array(8);
  decodeMode = 0;
  shutdown = true;
  displayTest = false;
  /** Register writes received, for a test to see that the chip was really driven. */
  writes = 0;
  private readonly levels = new Map<number, number>();
  private bits: number[] = [];

  constructor(
    private readonly pins: Max7219Pins,
    private readonly order: DigitOrder,
  ) {}

  digitalWrite(pin: number, value: number): void {
    // Before its first write a pin is as the chip sees it at power-up: chip-select pulled high
    // (deselected), clock and data low (an Arduino pin set to OUTPUT starts low).
    const previous = this.levels.get(pin) ?? (pin === this.pins.cs ? 1 : 0);
    this.levels.set(pin, value);
    if (pin === this.pins.cs) {
      if (previous === 1 && value === 0) this.bits = [];
      if (previous === 0 && value === 1) this.latch();
    } else if (pin === this.pins.clock && previous === 0 && value === 1 && this.levels.get(this.pins.cs) === 0) {
      this.bits.push(this.levels.get(this.pins.data) ?? 0);
    }
  }

  /** The segments shown at each position, left to right (blank while shut down). */
  segments(): Uint8Array {
    const shown = new Uint8Array(DISPLAY_POSITIONS);
    if (this.shutdown) return shown;
    if (this.displayTest) return shown.fill(0xff);
    for (let position = 0; position < DISPLAY_POSITIONS; position++) shown[position] = fromMax7219(this.digits[digitRegister(position, this.order) - 1]!);
    return shown;
  }

  text(): string {
    return segmentsToText(this.segments());
  }

  /** Chip select went high: the last 16 bits clocked in are one register write. */
  private latch(): void {
    if (this.bits.length < 16) return;
    const word = this.bits.slice(-16).reduce((value, bit) => (value << 1) | bit, 0);
    const register = (word >> 8) & 0x0f;
    const data = word & 0xff;
    this.writes++;
    if (register >= 1 && register <= 8) this.digits[register - 1] = data;
    else if (register === MAX7219.DECODE_MODE) this.decodeMode = data;
    else if (register === MAX7219.SHUTDOWN) this.shutdown = (data & 1) === 0;
    else if (register === MAX7219.DISPLAY_TEST) this.displayTest = (data & 1) === 1;
  }
}

export interface Hd44780ParallelPins {
  readonly rs: number;
  readonly en: number;
  /** D4..D7 */
  readonly data: readonly [number, number, number, number];
}

const DDRAM_BYTES = 0x80;

/**
 * An HD44780 controller as it reads its pins: 8-bit mode after power-up (each EN pulse a whole
 * byte, the low nibble unconnected), switched to 4-bit mode by a function set, then two nibbles
 * a byte. Only DDRAM (what is shown) is kept.
 */
export class Hd44780Decoder {
  /** Instructions and characters received. */
  writes = 0;
  displayOn = false;
  private readonly ddram = new Uint8Array(DDRAM_BYTES).fill(0x20);
  private address = 0;
  private toCgram = false;
  private eightBit = true;
  private highNibble: number | undefined;
  private readonly levels = new Map<number, number>();
  private lastPort = 0;

  constructor(private readonly parallel?: Hd44780ParallelPins) {}

  /** Parallel wiring: every pin write. */
  digitalWrite(pin: number, value: number): void {
    if (!this.parallel) return;
    const wasEnabled = this.levels.get(this.parallel.en) === 1;
    this.levels.set(pin, value);
    if (pin === this.parallel.en && wasEnabled && value === 0) {
      const nibble = this.parallel.data.reduce((bits, dataPin, i) => bits | ((this.levels.get(dataPin) ?? 0) << i), 0);
      this.clock(this.levels.get(this.parallel.rs) === 1, nibble);
    }
  }

  /** I2C backpack (PCF8574): each byte written is the port; P0 = RS, P2 = EN, P4..P7 = D4..D7. */
  portWrite(byte: number): void {
    const enFell = (this.lastPort & 0x04) !== 0 && (byte & 0x04) === 0;
    if (enFell) this.clock((this.lastPort & 0x01) !== 0, this.lastPort >> 4);
    this.lastPort = byte;
  }

  /** The two 16-character lines shown. */
  lines(): [string, string] {
    const line = (start: number) => String.fromCharCode(...this.ddram.subarray(start, start + 16));
    return this.displayOn ? [line(0x00), line(0x40)] : [' '.repeat(16), ' '.repeat(16)];
  }

  /** EN fell: the controller takes what is on the data lines. */
  private clock(rs: boolean, nibble: number): void {
    if (this.eightBit) return this.execute(rs, nibble << 4);
    if (this.highNibble === undefined) {
      this.highNibble = nibble;
      return;
    }
    const byte = (this.highNibble << 4) | nibble;
    this.highNibble = undefined;
    this.execute(rs, byte);
  }

  private execute(rs: boolean, byte: number): void {
    this.writes++;
    if (rs) {
      if (this.toCgram) return;
      this.ddram[this.address] = byte;
      this.address = (this.address + 1) % DDRAM_BYTES;
      return;
    }
    if (byte & 0x80) {
      this.address = byte & 0x7f;
      this.toCgram = false;
    } else if (byte & 0x40) {
      this.toCgram = true;
    } else if (byte & 0x20) {
      this.eightBit = (byte & 0x10) !== 0;
      this.highNibble = undefined;
    } else if (byte & 0x10) {
      // cursor or display shift: nothing the lines' contents show
    } else if (byte & 0x08) {
      this.displayOn = (byte & 0x04) !== 0;
    } else if (byte & 0x04) {
      // entry mode: this decoder always moves right
    } else if (byte & 0x02) {
      // Return home and clear set a DDRAM address: characters after them go to DDRAM, not CGRAM.
      this.address = 0;
      this.toCgram = false;
    } else if (byte & 0x01) {
      this.ddram.fill(0x20);
      this.address = 0;
      this.toCgram = false;
    }
  }
}
