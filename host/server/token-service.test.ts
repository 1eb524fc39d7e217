/**
 * The validation server's rules, in process: a TokenService over a real SQLite file, a vault with a
 * random master key and a clock the test moves. Expected codes come from the node:crypto reference
 * (test/support/oath-reference.ts), never from the engine under test.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { tempDir } from '../../test/support/processes.ts';
import { base32, findSeed } from '../../test/support/seed-search.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { DEFAULT_POLICY, type VerifyPolicy } from './policy.ts';
import { SeedVault, VaultError } from './seed-vault.ts';
import { SqliteDatabase } from '../store/sqlite-database.ts';
import { SqliteServiceStore } from '../service/store/sqlite-service-store.ts';
import { SqliteTokenStore } from './store/sqlite-token-store.ts';
import type { Actor } from '../store/audit.ts';
import { TokenService, type VerifyOutcome } from './token-service.ts';
import { peopleAsOwners } from '../service/owners.ts';

const PERIOD = 30;
/** A whole TOTP step boundary (step 60,000,000 at 30 s), plus 5 s into the step. */
const START = 1_800_000_000_000 + 5_000;
const admin: Actor = { name: 'admin-test' };
const client: Actor = { name: 'client-test', ip: '127.0.0.1' };

let dir: string;
let database: SqliteDatabase;
let store: SqliteTokenStore;
let vault: SeedVault;
let clock: number;
const databases: SqliteDatabase[] = [];

/** A token store on the file, with a database connection of its own. */
function openStore(): SqliteTokenStore {
  database = SqliteDatabase.open(path.join(dir, 'tokens.db'));
  databases.push(database);
  return new SqliteTokenStore(database);
}

beforeEach(() => {
  dir = tempDir('svc');
  store = openStore();
  vault = new SeedVault(randomBytes(32));
  clock = START;
});

afterEach(async () => {
  for (const d of databases.splice(0)) await d.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function service(policy: Partial<VerifyPolicy> = {}): TokenService {
  return new TokenService(store, vault, { ...DEFAULT_POLICY, ...policy }, () => clock);
}

/** The reference HOTP code of `seed` at `counter` (six digits, SHA-1). */
const hotp = (seed: Uint8Array, counter: number) => referenceHotp(seed, counter, 6, 'sha1');
/** The TOTP step of the server's clock, `offset` steps away (a token that far fast, or slow). */
const step = (offset = 0) => Math.floor(clock / 1000 / PERIOD) + offset;
const totp = (seed: Uint8Array, offset = 0) => hotp(seed, step(offset));

/** A six-digit code that is no HOTP code of `seed` for any counter in [0, upTo). */
function wrongCode(seed: Uint8Array, upTo = 2_000): string {
  const used = new Set(Array.from({ length: upTo }, (_, counter) => hotp(seed, counter)));
  for (let n = 123_456; ; n = (n + 7919) % 1_000_000) {
    const code = String(n).padStart(6, '0');
    if (!used.has(code)) return code;
  }
}

/**
 * A random seed whose codes at `counters` are each the code of no other counter in [from, to): a
 * test at the edge of a window then cannot be decided by a chance collision (about 1 in 1000 for a
 * range of 1000 six-digit codes).
 */
function seedUniqueAt(counters: readonly number[], from: number, to: number): Uint8Array {
  for (;;) {
    const seed = new Uint8Array(randomBytes(20));
    const codes = Array.from({ length: to - from }, (_, i) => hotp(seed, from + i));
    const unique = counters.every((counter) => codes.every((code, i) => from + i === counter || code !== codes[counter - from]));
    if (unique) return seed;
  }
}

async function enrollHotp(svc: TokenService, serial: string, options: { counter?: number; owner?: string; seed?: Uint8Array } = {}): Promise<Uint8Array> {
  const seed = options.seed ?? new Uint8Array(randomBytes(20));
  await svc.enroll({ serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: seed.slice(), counter: options.counter, owner: options.owner }, admin);
  return seed;
}

async function enrollTotp(svc: TokenService, serial: string, seed: Uint8Array = new Uint8Array(randomBytes(20))): Promise<Uint8Array> {
  await svc.enroll({ serial, kind: 'totp', algorithm: 'sha1', digits: 6, period: PERIOD, seed: seed.slice() }, admin);
  return seed;
}

function expectAccepted(outcome: VerifyOutcome): void {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ result: 'accepted' });
}

function expectRejected(outcome: VerifyOutcome, reason: string): void {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ result: 'rejected', reason });
}

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the call to fail').toBeInstanceOf(CodedError);
  expect({ status: (error as CodedError).status, code: (error as CodedError).code }).toEqual({ status, code });
}

