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

export type TokenKind = 'hotp' | 'totp' | 'password';
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
  /** A temporary replacement credential names the lost token it stands in for. */
  readonly replaces: string | null;
  /** Unix ms after which the credential no longer verifies; null for none. */
  readonly validUntil: number | null;
  /** Auto-resync: a code seen beyond the window, waiting for its successor. */
  readonly pendingCounter: number | null;
  readonly pendingAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastUsedAt: number | null;
  readonly version: number;
}

/** The fields a change may set; `version` and `updatedAt` are the store's. */
export type TokenChanges = Partial<
  Pick<TokenRecord, 'counter' | 'lastStep' | 'driftSteps' | 'state' | 'failCount' | 'owner' | 'validUntil' | 'pendingCounter' | 'pendingAt' | 'lastUsedAt'>
>;

export type NewToken = Omit<TokenRecord, 'version' | 'createdAt' | 'updatedAt' | 'lastUsedAt' | 'pendingCounter' | 'pendingAt'>;

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
  appendAudit(entry: NewAuditEntry): Promise<void>;
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** A cheap query that fails when the store is unusable (for /health). */
  ping(): Promise<void>;
}
