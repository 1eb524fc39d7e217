/** What a host does with a token, built on a session: connect, enroll, wait for a code, set the clock, wipe. */
import type { EnrollArgs, HelloReply, TokenInfo } from '../../protocol/commands.ts';
import { openLink, parseAddress, type LinkOptions } from './connect.ts';
import { TokenSession, type TokenEvent } from './session.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export interface ConnectedToken {
  readonly session: TokenSession;
  readonly identity: HelloReply;
  close(): Promise<void>;
}

/** Opens the token at `address` (see connect.ts) and starts a session with it. */
export async function connectToken(address: string, options: LinkOptions = {}): Promise<ConnectedToken> {
  const link = await openLink(parseAddress(address), options);
  try {
    const { session, identity } = await TokenSession.start(link, options.timeoutMs);
    return { session, identity, close: () => session.close() };
  } catch (error) {
    await link.close();
    throw error;
  }
}

export async function readInfo(session: TokenSession): Promise<TokenInfo> {
  return session.request('info', {});
}

export async function enroll(session: TokenSession, args: EnrollArgs): Promise<{ counter?: number }> {
  // Not resent after a timeout: a lost answer leaves the token enrolled or not, and `info` tells which.
  return session.request('enroll', args, { timeoutMs: 3000 });
}

export interface PressedCode {
  readonly code: string;
  readonly counter?: number;
  readonly step?: number;
  readonly lowBattery: boolean;
}

/**
 * Waits for the next button press on the token. Presses the token pushed before this call (still
 * in transit) are skipped: only a counter at or past the one the token reports now counts.
 * `onListening` is called once a press from now on will be caught.
 */
export async function waitForPress(session: TokenSession, timeoutMs: number, onListening?: () => void): Promise<PressedCode> {
  const status = await session.request('status', {});
  if (!status.enrolled) throw new CodedError('NV_NOT_ENROLLED', 'the token holds no seed: enroll it first');
  if (!status.push) throw new CodedError('NV_PUSH_OFF', 'the token does not report presses: switch them on with `noegleviser events on`');
  const firstCounter = status.counter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new CodedError('NV_TIMEOUT', `no button press within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const stop = session.onEvent((event: TokenEvent) => {
      if (event.name !== 'press') return;
      if (firstCounter !== undefined && event.fields.counter !== undefined && event.fields.counter < firstCounter) return;
      done({ code: event.fields.code, counter: event.fields.counter, step: event.fields.step, lowBattery: event.fields.battery === 'low' });
    });
    session.onClose((error) => done(error ?? new CodedError('NV_LINK_CLOSED', 'the token went away')));
    onListening?.();
    let settled = false;
    function done(outcome: PressedCode | Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
  });
}

export interface ClockReading {
  /** Token clock minus host clock, in ms (positive: the token is ahead), against the middle of the exchange. */
  readonly offsetMs: number;
  /** How long the exchange took: the reading is uncertain by half of it. */
  readonly roundTripMs: number;
}

/** Reads the token's clock against the host's, the best of a few exchanges (the shortest round trip). */
export async function readClock(session: TokenSession, now: () => number = Date.now, samples = 3): Promise<ClockReading> {
  let best: ClockReading | undefined;
  for (let i = 0; i < samples; i++) {
    const sent = now();
    const { clock } = await session.request('time', {});
    const received = now();
    const reading = { offsetMs: clock - (sent + received) / 2, roundTripMs: received - sent };
    if (!best || reading.roundTripMs < best.roundTripMs) best = reading;
  }
  return { offsetMs: Math.round(best!.offsetMs), roundTripMs: best!.roundTripMs };
}

/**
 * How far ahead a token's clock may be and still be set without --force: what a round trip on a
 * busy host can explain. A TOTP step is seconds long, so moving a clock back this little shows no
 * code a correct clock would not, and the server never accepts a step twice anyway.
 */
export const CLOCK_AHEAD_TOLERANCE_MS = 250;

export interface ClockSync {
  /** Token clock minus host clock before the sync, in ms (positive: the token was ahead). */
  readonly offsetBeforeMs: number;
  readonly offsetAfterMs: number;
  /** How far ahead the clock could have been and still been set without `force`. */
  readonly toleranceMs: number;
}

/** The token's clock runs further ahead of the host's than a round trip explains: setting it back needs `force`. */
export class ClockAheadError extends CodedError {
  constructor(
    readonly offsetMs: number,
    readonly toleranceMs: number,
  ) {
    super('NV_CLOCK_AHEAD', `the token's clock is ${formatClockOffset(offsetMs)} ahead of this host's (more than the ${toleranceMs} ms a round trip explains); setting it back needs force`);
    this.name = 'ClockAheadError';
  }
}

/** An offset for people: "80 ms", "5.021 s", "3 min 12.000 s". */
export function formatClockOffset(ms: number): string {
  const size = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (size < 1000) return `${sign}${Math.round(size)} ms`;
  if (size < 60_000) return `${sign}${(size / 1000).toFixed(3)} s`;
  return `${sign}${Math.floor(size / 60_000)} min ${((size % 60_000) / 1000).toFixed(3)} s`;
}

/**
 * Sets the token's clock from the host's. A clock ahead of the host's by more than a round trip
 * explains (CLOCK_AHEAD_TOLERANCE_MS, or the measured round trip if longer) is only set back with
 * `force`; within that, it is set as if it were behind (the token's own check cannot tell, so the
 * host says force for it).
 */
export async function syncClock(session: TokenSession, options: { force?: boolean; now?: () => number } = {}): Promise<ClockSync> {
  const now = options.now ?? Date.now;
  const before = await readClock(session, now);
  const toleranceMs = Math.max(CLOCK_AHEAD_TOLERANCE_MS, Math.ceil(before.roundTripMs));
  if (before.offsetMs > toleranceMs && !options.force) throw new ClockAheadError(before.offsetMs, toleranceMs);
  // The time the message will arrive at, as near as the last round trip tells.
  await session.request('settime', { at: Math.round(now() + before.roundTripMs / 2), force: true });
  const after = await readClock(session, now);
  return { offsetBeforeMs: before.offsetMs, offsetAfterMs: after.offsetMs, toleranceMs };
}

/**
 * Asks the token to wipe its seed. The token waits for its button to be held; `onPrompt` is told
 * when it starts waiting, with how long it waits.
 */
export async function wipe(session: TokenSession, onPrompt: (timeoutMs: number) => void): Promise<void> {
  const stop = session.onEvent((event) => {
    if (event.name === 'confirm') onPrompt(event.fields.timeout_ms);
  });
  try {
    await session.request('wipe', {}, { timeoutMs: 2 * 60_000, retries: 0 });
  } finally {
    stop();
  }
}

export async function setPressEvents(session: TokenSession, on: boolean): Promise<boolean> {
  return (await session.request('push', { on })).push;
}