describe('HOTP window', () => {
  it('accepts a code anywhere in the next 10 counters, and only forward of the last accepted one', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'H1');
    expect(await svc.verify('H1', hotp(seed, 0), client)).toEqual({ result: 'accepted', serial: 'H1', counter: 0 });
    // 9 presses lost: counter 10 is the 10th code of the window [1, 10].
    expect(await svc.verify('H1', hotp(seed, 10), client)).toEqual({ result: 'accepted', serial: 'H1', counter: 10 });
    expect((await svc.get('H1')).counter).toBe(11);
    // Everything behind the accepted counter is now refused, including codes never used.
    for (const counter of [9, 5, 1]) expectRejected(await svc.verify('H1', hotp(seed, counter), client), 'replayed');
    expectAccepted(await svc.verify('H1', hotp(seed, 11), client));
  });

  it('refuses the 11th code ahead (counter + 10) and leaves the counter where it was', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'H2', { counter: 100 });
    const outcome = await svc.verify('H2', hotp(seed, 110), client);
    // A code of the token beyond the window: refused and counted, with the way back.
    expect(outcome).toMatchObject({ result: 'rejected', serial: 'H2', reason: 'out_of_window', failCount: 1, locked: false });
    expect(outcome.result === 'rejected' && outcome.hint).toMatch(/resync --serial H2 CODE1 CODE2/);
    expect((await svc.get('H2')).counter).toBe(100);
    expectAccepted(await svc.verify('H2', hotp(seed, 109), client));
  });

  it('a window set by policy is honoured at its edge', async () => {
    const svc = service({ hotpWindow: 3 });
    const seed = await enrollHotp(svc, 'H3');
    expectRejected(await svc.verify('H3', hotp(seed, 3), client), 'out_of_window');
    expectAccepted(await svc.verify('H3', hotp(seed, 2), client));
  });

  it('resync with the next two codes recovers a token 11 presses ahead; the counter lands after them', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'H4');
    expectRejected(await svc.verify('H4', hotp(seed, 10), client), 'out_of_window');
    expect(await svc.resync('H4', hotp(seed, 11), hotp(seed, 12), client)).toEqual({ result: 'resynced', serial: 'H4', counter: 13, unlocked: false });
    const token = await svc.get('H4');
    expect(token).toMatchObject({ counter: 13, failCount: 0, state: 'active' });
    expectRejected(await svc.verify('H4', hotp(seed, 12), client), 'replayed');
    expectAccepted(await svc.verify('H4', hotp(seed, 13), client));
  });

  it('resync reaches 999 counters ahead but not beyond the resync window', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'H5');
    expect(await svc.resync('H5', hotp(seed, 999), hotp(seed, 1000), client)).toMatchObject({ result: 'resynced', counter: 1001 });
    expect(await svc.resync('H5', hotp(seed, 2001), hotp(seed, 2002), client)).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    expect((await svc.get('H5')).counter).toBe(1001);
  });

  it('resync finds a pair whose first code is at counter + window - 1, and not one at counter + window', async () => {
    // Each token starts at counter 500; the default window searches first codes in [500, 1500).
    const svc = service();
    const window = DEFAULT_POLICY.resyncWindow;
    const last = await enrollHotp(svc, 'H5a', { counter: 500 });
    expect(await svc.resync('H5a', hotp(last, 500 + window - 1), hotp(last, 500 + window), client)).toMatchObject({ result: 'resynced', counter: 500 + window + 1 });
    const beyond = await enrollHotp(svc, 'H5b', { counter: 500 });
    expect(await svc.resync('H5b', hotp(beyond, 500 + window), hotp(beyond, 500 + window + 1), client)).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    expect((await svc.get('H5b')).counter).toBe(500);
  });

  it('a resync window set by policy is honoured at its edge', async () => {
    const svc = service({ resyncWindow: 40 });
    const last = await enrollHotp(svc, 'H5c', { counter: 7 });
    expect(await svc.resync('H5c', hotp(last, 46), hotp(last, 47), client)).toMatchObject({ result: 'resynced', counter: 48 });
    const beyond = await enrollHotp(svc, 'H5d', { counter: 7 });
    expect(await svc.resync('H5d', hotp(beyond, 47), hotp(beyond, 48), client)).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
  });

  it('a non-consecutive pair, or a pair in the wrong order, does not resync and counts as a failure', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'H6');
    expect(await svc.resync('H6', hotp(seed, 20), hotp(seed, 22), client)).toEqual({ result: 'rejected', serial: 'H6', reason: 'no_consecutive_codes', failCount: 1 });
    expect(await svc.resync('H6', hotp(seed, 21), hotp(seed, 20), client)).toMatchObject({ result: 'rejected', failCount: 2 });
    expect(await svc.get('H6')).toMatchObject({ counter: 0, failCount: 2 });
    expectAccepted(await svc.verify('H6', hotp(seed, 0), client));
  });

  it('a malformed code is an error, not a failure', async () => {
    const svc = service();
    await enrollHotp(svc, 'H7');
    await expectApiError(svc.verify('H7', '12345', client), 400, 'NV_BAD_CODE');
    await expectApiError(svc.verify('H7', '12345a', client), 400, 'NV_BAD_CODE');
    await expectApiError(svc.verify('H7', '1234567', client), 400, 'NV_BAD_CODE');
    await expectApiError(svc.resync('H7', '123456', '12345x', client), 400, 'NV_BAD_CODE');
    await expectApiError(svc.verify('NOPE', '123456', client), 404, 'NV_UNKNOWN_SERIAL');
    expect((await svc.get('H7')).failCount).toBe(0);
  });
});

