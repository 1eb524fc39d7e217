/**
 * Protocol v1's message set: every command a host may send, the fields of its reply, and the
 * events a token pushes. Token and host both read their messages through these schemas.
 */
import { MAX_DIGITS, MIN_DIGITS, OATH_ALGORITHMS, type OathAlgorithm } from './oath/parameters.ts';
import { bool, digitString, hexBytes, oneOf, uint, wordOf, type Schema } from './fields.ts';

export type OathMode = 'hotp' | 'totp';
export const OATH_MODES: readonly OathMode[] = ['hotp', 'totp'];

/**
 * Identity fields are bounded so that the longest `info` reply still fits a line (MAX_BODY_BYTES):
 * a firmware whose configuration exceeds them is refused at start-up, not at its first `info`.
 */
export const IDENTITY_LIMITS = { model: 12, hardware: 16, serial: 16, firmware: 16 } as const;

/** The latest clock reading a token reports or accepts: the last millisecond of the year 9999. */
export const MAX_CLOCK_MS = 253_402_300_799_999;

/** Longest seed a token stores: 64 bytes, SHA-512's output size (RFC 4226 asks for at least 16). */
export const MAX_SECRET_BYTES = 64;
export const MIN_SECRET_BYTES = 1;
/**
 * RFC 4226 §4: the shared secret MUST be at least 128 bits. A token stores a shorter one (old test
 * vectors use them); hosts (the CLI, the server) refuse it unless told to allow it.
 */
export const RECOMMENDED_MIN_SECRET_BYTES = 16;

/** The longest TOTP time step a token takes, in seconds (an hour); 30 when enrolment names none. */
export const MAX_PERIOD_SECONDS = 3600;
export const DEFAULT_PERIOD_SECONDS = 30;

/**
 * The speaker's settings (`audio`): volume 0 (silent) to 5, each level 6 dB above the one below;
 * speed 1 (slowest) to 5, 3 being the voice's own pace.
 */
export const MIN_VOLUME = 0;
export const MAX_VOLUME = 5;
export const MIN_SPEED = 1;
export const MAX_SPEED = 5;
export const NORMAL_SPEED = 3;

/** The identity every token gives in answer to `hello`. */
export interface HelloReply {
  proto: number;
  model: string;
  hardware: string;
  serial: string;
  firmware: string;
}

/** What the token was enrolled with; the seed is never part of it. */
export interface Enrolment {
  mode: OathMode;
  algorithm: OathAlgorithm;
  digits: number;
  /** TOTP step in seconds (present for TOTP). */
  period?: number;
}

export interface TokenInfo extends HelloReply, Partial<Enrolment> {
  enrolled: boolean;
  /** The next HOTP counter the token will use. */
  counter?: number;
  battery: number;
  /** The token's real-time clock, Unix milliseconds. */
  clock: number;
  /** Whether button presses are pushed to the host as `press` events. */
  push: boolean;
  /** The speaker's settings (absent from a token without `audio`). */
  volume?: number;
  speed?: number;
}

/** The speaker's settings. */
export interface AudioSettings {
  volume: number;
  speed: number;
}

export interface TokenStatus {
  enrolled: boolean;
  counter?: number;
  battery: number;
  clock: number;
  push: boolean;
  /** A confirmation is pending on the device (a wipe waits for the button to be held). */
  busy: boolean;
  uptime: number;
}

export interface EnrollArgs {
  secret: Uint8Array;
  mode: OathMode;
  algorithm: OathAlgorithm;
  digits: number;
  period?: number;
  counter?: number;
}

/** Arguments of each request. */
export interface RequestArgs {
  hello: { proto?: number };
  info: Record<never, never>;
  status: Record<never, never>;
  enroll: EnrollArgs;
  time: Record<never, never>;
  settime: { at: number; force?: boolean };
  wipe: Record<never, never>;
  push: { on: boolean };
  audio: Partial<AudioSettings>;
}

/** Fields of each command's successful reply. */
export interface ReplyFields {
  hello: HelloReply;
  info: TokenInfo;
  status: TokenStatus;
  enroll: { counter?: number };
  time: { clock: number };
  settime: { clock: number };
  wipe: Record<never, never>;
  push: { push: boolean };
  audio: AudioSettings;
}

export type CommandName = keyof RequestArgs;

