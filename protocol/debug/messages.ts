import { CodedError } from '../coded-error.ts';

/**
 * The debug link's messages: the lab's powers over an emulated token (press, hold, read the
 * display, advance the clock, cut power, set the battery, report the simulated hardware). Only an
 * emulator or a virtual board serves it, on a Unix socket of its own, never in the token protocol;
 * like Trezor's debug messages beside its wire protocol, it is defined here so that the emulator
 * (device/) and its clients (host/: the `device` commands, the lab page; the tests) share one
 * definition. One JSON object a line each way (codec.ts):
 *
 *   → {"id":1,"op":"press"}
 *   ← {"id":1,"ok":true,"result":{"display":" 755224 ","segments":[0,0,…],"on":true}}
 *   → {"id":2,"op":"advance","args":{"ms":31000}}
 *   ← {"id":2,"ok":false,"error":{"code":"NV_DEBUG_POWERED_OFF","message":"the token is powered off"}}
 */

export const DEBUG_OPS = ['press', 'hold', 'button', 'display', 'advance', 'power-cut', 'power-on', 'battery', 'state'] as const;
export type DebugOp = (typeof DEBUG_OPS)[number];

export function isDebugOp(name: unknown): name is DebugOp {
  return typeof name === 'string' && (DEBUG_OPS as readonly string[]).includes(name);
}

/** An operation that takes no arguments. */
export type NoArgs = { readonly [name: string]: never };

/** Each operation's arguments. */
export interface DebugArgsByOp {
  readonly press: NoArgs;
  /** Holds for `ms`, or just past the token's hold time. */
  readonly hold: { readonly ms?: number };
  /** Sets the button down or up and leaves it there. */
  readonly button: { readonly pressed: boolean };
  readonly display: NoArgs;
  /** Moves the token's virtual clock forward: its timers fire, its real-time clock moves. */
  readonly advance: { readonly ms: number };
  /** Cuts power now, or during the `atOperation`-th flash program or erase from now, `fraction` of it done; power returns after `offMs`. */
  readonly 'power-cut': { readonly offMs?: number; readonly atOperation?: number; readonly fraction?: number };
  readonly 'power-on': NoArgs;
  readonly battery: { readonly percent: number };
  readonly state: NoArgs;
}
export type DebugArgs<Op extends DebugOp = DebugOp> = DebugArgsByOp[Op];

interface NumberArg {
  readonly type: 'number';
  readonly min: number;
  readonly max: number;
}
interface BooleanArg {
  readonly type: 'boolean';
}
/** How one argument is checked; `required` exactly where the argument is not optional in DebugArgsByOp. */
type ArgSpec<Args, Name extends keyof Args> = (NonNullable<Args[Name]> extends boolean ? BooleanArg : NumberArg) &
  (Record<never, never> extends Pick<Args, Name> ? { readonly required?: undefined } : { readonly required: true });
type ArgSpecs<Args> = { readonly [Name in keyof Args]-?: ArgSpec<Args, Name> };

/** Every argument an operation takes, with its type and range: the server and the clients check against these. */
export const DEBUG_ARGS: { readonly [Op in DebugOp]: ArgSpecs<DebugArgsByOp[Op]> } = {
  press: {},
  hold: { ms: { type: 'number', min: 0, max: 600_000 } },
  button: { pressed: { type: 'boolean', required: true } },
  display: {},
  advance: { ms: { type: 'number', min: 0, max: 10 * 365 * 86_400_000, required: true } },
  'power-cut': {
    offMs: { type: 'number', min: 0, max: 3_600_000 },
    atOperation: { type: 'number', min: 1, max: 1_000_000 },
    fraction: { type: 'number', min: 0, max: 1 },
  },
  'power-on': {},
  battery: { percent: { type: 'number', min: 0, max: 100, required: true } },
  state: {},
};

/** What a virtual board's display driver was sent, decoded by the board's chip (`device board --io virtual`). */
export type DriverState =
  | { readonly chip: 'MAX7219'; readonly display: string; readonly segments: readonly number[]; readonly writes: number }
  | { readonly chip: 'HD44780'; readonly lines: readonly string[]; readonly writes: number };