describe('TOTP', () => {
  it('accepts the current step and one either side, and refuses two steps away', async () => {
    const svc = service();
    for (const [serial, offset, accepted] of [
      ['T-2', -2, false],
      ['T-1', -1, true],
      ['T0', 0, true],
      ['T+1', 1, true],
      ['T+2', 2, false],
    ] as const) {
      const seed = await enrollTotp(svc, serial);
      const outcome = await svc.verify(serial, totp(seed, offset), client);
      expect(outcome.result, `${serial}: ${JSON.stringify(outcome)}`).toBe(accepted ? 'accepted' : 'rejected');
      if (accepted) expect(outcome).toMatchObject({ step: step(offset) });
    }
  });

  it('refuses a time step already used (replayed), also an earlier step after a later one', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'T1');
    const code = totp(seed);
    expectAccepted(await svc.verify('T1', code, client));
    expectRejected(await svc.verify('T1', code, client), 'replayed');
    clock += 10_000; // still the same step
    expectRejected(await svc.verify('T1', code, client), 'replayed');
    clock += PERIOD * 1000; // the next step: the old code is still inside ±1 but used
    expectRejected(await svc.verify('T1', code, client), 'replayed');
    expect((await svc.get('T1')).lastStep).toBe(step(-1));
    expectAccepted(await svc.verify('T1', totp(seed), client));
  });

  it('learned drift follows accepted codes: a token slipping one step at a time stays accepted', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'T2');
    for (let fast = 1; fast <= 4; fast++) {
      clock += PERIOD * 1000;
      const outcome = await svc.verify('T2', totp(seed, fast), client);
      expect(outcome, `${fast} steps fast`).toMatchObject({ result: 'accepted', step: step(fast) });
      expect((await svc.get('T2')).driftSteps).toBe(fast);
    }
    // Now learned +4: a code of the server's own step is two steps off the expected one.
    clock += PERIOD * 1000;
    expectRejected(await svc.verify('T2', totp(seed, 0), client), 'wrong_code');
    expectAccepted(await svc.verify('T2', totp(seed, 4), client));
  });

  it('a token 2 minutes (4 steps) fast is rejected, recovered by resync, and then verifies normally', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'T3');
    expectRejected(await svc.verify('T3', totp(seed, 4), client), 'out_of_window');
    // The holder reads one code, waits for the next step, reads the next.
    const first = totp(seed, 4);
    clock += PERIOD * 1000;
    const second = totp(seed, 4);
    expect(await svc.resync('T3', first, second, client)).toEqual({ result: 'resynced', serial: 'T3', lastStep: step(4), driftSteps: 4, unlocked: false });
    expectRejected(await svc.verify('T3', second, client), 'replayed');
    for (let i = 0; i < 3; i++) {
      clock += PERIOD * 1000;
      expect(await svc.verify('T3', totp(seed, 4), client)).toMatchObject({ result: 'accepted', step: step(4) });
    }
    expect(await svc.get('T3')).toMatchObject({ driftSteps: 4, failCount: 0, state: 'active' });
  });

  it('TOTP resync searches ±500 steps around the server clock, no further', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'T4');
    expect(await svc.resync('T4', totp(seed, 600), totp(seed, 601), client)).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    expect(await svc.resync('T4', totp(seed, -499), totp(seed, -498), client)).toMatchObject({ result: 'resynced', driftSteps: -498 });
  });

  it('TOTP resync finds a pair whose first code is 500 steps either side of the server clock, and not 501', async () => {
    const svc = service();
    const cases = [
      ['T4a', 500, true],
      ['T4b', 501, false],
      ['T4c', -500, true],
      ['T4d', -501, false],
    ] as const;
    for (const [serial, offset, found] of cases) {
      const seed = await enrollTotp(svc, serial);
      const outcome = await svc.resync(serial, totp(seed, offset), totp(seed, offset + 1), client);
      if (found) expect(outcome, serial).toMatchObject({ result: 'resynced', lastStep: step(offset + 1), driftSteps: offset + 1 });
      else expect(outcome, serial).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    }
  });

  it('the bridge resets the drift after setting the token clock', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'T5');
    expectAccepted(await svc.verify('T5', totp(seed, 1), client));
    expect((await svc.get('T5')).driftSteps).toBe(1);
    expect((await svc.resetDrift('T5', admin)).driftSteps).toBe(0);
    await expectApiError(svc.resetDrift('NOPE', admin), 404, 'NV_UNKNOWN_SERIAL');
    await enrollHotp(svc, 'T5-H');
    await expectApiError(svc.resetDrift('T5-H', admin), 409, 'NV_BAD_STATE');
  });
});

describe('failures and lockout', () => {
  it('locks after maxFail wrong codes; a locked token refuses even the right code, with reason locked', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'L1');
    const wrong = wrongCode(seed);
    for (let i = 1; i <= 4; i++) expect(await svc.verify('L1', wrong, client)).toMatchObject({ result: 'rejected', reason: 'wrong_code', failCount: i, locked: false });
    expect(await svc.verify('L1', wrong, client)).toMatchObject({ result: 'rejected', reason: 'wrong_code', failCount: 5, locked: true });
    expect((await svc.get('L1')).state).toBe('locked');
    const refused = await svc.verify('L1', hotp(seed, 0), client);
    expect(refused).toMatchObject({ result: 'rejected', serial: 'L1', reason: 'locked', failCount: 5, locked: true });
    // …and says how to unlock it: two consecutive codes, or an administrator.
    expect(refused.result === 'rejected' && refused.hint).toMatch(/resync --serial L1 CODE1 CODE2.*token unlock L1/);
    expect((await svc.get('L1')).counter).toBe(0);
  });

  it('a right code in between resets the fail count', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'L2');
    const wrong = wrongCode(seed);
    for (let i = 0; i < 4; i++) await svc.verify('L2', wrong, client);
    expectAccepted(await svc.verify('L2', hotp(seed, 0), client));
    expect((await svc.get('L2')).failCount).toBe(0);
    for (let i = 0; i < 4; i++) await svc.verify('L2', wrong, client);
    expect((await svc.get('L2')).state).toBe('active');
  });

  it('maxFail comes from the policy', async () => {
    const svc = service({ maxFail: 2 });
    const seed = await enrollHotp(svc, 'L3');
    await svc.verify('L3', wrongCode(seed), client);
    expect(await svc.verify('L3', wrongCode(seed), client)).toMatchObject({ failCount: 2, locked: true });
  });

  it('unlock by an administrator returns the token to active with a fail count of 0', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'L4');
    for (let i = 0; i < 5; i++) await svc.verify('L4', wrongCode(seed), client);
    expect(await svc.unlock('L4', admin)).toMatchObject({ state: 'active', failCount: 0 });
    expectAccepted(await svc.verify('L4', hotp(seed, 0), client));
    await expectApiError(svc.unlock('L4', admin), 409, 'NV_BAD_STATE');
  });

  it('the holder unlocks with two consecutive fresh codes', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'L5');
    for (let i = 0; i < 5; i++) await svc.verify('L5', wrongCode(seed), client);
    expect(await svc.resync('L5', hotp(seed, 3), hotp(seed, 4), client)).toEqual({ result: 'resynced', serial: 'L5', counter: 5, unlocked: true });
    expect(await svc.get('L5')).toMatchObject({ state: 'active', failCount: 0, counter: 5 });
    expectAccepted(await svc.verify('L5', hotp(seed, 5), client));
  });

  it('the holder does not unlock with two codes that are not consecutive', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'L6');
    for (let i = 0; i < 5; i++) await svc.verify('L6', wrongCode(seed), client);
    expect(await svc.resync('L6', hotp(seed, 3), hotp(seed, 5), client)).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    expect(await svc.resync('L6', hotp(seed, 4), hotp(seed, 3), client)).toMatchObject({ result: 'rejected' });
    expect(await svc.get('L6')).toMatchObject({ state: 'locked', counter: 0 });
    expectRejected(await svc.verify('L6', hotp(seed, 0), client), 'locked');
  });

  it('the holder does not unlock with two old codes that were already used', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'L7');
    for (let counter = 0; counter < 4; counter++) expectAccepted(await svc.verify('L7', hotp(seed, counter), client));
    for (let i = 0; i < 5; i++) await svc.verify('L7', wrongCode(seed), client);
    expect((await svc.get('L7')).state).toBe('locked');
    for (const [a, b] of [
      [0, 1],
      [2, 3],
    ]) {
      expect(await svc.resync('L7', hotp(seed, a!), hotp(seed, b!), client)).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    }
    expect(await svc.get('L7')).toMatchObject({ state: 'locked', counter: 4 });
    // The next fresh pair does it.
    expect(await svc.resync('L7', hotp(seed, 4), hotp(seed, 5), client)).toMatchObject({ result: 'resynced', unlocked: true, counter: 6 });
  });

  it('a TOTP token is unlocked by two consecutive fresh codes, not by a used step', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'L8');
    const used = totp(seed, -1);
    expectAccepted(await svc.verify('L8', used, client));
    const usedNext = totp(seed, 0);
    expectAccepted(await svc.verify('L8', usedNext, client));
    for (let i = 0; i < 5; i++) await svc.verify('L8', wrongCode(seed), client);
    expect((await svc.get('L8')).state).toBe('locked');
    expect(await svc.resync('L8', used, usedNext, client)).toMatchObject({ result: 'rejected' });
    clock += PERIOD * 1000;
    const fresh = totp(seed);
    clock += PERIOD * 1000;
    expect(await svc.resync('L8', fresh, totp(seed), client)).toMatchObject({ result: 'resynced', unlocked: true, lastStep: step(), driftSteps: 0 });
    clock += PERIOD * 1000;
    expectAccepted(await svc.verify('L8', totp(seed), client));
  });
});

