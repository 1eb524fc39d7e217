/**
 * The display chips of the virtual board, fed by hand: a MAX7219 reading bit-banged SPI off its
 * data, clock and chip-select pins, and an HD44780 reading 4-bit parallel pins or PCF8574 backpack
 * bytes. The sequences here are written from the chips' datasheets, not from johnny-five, so a
 * decoder that only agrees with the driver it was written against fails them.
 */
import { describe, expect, it } from 'vitest';
import { DECIMAL_POINT, textToSegments } from '../../firmware/segments.ts';
import { Hd44780Decoder, Max7219Decoder, digitRegister, fromMax7219, toMax7219, type DigitOrder, type Hd44780ParallelPins, type Max7219Pins } from './display-decoders.ts';
import { VirtualBoard } from './virtual-board.ts';

// ---- the MAX7219 ----

/** Segment a..g of our byte (bit 0..6) and where the MAX7219 datasheet (table 6) puts it: D6 = A … D0 = G. */
const MAX7219_BIT: Record<string, number> = { a: 6, b: 5, c: 4, d: 3, e: 2, f: 1, g: 0 };

/** The datasheet's mapping, written out segment by segment: an oracle independent of the code under test. */
function referenceToMax7219(segments: number): number {
  let byte = segments & DECIMAL_POINT ? 0x80 : 0;
  [...'abcdefg'].forEach((name, bit) => {
    if (segments & (1 << bit)) byte |= 1 << MAX7219_BIT[name]!;
  });
  return byte;
}

describe('segment bytes ↔ MAX7219 no-decode bytes', () => {
  it('known patterns', () => {
    // '0' lights a..f: ours 0x3f, the MAX7219's DP A B C D E F G = 0 1 1 1 1 1 1 0.
    expect(toMax7219(0x3f)).toBe(0x7e);
    expect(fromMax7219(0x7e)).toBe(0x3f);
    expect(toMax7219(0x06)).toBe(0x30); // '1': b, c
    expect(toMax7219(0x40)).toBe(0x01); // '-': g alone is the MAX7219's bit 0
    expect(toMax7219(0x01)).toBe(0x40); // segment a alone
    expect(toMax7219(0x7f)).toBe(0x7f); // '8': all seven
    expect(toMax7219(DECIMAL_POINT)).toBe(0x80);
    expect(toMax7219(0xff)).toBe(0xff);
    expect(toMax7219(0)).toBe(0);
    expect(toMax7219(0x5b)).toBe(0x6d); // '2': a b d e g
    expect(fromMax7219(0x5b)).toBe(0x6d); // the MAX7219's '5' (A C D F G) is our 0x6d
    const digits = textToSegments('01234567');
    expect([...digits].map(toMax7219)).toEqual([0x7e, 0x30, 0x6d, 0x79, 0x33, 0x5b, 0x5f, 0x70]);
  });

  it('every one of the 256 bytes: as the datasheet says, and back again', () => {
    const seen = new Set<number>();
    for (let segments = 0; segments < 256; segments++) {
      const byte = toMax7219(segments);
      expect(byte, `segments 0x${segments.toString(16)}`).toBe(referenceToMax7219(segments));
      expect(fromMax7219(byte)).toBe(segments);
      expect(toMax7219(fromMax7219(segments))).toBe(segments);
      seen.add(byte);
    }
    expect(seen.size).toBe(256);
  });
});

describe('digit registers', () => {
  it('rtl: DIG0 is the rightmost digit; ltr: DIG0 is the leftmost', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => digitRegister(p, 'rtl'))).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => digitRegister(p, 'ltr'))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

const SPI: Max7219Pins = { data: 12, clock: 11, cs: 10 };

/** A hand-made SPI master: the clock idles low, data is set while the clock is low, DIN is sampled on the rising edge. */
class SpiMaster {
  constructor(
    private readonly chip: Pick<Max7219Decoder, 'digitalWrite'>,
    private readonly pins: Max7219Pins = SPI,
  ) {}

  /** Clocks `bits` out MSB first, between chip-select low and chip-select high. */
  frame(bits: number[]): void {
    this.chip.digitalWrite(this.pins.cs, 0);
    for (const bit of bits) {
      this.chip.digitalWrite(this.pins.data, bit);
      this.chip.digitalWrite(this.pins.clock, 1);
      this.chip.digitalWrite(this.pins.clock, 0);
    }
    this.chip.digitalWrite(this.pins.cs, 1);
  }

