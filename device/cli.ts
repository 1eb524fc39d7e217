/**
 * `noegleviser device emulate|board`: run an emulated token, a rack of them, or the token on a dev
 * board. The lab's powers over a running one (press, hold, display, …) are the debug link's
 * commands, host/cli/debug-link-commands.ts, mounted on the same `device`.
 */
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { isEmulatorSerial } from '../protocol/discovery.ts';
import type { RunningEmulator } from './targets/emulator/emulator.ts';
import { startTerminalFace, type FaceActions } from './targets/emulator/face.ts';
import { ENGINES, type EngineName } from './targets/engines.ts';
import { BOARD_DISPLAYS, BOARD_IOS, type BoardDisplay, type BoardIo } from './targets/johnny-five/pins.ts';
import type { DigitOrder } from './targets/johnny-five/display-decoders.ts';
import { parsePins } from './targets/johnny-five/pins.ts';
import { CodedError } from '../protocol/coded-error.ts';

class DeviceCliError extends CodedError {
  constructor(
    override readonly code: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** A face needs a terminal to draw on and to read keys from. */
export function hasTerminal(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

export function defaultProfileDir(name = 'default'): string {
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'noegleviser', 'tokens', name);
}

function numberArgument(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new DeviceCliError('NV_BAD_ARGUMENT', `${name} must be a number from ${min} to ${max}, not "${text}"`);
    }
    return value;
  };
}

function wholeNumberArgument(name: string, min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
      throw new DeviceCliError('NV_BAD_ARGUMENT', `${name} must be a whole number from ${min} to ${max}, not "${text}"`);
    }
    return Number(text);
  };
}

export interface BoardCommandOptions {
  io: BoardIo;
  port?: string;
  display: BoardDisplay;
  lcd: 'parallel' | 'i2c';
  pins?: string;
  digitOrder: DigitOrder;
  profile?: string;
  serial?: string;
  headless?: boolean;
  readyTimeout: number;
}

/** Starts the token on a dev board (or the virtual one), prints its ready line, and serves until stopped. */
export async function runBoard(options: BoardCommandOptions): Promise<void> {
  checkSerial(options.serial);
  const pins = options.pins === undefined ? undefined : parsePins(options.pins, options.io);
  // The emulator's runtime and johnny-five load only for the commands that run a token.
  const { startBoard } = await import('./targets/johnny-five/board.ts');
  const board = await startBoard({
    io: options.io,
    port: options.port,
    display: options.display,
    lcdWiring: options.lcd,
    pins,
    digitOrder: options.digitOrder,
    profileDir: options.profile ?? defaultProfileDir('board'),
    serial: options.serial,
    readyTimeoutMs: options.readyTimeout * 1000,
  });
  process.stdout.write(
    JSON.stringify({
      event: 'ready',
      port: board.port,
      hid: board.hid,
      debug: board.debug,
      serial: board.serial,
      profile: board.profile,
      board: { io: options.io, display: options.display, ...(options.display === 'lcd' ? { lcd: options.lcd } : {}) },
      pid: process.pid,
    }) + '\n',
  );
  await serveEmulator(board, !options.headless && hasTerminal()).stopped;
}

function checkSerial(serial: string | undefined): void {
  if (serial !== undefined && !isEmulatorSerial(serial)) {
    throw new DeviceCliError('NV_BAD_ARGUMENT', `--serial must be 8 digits not starting with 0, not "${serial}"`);
  }
}

export interface EmulateOptions {
  profile?: string;
  headless?: boolean;
  serial?: string;
  drift?: number;
  battery?: number;
  /** How many tokens to run in this process (a rack); 1 by default. */
  count?: number;
  /** Where the firmware core runs: v8 (this process, the default) or quickjs (the firmware bundle in QuickJS-NG). */
  engine?: EngineName;
}

/** The most tokens one rack runs (each holds about six file descriptors). */
export const MAX_RACK_SIZE = 1000;
/** How many of a rack's tokens start at once: starting one is mostly file-system and socket set-up. */
const RACK_START_CONCURRENCY = 8;

/** Starts an emulator (or a rack of them), prints its ready line, and serves until SIGINT/SIGTERM (or q on its face). */
export async function runEmulator(options: EmulateOptions): Promise<void> {
  checkSerial(options.serial);
  const count = options.count ?? 1;
  if (count > 1) return runRack({ ...options, count });
  const { startEmulator } = await import('./targets/emulator/emulator.ts');
  const emulator = await startEmulator({
    profileDir: options.profile ?? defaultProfileDir(),
    serial: options.serial,
    driftPpm: options.drift,
    battery: options.battery,
    engine: options.engine,
  });
  process.stdout.write(
    JSON.stringify({ event: 'ready', port: emulator.port, hid: emulator.hid, debug: emulator.debug, serial: emulator.serial, profile: emulator.profile, pid: process.pid }) + '\n',
  );
  await serveEmulator(emulator, !options.headless && hasTerminal()).stopped;
}