describe('beyond the window', () => {
  it('HOTP: a replayed code is answered replayed, also when a counter beyond the window happens to make the same code', async () => {
    const svc = service();
    const seed = new Uint8Array(randomBytes(20));
    // Two counters of this seed with the same code, the second where a search beyond the window
    // (window 10, up to the resync window of 1000) would find it once the first is accepted: ~20 such pairs in 20,000 counters.
    const firstAt = new Map<string, number>();
    let pair: [number, number] | undefined;
    for (let counter = 0; counter < 20_000 && !pair; counter++) {
      const code = hotp(seed, counter);
      const earlier = firstAt.get(code);
      if (earlier !== undefined && counter - earlier >= 11 && counter - earlier < 1001) pair = [earlier, counter];
      firstAt.set(code, counter);
    }
    expect(pair, 'no colliding pair in 20,000 counters').toBeDefined();
    const [used] = pair!;
    await svc.enroll({ serial: 'RC1', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: seed.slice(), counter: used }, admin);
    expectAccepted(await svc.verify('RC1', hotp(seed, used), client));
    expectRejected(await svc.verify('RC1', hotp(seed, used), client), 'replayed');
  });

  it('TOTP: a code of a step a resync would find answers out_of_window with a resync hint; a code of no step, wrong_code', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'OW1');
    const outcome = await svc.verify('OW1', totp(seed, 6), client);
    expect(outcome).toMatchObject({ result: 'rejected', reason: 'out_of_window', failCount: 1 });
    expect(outcome.result === 'rejected' && outcome.hint).toMatch(/clock is off.*resync --serial OW1 CODE1 CODE2/);
    const near = new Set(Array.from({ length: 1201 }, (_, i) => totp(seed, i - 600)));
    const code = ['123456', '654321', '111111'].find((c) => !near.has(c))!;
    const wrong = await svc.verify('OW1', code, client);
    expect(wrong.result === 'rejected' && [wrong.reason, wrong.hint]).toEqual(['wrong_code', undefined]);
  });
});

describe('beyond the window, at the edge of the resync window', () => {
  // A code the verify window does not reach is this token's (out_of_window, with the way back) exactly
  // where a resync would find it as the first of a pair: counter + hotpWindow up to counter + resyncWindow - 1.
  const window = DEFAULT_POLICY.resyncWindow;

  it('HOTP: a code at counter + window - 1 is out_of_window with a resync hint; one at counter + window is a wrong code', async () => {
    const svc = service();
    const last = await enrollHotp(svc, 'E1', { counter: 500, seed: seedUniqueAt([500 + window - 1], 0, 500 + window + 20) });
    const inside = await svc.verify('E1', hotp(last, 500 + window - 1), client);
    expect(inside).toMatchObject({ result: 'rejected', reason: 'out_of_window' });
    expect(inside.result === 'rejected' && inside.hint).toMatch(/resync --serial E1/);
    const beyond = await enrollHotp(svc, 'E2', { counter: 500, seed: seedUniqueAt([500 + window], 0, 500 + window + 20) });
    const outside = await svc.verify('E2', hotp(beyond, 500 + window), client);
    expect(outside.result === 'rejected' && [outside.reason, outside.hint]).toEqual(['wrong_code', undefined]);
  });

  it('HOTP with auto-resync: a code at counter + window - 1 and its successor resync; a code at counter + window and its successor do not', async () => {
    const svc = service({ autoResync: true });
    const last = await enrollHotp(svc, 'E3', { counter: 500, seed: seedUniqueAt([500 + window - 1, 500 + window], 0, 500 + window + 20) });
    expectRejected(await svc.verify('E3', hotp(last, 500 + window - 1), client), 'out_of_window');
    expect(await svc.verify('E3', hotp(last, 500 + window), client)).toMatchObject({ result: 'accepted', counter: 500 + window });
    const beyond = await enrollHotp(svc, 'E4', { counter: 500, seed: seedUniqueAt([500 + window, 500 + window + 1], 0, 500 + window + 20) });
    expectRejected(await svc.verify('E4', hotp(beyond, 500 + window), client), 'wrong_code');
    expectRejected(await svc.verify('E4', hotp(beyond, 500 + window + 1), client), 'wrong_code');
    expect(await svc.get('E4')).toMatchObject({ counter: 500, failCount: 2 });
  });

  it('TOTP: a code 500 steps either side of the server clock is out_of_window; one 501 steps away is a wrong code', async () => {
    const svc = service();
    const cases = [
      ['E5', 500, 'out_of_window'],
      ['E6', 501, 'wrong_code'],
      ['E7', -500, 'out_of_window'],
      ['E8', -501, 'wrong_code'],
    ] as const;
    for (const [serial, offset, reason] of cases) {
      const seed = await enrollTotp(svc, serial, seedUniqueAt([step(offset)], step(-520), step(520)));
      expectRejected(await svc.verify(serial, totp(seed, offset), client), reason);
    }
  });
});

