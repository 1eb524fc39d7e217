/**
 * A board that is not there: a johnny-five IO plugin (the documented contract: MODES, pins,
 * pinMode, digitalRead, digitalWrite, i2cConfig, i2cWrite…, and the connect/ready events) whose
 * pins the lab drives and whose display chips are decoders of what the drivers write. With it the
 * johnny-five target runs, through real johnny-five, where no board is attached.
 */
import { EventEmitter } from 'node:events';
import { Hd44780Decoder, Max7219Decoder, type DigitOrder, type Hd44780ParallelPins, type Max7219Pins } from './display-decoders.ts';

const MODES = { INPUT: 0x00, OUTPUT: 0x01, ANALOG: 0x02, PWM: 0x03, SERVO: 0x04, I2C: 0x06, PULLUP: 0x0b } as const;
const DIGITAL_MODES = [MODES.INPUT, MODES.OUTPUT, MODES.PWM, MODES.SERVO, MODES.PULLUP];

interface PinState {
  supportedModes: number[];
  mode: number;
  value: number;
  report: number;
  analogChannel: number;
}

export interface VirtualBoardWiring {
  readonly max7219?: Max7219Pins;
  readonly lcdParallel?: Hd44780ParallelPins;
  /** The LCD's I2C backpack address (a PCF8574: 0x27). */
  readonly lcdI2cAddress?: number;
  /** The pin of a passive piezo: what it plays is heard (ToneDecoder). */
  readonly buzzer?: number;
  readonly digitOrder?: DigitOrder;
}

/** Pins 0..19, as on an Arduino Uno (D0..D13, A0..A5). */
export const VIRTUAL_PIN_COUNT = 20;

export interface VirtualBoardOptions {
  readonly pinCount?: number;
  /** A board that never answers: johnny-five waits for `ready` in vain (for tests of the time-out). */
  readonly neverReady?: boolean;
}

export class VirtualBoard extends EventEmitter {
  readonly MODES = MODES;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly name = 'VirtualBoard';
  readonly defaultLed = 13;
  readonly pins: PinState[];
  readonly analogPins: number[] = [];
  isReady = false;
  readonly max7219: Max7219Decoder | undefined;
  readonly lcd: Hd44780Decoder | undefined;
  readonly buzzer: ToneDecoder | undefined;
  private readonly readers = new Map<number, (value: number) => void>();

  constructor(
    private readonly wiring: VirtualBoardWiring,
    options: VirtualBoardOptions = {},
  ) {
    super();
    this.pins = Array.from({ length: options.pinCount ?? VIRTUAL_PIN_COUNT }, () => ({
      supportedModes: [...DIGITAL_MODES],
      mode: MODES.INPUT,
      value: 0,
      report: 1,
      analogChannel: 127,
    }));
    const order = wiring.digitOrder ?? 'rtl';
    this.max7219 = wiring.max7219 && new Max7219Decoder(wiring.max7219, order);
    this.lcd = wiring.lcdParallel || wiring.lcdI2cAddress !== undefined ? new Hd44780Decoder(wiring.lcdParallel) : undefined;
    this.buzzer = wiring.buzzer === undefined ? undefined : new ToneDecoder(wiring.buzzer);
    if (!options.neverReady) {
      setImmediate(() => {
        this.isReady = true;
        this.emit('connect');
        this.emit('ready');
      });
    }
  }

  // ---- the IO-plugin contract ----

  pinMode(pin: number, mode: number): this {
    this.pin(pin).mode = mode;
    // An input pin reads its pull-up (high) until something pulls it low.
    if (mode === MODES.INPUT || mode === MODES.PULLUP) this.pin(pin).value = 1;
    return this;
  }

  digitalWrite(pin: number, value: number): this {
    const state = this.pin(pin);
    const level = value ? 1 : 0;
    // On an input pin a write switches the pull-up, as Firmata does; the level is the lab's to set.
    if (state.mode === MODES.INPUT || state.mode === MODES.PULLUP) return this;
    state.value = level;
    this.max7219?.digitalWrite(pin, level);
    this.lcd?.digitalWrite(pin, level);
    this.buzzer?.digitalWrite(pin, level);
    return this;
  }