export interface CommandSpec<C extends CommandName> {
  readonly args: Schema<RequestArgs[C]>;
  readonly reply: Schema<ReplyFields[C]>;
  /** Changes what the token stores: refused with `busy` while a confirmation is pending. */
  readonly mutating: boolean;
  /** Safe to send again when an answer is lost. */
  readonly idempotent: boolean;
}

const mode = oneOf(OATH_MODES);
const algorithm = oneOf(OATH_ALGORITHMS);
const digits = uint(MIN_DIGITS, MAX_DIGITS);
const period = uint(1, MAX_PERIOD_SECONDS);
const counter = uint();
const clock = uint(0, MAX_CLOCK_MS);
const volume = uint(MIN_VOLUME, MAX_VOLUME);
const speed = uint(MIN_SPEED, MAX_SPEED);

const helloReply: Schema<HelloReply> = {
  proto: { codec: uint(1, 0xffff) },
  model: { codec: wordOf(IDENTITY_LIMITS.model) },
  hardware: { codec: wordOf(IDENTITY_LIMITS.hardware) },
  serial: { codec: wordOf(IDENTITY_LIMITS.serial) },
  firmware: { codec: wordOf(IDENTITY_LIMITS.firmware) },
};

const stateFields = {
  counter: { codec: counter, optional: true },
  battery: { codec: uint(0, 100) },
  clock: { codec: clock },
  push: { codec: bool },
} as const;

export const COMMANDS: { readonly [C in CommandName]: CommandSpec<C> } = {
  hello: { args: { proto: { codec: uint(1, 0xffff), optional: true } }, reply: helloReply, mutating: false, idempotent: true },
  info: {
    args: {},
    reply: {
      ...helloReply,
      enrolled: { codec: bool },
      mode: { codec: mode, optional: true },
      algorithm: { codec: algorithm, optional: true },
      digits: { codec: digits, optional: true },
      period: { codec: period, optional: true },
      ...stateFields,
      volume: { codec: volume, optional: true },
      speed: { codec: speed, optional: true },
    },
    mutating: false,
    idempotent: true,
  },
  status: {
    args: {},
    reply: { enrolled: { codec: bool }, ...stateFields, busy: { codec: bool }, uptime: { codec: uint() } },
    mutating: false,
    idempotent: true,
  },
  enroll: {
    args: {
      secret: { codec: hexBytes(MIN_SECRET_BYTES, MAX_SECRET_BYTES) },
      mode: { codec: mode },
      algorithm: { codec: algorithm },
      digits: { codec: digits },
      period: { codec: period, optional: true },
      counter: { codec: counter, optional: true },
    },
    reply: { counter: { codec: counter, optional: true } },
    mutating: true,
    idempotent: false,
  },
  time: { args: {}, reply: { clock: { codec: clock } }, mutating: false, idempotent: true },
  settime: {
    args: { at: { codec: clock }, force: { codec: bool, optional: true } },
    reply: { clock: { codec: clock } },
    mutating: true,
    idempotent: true,
  },
  wipe: { args: {}, reply: {}, mutating: true, idempotent: false },
  push: { args: { on: { codec: bool } }, reply: { push: { codec: bool } }, mutating: true, idempotent: true },
  audio: {
    args: { volume: { codec: volume, optional: true }, speed: { codec: speed, optional: true } },
    reply: { volume: { codec: volume }, speed: { codec: speed } },
    mutating: true,
    idempotent: true,
  },
};

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(COMMANDS, name);
}

/** Events a token pushes, and their fields. */
export interface EventFields {
  /** A button press made a new code. HOTP events carry the counter used, TOTP events the time step. */
  press: { code: string; counter?: number; step?: number; battery?: 'low' };
  /** The token waits for the user to hold the button to confirm `op`. */
  confirm: { op: 'wipe'; timeout_ms: number };
  /** The token has (re)started: a request in flight at that moment was lost. */
  boot: { serial: string };
}

export type EventName = keyof EventFields;

export const EVENTS: { readonly [E in EventName]: Schema<EventFields[E]> } = {
  press: {
    code: { codec: digitString(MIN_DIGITS, MAX_DIGITS) },
    counter: { codec: counter, optional: true },
    step: { codec: counter, optional: true },
    battery: { codec: oneOf(['low'] as const), optional: true },
  },
  confirm: { op: { codec: oneOf(['wipe'] as const) }, timeout_ms: { codec: uint() } },
  boot: { serial: { codec: wordOf(IDENTITY_LIMITS.serial) } },
};

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(EVENTS, name);
}
