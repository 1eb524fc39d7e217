/**
 * The service's tables in the SQLite store (schema version 2): organisations, people, code cards,
 * key files and login sessions, their rows and the mapping to the records of service-types.ts.
 *
 * Everything here is synchronous and runs on the store's one connection: `SqliteTokenStore`
 * (sqlite-store.ts) calls these methods inside its `write()` path, so a service write joins the
 * same group-committed batch, in a savepoint of its own, as a token write does.
 */
import type Database from 'better-sqlite3';
import { CodedError } from '../../../protocol/coded-error.ts';
import {
  DuplicatePersonError,
  type CodeCardChanges,
  type CodeCardRecord,
  type KeyFileChanges,
  type KeyFileRecord,
  type NewCodeCard,
  type NewKeyFile,
  type NewPerson,
  type OrganisationRecord,
  type PersonChanges,
  type PersonRecord,
  type SessionChanges,
  type SessionRecord,
} from './service-types.ts';
import type { NewAuditEntry } from './types.ts';

/**
 * Created on open, in the same transaction that moves the schema version to 2 (a version-1 file
 * gains them in place). `user_id` compares with NOCASE, which folds ASCII letters only.
 */
export const SERVICE_SCHEMA = `
CREATE TABLE IF NOT EXISTS organisations (
  id TEXT PRIMARY KEY,
  cvr TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS people (
  id TEXT PRIMARY KEY,
  user_id TEXT COLLATE NOCASE UNIQUE,
  name TEXT NOT NULL,
  cpr_digest TEXT UNIQUE,
  birth_date TEXT,
  scope TEXT NOT NULL CHECK (scope IN ('full', 'view-only', 'bank-only')),
  organisation_id TEXT REFERENCES organisations (id),
  role TEXT CHECK (role IN ('employee', 'administrator')),
  password_hash TEXT,
  password_temporary INTEGER NOT NULL CHECK (password_temporary IN (0, 1)),
  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'locked', 'blocked')),
  fail_count INTEGER NOT NULL CHECK (fail_count >= 0),
  card_threshold INTEGER NOT NULL CHECK (card_threshold >= 0),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_login_at INTEGER,
  version INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS people_organisation ON people (organisation_id);
CREATE TABLE IF NOT EXISTS code_cards (
  serial TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id),
  sealed_secret BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('issued', 'active', 'used-up', 'replaced', 'blocked')),
  used_keys BLOB NOT NULL CHECK (length(used_keys) = 19),
  keys_left INTEGER NOT NULL CHECK (keys_left BETWEEN 0 AND 148),
  pending_index INTEGER CHECK (pending_index BETWEEN 0 AND 147),
  extra INTEGER NOT NULL CHECK (extra IN (0, 1)),
  successor_issued INTEGER NOT NULL CHECK (successor_issued IN (0, 1)),
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS code_cards_person ON code_cards (person_id);
CREATE TABLE IF NOT EXISTS key_files (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id),
  state TEXT NOT NULL CHECK (state IN ('awaiting-activation', 'active', 'blocked')),
  activation_digest TEXT UNIQUE,
  activation_expires_at INTEGER,
  public_key BLOB,
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS key_files_person ON key_files (person_id);
CREATE TABLE IF NOT EXISTS sessions (
  digest TEXT PRIMARY KEY,
  stage TEXT NOT NULL CHECK (stage IN ('anonymous', 'second-step', 'choose-credentials', 'authenticated')),
  person_id TEXT,
  csrf_token TEXT NOT NULL,
  challenge TEXT,
  card_serial TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  refusals INTEGER NOT NULL DEFAULT 0 CHECK (refusals >= 0)
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_person ON sessions (person_id);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
`;

