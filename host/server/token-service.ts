/**
 * The validation server's rules: enrolment, verification with its windows, replay guard and
 * lockout, resync (which is also how a holder unlocks a locked token), every lifecycle step, and a
 * lost token's temporary replacement (a password for its owner, valid until a time). Each change is
 * one compare-and-set on the record's version, written together with its audit record: of two
 * requests racing with the same code, exactly one moves the counter.
 */
import { randomInt } from 'node:crypto';
import { timingSafeEqual } from '../../protocol/bytes.ts';
import type { OathAlgorithm, OathKey } from '../../protocol/oath/index.ts';
import { KeyCache } from './key-cache.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import type { VerifyPolicy } from './policy.ts';
import type { SeedVault } from './seed-vault.ts';
import { auditEntry, type Actor, type AuditEntry, type AuditFilter, type NewAuditEntry } from '../store/audit.ts';
import {
  DuplicateSerialError,
  type ReplacementChanges,
  type ReplacementRecord,
  type ReplacementState,
  type TokenChanges,
  type TokenFilter,
  type TokenKind,
  type TokenRecord,
  type TokenState,
  type TokenStore,
} from './store/types.ts';
import { currentStep, findConsecutive, findCounter, stepRange } from './verification.ts';
import type { RejectReason, Replacement, ResyncOutcome, TokenView, VerifyOutcome } from '../api/tokens.ts';

export type { RejectReason, Replacement, ResyncOutcome, TokenView, VerifyOutcome };

export interface EnrollInput {
  readonly serial: string;
  readonly kind: 'hotp' | 'totp';
  readonly algorithm: OathAlgorithm;
  readonly digits: number;
  readonly period?: number;
  readonly counter?: number;
  readonly seed: Uint8Array;
  readonly owner?: string | null;
}

/** A temporary replacement as the login service sees it: never its password. */
export interface ReplacementView {
  /** `LOST-<serial>`: its name in verification answers and the login. */
  readonly serial: string;
  /** The lost token it stands in for. */
  readonly replaces: string;
  readonly owner: string | null;
  readonly state: ReplacementState;
  readonly failCount: number;
  readonly validUntil: string;
}

/**
 * The people a token may belong to: the login service's, found by NemID number or user-id. A
 * token's owner is always stored as the NemID number. Without a directory (the token service on
 * its own, in tests) any owner is taken as given.
 */
export interface OwnerDirectory {
  /** The NemID number of the person `owner` names (a NemID number or a user-id), or undefined for nobody known. */
  resolve(owner: string): Promise<string | undefined>;
}

export interface ServiceEvents {
  verified?(outcome: VerifyOutcome): void;
  resynced?(outcome: ResyncOutcome): void;
}

/** Told when a token with an owner is taken out of use: disabled, revoked, reported lost or deleted. */
export type TokenBlockedListener = (owner: string, serial: string, action: 'disable' | 'revoke' | 'lost' | 'delete') => Promise<void>;

const MAX_ATTEMPTS = 16;
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const PASSWORD_LENGTH = 12;

export function viewToken(token: TokenRecord): TokenView {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    serial: token.serial,
    kind: token.kind,
    algorithm: token.algorithm,
    digits: token.digits,
    ...(token.kind === 'totp' ? { period: token.period, lastStep: token.lastStep, driftSteps: token.driftSteps } : {}),
    ...(token.kind === 'hotp' ? { counter: token.counter } : {}),
    state: token.state,
    failCount: token.failCount,
    owner: token.owner,
    createdAt: iso(token.createdAt),
    updatedAt: iso(token.updatedAt),
    lastUsedAt: token.lastUsedAt === null ? null : iso(token.lastUsedAt),
    ...(token.exportedAt !== null ? { exportedAt: iso(token.exportedAt) } : {}),
  };
}

function viewReplacement(replacement: ReplacementRecord): ReplacementView {
  return {
    serial: replacement.id,
    replaces: replacement.replaces,
    owner: replacement.owner,
    state: replacement.state,
    failCount: replacement.failCount,
    validUntil: new Date(replacement.validUntil).toISOString(),
  };
}

type AuditDraft = Omit<NewAuditEntry, 'at' | 'actor' | 'serial'>;