describe('auto-resync', () => {
  it('off (the default): a code beyond the window followed by the next one stays refused', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'A1');
    expectRejected(await svc.verify('A1', hotp(seed, 50), client), 'out_of_window');
    expectRejected(await svc.verify('A1', hotp(seed, 51), client), 'out_of_window');
    expect((await svc.get('A1')).counter).toBe(0);
  });

  it('on: a code beyond the window, then the next one within the timeout, resyncs without an administrator', async () => {
    const svc = service({ autoResync: true });
    const seed = await enrollHotp(svc, 'A2');
    expect(await svc.verify('A2', hotp(seed, 50), client)).toMatchObject({ result: 'rejected', serial: 'A2', reason: 'out_of_window', failCount: 0, locked: false });
    clock += 60_000;
    expect(await svc.verify('A2', hotp(seed, 51), client)).toEqual({ result: 'accepted', serial: 'A2', counter: 51 });
    expect((await svc.get('A2')).counter).toBe(52);
    expectRejected(await svc.verify('A2', hotp(seed, 51), client), 'replayed');
    expectAccepted(await svc.verify('A2', hotp(seed, 52), client));
  });

  it('on: the follow-up code after the timeout does not resync (it starts a new attempt instead)', async () => {
    const svc = service({ autoResync: true });
    const seed = await enrollHotp(svc, 'A3');
    expectRejected(await svc.verify('A3', hotp(seed, 50), client), 'out_of_window');
    clock += DEFAULT_POLICY.autoResyncTimeoutMs + 1;
    expectRejected(await svc.verify('A3', hotp(seed, 51), client), 'out_of_window');
    expect((await svc.get('A3')).counter).toBe(0);
    clock += 1_000;
    expectAccepted(await svc.verify('A3', hotp(seed, 52), client));
    expect((await svc.get('A3')).counter).toBe(53);
  });

  it('on: a pending code followed by something other than its successor does not resync', async () => {
    const svc = service({ autoResync: true });
    const seed = await enrollHotp(svc, 'A4');
    expectRejected(await svc.verify('A4', hotp(seed, 50), client), 'out_of_window');
    expectRejected(await svc.verify('A4', hotp(seed, 50), client), 'out_of_window');
    expectRejected(await svc.verify('A4', wrongCode(seed), client), 'wrong_code');
    expect((await svc.get('A4')).counter).toBe(0);
  });
});

