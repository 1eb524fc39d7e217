/**
 * The token store: what the validation server keeps, behind one interface so that the embedded
 * SQLite store and a PostgreSQL store (several server nodes sharing tokens) are interchangeable.
 * Every change to a token is a compare-and-set on its `version`: two nodes (or two requests) that
 * read the same token cannot both move it; a failed code is counted by an atomic increment; every
 * change is written with its audit record in one transaction. Nothing here is of SQL or of HTTP: a
 * store answers with records, `undefined` or `false`, and refuses with its own errors.
 */
import type { OathAlgorithm } from '../../../protocol/oath/parameters.ts';
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../../store/audit.ts';

export type TokenKind = 'hotp' | 'totp';
export type TokenState = 'active' | 'disabled' | 'locked' | 'lost' | 'revoked';
export const TOKEN_STATES: readonly TokenState[] = ['active', 'disabled', 'locked', 'lost', 'revoked'];

export interface TokenRecord {
  readonly serial: string;
  readonly kind: TokenKind;
  readonly algorithm: OathAlgorithm;
  readonly digits: number;
  /** TOTP step in seconds; 0 otherwise. */
  readonly period: number;
  /** HOTP: the next counter a code may be accepted for. */
  readonly counter: number;
  /** TOTP: the last time step accepted (-1: none yet). */
  readonly lastStep: number;
  /** TOTP: how many steps the token's clock runs ahead (negative: behind), learned from accepted codes. */
  readonly driftSteps: number;
  readonly state: TokenState;
  readonly failCount: number;
  readonly owner: string | null;
  /** The seed, encrypted (see seed-vault.ts). Never leaves the server. */
  readonly sealedSeed: Uint8Array;
  /** Auto-resync: a code seen beyond the window, waiting for its successor. */
  readonly pendingCounter: number | null;
  readonly pendingAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastUsedAt: number | null;
  /**
   * When its seed last left the server in an export file (null: never). Another verifier may
   * accept its codes too from then on, so the record says so.
   */
  readonly exportedAt: number | null;
  readonly version: number;
}

/** The fields a change may set; `version` and `updatedAt` are the store's. */
export type TokenChanges = Partial<
  Pick<TokenRecord, 'counter' | 'lastStep' | 'driftSteps' | 'state' | 'failCount' | 'owner' | 'pendingCounter' | 'pendingAt' | 'lastUsedAt'>
>;

export type NewToken = Omit<TokenRecord, 'version' | 'createdAt' | 'updatedAt' | 'lastUsedAt' | 'pendingCounter' | 'pendingAt' | 'exportedAt'>;

/** `active` until it is used up by too many wrong tries (`locked`) or its token is revoked (`revoked`); past `validUntil` it is expired. */
export type ReplacementState = 'active' | 'locked' | 'revoked';

/**
 * A lost token's temporary replacement: a password for the token's owner, valid until a time,
 * that stands in for the token at step 2 of a login (privacyIDEA's lost-token flow). One per lost
 * token; issuing another supersedes it. Wrong tries count toward its own lockout, as a token's do.
 */
export interface ReplacementRecord {
  /** How the API and the login name it: `LOST-<serial of the lost token>`. */
  readonly id: string;
  /** The lost token it stands in for. */
  readonly replaces: string;
  readonly owner: string | null;
  /** The password, sealed by the seed vault under `id`: compared timing-safe, shown only when issued. */
  readonly sealedPassword: Uint8Array;
  readonly state: ReplacementState;
  readonly failCount: number;
  /** Unix ms after which it no longer verifies. */
  readonly validUntil: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastUsedAt: number | null;
  readonly version: number;
}

export type NewReplacement = Pick<ReplacementRecord, 'id' | 'replaces' | 'owner' | 'sealedPassword' | 'validUntil'>;
export type ReplacementChanges = Partial<Pick<ReplacementRecord, 'state' | 'failCount' | 'lastUsedAt'>>;