/** Columns added after their table first shipped in version 2: a file made before gains them in place (no version change). */
export function addLaterServiceColumns(db: Database.Database): void {
  const has = (table: string, column: string) => db.prepare<[string, string]>('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
  if (!has('sessions', 'refusals')) db.exec('ALTER TABLE sessions ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0 CHECK (refusals >= 0)');
}

interface OrganisationRow {
  id: string;
  cvr: string;
  name: string;
  created_at: number;
}

interface PersonRow {
  id: string;
  user_id: string | null;
  name: string;
  cpr_digest: string | null;
  birth_date: string | null;
  scope: string;
  organisation_id: string | null;
  role: string | null;
  password_hash: string | null;
  password_temporary: number;
  state: string;
  fail_count: number;
  card_threshold: number;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  version: number;
}

interface CardRow {
  serial: string;
  person_id: string;
  sealed_secret: Buffer;
  state: string;
  used_keys: Buffer;
  keys_left: number;
  pending_index: number | null;
  extra: number;
  successor_issued: number;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  version: number;
}

interface KeyFileRow {
  id: string;
  person_id: string;
  state: string;
  activation_digest: string | null;
  activation_expires_at: number | null;
  public_key: Buffer | null;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  version: number;
}

interface SessionRow {
  digest: string;
  stage: string;
  person_id: string | null;
  csrf_token: string;
  challenge: string | null;
  card_serial: string | null;
  created_at: number;
  expires_at: number;
  refusals: number;
}

// Blobs come back as Buffers; records carry plain Uint8Arrays (a copy), as the token records do.
const toOrganisation = (row: OrganisationRow): OrganisationRecord => ({ id: row.id, cvr: row.cvr, name: row.name, createdAt: row.created_at });

const toPerson = (row: PersonRow): PersonRecord => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  cprDigest: row.cpr_digest,
  birthDate: row.birth_date,
  scope: row.scope as PersonRecord['scope'],
  organisationId: row.organisation_id,
  role: row.role as PersonRecord['role'],
  passwordHash: row.password_hash,
  passwordTemporary: row.password_temporary === 1,
  state: row.state as PersonRecord['state'],
  failCount: row.fail_count,
  cardThreshold: row.card_threshold,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastLoginAt: row.last_login_at,
  version: row.version,
});

const toCard = (row: CardRow): CodeCardRecord => ({
  serial: row.serial,
  personId: row.person_id,
  sealedSecret: new Uint8Array(row.sealed_secret),
  state: row.state as CodeCardRecord['state'],
  usedKeys: new Uint8Array(row.used_keys),
  keysLeft: row.keys_left,
  pendingIndex: row.pending_index,
  extra: row.extra === 1,
  successorIssued: row.successor_issued === 1,
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  updatedAt: row.updated_at,
  version: row.version,
});

const toKeyFile = (row: KeyFileRow): KeyFileRecord => ({
  id: row.id,
  personId: row.person_id,
  state: row.state as KeyFileRecord['state'],
  activationDigest: row.activation_digest,
  activationExpiresAt: row.activation_expires_at,
  publicKey: row.public_key && new Uint8Array(row.public_key),
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  updatedAt: row.updated_at,
  version: row.version,
});

const toSession = (row: SessionRow): SessionRecord => ({
  digest: row.digest,
  stage: row.stage as SessionRecord['stage'],
  personId: row.person_id,
  csrfToken: row.csrf_token,
  challenge: row.challenge,
  cardSerial: row.card_serial,
  refusals: row.refusals,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

const PERSON_COLUMNS: Record<keyof PersonChanges, string> = {
  userId: 'user_id',
  passwordHash: 'password_hash',
  passwordTemporary: 'password_temporary',
  state: 'state',
  failCount: 'fail_count',
  cardThreshold: 'card_threshold',
  lastLoginAt: 'last_login_at',
  role: 'role',
};

const CARD_COLUMNS: Record<keyof CodeCardChanges, string> = {
  state: 'state',
  usedKeys: 'used_keys',
  keysLeft: 'keys_left',
  pendingIndex: 'pending_index',
  successorIssued: 'successor_issued',
  activatedAt: 'activated_at',
};

const KEY_FILE_COLUMNS: Record<keyof KeyFileChanges, string> = {
  state: 'state',
  activationDigest: 'activation_digest',
  activationExpiresAt: 'activation_expires_at',
  publicKey: 'public_key',
  activatedAt: 'activated_at',
};

const SESSION_COLUMNS: Record<keyof SessionChanges, string> = {
  stage: 'stage',
  personId: 'person_id',
  challenge: 'challenge',
  cardSerial: 'card_serial',
  expiresAt: 'expires_at',
};

type SqlValue = string | number | bigint | Buffer | null;

function sqlValue(value: unknown): SqlValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return value as SqlValue;
}

/** The changed fields (those the table knows and that are not `undefined`), as SQL values. */
function columnsOf(columns: Readonly<Record<string, string>>, changes: object): Map<string, SqlValue> {
  const set = new Map<string, SqlValue>();
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined && Object.hasOwn(columns, key)) set.set(key, sqlValue(value));
  }
  return set;
}

/** The column a UNIQUE constraint failure names (`UNIQUE constraint failed: people.user_id` → `user_id`). */
function uniqueViolation(error: unknown): string | undefined {
  if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
  return /UNIQUE constraint failed: \w+\.(\w+)/.exec((error as Error).message)?.[1];
}