  write(register: number, data: number): void {
    this.frame(wordBits((register << 8) | data, 16));
  }
}

function wordBits(word: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (word >> (count - 1 - i)) & 1);
}

function max7219(order: DigitOrder = 'rtl') {
  const chip = new Max7219Decoder(SPI, order);
  return { chip, spi: new SpiMaster(chip) };
}

describe('Max7219Decoder, fed bit-banged SPI', () => {
  it('a fresh chip is shut down and shows nothing; the shutdown register wakes it and puts it back to sleep', () => {
    const { chip, spi } = max7219();
    spi.write(0x01, 0x7e);
    expect(chip.digits[0]).toBe(0x7e);
    expect(chip.shutdown).toBe(true);
    expect([...chip.segments()]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    spi.write(0x0c, 0x01);
    expect(chip.shutdown).toBe(false);
    expect(chip.segments()[7]).toBe(0x3f);
    spi.write(0x0c, 0x00);
    expect(chip.shutdown).toBe(true);
    expect(chip.text()).toBe('        ');
    // Digit data survives shutdown, as on the chip.
    spi.write(0x0c, 0x01);
    expect(chip.segments()[7]).toBe(0x3f);
  });

  it('the very first bit counts, though the driver never wrote the clock low before it', () => {
    // A pin set to OUTPUT is low; a decoder that assumes a high clock misses the first rising edge.
    const { chip, spi } = max7219();
    spi.write(0x0c, 0x01);
    expect(chip.writes).toBe(1);
    expect(chip.shutdown).toBe(false);
  });

  for (const order of ['rtl', 'ltr'] as const) {
    it(`each digit register lands at its position (${order})`, () => {
      const { chip, spi } = max7219(order);
      spi.write(0x0c, 0x01);
      const text = '12345678';
      const segments = textToSegments(text);
      for (let position = 0; position < 8; position++) spi.write(digitRegister(position, order), toMax7219(segments[position]!));
      expect(chip.text()).toBe(text);
      expect([...chip.segments()]).toEqual([...segments]);
      // DIG0..DIG7 as written, straight off the wire: '1'..'8' are 0x30 0x6d 0x79 0x33 0x5b 0x5f 0x70 0x7f.
      const ltr = [0x30, 0x6d, 0x79, 0x33, 0x5b, 0x5f, 0x70, 0x7f];
      expect([...chip.digits]).toEqual(order === 'ltr' ? ltr : [...ltr].reverse());
      // One register at a time: register r moves exactly one position.
      for (let register = 1; register <= 8; register++) {
        const { chip: one, spi: write } = max7219(order);
        write.write(0x0c, 0x01);
        write.write(register, 0x80);
        const lit = [...one.segments()].map((s, position) => (s ? position : -1)).filter((p) => p >= 0);
        expect(lit, `register ${register}`).toEqual([order === 'rtl' ? 8 - register : register - 1]);
        expect(one.segments()[lit[0]!]).toBe(DECIMAL_POINT);
      }
    });
  }

  it('decode mode, display test, and registers that show nothing', () => {
    const { chip, spi } = max7219();
    spi.write(0x0c, 0x01);
    spi.write(0x09, 0xff);
    expect(chip.decodeMode).toBe(0xff);
    spi.write(0x09, 0x00);
    expect(chip.decodeMode).toBe(0);
    spi.write(0x08, 0x30);
    spi.write(0x0f, 0x01);
    expect(chip.displayTest).toBe(true);
    expect([...chip.segments()]).toEqual(new Array(8).fill(0xff));
    spi.write(0x0f, 0x00);
    expect(chip.displayTest).toBe(false);
    expect(chip.text()).toBe('1       ');
    // No-op, intensity and scan limit change nothing that is shown.
    const before = [...chip.segments()];
    spi.write(0x00, 0xff);
    spi.write(0x0a, 0x0f);
    spi.write(0x0b, 0x07);
    expect([...chip.segments()]).toEqual(before);
    expect(chip.writes).toBe(9);
    // Bits D15..D12 are "don't care": 0xF1 addresses DIG0.
    spi.write(0xf1, 0x7e);
    expect(chip.digits[0]).toBe(0x7e);
  });

  it('fewer than 16 bits are no write; more than 16 keep the last 16 (the first chip of a chain)', () => {
    const { chip, spi } = max7219();
    spi.write(0x0c, 0x01);
    spi.write(0x01, 0x7e);
    const writes = chip.writes;
    spi.frame(wordBits((0x01 << 8) | 0x30, 16).slice(1)); // 15 bits
    spi.frame([]);
    expect(chip.writes).toBe(writes);
    expect(chip.digits[0]).toBe(0x7e);
    // 32 bits: a no-op for the second chip, then DIG1 = 0x30 for this one.
    spi.frame([...wordBits(0x0000, 16), ...wordBits((0x02 << 8) | 0x30, 16)]);
    expect(chip.digits[1]).toBe(0x30);
    expect(chip.writes).toBe(writes + 1);
  });

  it('clock edges while chip-select is high, and falling edges, are not data', () => {
    const { chip, spi } = max7219();
    spi.write(0x0c, 0x01);
    // Noise on the clock with cs high, then a proper frame: still exactly 16 bits.
    for (let i = 0; i < 5; i++) {
      chip.digitalWrite(SPI.data, 1);
      chip.digitalWrite(SPI.clock, 1);
      chip.digitalWrite(SPI.clock, 0);
    }
    spi.write(0x03, 0x01);
    expect(chip.digits[2]).toBe(0x01);
    // Data changing while the clock is high is not sampled until the next rising edge.
    chip.digitalWrite(SPI.cs, 0);
    for (const bit of wordBits((0x04 << 8) | 0x5b, 16)) {
      chip.digitalWrite(SPI.data, bit);
      chip.digitalWrite(SPI.clock, 1);
      chip.digitalWrite(SPI.data, bit ^ 1);
      chip.digitalWrite(SPI.clock, 0);
    }
    chip.digitalWrite(SPI.cs, 1);
    expect(chip.digits[3]).toBe(0x5b);
  });

  it('also reads the clock-high-idle style johnny-five uses (clock low, data, clock high)', () => {
    const { chip } = max7219();
    const send = (word: number) => {
      chip.digitalWrite(SPI.cs, 0);
      for (const bit of wordBits(word, 16)) {
        chip.digitalWrite(SPI.clock, 0);
        chip.digitalWrite(SPI.data, bit);
        chip.digitalWrite(SPI.clock, 1);
      }
      chip.digitalWrite(SPI.cs, 1);
    };
    send(0x0c01);
    send(0x087e);
    expect(chip.text()).toBe('0       ');
  });
});

// ---- the HD44780 ----

const LCD_PINS: Hd44780ParallelPins = { rs: 7, en: 8, data: [9, 10, 11, 12] };

/** How the instructions reach the controller: an EN pulse per nibble, on pins or on a PCF8574's port. */
interface LcdBus {
  readonly chip: Hd44780Decoder;
  /** One EN pulse with `nibble` on D4..D7. */
  nibble(rs: 0 | 1, nibble: number): void;
}

function parallelBus(): LcdBus {
  const chip = new Hd44780Decoder(LCD_PINS);
  chip.digitalWrite(LCD_PINS.en, 0);
  return {
    chip,
    nibble(rs, nibble) {
      chip.digitalWrite(LCD_PINS.rs, rs);
      LCD_PINS.data.forEach((pin, bit) => chip.digitalWrite(pin, (nibble >> bit) & 1));
      chip.digitalWrite(LCD_PINS.en, 1);
      chip.digitalWrite(LCD_PINS.en, 0);
    },
  };
}

/** PCF8574 port bits: P0 RS, P1 RW, P2 EN, P3 backlight, P4..P7 D4..D7. */
function i2cBus(backlight = 0x08): LcdBus {
  const chip = new Hd44780Decoder();
  chip.portWrite(0);
  return {
    chip,
    nibble(rs, nibble) {
      const port = (nibble << 4) | backlight | rs;
      chip.portWrite(port);
      chip.portWrite(port | 0x04);
      chip.portWrite(port);
    },
  };
}

function instruction(bus: LcdBus, byte: number): void {
  bus.nibble(0, byte >> 4);
  bus.nibble(0, byte & 0x0f);
}

function characters(bus: LcdBus, text: string): void {
  for (const char of text) {
    bus.nibble(1, char.charCodeAt(0) >> 4);
    bus.nibble(1, char.charCodeAt(0) & 0x0f);
  }
}

/** The datasheet's 4-bit initialisation (figure 24), then function set, display on, clear, entry mode. */
function initialise(bus: LcdBus): void {
  for (const nibble of [0x3, 0x3, 0x3, 0x2]) bus.nibble(0, nibble);
  instruction(bus, 0x28); // 4-bit, 2 lines, 5x8
  instruction(bus, 0x0c); // display on, cursor off
  instruction(bus, 0x01); // clear
  instruction(bus, 0x06); // entry mode: increment, no shift
}

const BLANK = ' '.repeat(16);

for (const [wiring, makeBus] of [
  ['parallel pins', parallelBus],
  ['a PCF8574 I2C backpack', () => i2cBus()],
  ['a PCF8574 backpack with the backlight off', () => i2cBus(0)],
] as const) {
  describe(`Hd44780Decoder on ${wiring}`, () => {
    it('initialises, and shows what is written at DDRAM 0x00 and 0x40', () => {
      const bus = makeBus();
      expect(bus.chip.lines()).toEqual([BLANK, BLANK]);
      initialise(bus);
      expect(bus.chip.displayOn).toBe(true);
      expect(bus.chip.lines()).toEqual([BLANK, BLANK]);
      instruction(bus, 0x80 | 0x05);
      characters(bus, '755224');
      instruction(bus, 0xc0);
      characters(bus, 'line two');
      expect(bus.chip.lines()).toEqual(['     755224     ', 'line two        ']);
      // 4 init nibbles + 4 instructions + 1 + 6 + 1 + 8
      expect(bus.chip.writes).toBe(4 + 4 + 1 + 6 + 1 + 8);
    });

    it('entry mode set does not move the cursor home; return home does; clear blanks everything', () => {
      const bus = makeBus();
      initialise(bus);
      instruction(bus, 0x80);
      characters(bus, 'AB');
      instruction(bus, 0x06);
      characters(bus, 'C');
      instruction(bus, 0x04); // entry mode with I/D = 0 would also not move it
      expect(bus.chip.lines()[0]).toBe('ABC' + ' '.repeat(13));
      instruction(bus, 0x02); // return home: address 0, contents kept
      characters(bus, 'x');
      expect(bus.chip.lines()[0]).toBe('xBC' + ' '.repeat(13));
      instruction(bus, 0x03); // 0000001*: return home again (DB0 is "don't care"), not a clear
      characters(bus, 'X');
      expect(bus.chip.lines()[0]).toBe('XBC' + ' '.repeat(13));
      instruction(bus, 0x01);
      expect(bus.chip.lines()).toEqual([BLANK, BLANK]);
      characters(bus, 'y');
      expect(bus.chip.lines()[0]).toBe('y' + ' '.repeat(15));
    });

    it('display off hides the lines and keeps them; cursor and display shifts change nothing stored', () => {
      const bus = makeBus();
      initialise(bus);
      characters(bus, '12345678');
      instruction(bus, 0x08);
      expect(bus.chip.displayOn).toBe(false);
      expect(bus.chip.lines()).toEqual([BLANK, BLANK]);
      instruction(bus, 0x0f); // on, with cursor and blink
      expect(bus.chip.lines()[0]).toBe('12345678' + ' '.repeat(8));
      instruction(bus, 0x14); // cursor shift right
      instruction(bus, 0x80 | 0x08);
      characters(bus, 'z');
      expect(bus.chip.lines()[0]).toBe('12345678z' + ' '.repeat(7));
    });

    it('CGRAM writes do not touch DDRAM; a DDRAM address, clear or home ends them', () => {
      const bus = makeBus();
      initialise(bus);
      instruction(bus, 0x80);
      characters(bus, 'keep');
      instruction(bus, 0x40 | 0x08); // CGRAM character 1
      characters(bus, '\x1f\x11\x11\x11\x11\x11\x1f\x00');
      expect(bus.chip.lines()[0]).toBe('keep' + ' '.repeat(12));
      instruction(bus, 0x80 | 0x04);
      characters(bus, '!');
      expect(bus.chip.lines()[0]).toBe('keep!' + ' '.repeat(11));
      // After CGRAM, clear and return home set a DDRAM address (datasheet table 6).
      instruction(bus, 0x40);
      characters(bus, '\x01\x02');
      instruction(bus, 0x01);
      characters(bus, 'after clear');
      expect(bus.chip.lines()[0]).toBe('after clear     ');
      instruction(bus, 0x40);
      characters(bus, '\x03');
      instruction(bus, 0x02);
      characters(bus, 'A');
      expect(bus.chip.lines()[0]).toBe('After clear     ');
    });

    it('a function set to 8-bit mode takes whole bytes per pulse again, and back to 4-bit', () => {
      const bus = makeBus();
      initialise(bus);
      instruction(bus, 0x30); // 8-bit: from now on each pulse is a byte (low nibble unconnected = 0)
      bus.nibble(0, 0x2); // 0x20: 4-bit again
      instruction(bus, 0x80 | 0x40);
      characters(bus, 'ok');
      expect(bus.chip.lines()[1]).toBe('ok' + ' '.repeat(14));
    });
  });
}

describe('Hd44780Decoder pins and port bits', () => {
  it('parallel: only a falling EN latches, with RS and D4..D7 as they are then; other pins are ignored', () => {
    const chip = new Hd44780Decoder(LCD_PINS);
    // By hand, with noise on an unrelated pin, and repeated EN levels that are no edges.
    chip.digitalWrite(LCD_PINS.en, 0);
    const pulse = (rs: number, nibble: number) => {
      chip.digitalWrite(LCD_PINS.rs, rs);
      LCD_PINS.data.forEach((pin, bit) => chip.digitalWrite(pin, (nibble >> bit) & 1));
      chip.digitalWrite(13, 1);
      chip.digitalWrite(LCD_PINS.en, 1);
      chip.digitalWrite(LCD_PINS.en, 1);
      chip.digitalWrite(LCD_PINS.en, 0);
      chip.digitalWrite(LCD_PINS.en, 0);
      chip.digitalWrite(13, 0);
    };
    for (const nibble of [0x3, 0x3, 0x3, 0x2, 0x2, 0x8, 0x0, 0xc, 0x0, 0x1, 0x0, 0x6]) pulse(0, nibble);
    pulse(1, 0x4);
    pulse(1, 0x1);
    expect(chip.lines()[0]).toBe('A' + ' '.repeat(15));
    expect(chip.writes).toBe(4 + 4 + 1);
  });

  it('D4 is bit 0 of the nibble and D7 bit 3, on pins (9..12) and on the port (P4..P7)', () => {
    // 'H' is 0x48: high nibble 0100 (D6 alone), low nibble 1000 (D7 alone).
    const bus = parallelBus();
    initialise(bus);
    const pulsePins = (high: number[]) => {
      bus.chip.digitalWrite(LCD_PINS.rs, 1);
      for (const pin of [9, 10, 11, 12]) bus.chip.digitalWrite(pin, high.includes(pin) ? 1 : 0);
      bus.chip.digitalWrite(LCD_PINS.en, 1);
      bus.chip.digitalWrite(LCD_PINS.en, 0);
    };
    pulsePins([11]);
    pulsePins([12]);
    expect(bus.chip.lines()[0][0]).toBe('H');
    const i2c = i2cBus();
    initialise(i2c);
    for (const port of [0x40 | 0x01, 0x80 | 0x01]) {
      i2c.chip.portWrite(port | 0x04);
      i2c.chip.portWrite(port);
    }
    expect(i2c.chip.lines()[0][0]).toBe('H');
  });
});

describe('the virtual board routes its pins and its I2C bus to the chips', () => {
  it('MAX7219 pins, as digitalWrite on OUTPUT pins', async () => {
    const board = new VirtualBoard({ max7219: SPI, digitOrder: 'ltr' });
    for (const pin of [SPI.data, SPI.clock, SPI.cs]) board.pinMode(pin, board.MODES.OUTPUT);
    const spi = new SpiMaster(board);
    spi.write(0x0c, 0x01);
    spi.write(0x01, 0x30);
    expect(board.max7219!.text()).toBe('1       ');
  });

  it('PCF8574 bytes at its address, in every i2cWrite form; other addresses are not the LCD', () => {
    const board = new VirtualBoard({ lcdI2cAddress: 0x27 });
    const lcd = board.lcd!;
    const bytes: number[] = [];
    const recorder: LcdBus = {
      chip: lcd,
      nibble(rs, nibble) {
        const port = (nibble << 4) | 0x08 | rs;
        bytes.push(port, port | 0x04, port);
      },
    };
    initialise(recorder);
    characters(recorder, 'I2C');
    // Half as single bytes, half as one array.
    const half = Math.floor(bytes.length / 2);
    for (const byte of bytes.slice(0, half)) board.i2cWrite(0x27, byte);
    board.i2cWrite(0x27, bytes.slice(half));
    expect(lcd.lines()[0]).toBe('I2C' + ' '.repeat(13));
    const writes = lcd.writes;
    board.i2cWrite(0x3f, [0x94, 0x90, 0x14, 0x10]);
    board.i2cWriteReg(0x20, 0x94, 0x90);
    expect(lcd.writes).toBe(writes);
  });
});