/** The display: its text as the 7-segment font spells it (one character a position), each position's segments, and whether the token has power. */
export interface DisplayResult {
  readonly display: string;
  /** One byte a position, leftmost first: bits 0..6 light segments a..g, bit 7 the decimal point. */
  readonly segments: readonly number[];
  readonly on: boolean;
  readonly driver?: DriverState;
}

/** A QuickJS engine's memory in bytes (`device emulate --engine quickjs`), and the firmware's share of it. */
export interface EngineMemory {
  readonly emptyContextBytes: number;
  readonly loadedBytes: number;
  readonly bootedBytes: number;
  readonly usedBytes: number;
  readonly peakBytes: number;
  readonly allocations: number;
  readonly firmwareBytes: number;
  readonly codeBytes: number;
  readonly dataBytes: number;
  readonly peakFirmwareBytes: number;
}

/** Where the firmware core runs: `v8` in the emulator's process, or `quickjs-ng` with its stack limit and memory. */
export interface EngineState {
  readonly name: string;
  readonly version: string;
  readonly stackLimitBytes?: number;
  readonly memory?: EngineMemory;
}

export interface StateResult extends DisplayResult {
  readonly serial: string | null;
  readonly port: string;
  readonly powered: boolean;
  readonly boots: number;
  readonly battery: number;
  /** The token's real-time clock, Unix milliseconds. */
  readonly clock: number;
  readonly driftPpm: number;
  readonly flash: { readonly operations: number; readonly endurance: number; readonly maxPageErases: number; readonly pageErases: readonly number[] };
  /** Bytes the serial port dropped because nobody read them. */
  readonly droppedOutputBytes: number;
  readonly engine: EngineState;
}

export type PowerCutResult =
  | { readonly armed: true; readonly atOperation: number; readonly fraction: number; readonly offMs: number }
  | { readonly cut: true; readonly offMs: number };

/** Each operation's result. */
export interface DebugResultsByOp {
  readonly press: DisplayResult;
  readonly hold: DisplayResult;
  readonly button: DisplayResult;
  readonly display: DisplayResult;
  readonly advance: DisplayResult & { readonly clock: number };
  readonly 'power-cut': PowerCutResult;
  readonly 'power-on': { readonly on: boolean };
  readonly battery: { readonly battery: number };
  readonly state: StateResult;
}
export type DebugResult<Op extends DebugOp = DebugOp> = DebugResultsByOp[Op];

/** The debug link's error codes: the ones a token answers with, and the ones its clients report. */
export const DEBUG_ERRORS = {
  NV_DEBUG_BAD_JSON: 'a line is not JSON',
  NV_DEBUG_BAD_REQUEST: 'a line is not a debug request (an object with a whole-number id, or none)',
  NV_DEBUG_BAD_OP: 'the operation is not one of DEBUG_OPS',
  NV_DEBUG_BAD_ARG: 'an argument is missing, unknown, of the wrong type or out of range',
  NV_DEBUG_TOO_LONG: 'a line is longer than the debug link allows',
  NV_DEBUG_POWERED_OFF: 'the token is powered off',
  NV_DEBUG_NO_FINGER: "a real board's button is pressed by hand",
  NV_DEBUG_FAILED: 'the operation failed',
  NV_DEBUG_BAD_ANSWER: 'an answer is not one the debug link defines',
  NV_DEBUG_UNREACHABLE: 'no debug link answers at the address',
  NV_DEBUG_LINK: 'the link failed or closed',
  NV_DEBUG_TIMEOUT: 'the token did not answer in time',
  NV_DEBUG_SOCKET_PATH: "the debug link's socket path is too long",
} as const;
export type DebugErrorCode = keyof typeof DEBUG_ERRORS;

export function isDebugErrorCode(code: unknown): code is DebugErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(DEBUG_ERRORS, code);
}

/** A debug link failure, a coded error (the CLI and the lab tell it by its type) whose code is one of DEBUG_ERRORS. */
export class DebugLinkError extends CodedError {
  constructor(
    override readonly code: DebugErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'DebugLinkError';
  }
}

/** The longest request line a token reads, in characters without the newline: an operation and a few numbers. */
export const MAX_DEBUG_REQUEST_LINE = 4096;
/** The longest answer line a client reads: `state`, the longest, takes well under 1 KiB with the emulator's flash. */
export const MAX_DEBUG_ANSWER_LINE = 64 * 1024;