describe('lifecycle', () => {
  it('disable refuses codes (reason disabled), enable restores the token', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C1');
    expect((await svc.disable('C1', admin)).state).toBe('disabled');
    expect(await svc.verify('C1', hotp(seed, 0), client)).toMatchObject({ result: 'rejected', reason: 'disabled', failCount: 0 });
    await expectApiError(svc.disable('C1', admin), 409, 'NV_BAD_STATE');
    expect((await svc.enable('C1', admin)).state).toBe('active');
    expectAccepted(await svc.verify('C1', hotp(seed, 0), client));
    await expectApiError(svc.enable('C1', admin), 409, 'NV_BAD_STATE');
  });

  it('revoke is final: enable, unlock, resync and lost are refused, and codes never verify again', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C2');
    expect((await svc.revoke('C2', admin)).state).toBe('revoked');
    expectRejected(await svc.verify('C2', hotp(seed, 0), client), 'revoked');
    await expectApiError(svc.enable('C2', admin), 409, 'NV_BAD_STATE');
    await expectApiError(svc.unlock('C2', admin), 409, 'NV_BAD_STATE');
    await expectApiError(svc.revoke('C2', admin), 409, 'NV_BAD_STATE');
    await expectApiError(svc.reportLost('C2', { replacement: false }, admin), 409, 'NV_BAD_STATE');
    await expectApiError(svc.resync('C2', hotp(seed, 0), hotp(seed, 1), client), 409, 'NV_BAD_STATE');
    expect((await svc.get('C2')).state).toBe('revoked');
  });

  it('lost with a replacement: the password verifies for its owner (verify and verifyUser) until validUntil, then is expired', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C3', { owner: 'alice' });
    const { token, replacement } = await svc.reportLost('C3', { replacement: true, validDays: 2 }, admin);
    expect(token.state).toBe('lost');
    expect(replacement).toBeDefined();
    const { serial, password, validUntil } = replacement!;
    expect(serial).toBe('LOST-C3');
    expect(password).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(Date.parse(validUntil)).toBe(clock + 2 * 86_400_000);
    expect(await svc.replacementsOf('alice')).toEqual([{ serial, replaces: 'C3', owner: 'alice', state: 'active', failCount: 0, validUntil }]);
    await expectApiError(svc.get(serial), 404, 'NV_UNKNOWN_SERIAL');

    expectRejected(await svc.verify('C3', hotp(seed, 0), client), 'lost');
    expect(await svc.verifyReplacement(serial, password, client)).toEqual({ result: 'accepted', serial });
    expect(await svc.verifyUser('alice', password, client)).toEqual({ result: 'accepted', serial });
    const wrong = password.slice(1) + (password[0] === 'A' ? 'B' : 'A');
    expectRejected(await svc.verifyUser('alice', wrong, client), 'wrong_code');

    clock = Date.parse(validUntil);
    expectAccepted(await svc.verifyReplacement(serial, password, client));
    clock += 1;
    expect(await svc.verifyReplacement(serial, password, client)).toMatchObject({ result: 'rejected', reason: 'expired' });
    expectRejected(await svc.verifyUser('alice', password, client), 'expired');
  });

  it('lost without a replacement only blocks; a replacement lasts the policy default; reported lost again, a new one supersedes it', async () => {
    const svc = service();
    await enrollHotp(svc, 'C4', { owner: 'bob' });
    const plain = await svc.reportLost('C4', { replacement: false }, admin);
    expect(plain.replacement).toBeUndefined();
    await expectApiError(svc.get('LOST-C4'), 404, 'NV_UNKNOWN_SERIAL');
    expect(await svc.replacementsOf('bob')).toEqual([]);
    await expectApiError(svc.verifyUser('bob', '123456', client), 404, 'NV_UNKNOWN_USER');

    await enrollHotp(svc, 'C5', { owner: 'carol' });
    const replacement = (await svc.reportLost('C5', { replacement: true }, admin)).replacement!;
    expect(Date.parse(replacement.validUntil)).toBe(clock + DEFAULT_POLICY.replacementValidDays * 86_400_000);
    await expectApiError(svc.enable('C5', admin), 409, 'NV_BAD_STATE');
    expectAccepted(await svc.verifyUser('carol', replacement.password, client));
    const again = (await svc.reportLost('C5', { replacement: true, validDays: 1 }, admin)).replacement!;
    expect(again.serial).toBe('LOST-C5');
    expect(again.password).not.toBe(replacement.password);
    expectRejected(await svc.verifyUser('carol', replacement.password, client), 'wrong_code');
    expectAccepted(await svc.verifyUser('carol', again.password, client));
    expect((await svc.list({ owner: 'carol' })).map((t) => t.serial)).toEqual(['C5']);
    expect((await svc.replacementsOf('carol')).map((r) => r.serial)).toEqual(['LOST-C5']);
    expect((await svc.get('C5')).state).toBe('lost');
    expect((await svc.revoke('C5', admin)).state).toBe('revoked');
    // Revoking the lost token ends its temporary password too.
    expect((await svc.replacementsOf('carol'))[0]!.state).toBe('revoked');
    expectRejected(await svc.verifyReplacement('LOST-C5', again.password, client), 'revoked');
    await expectApiError(svc.reportLost('C5', { replacement: true }, admin), 409, 'NV_BAD_STATE');
  });

  it('assign sets and clears the owner; verifyUser finds the owner’s active token', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C6');
    expect((await svc.assign('C6', 'dave', admin)).owner).toBe('dave');
    expect((await svc.list({ owner: 'dave' })).map((t) => t.serial)).toEqual(['C6']);
    expect(await svc.verifyUser('dave', hotp(seed, 0), client)).toEqual({ result: 'accepted', serial: 'C6', counter: 0 });
    expect((await svc.assign('C6', null, admin)).owner).toBeNull();
    await expectApiError(svc.verifyUser('dave', hotp(seed, 1), client), 404, 'NV_UNKNOWN_USER');
  });

  it('delete removes the token; a second delete is an unknown serial', async () => {
    const svc = service();
    await enrollHotp(svc, 'C7');
    await expectApiError(svc.enroll({ serial: 'C7', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: new Uint8Array(20) }, admin), 409, 'NV_SERIAL_EXISTS');
    await svc.delete('C7', admin);
    await expectApiError(svc.get('C7'), 404, 'NV_UNKNOWN_SERIAL');
    await expectApiError(svc.delete('C7', admin), 404, 'NV_UNKNOWN_SERIAL');
  });

  it('the counter advances only forward', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C8');
    expect(await svc.advanceCounter('C8', 20, admin)).toMatchObject({ moved: true, token: { counter: 20 } });
    expect(await svc.advanceCounter('C8', 5, admin)).toMatchObject({ moved: false, token: { counter: 20 } });
    expect(await svc.advanceCounter('C8', 20, admin)).toMatchObject({ moved: false, token: { counter: 20 } });
    expectRejected(await svc.verify('C8', hotp(seed, 19), client), 'replayed');
    expectAccepted(await svc.verify('C8', hotp(seed, 20), client));
    await enrollTotp(svc, 'C8-T');
    await expectApiError(svc.advanceCounter('C8-T', 5, admin), 409, 'NV_BAD_STATE');
  });

  it('every change is in the audit log: who, what, result', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C9');
    await svc.verify('C9', hotp(seed, 0), client);
    await svc.verify('C9', hotp(seed, 0), client);
    await svc.disable('C9', admin);
    await svc.enable('C9', admin);
    const entries = await svc.audit({ serial: 'C9' });
    expect(entries.map((e) => [e.actor, e.action, e.result])).toEqual([
      ['admin-test', 'enroll', 'ok'],
      ['client-test', 'verify', 'accepted'],
      ['client-test', 'verify', 'rejected'],
      ['admin-test', 'disable', 'ok'],
      ['admin-test', 'enable', 'ok'],
    ]);
    expect(entries[1]!.detail).toMatchObject({ counter: 0, ip: '127.0.0.1' });
    expect(entries.every((e) => e.at === clock)).toBe(true);
  });
});