export interface TokenFilter {
  readonly owner?: string;
  readonly state?: TokenState;
  readonly limit?: number;
  readonly offset?: number;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly role: 'admin' | 'client';
  /** SHA-256 of the key, hex. */
  readonly hash: string;
  readonly createdAt: number;
}

export class DuplicateSerialError extends Error {
  constructor(serial: string) {
    super(`a token with serial ${serial} is already registered`);
    this.name = 'DuplicateSerialError';
  }
}

/** A hold on the lock of everything sharing a store (see `TokenStore.lockCluster`); `release` once, when done. */
export interface ClusterLock {
  release(): Promise<void>;
}

export interface TokenStore {
  insertToken(token: NewToken, audit: NewAuditEntry): Promise<TokenRecord>;
  getToken(serial: string): Promise<TokenRecord | undefined>;
  listTokens(filter: TokenFilter): Promise<TokenRecord[]>;
  countTokens(): Promise<Record<TokenState, number>>;
  /**
   * Applies `changes` (and appends `audit`, in the same transaction) only if the token is still at
   * `expectedVersion`. False when someone else changed it first.
   */
  updateToken(serial: string, expectedVersion: number, changes: TokenChanges, audit: NewAuditEntry | null): Promise<boolean>;
  /**
   * Counts a failed code: fail count + 1, and an active token whose count reaches `maxFail`
   * becomes locked. Atomic without a version check (a failure never races a decision), with the
   * audit record made from the counted token in the same transaction. Undefined for no such token.
   */
  recordFailure(serial: string, maxFail: number, audit: (counted: TokenRecord) => NewAuditEntry): Promise<TokenRecord | undefined>;
  deleteToken(serial: string, audit: NewAuditEntry): Promise<boolean>;
  /**
   * A seed file's tokens, all in one transaction or none: a serial already present refuses the
   * whole batch with DuplicateSerialError unless `replace`, which puts the new record (a fresh
   * version 1) in the old one's place. `audits` are written in the same transaction.
   */
  importTokens(tokens: readonly NewToken[], audits: readonly NewAuditEntry[], options: { readonly replace: boolean }): Promise<TokenRecord[]>;
  /** Marks tokens as exported at `at` (each with its audit record), in one transaction; unknown serials are skipped. */
  markExported(serials: readonly string[], at: number, audits: readonly NewAuditEntry[]): Promise<void>;

  /** Issues a replacement (`id` and `replaces` unique: the caller removes the one it supersedes first). */
  insertReplacement(replacement: NewReplacement, audit: NewAuditEntry): Promise<ReplacementRecord>;
  getReplacement(id: string): Promise<ReplacementRecord | undefined>;
  /** An owner's replacements, by id. */
  listReplacements(owner: string): Promise<ReplacementRecord[]>;
  /** Compare-and-set on `version`, with its audit record, like `updateToken`. */
  updateReplacement(id: string, expectedVersion: number, changes: ReplacementChanges, audit: NewAuditEntry | null): Promise<boolean>;
  /** A wrong password: fail count + 1, and an active replacement whose count reaches `maxFail` becomes locked; atomic, like `recordFailure`. */
  recordReplacementFailure(id: string, maxFail: number, audit: (counted: ReplacementRecord) => NewAuditEntry): Promise<ReplacementRecord | undefined>;
  deleteReplacement(id: string, audit: NewAuditEntry): Promise<boolean>;

  appendAudit(entry: NewAuditEntry): Promise<void>;
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** Sets `key` unless it is set, atomically (nodes starting together): answers the value kept, this one or the one already there. */
  setMetaOnce(key: string, value: string): Promise<string>;
  /**
   * Waits for, then holds, the one lock of everyone sharing this store (every node of a cluster):
   * what must be done once for them all, such as keeping the master key's check and making the
   * first API keys, is done by one holder at a time. On SQLite, whose file one process serves, it
   * is that process's own lock.
   */
  lockCluster(): Promise<ClusterLock>;
  /** A cheap query that fails when the store is unusable (for /health). */
  ping(): Promise<void>;
}