/**
 * What a request decided about a record (a token, or a replacement): either changes to write if
 * the record is still as it was read (a compare-and-set), or a failure to count. A failure is
 * counted by an atomic increment that needs no retry, so a crowd of wrong or replayed codes is
 * answered, never left contending.
 */
type Decision<R, C, T> =
  | { readonly kind: 'write'; readonly changes: C | null; readonly audit: AuditDraft | null; readonly answer: T }
  | { readonly kind: 'failure'; readonly audit: (counted: R) => AuditDraft; readonly answer: (counted: R) => T };

type TokenDecision<T> = Decision<TokenRecord, TokenChanges, T>;

/** The records a decision is about, as the store keeps them: read, compare-and-set, count a failure. */
interface Records<R extends { readonly version: number }, C> {
  get(id: string): Promise<R | undefined>;
  update(id: string, expectedVersion: number, changes: C, audit: NewAuditEntry | null): Promise<boolean>;
  recordFailure(id: string, maxFail: number, audit: (counted: R) => NewAuditEntry): Promise<R | undefined>;
  /** What a request about an unknown id is told. */
  missing(id: string): CodedError;
}

export class TokenService {
  private readonly keys: KeyCache;
  private readonly tokens: Records<TokenRecord, TokenChanges>;
  private readonly replacements: Records<ReplacementRecord, ReplacementChanges>;

  constructor(
    private readonly store: TokenStore,
    private readonly vault: SeedVault,
    private readonly policy: VerifyPolicy,
    private readonly now: () => number = Date.now,
    private readonly events: ServiceEvents = {},
    private readonly owners?: OwnerDirectory,
  ) {
    this.keys = new KeyCache(vault);
    this.tokens = {
      get: (serial) => store.getToken(serial),
      update: (serial, version, changes, audit) => store.updateToken(serial, version, changes, audit),
      recordFailure: (serial, maxFail, audit) => store.recordFailure(serial, maxFail, audit),
      missing: unknownSerial,
    };
    this.replacements = {
      get: (id) => store.getReplacement(id),
      update: (id, version, changes, audit) => store.updateReplacement(id, version, changes, audit),
      recordFailure: (id, maxFail, audit) => store.recordReplacementFailure(id, maxFail, audit),
      missing: (id) => new CodedError('NV_UNKNOWN_SERIAL', `no temporary password ${id}`, 404),
    };
  }

  private readonly blockedListeners: TokenBlockedListener[] = [];

  /**
   * Listens for a token taken out of use by whatever route (the token API, the CLI, self-service):
   * whoever keeps sessions of its owner elsewhere ends them. Told after the change is stored, and
   * awaited; a listener that fails does not undo the change nor keep the others from hearing it.
   */
  onBlocked(listener: TokenBlockedListener): void {
    this.blockedListeners.push(listener);
  }

  private async blocked(owner: string | null, serial: string, action: Parameters<TokenBlockedListener>[2]): Promise<void> {
    if (owner === null) return;
    await Promise.allSettled(this.blockedListeners.map((listener) => listener(owner, serial, action)));
  }

  /** Destroys the prepared keys this service holds (on shutdown). */
  forgetKeys(): void {
    this.keys.clear();
  }

  async enroll(input: EnrollInput, actor: Actor): Promise<TokenView> {
    const owner = await this.knownOwner(input.owner ?? null);
    const sealed = this.vault.seal('seed', input.serial, input.seed);
    try {
      const token = await this.store.insertToken(
        {
          serial: input.serial,
          kind: input.kind,
          algorithm: input.algorithm,
          digits: input.digits,
          period: input.kind === 'totp' ? (input.period ?? 30) : 0,
          counter: input.kind === 'hotp' ? (input.counter ?? 0) : 0,
          lastStep: -1,
          driftSteps: 0,
          state: 'active',
          failCount: 0,
          owner,
          sealedSeed: sealed,
        },
        this.auditEntry(actor, 'enroll', input.serial, 'ok', { kind: input.kind, algorithm: input.algorithm, digits: input.digits, owner }),
      );
      return viewToken(token);
    } catch (error) {
      if (error instanceof DuplicateSerialError) throw new CodedError('NV_SERIAL_EXISTS', error.message, 409);
      throw error;
    }
  }

  async get(serial: string): Promise<TokenView> {
    return viewToken(await this.require(serial));
  }

