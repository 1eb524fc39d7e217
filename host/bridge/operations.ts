/** What a host does with a token, built on a session: connect, enroll, wait for a code, set the clock, wipe. */
import type { EnrollArgs, HelloReply, TokenInfo } from '../../protocol/commands.ts';
import { BridgeError } from './link.ts';
import { openLink, parseAddress, type LinkOptions } from './connect.ts';
import { TokenSession, type TokenEvent } from './session.ts';

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
  if (!status.enrolled) throw new BridgeError('NV_NOT_ENROLLED', 'the token holds no seed: enroll it first');
  if (!status.push) throw new BridgeError('NV_PUSH_OFF', 'the token does not report presses: switch them on with `noegleviser events on`');
  const firstCounter = status.counter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new BridgeError('NV_TIMEOUT', `no button press within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const stop = session.onEvent((event: TokenEvent) => {
      if (event.name !== 'press') return;
      if (firstCounter !== undefined && event.fields.counter !== undefined && event.fields.counter < firstCounter) return;
      done({ code: event.fields.code, counter: event.fields.counter, step: event.fields.step, lowBattery: event.fields.battery === 'low' });
    });
    session.onClose((error) => done(error ?? new BridgeError('NV_LINK_CLOSED', 'the token went away')));
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

export interface ClockSync {
  /** Token clock minus host clock before the sync, in ms (positive: the token was ahead). */
  readonly offsetBeforeMs: number;
  readonly offsetAfterMs: number;
}

/** Sets the token's clock from the host's. A token ahead of the host is only set back with `force`. */
export async function syncClock(session: TokenSession, options: { force?: boolean; now?: () => number } = {}): Promise<ClockSync> {
  const now = options.now ?? Date.now;
  const sent = now();
  const before = await session.request('time', {});
  const offsetBeforeMs = before.clock - Math.round((sent + now()) / 2);
  await session.request('settime', { at: now(), force: options.force || undefined });
  const asked = now();
  const after = await session.request('time', {});
  return { offsetBeforeMs, offsetAfterMs: after.clock - Math.round((asked + now()) / 2) };
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