function rethrowDuplicatePerson(error: unknown): never {
  const column = uniqueViolation(error);
  if (column === 'cpr_digest') throw new DuplicatePersonError('cpr');
  if (column === 'user_id') throw new DuplicatePersonError('userId');
  throw error;
}

export class ServiceTables {
  private readonly statements;
  private readonly updates = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly insertAudit: (entry: NewAuditEntry) => void,
  ) {
    this.statements = {
      insertOrganisation: db.prepare('INSERT INTO organisations (id, cvr, name, created_at) VALUES (@id, @cvr, @name, @createdAt)'),
      getOrganisation: db.prepare<[string], OrganisationRow>('SELECT * FROM organisations WHERE id = ?'),
      getOrganisationByCvr: db.prepare<[string], OrganisationRow>('SELECT * FROM organisations WHERE cvr = ?'),
      insertPerson: db.prepare(`INSERT INTO people (id, user_id, name, cpr_digest, birth_date, scope, organisation_id, role, password_hash,
        password_temporary, state, fail_count, card_threshold, created_at, updated_at, last_login_at, version)
        VALUES (@id, @userId, @name, @cprDigest, @birthDate, @scope, @organisationId, @role, @passwordHash,
        @passwordTemporary, @state, 0, @cardThreshold, @now, @now, NULL, 1)`),
      getPerson: db.prepare<[string], PersonRow>('SELECT * FROM people WHERE id = ?'),
      getPersonByUserId: db.prepare<[string], PersonRow>('SELECT * FROM people WHERE user_id = ?'),
      recordPersonFailure: db.prepare(`UPDATE people SET fail_count = fail_count + 1,
        state = CASE WHEN state IN ('pending', 'active') AND fail_count + 1 >= @maxFail THEN 'locked' ELSE state END,
        version = version + 1, updated_at = @now WHERE id = @id`),
      insertCard: db.prepare(`INSERT INTO code_cards (serial, person_id, sealed_secret, state, used_keys, keys_left, pending_index, extra,
        successor_issued, created_at, activated_at, updated_at, version)
        VALUES (@serial, @personId, @sealedSecret, @state, @usedKeys, @keysLeft, NULL, @extra, 0, @now, NULL, @now, 1)`),
      getCard: db.prepare<[string], CardRow>('SELECT * FROM code_cards WHERE serial = ?'),
      listCards: db.prepare<[string], CardRow>('SELECT * FROM code_cards WHERE person_id = ? ORDER BY created_at DESC, serial'),
      insertKeyFile: db.prepare(`INSERT INTO key_files (id, person_id, state, activation_digest, activation_expires_at, public_key,
        created_at, activated_at, updated_at, version)
        VALUES (@id, @personId, 'awaiting-activation', @activationDigest, @activationExpiresAt, NULL, @now, NULL, @now, 1)`),
      getKeyFile: db.prepare<[string], KeyFileRow>('SELECT * FROM key_files WHERE id = ?'),
      getKeyFileByActivation: db.prepare<[string], KeyFileRow>('SELECT * FROM key_files WHERE activation_digest = ?'),
      listKeyFiles: db.prepare<[string], KeyFileRow>('SELECT * FROM key_files WHERE person_id = ? ORDER BY created_at DESC, id'),
      sweepSessions: db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?'),
      insertSession: db.prepare(`INSERT INTO sessions (digest, stage, person_id, csrf_token, challenge, card_serial, refusals, created_at, expires_at)
        VALUES (@digest, @stage, @personId, @csrfToken, @challenge, @cardSerial, @refusals, @createdAt, @expiresAt)`),
      takeSessionRefusal: db.prepare<[string, number], { refusals: number }>('UPDATE sessions SET refusals = refusals + 1 WHERE digest = ? AND refusals < ? RETURNING refusals'),
      returnSessionRefusal: db.prepare<[string]>('UPDATE sessions SET refusals = refusals - 1 WHERE digest = ? AND refusals > 0'),
      getSession: db.prepare<[string, number], SessionRow>('SELECT * FROM sessions WHERE digest = ? AND expires_at > ?'),
      deleteSession: db.prepare<[string]>('DELETE FROM sessions WHERE digest = ?'),
      deleteSessionsOf: db.prepare<[string, string]>('DELETE FROM sessions WHERE person_id = ? AND digest != ?'),
    };
  }

  // Writes: the store runs each inside write(), so the audit entry lands in the same savepoint.

  /** Throws `CodedError` NV_DUPLICATE_CVR for a CVR number already registered. */
  insertOrganisation(organisation: OrganisationRecord, audit: NewAuditEntry): void {
    try {
      this.statements.insertOrganisation.run({ id: organisation.id, cvr: organisation.cvr, name: organisation.name, createdAt: organisation.createdAt });
    } catch (error) {
      if (uniqueViolation(error) === 'cvr') {
        throw new CodedError('NV_DUPLICATE_CVR', `an organisation with CVR number ${organisation.cvr} is already registered`, 409);
      }
      throw error;
    }
    this.insertAudit(audit);
  }

  insertPerson(person: NewPerson, audit: NewAuditEntry): PersonRecord {
    try {
      this.statements.insertPerson.run({
        id: person.id,
        userId: person.userId,
        name: person.name,
        cprDigest: person.cprDigest,
        birthDate: person.birthDate,
        scope: person.scope,
        organisationId: person.organisationId,
        role: person.role,
        passwordHash: person.passwordHash,
        passwordTemporary: sqlValue(person.passwordTemporary),
        state: person.state,
        cardThreshold: person.cardThreshold,
        now: audit.at,
      });
    } catch (error) {
      rethrowDuplicatePerson(error);
    }
    this.insertAudit(audit);
    return toPerson(this.statements.getPerson.get(person.id)!);
  }

  updatePerson(id: string, expectedVersion: number, changes: PersonChanges, audit: NewAuditEntry | null): boolean {
    try {
      return this.compareAndSet('people', 'id', PERSON_COLUMNS, id, expectedVersion, changes, audit);
    } catch (error) {
      rethrowDuplicatePerson(error);
    }
  }

  recordPersonFailure(id: string, maxFail: number, audit: (counted: PersonRecord) => NewAuditEntry): PersonRecord | undefined {
    if (this.statements.recordPersonFailure.run({ id, maxFail, now: Date.now() }).changes !== 1) return undefined;
    const counted = toPerson(this.statements.getPerson.get(id)!);
    this.insertAudit(audit(counted));
    return counted;
  }

  insertCard(card: NewCodeCard, audit: NewAuditEntry): CodeCardRecord {
    this.statements.insertCard.run({
      serial: card.serial,
      personId: card.personId,
      sealedSecret: sqlValue(card.sealedSecret),
      state: card.state,
      usedKeys: sqlValue(card.usedKeys),
      keysLeft: card.keysLeft,
      extra: sqlValue(card.extra),
      now: audit.at,
    });
    this.insertAudit(audit);
    return toCard(this.statements.getCard.get(card.serial)!);
  }

  updateCard(serial: string, expectedVersion: number, changes: CodeCardChanges, audit: NewAuditEntry | null): boolean {
    return this.compareAndSet('code_cards', 'serial', CARD_COLUMNS, serial, expectedVersion, changes, audit);
  }

  insertKeyFile(keyFile: NewKeyFile, audit: NewAuditEntry): KeyFileRecord {
    this.statements.insertKeyFile.run({
      id: keyFile.id,
      personId: keyFile.personId,
      activationDigest: keyFile.activationDigest,
      activationExpiresAt: keyFile.activationExpiresAt,
      now: audit.at,
    });
    this.insertAudit(audit);
    return toKeyFile(this.statements.getKeyFile.get(keyFile.id)!);
  }

  updateKeyFile(id: string, expectedVersion: number, changes: KeyFileChanges, audit: NewAuditEntry | null): boolean {
    return this.compareAndSet('key_files', 'id', KEY_FILE_COLUMNS, id, expectedVersion, changes, audit);
  }

  /**
   * Also deletes the sessions expired by the new one's `createdAt` (the service's clock, which
   * tests move; the wall clock could sweep sessions the service still counts as live).
   */
  insertSession(session: SessionRecord): void {
    this.statements.sweepSessions.run(session.createdAt);
    this.statements.insertSession.run({
      digest: session.digest,
      stage: session.stage,
      personId: session.personId,
      csrfToken: session.csrfToken,
      challenge: session.challenge,
      cardSerial: session.cardSerial,
      refusals: session.refusals,
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
    });
  }

  takeSessionRefusal(digest: string, max: number): number | undefined {
    return this.statements.takeSessionRefusal.get(digest, max)?.refusals;
  }

  returnSessionRefusal(digest: string): void {
    this.statements.returnSessionRefusal.run(digest);
  }

  updateSession(digest: string, changes: SessionChanges): void {
    const set = columnsOf(SESSION_COLUMNS, changes);
    if (set.size === 0) return;
    const statement = this.updateStatement('sessions', 'digest', SESSION_COLUMNS, [...set.keys()], false);
    statement.run({ ...Object.fromEntries(set), key: digest });
  }

  deleteSession(digest: string): void {
    this.statements.deleteSession.run(digest);
  }

  deleteSessionsOf(personId: string, except = ''): void {
    this.statements.deleteSessionsOf.run(personId, except);
  }

  // Reads: immediate, and they see the writes of the batch not yet committed (one connection).

  getOrganisation(id: string): OrganisationRecord | undefined {
    const row = this.statements.getOrganisation.get(id);
    return row && toOrganisation(row);
  }

  getOrganisationByCvr(cvr: string): OrganisationRecord | undefined {
    const row = this.statements.getOrganisationByCvr.get(cvr);
    return row && toOrganisation(row);
  }

  getPerson(id: string): PersonRecord | undefined {
    const row = this.statements.getPerson.get(id);
    return row && toPerson(row);
  }

  getPersonByUserId(userId: string): PersonRecord | undefined {
    const row = this.statements.getPersonByUserId.get(userId);
    return row && toPerson(row);
  }

  /** In order of creation (then id), so that pages of `limit`/`offset` are stable. */
  listPeople(filter: { readonly organisationId?: string; readonly limit?: number; readonly offset?: number }): PersonRecord[] {
    const where = filter.organisationId === undefined ? '' : 'WHERE organisation_id = @organisationId';
    const rows = this.db
      .prepare<[Record<string, string | number>], PersonRow>(`SELECT * FROM people ${where} ORDER BY created_at, id LIMIT @limit OFFSET @offset`)
      .all({ ...(filter.organisationId === undefined ? {} : { organisationId: filter.organisationId }), limit: filter.limit ?? 1000, offset: filter.offset ?? 0 });
    return rows.map(toPerson);
  }

  getCard(serial: string): CodeCardRecord | undefined {
    const row = this.statements.getCard.get(serial);
    return row && toCard(row);
  }

  listCards(personId: string): CodeCardRecord[] {
    return this.statements.listCards.all(personId).map(toCard);
  }

  getKeyFile(id: string): KeyFileRecord | undefined {
    const row = this.statements.getKeyFile.get(id);
    return row && toKeyFile(row);
  }

  /** Whatever its state and expiry (the caller judges those); the digest is UNIQUE, so at most one. */
  getKeyFileByActivation(activationDigest: string): KeyFileRecord | undefined {
    const row = this.statements.getKeyFileByActivation.get(activationDigest);
    return row && toKeyFile(row);
  }

  /** Newest first, like the cards. */
  listKeyFiles(personId: string): KeyFileRecord[] {
    return this.statements.listKeyFiles.all(personId).map(toKeyFile);
  }

  getSession(digest: string, now: number): SessionRecord | undefined {
    const row = this.statements.getSession.get(digest, now);
    return row && toSession(row);
  }

  /** Applies `changes` (version + 1, `updated_at` = the audit's time) only at `expectedVersion`, then appends `audit`. */
  private compareAndSet(
    table: string,
    keyColumn: string,
    columns: Readonly<Record<string, string>>,
    key: string,
    expectedVersion: number,
    changes: object,
    audit: NewAuditEntry | null,
  ): boolean {
    const set = columnsOf(columns, changes);
    const statement = this.updateStatement(table, keyColumn, columns, [...set.keys()], true);
    const applied = statement.run({ ...Object.fromEntries(set), key, expectedVersion, updatedAt: audit?.at ?? Date.now() }).changes === 1;
    if (applied && audit) this.insertAudit(audit);
    return applied;
  }

  /** UPDATE statements, prepared once for each table and set of columns a change touches. */
  private updateStatement(table: string, keyColumn: string, columns: Readonly<Record<string, string>>, keys: string[], versioned: boolean): Database.Statement {
    const signature = `${table}:${keys.join(',')}`;
    let statement = this.updates.get(signature);
    if (!statement) {
      const assignments = keys.map((key) => `${columns[key]} = @${key}`);
      if (versioned) assignments.push('version = version + 1', 'updated_at = @updatedAt');
      statement = this.db.prepare(
        `UPDATE ${table} SET ${assignments.join(', ')} WHERE ${keyColumn} = @key${versioned ? ' AND version = @expectedVersion' : ''}`,
      );
      this.updates.set(signature, statement);
    }
    return statement;
  }
}