  digitalRead(pin: number, handler: (value: number) => void): this {
    this.readers.set(pin, handler);
    const value = this.pin(pin).value;
    setImmediate(() => handler(value));
    return this;
  }

  analogRead(_pin: number, _handler: (value: number) => void): this {
    return this;
  }

  analogWrite(pin: number, value: number): this {
    this.pin(pin).value = value;
    return this;
  }

  pwmWrite(pin: number, value: number): this {
    return this.analogWrite(pin, value);
  }

  servoWrite(pin: number, value: number): this {
    return this.analogWrite(pin, value);
  }

  i2cConfig(): this {
    return this;
  }

  /** i2cWrite(address, bytes) or i2cWrite(address, register, bytes); a lone number is one byte. */
  i2cWrite(address: number, registerOrData: number | number[], data?: number | number[]): this {
    const bytes = data === undefined ? registerOrData : [registerOrData as number, ...(Array.isArray(data) ? data : [data])];
    if (address === this.wiring.lcdI2cAddress) for (const byte of Array.isArray(bytes) ? bytes : [bytes]) this.lcd?.portWrite(byte);
    return this;
  }

  i2cWriteReg(address: number, register: number, value: number): this {
    return this.i2cWrite(address, register, value);
  }

  i2cRead(_address: number, ..._rest: unknown[]): this {
    return this;
  }

  i2cReadOnce(_address: number, ...rest: unknown[]): this {
    const callback = rest.find((arg): arg is (bytes: number[]) => void => typeof arg === 'function');
    const count = rest.find((arg): arg is number => typeof arg === 'number') ?? 1;
    if (callback) setImmediate(() => callback(new Array<number>(count).fill(0xff)));
    return this;
  }

  normalize(pin: number | string): number {
    return typeof pin === 'number' ? pin : Number(String(pin).replace(/^[A-Za-z]+/, ''));
  }

  reset(): void {}

  // ---- the lab's side ----

  /** Drives an input pin, as a button (or a finger on a wire) does. */
  setInput(pin: number, level: 0 | 1): void {
    const state = this.pin(pin);
    if (state.value === level) return;
    state.value = level;
    this.readers.get(pin)?.(level);
  }

  private pin(pin: number): PinState {
    const state = this.pins[pin];
    if (!state) throw new RangeError(`the virtual board has no pin ${pin}`);
    return state;
  }
}

/** A tone a passive piezo played: from its first toggle of the pin to its last. */
export interface HeardTone {
  readonly startMs: number;
  readonly endMs: number;
  readonly hz: number;
}

/**
 * The ear beside a passive piezo: johnny-five's Piezo plays a tone by toggling its pin at twice
 * the tone's frequency, so a burst of toggles is a tone and a pause between bursts is silence.
 */
export class ToneDecoder {
  private readonly toggles: number[] = [];
  private level = 0;

  constructor(
    readonly pin: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  digitalWrite(pin: number, level: 0 | 1): void {
    if (pin !== this.pin || level === this.level) return;
    this.level = level;
    this.toggles.push(this.now());
  }

  /** When the pin last changed, or undefined if it never did. */
  get lastToggleMs(): number | undefined {
    return this.toggles.at(-1);
  }

  /** The tones so far: toggles less than `gapMs` apart belong to one tone (at 100 Hz and above they are 5 ms apart). */
  tones(gapMs = 60): HeardTone[] {
    const tones: HeardTone[] = [];
    let start = 0;
    for (let i = 1; i <= this.toggles.length; i++) {
      if (i < this.toggles.length && this.toggles[i]! - this.toggles[i - 1]! < gapMs) continue;
      const [startMs, endMs] = [this.toggles[start]!, this.toggles[i - 1]!];
      const cycles = (i - start) / 2;
      tones.push({ startMs, endMs, hz: endMs > startMs ? Math.round((cycles * 1000) / (endMs - startMs)) : 0 });
      start = i;
    }
    return tones;
  }
}
