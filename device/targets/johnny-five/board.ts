/**
 * The token on a dev board: johnny-five drives the button and the display (and a status LED and
 * buzzer); the firmware core, its flash and its clock run here on the host in the emulator's
 * runtime, which serves the token protocol on a pty and HID over UDP exactly as the emulator does.
 *
 *   --io firmata   an Arduino running StandardFirmata on a serial port (firmata-io on serialport)
 *   --io raspi     a Raspberry Pi (raspi-io, loaded only when asked for)
 *   --io virtual   no board at all: a johnny-five IO plugin whose pins the debug link drives
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { SerialPort } from 'serialport';
import type { DriverState } from '../../../protocol/debug/messages.ts';
import { PRESS_MS, RELEASE_MS } from '../../sim/sim-token.ts';
import { DEFAULT_TIMINGS } from '../../firmware/token.ts';
import type { SegmentDisplay } from '../../hal/display.ts';
import { startEmulator, type BoardParts, type EmulatorOptions, type Finger, type RunningEmulator } from '../emulator/emulator.ts';
import { BoardButton, Buzzer, LcdDisplay, Max7219Display, StatusLed } from './board-parts.ts';
import type { DigitOrder } from './display-decoders.ts';
import { loadJohnnyFive, type J5Board } from './j5.ts';
import { ARDUINO_PINS, PIN_NAMES, RASPBERRY_PI_PINS, type BoardDisplay, type BoardIo, type Pin, type PinMap } from './pins.ts';

export { BOARD_DISPLAYS, BOARD_IOS, type BoardDisplay, type BoardIo } from './pins.ts';
import { VIRTUAL_PIN_COUNT, VirtualBoard } from './virtual-board.ts';
import { CodedError } from '../../../protocol/coded-error.ts';


export class BoardError extends CodedError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'BoardError';
  }
}

export interface BoardOptions extends Omit<EmulatorOptions, 'board'> {
  readonly io: BoardIo;
  /** The Arduino's serial port (firmata). */
  readonly port?: string;
  readonly display: BoardDisplay;
  /** How the LCD is wired: six pins, or an I2C backpack. */
  readonly lcdWiring?: 'parallel' | 'i2c';
  readonly pins?: PinMap;
  readonly digitOrder?: DigitOrder;
  /** How long to wait for the board to become ready. */
  readonly readyTimeoutMs?: number;
}

export interface RunningBoard extends RunningEmulator {
  /** The virtual board, when there is no real one. */
  readonly virtual?: VirtualBoard;
}