describe('owners: people of the login service', () => {
  /** A service whose owners are the store's people (as the server composes it). */
  const people = () => new SqliteServiceStore(database);
  const withPeople = () => new TokenService(store, vault, DEFAULT_POLICY, () => clock, {}, peopleAsOwners(people()));
  const person = (id: string, userId: string | null) =>
    people().insertPerson(
      { id, userId, name: 'Anna Hansen', cprDigest: null, birthDate: '1990-01-01', scope: 'full', organisationId: null, role: null, passwordHash: null, passwordTemporary: true, state: 'active', cardThreshold: 20 },
      { at: clock, actor: 'test', action: 'person.order', serial: id, result: 'ok', detail: {} },
    );

  it('enroll and assign take a NemID number or a user-id, and keep the NemID number', async () => {
    await person('1234567890', 'anna.hansen');
    const svc = withPeople();
    const seed = randomBytes(20);
    expect((await svc.enroll({ serial: 'O1', kind: 'hotp', algorithm: 'sha1', digits: 6, seed, owner: 'ANNA.HANSEN' }, admin)).owner).toBe('1234567890');
    expect((await svc.assign('O1', null, admin)).owner).toBeNull();
    expect((await svc.assign('O1', '1234567890', admin)).owner).toBe('1234567890');
    // …and a list or a verify by user-id finds the token kept under the NemID number.
    expect((await svc.list({ owner: 'anna.hansen' })).map((t) => t.serial)).toEqual(['O1']);
    expect(await svc.verifyUser('anna.hansen', referenceHotp(seed, 0, 6, 'sha1'), client)).toMatchObject({ result: 'accepted', serial: 'O1' });
  });

  it('anyone the login service does not know is a coded refusal, and nothing is stored or changed', async () => {
    await person('1234567891', 'bent');
    const svc = withPeople();
    const refusal = { status: 400, code: 'NV_UNKNOWN_OWNER' };
    await expect(svc.enroll({ serial: 'O2', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: randomBytes(20), owner: 'alice' }, admin)).rejects.toMatchObject(refusal);
    await expect(svc.get('O2')).rejects.toMatchObject({ code: 'NV_UNKNOWN_SERIAL' });
    await svc.enroll({ serial: 'O2', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: randomBytes(20), owner: 'bent' }, admin);
    await expect(svc.assign('O2', '9999999999', admin)).rejects.toMatchObject(refusal);
    expect((await svc.get('O2')).owner).toBe('1234567891');
  });
});

describe('concurrency', () => {
  it('50 verify calls with the same valid code issued concurrently: exactly one is accepted', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'R1');
    const code = hotp(seed, 0);
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => svc.verify('R1', code, client)));
    expect(outcomes.filter((o) => o.result === 'accepted')).toHaveLength(1);
    for (const o of outcomes) if (o.result === 'rejected') expect(['replayed', 'locked']).toContain(o.reason);
    expect((await svc.get('R1')).counter).toBe(1);
    expect((await svc.audit({ serial: 'R1', action: 'verify' })).filter((e) => e.result === 'accepted')).toHaveLength(1);
  });

  it('50 concurrent TOTP verifications of one code: exactly one is accepted', async () => {
    const svc = service();
    const seed = await enrollTotp(svc, 'R2');
    const code = totp(seed);
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => svc.verify('R2', code, client)));
    expect(outcomes.filter((o) => o.result === 'accepted')).toHaveLength(1);
  });

  it('a crowd of replayed codes is answered, every one, and each counts toward the lockout', async () => {
    const svc = service({ maxFail: 1000 });
    const seed = await enrollHotp(svc, 'R4');
    expectAccepted(await svc.verify('R4', hotp(seed, 0), client));
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => svc.verify('R4', hotp(seed, 0), client)));
    for (const outcome of outcomes) expectRejected(outcome, 'replayed');
    expect((await svc.get('R4')).failCount).toBe(50);
    const counts = outcomes.map((o) => (o.result === 'rejected' ? o.failCount : 0)).sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('a crowd of wrong codes locks the token exactly at maxFail', async () => {
    const svc = service({ maxFail: 5 });
    const seed = await enrollHotp(svc, 'R5');
    const wrong = wrongCode(seed);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => svc.verify('R5', wrong, client)));
    // However the requests interleave, the first four failures leave it open and every later answer says locked.
    expect(outcomes.every((o) => o.result === 'rejected')).toBe(true);
    expect(outcomes.filter((o) => o.result === 'rejected' && !o.locked)).toHaveLength(4);
    expect((await svc.get('R5')).state).toBe('locked');
  });

  it('concurrent resyncs with the same pair move the counter once', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'R3');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => svc.resync('R3', hotp(seed, 30), hotp(seed, 31), client)));
    expect(outcomes.filter((o) => o.result === 'resynced')).toHaveLength(1);
    expect((await svc.get('R3')).counter).toBe(32);
  });
});

describe('the store’s copy of a token', () => {
  it('a failure whose audit record fails is undone in the file and in the copy alike', async () => {
    const svc = service();
    await enrollHotp(svc, 'C1');
    await expect(store.recordFailure('C1', 5, () => { throw new Error('audit refused'); })).rejects.toThrow('audit refused');
    expect((await store.getToken('C1'))!.failCount).toBe(0);
    await new Promise((resolve) => setImmediate(resolve)); // the batch commits: the file is free for another connection
    const other = openStore();
    expect((await other.getToken('C1'))!.failCount).toBe(0);
  });

  it('a copy made stale by another writer of the file only fails its compare-and-set: nothing is accepted twice or wrongly', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'C2');
    expectAccepted(await svc.verify('C2', hotp(seed, 0), client)); // the copy now says: next counter 1
    await new Promise((resolve) => setImmediate(resolve));
    const other = new Database(path.join(dir, 'tokens.db'));
    other.prepare('UPDATE tokens SET counter = 5, version = version + 1 WHERE serial = ?').run('C2'); // another node accepted counters 1–4
    expectRejected(await svc.verify('C2', hotp(seed, 2), client), 'replayed');
    expectAccepted(await svc.verify('C2', hotp(seed, 5), client));
    await new Promise((resolve) => setImmediate(resolve));
    expect(other.prepare<[string], { counter: number }>('SELECT counter FROM tokens WHERE serial = ?').get('C2')!.counter).toBe(6);
    other.close();
  });
});