  async list(filter: TokenFilter): Promise<TokenView[]> {
    const owner = filter.owner === undefined ? undefined : await this.ownerAsStored(filter.owner);
    return (await this.store.listTokens({ ...filter, owner })).map(viewToken);
  }

  async audit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.store.listAudit(filter);
  }

  /** Checks a code of the token `serial`. Unknown serials and malformed codes are errors; a wrong code is an answer. */
  async verify(serial: string, code: string, actor: Actor): Promise<VerifyOutcome> {
    const outcome = await this.mutate(this.tokens, serial, actor, (token) => this.judge(token, code));
    this.events.verified?.(outcome);
    return outcome;
  }

  /**
   * Checks a temporary replacement's password (`id` is `LOST-<serial>`): right, wrong (counted
   * toward its lockout), or refused once it is locked, revoked or past its time.
   */
  async verifyReplacement(id: string, password: string, actor: Actor): Promise<VerifyOutcome> {
    const outcome = await this.mutate(this.replacements, id, actor, (replacement) => this.judgeReplacement(replacement, password));
    this.events.verified?.(outcome);
    return outcome;
  }

  /** Checks a code against every active token of a user, and their temporary replacements; accepted by the first that takes it. */
  async verifyUser(user: string, code: string, actor: Actor): Promise<VerifyOutcome> {
    const owner = await this.ownerAsStored(user);
    const tokens = (await this.store.listTokens({ owner })).filter((t) => t.state === 'active');
    const replacements = (await this.store.listReplacements(owner)).filter((r) => r.state === 'active');
    if (tokens.length + replacements.length === 0) throw new CodedError('NV_UNKNOWN_USER', `no active token is assigned to ${owner}`, 404);
    let last: VerifyOutcome | undefined;
    for (const token of tokens) {
      if (!codeFits(token, code)) continue;
      last = await this.verify(token.serial, code, actor);
      if (last.result === 'accepted') return last;
    }
    for (const replacement of replacements) {
      if (!passwordFits(code)) continue;
      last = await this.verifyReplacement(replacement.id, code, actor);
      if (last.result === 'accepted') return last;
    }
    if (!last) throw badCode(`the code fits none of ${owner}'s tokens`);
    return last;
  }

  /** A person's temporary replacements (for lost tokens), by serial; never their passwords. */
  async replacementsOf(owner: string): Promise<ReplacementView[]> {
    return (await this.store.listReplacements(await this.ownerAsStored(owner))).map(viewReplacement);
  }

  /** Ends every temporary replacement of a person (their credentials are re-issued). */
  async revokeReplacementsOf(owner: string, actor: Actor): Promise<void> {
    for (const replacement of await this.store.listReplacements(await this.ownerAsStored(owner))) await this.revokeReplacement(replacement.id, actor);
  }

  /** Two consecutive codes move the counter (or learn the drift), and unlock a locked token. */
  async resync(serial: string, first: string, second: string, actor: Actor): Promise<ResyncOutcome> {
    const outcome = await this.mutate(this.tokens, serial, actor, (token): TokenDecision<ResyncOutcome> => {
      if (token.state !== 'active' && token.state !== 'locked') throw badState(`${serial} is ${token.state}; only an active or locked token resyncs`);
      for (const code of [first, second]) if (!codeFits(token, code)) throw badCode(`a code of ${serial} is ${token.digits} digits`);
      const unlocked = token.state === 'locked';
      const found = this.withKey(token, (key) => {
        if (token.kind === 'hotp') {
          const at = findConsecutive(key, token.digits, first, second, token.counter, this.policy.resyncWindow);
          return at === undefined ? undefined : { counter: at + 2 };
        }
        const step = currentStep(this.now(), token.period);
        const half = Math.floor(this.policy.resyncWindow / 2);
        const range = stepRange(step, half, token.lastStep);
        const at = findConsecutive(key, token.digits, first, second, range.from, range.count);
        return at === undefined ? undefined : { lastStep: at + 1, driftSteps: at + 1 - step };
      });
      if (!found) {
        return {
          kind: 'failure',
          audit: (counted) => ({ action: 'resync', result: 'rejected', detail: { reason: 'no_consecutive_codes', failCount: counted.failCount, locked: counted.state === 'locked' } }),
          answer: (counted) => ({ result: 'rejected', serial, reason: 'no_consecutive_codes', failCount: counted.failCount }),
        };
      }
      return {
        kind: 'write',
        changes: { ...found, failCount: 0, state: 'active', pendingCounter: null, pendingAt: null, lastUsedAt: this.now() },
        audit: { action: 'resync', result: 'ok', detail: { ...found, unlocked } },
        answer: { result: 'resynced', serial, ...found, unlocked },
      };
    });
    this.events.resynced?.(outcome);
    return outcome;
  }

  async disable(serial: string, actor: Actor): Promise<TokenView> {
    const token = await this.transition(serial, actor, 'disable', ['active', 'locked'], 'disabled');
    await this.blocked(token.owner, serial, 'disable');
    return token;
  }

  async enable(serial: string, actor: Actor): Promise<TokenView> {
    return this.transition(serial, actor, 'enable', ['disabled'], 'active');
  }

  async unlock(serial: string, actor: Actor): Promise<TokenView> {
    return this.transition(serial, actor, 'unlock', ['locked'], 'active');
  }

  /** Final: the token never verifies again, nor does a temporary replacement issued for it. */
  async revoke(serial: string, actor: Actor): Promise<TokenView> {
    const token = await this.transition(serial, actor, 'revoke', ['active', 'disabled', 'locked', 'lost'], 'revoked');
    if (await this.store.getReplacement(replacementSerial(serial))) await this.revokeReplacement(replacementSerial(serial), actor);
    await this.blocked(token.owner, serial, 'revoke');
    return token;
  }

  /**
   * Blocks a lost token. With `replacement`, issues a temporary password for its owner, valid for
   * `validDays`, as privacyIDEA's lost-token flow does; the password is shown this once.
   */
  async reportLost(serial: string, options: { replacement: boolean; validDays?: number }, actor: Actor): Promise<{ token: TokenView; replacement?: Replacement }> {
    // Lost again: a replacement can be issued anew (the old one is superseded).
    const token = await this.transition(serial, actor, 'lost', ['active', 'disabled', 'locked', 'lost'], 'lost');
    await this.blocked(token.owner, serial, 'lost');
    if (!options.replacement) return { token };
    const replacing = replacementSerial(serial);
    if (await this.store.getReplacement(replacing)) {
      await this.store.deleteReplacement(replacing, this.auditEntry(actor, 'delete', replacing, 'ok', { reason: 'superseded' }));
    }
    const password = Array.from({ length: PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
    const validUntil = this.now() + (options.validDays ?? this.policy.replacementValidDays) * 86_400_000;
    await this.store.insertReplacement(
      { id: replacing, replaces: serial, owner: token.owner, sealedPassword: this.vault.seal('replacement-password', replacing, Buffer.from(password, 'ascii')), validUntil },
      this.auditEntry(actor, 'issue_replacement', replacing, 'ok', { replaces: serial, validUntil: new Date(validUntil).toISOString() }),
    );
    return { token, replacement: { serial: replacing, password, validUntil: new Date(validUntil).toISOString() } };
  }

  async assign(serial: string, given: string | null, actor: Actor): Promise<TokenView> {
    const owner = await this.knownOwner(given);
    return viewToken(
      await this.mutate(this.tokens, serial, actor, (token): TokenDecision<TokenRecord> => ({
        kind: 'write',
        changes: { owner },
        audit: { action: 'assign', result: 'ok', detail: { owner, previous: token.owner } },
        answer: token,
      })).then(() => this.require(serial)),
    );
  }

  /** The bridge's HOTP sync: the counter moves up to the token's, never down. */
  async advanceCounter(serial: string, counter: number, actor: Actor): Promise<{ token: TokenView; moved: boolean }> {
    const moved = await this.mutate(this.tokens, serial, actor, (token): TokenDecision<boolean> => {
      if (token.kind !== 'hotp') throw badState(`${serial} is not an HOTP token`);
      if (counter <= token.counter) {
        return { kind: 'write', changes: null, audit: { action: 'sync_counter', result: 'unchanged', detail: { counter: token.counter, offered: counter } }, answer: false };
      }
      return { kind: 'write', changes: { counter, pendingCounter: null, pendingAt: null }, audit: { action: 'sync_counter', result: 'ok', detail: { from: token.counter, to: counter } }, answer: true };
    });
    return { token: await this.get(serial), moved };
  }

  /** The bridge's TOTP sync: the token's clock was just set, so what was learned of its drift is forgotten. */
  async resetDrift(serial: string, actor: Actor): Promise<TokenView> {
    await this.mutate(this.tokens, serial, actor, (token): TokenDecision<null> => {
      if (token.kind !== 'totp') throw badState(`${serial} is not a TOTP token`);
      return { kind: 'write', changes: { driftSteps: 0 }, audit: { action: 'reset_drift', result: 'ok', detail: { from: token.driftSteps } }, answer: null };
    });
    return this.get(serial);
  }

  async delete(serial: string, actor: Actor): Promise<void> {
    this.keys.forget(serial);
    const owner = (await this.store.getToken(serial))?.owner ?? null;
    const deleted = await this.store.deleteToken(serial, this.auditEntry(actor, 'delete', serial, 'ok', {}));
    if (!deleted) throw unknownSerial(serial);
    await this.blocked(owner, serial, 'delete');
  }

  // ---- the verdict on one code ----

  private judge(token: TokenRecord, code: string): TokenDecision<VerifyOutcome> {
    if (!codeFits(token, code)) throw badCode(`a code of ${token.serial} is ${token.digits} digits`);
    const locked = token.state === 'locked';
    /** A rejection that is no failure of the holder's (the token is blocked, expired, or ahead). */
    const refuse = (reason: RejectReason, changes: TokenChanges | null = null): TokenDecision<VerifyOutcome> => ({
      kind: 'write',
      changes,
      audit: { action: 'verify', result: 'rejected', detail: { reason, failCount: token.failCount, locked } },
      answer: rejection(token, reason, token.failCount, locked),
    });
    /** A wrong, replayed or out-of-window code: it counts toward the lockout. */
    const fail = (reason: RejectReason): TokenDecision<VerifyOutcome> => ({
      kind: 'failure',
      audit: (counted) => ({ action: 'verify', result: 'rejected', detail: { reason, failCount: counted.failCount, locked: counted.state === 'locked' } }),
      answer: (counted) => rejection(token, reason, counted.failCount, counted.state === 'locked'),
    });
    if (token.state !== 'active') return refuse(token.state as RejectReason);
    const now = this.now();
    const accept = (changes: TokenChanges, where: { counter?: number; step?: number }): TokenDecision<VerifyOutcome> => ({
      kind: 'write',
      changes: { ...changes, failCount: 0, lastUsedAt: now, pendingCounter: null, pendingAt: null },
      audit: { action: 'verify', result: 'accepted', detail: { ...where } },
      answer: { result: 'accepted', serial: token.serial, ...where },
    });
    return this.withKey(token, (key) => {
      if (token.kind === 'hotp') {
        const counter = findCounter(key, token.digits, code, token.counter, this.policy.hotpWindow);
        if (counter !== undefined) return accept({ counter: counter + 1 }, { counter });
        if (this.policy.autoResync) {
          const pending = token.pendingCounter;
          if (pending !== null && token.pendingAt !== null && now - token.pendingAt <= this.policy.autoResyncTimeoutMs && findCounter(key, token.digits, code, pending + 1, 1) !== undefined) {
            return accept({ counter: pending + 2 }, { counter: pending + 1 });
          }
        }
        // A code of a counter already used is a replay, even if a counter far ahead happens to make the same six digits.
        const lookback = Math.min(this.policy.replayLookback, token.counter);
        if (findCounter(key, token.digits, code, token.counter - lookback, lookback) !== undefined) return fail('replayed');
        // A code of this token beyond the window, where a resync would find it as the first of a pair
        // (up to counter + resyncWindow - 1): with auto-resync it waits for its successor; without, it is
        // a failure like any other, answered with the way back.
        const ahead = findCounter(key, token.digits, code, token.counter + this.policy.hotpWindow, this.policy.resyncWindow - this.policy.hotpWindow);
        if (ahead !== undefined) return this.policy.autoResync ? refuse('out_of_window', { pendingCounter: ahead, pendingAt: now }) : fail('out_of_window');
        return fail('wrong_code');
      }
      const step = currentStep(now, token.period);
      const centre = step + token.driftSteps;
      const range = stepRange(centre, this.policy.totpSteps, token.lastStep);
      const found = findCounter(key, token.digits, code, range.from, range.count);
      if (found !== undefined) return accept({ lastStep: found, driftSteps: found - step }, { step: found });
      const earliest = Math.max(0, centre - this.policy.totpSteps);
      const used = Math.max(0, token.lastStep - earliest + 1);
      const replayed = token.lastStep >= earliest && findCounter(key, token.digits, code, earliest, used) !== undefined;
      if (replayed) return fail('replayed');
      // A code of a step a resync would find (not yet used, within half the resync window of now): the token's clock is off.
      const resyncRange = stepRange(step, Math.floor(this.policy.resyncWindow / 2), token.lastStep);
      const off = findCounter(key, token.digits, code, resyncRange.from, resyncRange.count);
      return fail(off !== undefined ? 'out_of_window' : 'wrong_code');
    });
  }

  /** The verdict on a temporary replacement's password: compared in full, timing-safe, and counted like a wrong code when wrong. */
  private judgeReplacement(replacement: ReplacementRecord, password: string): Decision<ReplacementRecord, ReplacementChanges, VerifyOutcome> {
    if (!passwordFits(password)) throw badCode(`${replacement.id} takes a ${PASSWORD_LENGTH}-character password`);
    const outcome = (reason: RejectReason, counted: ReplacementRecord): VerifyOutcome => {
      const locked = counted.state === 'locked';
      return { result: 'rejected', serial: replacement.id, reason, failCount: counted.failCount, locked, ...(locked ? { hint: replacementLockedHint(replacement) } : {}) };
    };
    const audit = (reason: RejectReason, counted: ReplacementRecord): AuditDraft => ({
      action: 'verify',
      result: 'rejected',
      detail: { reason, failCount: counted.failCount, locked: counted.state === 'locked' },
    });
    const now = this.now();
    if (replacement.state !== 'active') return { kind: 'write', changes: null, audit: audit(replacement.state, replacement), answer: outcome(replacement.state, replacement) };
    if (now > replacement.validUntil) return { kind: 'write', changes: null, audit: audit('expired', replacement), answer: outcome('expired', replacement) };
    const sealed = this.vault.open('replacement-password', replacement.id, replacement.sealedPassword);
    const right = timingSafeEqual(sealed, Buffer.from(password, 'ascii'));
    sealed.fill(0);
    if (!right) return { kind: 'failure', audit: (counted) => audit('wrong_code', counted), answer: (counted) => outcome('wrong_code', counted) };
    return {
      kind: 'write',
      changes: { failCount: 0, lastUsedAt: now },
      audit: { action: 'verify', result: 'accepted', detail: {} },
      answer: { result: 'accepted', serial: replacement.id },
    };
  }

  // ---- machinery ----

  /** Revokes a temporary replacement, unless it is revoked already. */
  private async revokeReplacement(id: string, actor: Actor): Promise<void> {
    await this.mutate(this.replacements, id, actor, (replacement): Decision<ReplacementRecord, ReplacementChanges, null> =>
      replacement.state === 'revoked'
        ? { kind: 'write', changes: null, audit: null, answer: null }
        : { kind: 'write', changes: { state: 'revoked' }, audit: { action: 'revoke', result: 'ok', detail: { from: replacement.state, to: 'revoked' } }, answer: null },
    );
  }

  /** The owner to store: null, or the NemID number of a person the directory knows (else a coded refusal). */
  private async knownOwner(owner: string | null): Promise<string | null> {
    if (owner === null || !this.owners) return owner;
    const nemId = await this.owners.resolve(owner);
    if (nemId === undefined) {
      throw new CodedError('NV_UNKNOWN_OWNER', `the login service knows nobody by "${owner}": give a person's NemID number or user-id (order a NemID with POST /v1/people or \`noegleviser person order\`)`, 400);
    }
    return nemId;
  }

  /** An owner as a filter or a verifyUser names them: the NemID number when the directory knows them, else as given. */
  private async ownerAsStored(owner: string): Promise<string> {
    return (await this.owners?.resolve(owner)) ?? owner;
  }

  private withKey<T>(token: TokenRecord, use: (key: OathKey) => T): T {
    return use(this.keys.get(token.serial, token.sealedSeed, token.algorithm));
  }

  private async transition(serial: string, actor: Actor, action: string, from: readonly TokenState[], to: TokenState): Promise<TokenView> {
    await this.mutate(this.tokens, serial, actor, (token): TokenDecision<null> => {
      if (!from.includes(token.state)) throw badState(`${serial} is ${token.state}; ${action} applies to a token that is ${from.join(' or ')}`);
      return {
        kind: 'write',
        changes: { state: to, ...(to === 'active' ? { failCount: 0 } : {}) },
        audit: { action, result: 'ok', detail: { from: token.state, to } },
        answer: null,
      };
    });
    return this.get(serial);
  }

  /** Reads the record, decides, and writes the decision if nobody changed the record meanwhile; else decides again. */
  private async mutate<R extends { readonly version: number }, C, T>(records: Records<R, C>, id: string, actor: Actor, decide: (record: R) => Decision<R, C, T>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = await records.get(id);
      if (!record) throw records.missing(id);
      const decision = decide(record);
      if (decision.kind === 'failure') {
        const counted = await records.recordFailure(id, this.policy.maxFail, (updated) => {
          const draft = decision.audit(updated);
          return this.auditEntry(actor, draft.action, id, draft.result, draft.detail);
        });
        if (!counted) throw records.missing(id);
        return decision.answer(counted);
      }
      const audit = decision.audit && this.auditEntry(actor, decision.audit.action, id, decision.audit.result, decision.audit.detail);
      if (!decision.changes) {
        if (audit) await this.store.appendAudit(audit);
        return decision.answer;
      }
      if (await records.update(id, record.version, decision.changes, audit)) return decision.answer;
    }
    throw new CodedError('NV_CONTENDED', `${id} changed ${MAX_ATTEMPTS} times while this request was deciding; try again`, 503);
  }

  private async require(serial: string): Promise<TokenRecord> {
    const token = await this.store.getToken(serial);
    if (!token) throw unknownSerial(serial);
    return token;
  }

  /** Every record of the token service is about a token. */
  private auditEntry(actor: Actor, action: string, serial: string, result: string, detail: AuditEntry['detail']): NewAuditEntry {
    return auditEntry(actor, action, serial, result, detail, this.now(), 'token');
  }
}