interface BoardIoHandle {
  readonly io: object;
  readonly virtual?: VirtualBoard;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

export async function startBoard(options: BoardOptions): Promise<RunningBoard> {
  const pins: PinMap = { ...(options.io === 'raspi' ? RASPBERRY_PI_PINS : ARDUINO_PINS), ...options.pins };
  const lcdWiring = options.lcdWiring ?? 'parallel';
  const digitOrder = options.digitOrder ?? 'rtl';
  const handle = await openIo(options, pins, lcdWiring, digitOrder);
  let parts: BoardParts;
  try {
    const five = loadJohnnyFive();
    const board = new five.Board({ io: handle.io, repl: false, debug: false, sigint: false, timeout: options.readyTimeoutMs ?? 10_000 });
    await whenReady(board, options.readyTimeoutMs ?? 10_000, options.io === 'firmata' ? options.port! : options.io);
    const button = new BoardButton(new five.Button({ board, pin: pins.button, isPullup: true }));
    const displays: SegmentDisplay[] = [
      options.display === 'max7219'
        ? new Max7219Display(new five.Led.Digits({ board, pins: { data: pins.data, clock: pins.clock, cs: pins.cs }, devices: 1 }), digitOrder)
        : new LcdDisplay(
            new five.LCD(
              lcdWiring === 'i2c'
                ? { board, controller: 'PCF8574', address: pins.address, rows: 2, cols: 16 }
                : { board, pins: [pins.rs, pins.en, pins.d4, pins.d5, pins.d6, pins.d7], rows: 2, cols: 16 },
            ),
          ),
    ];
    if (pins.led !== undefined) displays.push(new StatusLed(new five.Led({ board, pin: pins.led })));
    if (pins.buzzer !== undefined) displays.push(new Buzzer(new five.Piezo({ board, pin: pins.buzzer })));
    parts = {
      hardware: 'johnny-five',
      button,
      onButtonEdge: (listener) => button.onEdge(listener),
      displays,
      finger: handle.virtual && pinFinger(handle.virtual, pinNumber(pins.button)),
      describe: handle.virtual && (() => describeDriver(handle.virtual!, options.display)),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    if (error instanceof BoardError) throw error;
    // johnny-five's own complaints (a pin the board does not have, a mode it does not support).
    throw new BoardError('NV_BOARD_FAILED', `the board refused its parts: ${(error as Error).message.split('\n')[0]}`);
  }
  const running = await startEmulator({ ...options, board: parts });
  return { ...running, virtual: handle.virtual };
}

async function openIo(options: BoardOptions, pins: PinMap, lcdWiring: 'parallel' | 'i2c', digitOrder: DigitOrder): Promise<BoardIoHandle> {
  switch (options.io) {
    case 'virtual': {
      // Every pin the map names must be one the virtual board has: johnny-five hands some pins to
      // the IO plugin as given (a Button's "GPIO17"), and a pin it lacks would fail deep inside a
      // driver as an unexpected error instead of as a bad --pins.
      for (const name of PIN_NAMES) if (name !== 'address' && pins[name] !== undefined) pinNumber(pins[name], name);
      const virtual = new VirtualBoard({
        max7219: options.display === 'max7219' ? { data: pinNumber(pins.data), clock: pinNumber(pins.clock), cs: pinNumber(pins.cs) } : undefined,
        lcdParallel:
          options.display === 'lcd' && lcdWiring === 'parallel'
            ? { rs: pinNumber(pins.rs), en: pinNumber(pins.en), data: [pinNumber(pins.d4), pinNumber(pins.d5), pinNumber(pins.d6), pinNumber(pins.d7)] }
            : undefined,
        lcdI2cAddress: options.display === 'lcd' && lcdWiring === 'i2c' ? pinNumber(pins.address) : undefined,
        digitOrder,
      });
      return { io: virtual, virtual, close: async () => {} };
    }
    case 'firmata': {
      if (!options.port) throw new BoardError('NV_BAD_ARGUMENT', '--io firmata needs --port, the Arduino\'s serial port (e.g. /dev/ttyACM0)');
      const serial = new SerialPort({ path: options.port, baudRate: 57_600, autoOpen: false });
      await new Promise<void>((resolve, reject) =>
        serial.open((error) =>
          error ? reject(new BoardError('NV_BOARD_PORT', `cannot open ${options.port}: ${portError(error)}`)) : resolve(),
        ),
      );
      const { Firmata } = require('firmata-io') as { Firmata: new (transport: SerialPort, options: Record<string, unknown>) => object };
      const io = new Firmata(serial, { reportVersionTimeout: 1000 });
      return { io, close: () => new Promise<void>((resolve) => (serial.isOpen ? serial.close(() => resolve()) : resolve())) };
    }
    case 'raspi': {
      let RaspiIO: new () => object;
      try {
        ({ RaspiIO } = (await import('raspi-io' as string)) as { RaspiIO: new () => object });
      } catch (error) {
        throw new BoardError(
          'NV_BOARD_IO_MISSING',
          `raspi-io cannot be loaded (${(error as Error).message.split('\n')[0]}): on the Raspberry Pi, run \`npm install raspi-io\` in this checkout`,
        );
      }
      return { io: new RaspiIO(), close: async () => {} };
    }
  }
}

function whenReady(board: J5Board, timeoutMs: number, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new BoardError(
            'NV_BOARD_NOT_READY',
            `no board became ready on ${where} within ${Math.round(timeoutMs / 1000)} s: is StandardFirmata flashed on it, and is this the right port? (see hardware-notes.md)`,
          ),
        ),
      timeoutMs,
    );
    board.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
    board.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(new BoardError('NV_BOARD_FAILED', `the board on ${where} failed: ${error.message.split('\n')[0]}`));
    });
  });
}

/** serialport's message without its "Error:" and its trailing ", cannot open PATH". */
function portError(error: Error): string {
  return error.message.replace(/^Error:? /, '').replace(/, cannot open .*$/, '');
}

function pinNumber(pin: Pin | undefined, name?: string): number {
  if (typeof pin !== 'number') throw new BoardError('NV_BAD_ARGUMENT', `the virtual board numbers its pins; "${String(pin)}" is no pin number`);
  if (name !== undefined && !(Number.isInteger(pin) && pin >= 0 && pin < VIRTUAL_PIN_COUNT)) {
    throw new BoardError('NV_BAD_ARGUMENT', `--pins: the virtual board has pins 0..${VIRTUAL_PIN_COUNT - 1}; ${name}=${pin} is none of them`);
  }
  return pin;
}

/** The lab's finger on a virtual board: the button pin pulled low, for real time, as a finger would. */
function pinFinger(board: VirtualBoard, buttonPin: number): Finger {
  return {
    press: async () => {
      board.setInput(buttonPin, 0);
      await sleep(PRESS_MS + 20);
      board.setInput(buttonPin, 1);
      await sleep(RELEASE_MS);
    },
    hold: async (ms = DEFAULT_TIMINGS.holdMs + 200) => {
      board.setInput(buttonPin, 0);
      await sleep(ms);
      board.setInput(buttonPin, 1);
      await sleep(RELEASE_MS);
    },
    set: async (pressed) => {
      board.setInput(buttonPin, pressed ? 0 : 1);
      await sleep(DEFAULT_TIMINGS.debounceMs * 2);
    },
  };
}

/** What the display driver's writes say is on the display, decoded by the virtual board's chip. */
function describeDriver(board: VirtualBoard, display: BoardDisplay): { driver?: DriverState } {
  if (display === 'max7219' && board.max7219) {
    return { driver: { chip: 'MAX7219', display: board.max7219.text(), segments: [...board.max7219.segments()], writes: board.max7219.writes } };
  }
  if (board.lcd) return { driver: { chip: 'HD44780', lines: board.lcd.lines(), writes: board.lcd.writes } };
  return {};
}