describe('seeds at rest', () => {
  it('no seed (raw, hex either case, base32) is anywhere in the SQLite file, its WAL, or an audit entry', async () => {
    const svc = service();
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const serial = `S${i}`;
      const seed = i % 2 ? await enrollTotp(svc, serial) : await enrollHotp(svc, serial, { owner: `user${i}` });
      seeds.push(seed);
      const code = i % 2 ? totp(seed) : hotp(seed, 0);
      await svc.verify(serial, code, client);
      await svc.verify(serial, code, client);
      await svc.resync(serial, code, code, client);
    }
    const { replacement } = await svc.reportLost('S0', { replacement: true }, admin);
    await svc.delete('S2', admin);
    expect(base32(Buffer.from('12345678901234567890'))).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');

    const files = fs.readdirSync(dir).filter((f) => f.startsWith('tokens.db'));
    expect(files).toEqual(expect.arrayContaining(['tokens.db', 'tokens.db-wal']));
    const blobs = files.map((f) => ({ file: f, bytes: fs.readFileSync(path.join(dir, f)) }));
    expect(blobs.reduce((n, b) => n + b.bytes.length, 0)).toBeGreaterThan(0);
    const audit = JSON.stringify(await svc.audit({ limit: 1000 }));
    expect(audit).toContain('"enroll"');
    for (const seed of seeds) {
      for (const { file, bytes } of blobs) expect(findSeed(bytes, seed), file).toBeUndefined();
      expect(findSeed(audit, seed)).toBeUndefined();
    }
    // The temporary password is a secret too: sealed like a seed, never audited.
    for (const { file, bytes } of blobs) expect(bytes.includes(Buffer.from(replacement!.password)), file).toBe(false);
    expect(audit).not.toContain(replacement!.password);
  });

  it('a wrong master key cannot open a sealed seed, and a sealed seed does not open under another serial', async () => {
    const svc = service();
    const seed = await enrollHotp(svc, 'K1');
    const record = (await store.getToken('K1'))!;
    expect(Buffer.from(vault.open('seed', 'K1', record.sealedSeed))).toEqual(Buffer.from(seed));
    const other = new SeedVault(randomBytes(32));
    expect(() => other.open('seed', 'K1', record.sealedSeed)).toThrow(VaultError);
    expect(() => vault.open('seed', 'K2', record.sealedSeed)).toThrow(VaultError);
    const tampered = record.sealedSeed.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(() => vault.open('seed', 'K1', tampered)).toThrow(VaultError);
    expect(other.matches(vault.keyCheck())).toBe(false);

    const wrongService = new TokenService(store, other, DEFAULT_POLICY, () => clock);
    await expect(wrongService.verify('K1', hotp(seed, 0), client)).rejects.toThrow(VaultError);
    expect((await svc.get('K1')).counter).toBe(0);
    expectAccepted(await svc.verify('K1', hotp(seed, 0), client));
  });

  it('a serial may hold `:` (an otpauth label is Issuer:account); a token named as another kind\'s record shares no binding with it', async () => {
    const svc = service();
    for (const [serial, purpose, name] of [
      ['card:C1', 'card-secret', 'C1'],
      ['oidc:secret:cookie-keys', 'oidc-secret', 'cookie-keys'],
      ['letter:7', 'letter-body', '7'],
    ] as const) {
      const seed = await enrollHotp(svc, serial);
      expectAccepted(await svc.verify(serial, hotp(seed, 0), client));
      const sealed = (await store.getToken(serial))!.sealedSeed;
      expect(() => vault.open(purpose, name, sealed), `${serial}'s seed opened as ${purpose} ${name}`).toThrow(VaultError);
      // And the other kind's sealed value, put in the token's record, is no seed.
      // As someone with write access to the file would put it there.
      const raw = new Database(path.join(dir, 'tokens.db'));
      raw.prepare('UPDATE tokens SET sealed_seed = ? WHERE serial = ?').run(Buffer.from(vault.seal(purpose, name, randomBytes(20))), serial);
      raw.close();
      const reopened = new TokenService(openStore(), vault, DEFAULT_POLICY, () => clock);
      await expect(reopened.verify(serial, hotp(seed, 1), client)).rejects.toThrow(VaultError);
    }
  });

  it('the vault refuses a master key of the wrong size and does not serialise its key', () => {
    expect(() => new SeedVault(randomBytes(16))).toThrow(VaultError);
    const key = randomBytes(32);
    const v = new SeedVault(key);
    expect(JSON.stringify({ v })).not.toContain(key.toString('hex'));
    expect(findSeed(JSON.stringify({ v }), key)).toBeUndefined();
  });
});

describe('a token taken out of use is told to whoever keeps its owner\'s sessions (onBlocked)', () => {
  it('disable, lost, revoke and delete tell every listener, after the change is stored; enable, unlock and a token without an owner tell nobody', async () => {
    const svc = service();
    const heard: string[] = [];
    svc.onBlocked(async (owner, serial, action) => {
      heard.push(`${owner} ${serial} ${action} ${(await svc.list({ owner })).find((t) => t.serial === serial)?.state ?? 'gone'}`);
    });
    svc.onBlocked(async () => {
      throw new Error('a listener that fails');
    });
    const seed = new Uint8Array(randomBytes(20));
    for (const [serial, owner] of [['OB-1', '1234567890'], ['OB-2', '1234567890'], ['OB-3', null]] as const) {
      await svc.enroll({ serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: seed.slice(), owner }, admin);
    }
    await svc.disable('OB-1', admin);
    await svc.enable('OB-1', admin);
    await svc.reportLost('OB-1', { replacement: true }, admin);
    await svc.revoke('OB-1', admin);
    await svc.delete('OB-2', admin);
    await svc.disable('OB-3', admin);
    await svc.revoke('OB-3', admin);
    expect(heard).toEqual(['1234567890 OB-1 disable disabled', '1234567890 OB-1 lost lost', '1234567890 OB-1 revoke revoked', '1234567890 OB-2 delete gone']);
  });
});