/** A rack's N tokens each keep their flash and clock in a subfolder of the profile: token-001, token-002, … */
export function rackProfileName(index: number): string {
  return `token-${String(index + 1).padStart(3, '0')}`;
}

export interface RackOptions {
  /** The rack's folder; token i's profile is `dir/token-00i`. */
  readonly profileDir: string;
  readonly count: number;
  /** The first token's serial number for new profiles; the others count on from it. */
  readonly serial?: string;
  readonly driftPpm?: number;
  readonly battery?: number;
  readonly runtimeDir?: string;
  readonly engine?: EngineName;
}

/**
 * Starts `count` emulated tokens in this process, a few at a time. If any of them cannot start,
 * those already started are closed again and the first failure is thrown.
 */
export async function startRack(options: RackOptions): Promise<RunningEmulator[]> {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_RACK_SIZE) {
    throw new DeviceCliError('NV_BAD_ARGUMENT', `--count must be a whole number from 1 to ${MAX_RACK_SIZE}, not "${count}"`);
  }
  const first = options.serial === undefined ? undefined : Number(options.serial);
  if (first !== undefined && first + count - 1 > 99_999_999) {
    throw new DeviceCliError('NV_BAD_ARGUMENT', `--serial ${options.serial} leaves no room for ${count} consecutive 8-digit serial numbers`);
  }
  const { startEmulator } = await import('./targets/emulator/emulator.ts');
  const started: (RunningEmulator | undefined)[] = new Array<RunningEmulator | undefined>(count);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (!failure && next < count) {
      const index = next++;
      try {
        started[index] = await startEmulator({
          profileDir: path.join(options.profileDir, rackProfileName(index)),
          serial: first === undefined ? undefined : String(first + index),
          driftPpm: options.driftPpm,
          battery: options.battery,
          runtimeDir: options.runtimeDir,
          engine: options.engine,
        });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RACK_START_CONCURRENCY, count) }, worker));
  const running = started.filter((emulator): emulator is RunningEmulator => emulator !== undefined);
  if (!failure) {
    const seen = new Map<string, string>();
    for (const emulator of running) {
      const other = seen.get(emulator.serial);
      if (other !== undefined) {
        failure = {
          error: new DeviceCliError('NV_RACK_DUPLICATE_SERIAL', `profiles ${other} and ${emulator.profile} hold the same serial number ${emulator.serial}: a rack needs each token once`),
        };
        break;
      }
      seen.set(emulator.serial, emulator.profile);
    }
  }
  if (failure) {
    await Promise.allSettled(running.map((emulator) => emulator.close()));
    throw failure.error;
  }
  return running;
}

/** A rack: N tokens in one process, one ready line listing them all, served until SIGINT/SIGTERM/SIGHUP. */
async function runRack(options: EmulateOptions & { count: number }): Promise<void> {
  const rack = await startRack({
    profileDir: options.profile ?? defaultProfileDir('rack'),
    count: options.count,
    serial: options.serial,
    driftPpm: options.drift,
    battery: options.battery,
    engine: options.engine,
  });
  const tokens = rack.map((e) => ({ port: e.port, hid: e.hid, debug: e.debug, serial: e.serial, profile: e.profile }));
  process.stdout.write(JSON.stringify({ event: 'ready', count: rack.length, tokens, pid: process.pid }) + '\n');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void Promise.allSettled(rack.map((emulator) => emulator.close())).then(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
  });
}

export interface ServedEmulator {
  /** A line beside the battery on the face (e.g. what a bridge made of the last code). */
  setStatus(text: string): void;
  /** Resolves once the emulator has been stopped and closed. */
  readonly stopped: Promise<void>;
}

/** Serves a running emulator until SIGINT/SIGTERM/SIGHUP (or q on its face), with a terminal face if asked. */
export function serveEmulator(emulator: RunningEmulator, withFace: boolean): ServedEmulator {
  let status = '';
  let redraw = () => {};
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      face?.stop();
      void emulator.close().then(resolve);
    };
    const face = withFace ? startTerminalFace(process.stdin, process.stdout, emulator, { button: faceButton(emulator), quit: stop }) : undefined;
    if (face) {
      redraw = () => {
        const power = emulator.token.poweredOn ? `battery ${Math.round(emulator.token.power.percent)} %` : 'power off';
        face.render(emulator.token.display.segments, status ? `${power}   ${status}` : power);
      };
      emulator.onChange(() => redraw());
      redraw();
    }
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
  });
  return {
    setStatus: (text) => {
      status = text;
      redraw();
    },
    stopped,
  };
}

