/**
 * Protocol v1's message set: every command a host may send, the fields of its reply, and the
 * events a token pushes. Token and host both read their messages through these schemas.
 */
import { MAX_DIGITS, MIN_DIGITS, OATH_ALGORITHMS, type OathAlgorithm } from './oath/parameters.ts';
import { bool, digitString, hexBytes, oneOf, optional, uint, wordOf, type Schema } from './fields.ts';

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
const proto = uint(1, 0xffff);
const serial = wordOf(IDENTITY_LIMITS.serial);
// Codecs are strings (protocol/fields.ts): each is built once here and shared by every schema naming it.
const someMode = optional(mode);
const someAlgorithm = optional(algorithm);
const someDigits = optional(digits);
const somePeriod = optional(period);
const someCounter = optional(counter);
const someVolume = optional(volume);
const someSpeed = optional(speed);

/** The fields of a message that has none (one object for all of them). */
const none = {};
/** The reply of `time` and of `settime` (one object for both). */
const clockReply = { clock };

const helloReply: Schema<HelloReply> = {
  proto,
  model: wordOf(IDENTITY_LIMITS.model),
  hardware: wordOf(IDENTITY_LIMITS.hardware),
  serial,
  firmware: wordOf(IDENTITY_LIMITS.firmware),
};

const stateFields = {
  counter: someCounter,
  battery: uint(0, 100),
  clock,
  push: bool,
} as const;

export const COMMANDS: { readonly [C in CommandName]: CommandSpec<C> } = {
  hello: { args: { proto: optional(proto) }, reply: helloReply, mutating: false, idempotent: true },
  info: {
    args: none,
    reply: {
      ...helloReply,
      enrolled: bool,
      mode: someMode,
      algorithm: someAlgorithm,
      digits: someDigits,
      period: somePeriod,
      ...stateFields,
      volume: someVolume,
      speed: someSpeed,
    },
    mutating: false,
    idempotent: true,
  },
  status: {
    args: none,
    reply: { enrolled: bool, ...stateFields, busy: bool, uptime: uint() },
    mutating: false,
    idempotent: true,
  },
  enroll: {
    args: {
      secret: hexBytes(MIN_SECRET_BYTES, MAX_SECRET_BYTES),
      mode,
      algorithm,
      digits,
      period: somePeriod,
      counter: someCounter,
    },
    reply: { counter: someCounter },
    mutating: true,
    idempotent: false,
  },
  time: { args: none, reply: clockReply, mutating: false, idempotent: true },
  settime: {
    args: { at: clock, force: optional(bool) },
    reply: clockReply,
    mutating: true,
    idempotent: true,
  },
  wipe: { args: none, reply: none, mutating: true, idempotent: false },
  push: { args: { on: bool }, reply: { push: bool }, mutating: true, idempotent: true },
  audio: {
    args: { volume: someVolume, speed: someSpeed },
    reply: { volume, speed },
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
    code: digitString(MIN_DIGITS, MAX_DIGITS),
    counter: someCounter,
    step: someCounter,
    battery: optional(oneOf(['low'] as const)),
  },
  confirm: { op: oneOf(['wipe'] as const), timeout_ms: uint() },
  boot: { serial },
};

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(EVENTS, name);
}