const unknownSerial = (serial: string) => new CodedError('NV_UNKNOWN_SERIAL', `no token with serial ${serial}`, 404);
const badState = (message: string) => new CodedError('NV_BAD_STATE', message, 409);
const badCode = (message: string) => new CodedError('NV_BAD_CODE', message, 400);

/** A rejection, with what to do next when the reason has a way back. */
function rejection(token: TokenRecord, reason: RejectReason, failCount: number, locked: boolean): VerifyOutcome {
  const hint = locked ? unlockHint(token) : reason === 'out_of_window' ? resyncHint(token) : undefined;
  return { result: 'rejected', serial: token.serial, reason, failCount, locked, ...(hint ? { hint } : {}) };
}

function resyncHint(token: TokenRecord): string {
  const why = token.kind === 'totp' ? "the token's clock is off" : 'the token was pressed more often than the server saw';
  return `the code is this token's but beyond the server's window (${why}): resync it with two consecutive codes (POST /v1/resync, or noegleviser resync --serial ${token.serial} CODE1 CODE2)`;
}

function unlockHint(token: TokenRecord): string {
  const serial = token.serial;
  const byAdministrator = `an administrator with POST /v1/tokens/${serial}/unlock (noegleviser token unlock ${serial})`;
  return `the token is locked after too many wrong codes: its holder unlocks it with two consecutive codes (POST /v1/resync, or noegleviser resync --serial ${serial} CODE1 CODE2), or ${byAdministrator}`;
}

/** The serial of the temporary password issued when `serial` was reported lost. */
export function replacementSerial(serial: string): string {
  return `LOST-${serial}`;
}

/** A locked temporary password is not unlocked: its lost token is reported lost again, for a new one. */
function replacementLockedHint(replacement: ReplacementRecord): string {
  const serial = replacement.replaces;
  return `the temporary password is locked after too many wrong tries: an administrator issues a new one with POST /v1/tokens/${serial}/lost {"replacement":true} (noegleviser token lost ${serial} --replacement)`;
}

function codeFits(token: TokenRecord, code: string): boolean {
  return code.length === token.digits && /^[0-9]+$/.test(code);
}

function passwordFits(password: string): boolean {
  return password.length === PASSWORD_LENGTH && /^[A-Za-z0-9]+$/.test(password);
}