/**
 * The face's keys press with the lab's finger, as the debug link does (on a virtual board it pulls
 * the button pin low for real time), one gesture after the other; a real board has none.
 */
function faceButton(emulator: RunningEmulator): FaceActions['button'] {
  const finger = emulator.finger;
  if (!finger) return undefined;
  let gestures = Promise.resolve();
  const gesture = (act: () => Promise<void>) => {
    gestures = gestures.then(() => (emulator.token.poweredOn ? act() : undefined)).catch(() => {});
  };
  return { press: () => gesture(() => finger.press()), hold: () => gesture(() => finger.hold()) };
}

/**
 * `device`: running a token (`emulate`, `board`) is the device's own; the commands of its debug link
 * (`press`, `hold`, `display`, …) are a client of that link and come from the host (bin/cli.ts).
 */
export function deviceCommand(debugLinkCommands: readonly Command[]): Command {
  const device = new Command('device').description('run an emulated token, and press, read and power it through its debug link');

  device
    .command('emulate')
    .description('run an emulated token (or, with --count, a rack of them) on pseudo-terminals; prints a JSON ready line with their ports and debug links')
    .addOption(
      new Option('--profile <dir>', `where its flash and clock persist; a rack keeps one subfolder a token, token-001… (default ${defaultProfileDir('rack')})`).default(
        undefined,
        defaultProfileDir(),
      ),
    )
    .addOption(new Option('--headless', 'no terminal face'))
    .addOption(new Option('--serial <number>', 'serial number for a new profile (8 digits); a rack counts on from it'))
    .addOption(new Option('--drift <ppm>', 'real-time clock error in parts per million').argParser(numberArgument('--drift', -100_000, 100_000)))
    .addOption(new Option('--battery <percent>', 'battery charge').argParser(numberArgument('--battery', 0, 100)))
    .addOption(
      new Option('--count <n>', `run a rack of n tokens in this process (profiles DIR/token-001…; no face)`).argParser(wholeNumberArgument('--count', 1, MAX_RACK_SIZE)),
    )
    .addOption(new Option('--engine <engine>', 'where the firmware core runs: v8 (in this process) or quickjs (the firmware bundle in QuickJS-NG, as on a chip)').choices([...ENGINES]).default('v8'))
    .action((options: EmulateOptions) => runEmulator(options));

  device
    .command('board')
    .description('run the token on a dev board through johnny-five (or --io virtual, a board that is not there); prints a JSON ready line')
    .addOption(new Option('--io <io>', 'firmata: an Arduino on StandardFirmata; raspi: a Raspberry Pi; virtual: no board').choices([...BOARD_IOS]).makeOptionMandatory())
    .addOption(new Option('--port <path>', "the Arduino's serial port (firmata), e.g. /dev/ttyACM0"))
    .addOption(new Option('--display <display>', 'an 8-digit MAX7219 module, or a 16x2 HD44780 LCD').choices([...BOARD_DISPLAYS]).default('max7219'))
    .addOption(new Option('--lcd <wiring>', 'how the LCD is wired').choices(['parallel', 'i2c']).default('parallel'))
    .addOption(new Option('--pins <map>', 'your wiring, e.g. button=D2,data=D12,clock=D11,cs=D10 (Arduino: 2, D2 or A0; Raspberry Pi: GPIO17 or P1-11; see hardware-notes.md)'))
    .addOption(new Option('--digit-order <order>', "where the MAX7219's DIG0 sits: rtl (rightmost, the common modules) or ltr").choices(['rtl', 'ltr']).default('rtl'))
    .addOption(new Option('--profile <dir>', 'where its flash and clock persist').default(undefined, defaultProfileDir('board')))
    .addOption(new Option('--serial <number>', 'serial number for a new profile (8 digits)'))
    .addOption(new Option('--ready-timeout <seconds>', 'how long to wait for the board').argParser(numberArgument('--ready-timeout', 1, 120)).default(10))
    .addOption(new Option('--headless', 'no terminal face'))
    .action((options: BoardCommandOptions) => runBoard(options));

  for (const command of debugLinkCommands) device.addCommand(command);
  return device;
}
