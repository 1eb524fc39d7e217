/**
 * The embedded store: one SQLite file through better-sqlite3, in WAL mode with synchronous=FULL,
 * so a change is on disk before the request that made it is answered.
 *
 * Group commit: a write runs at once, inside the transaction of the current batch (so the next
 * read already sees it), each in a savepoint of its own (a failing write undoes only itself), and
 * its promise settles only when the batch is committed at the end of the event-loop turn. The
 * verifications that arrive together cost one fsync between them, and none is answered before
 * it is on disk.
 *
 * One file holds the tokens and the service (people, code cards, key files, organisations,
 * sessions): this class implements `TokenStore` and `ServiceStore`. The service's tables, rows and
 * SQL are in sqlite-service.ts; their writes go through the same `write()` as the tokens'.
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile, makePrivate } from '../private-files.ts';
import type {
  CodeCardChanges,
  CodeCardRecord,
  KeyFileChanges,
  KeyFileRecord,
  NewCodeCard,
  NewKeyFile,
  NewPerson,
  OrganisationRecord,
  PersonChanges,
  PersonRecord,
  ServiceStore,
  SessionChanges,
  SessionRecord,
} from './service-types.ts';
import { addLaterServiceColumns, SERVICE_SCHEMA, ServiceTables } from './sqlite-service.ts';
import { AUDIT_SUBJECT_KINDS, subjectKindOfAction, type AuditSubjectKind } from './audit-subject.ts';
import {
  DuplicateSerialError,
  TOKEN_STATES,
  type ApiKeyRecord,
  type AuditEntry,
  type AuditFilter,
  type NewAuditEntry,
  type NewToken,
  type TokenChanges,
  type TokenFilter,
  type TokenRecord,
  type TokenState,
  type TokenStore,
} from './types.ts';

/**
 * 1: tokens, audit, API keys. 2: and the service's tables. 3: the audit names its subject's kind.
 * An older file is upgraded on open.
 */
const SCHEMA_VERSION = 3;

const SUBJECT_KIND_COLUMN = `subject_kind TEXT CHECK (subject_kind IN (${AUDIT_SUBJECT_KINDS.map((kind) => `'${kind}'`).join(', ')}))`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS tokens (
  serial TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('hotp', 'totp', 'password')),
  algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
  digits INTEGER NOT NULL,
  period INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  last_step INTEGER NOT NULL,
  drift_steps INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'disabled', 'locked', 'lost', 'revoked')),
  fail_count INTEGER NOT NULL,
  owner TEXT,
  sealed_seed BLOB NOT NULL,
  replaces TEXT,
  valid_until INTEGER,
  pending_counter INTEGER,
  pending_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_used_at INTEGER,
  version INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS tokens_owner ON tokens (owner);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  serial TEXT,
  result TEXT NOT NULL,
  detail TEXT NOT NULL,
  ${SUBJECT_KIND_COLUMN}
) STRICT;
CREATE INDEX IF NOT EXISTS audit_serial ON audit (serial, id);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('admin', 'client')),
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
) STRICT;
`;

interface TokenRow {
  serial: string;
  kind: string;
  algorithm: string;
  digits: number;
  period: number;
  counter: number;
  last_step: number;
  drift_steps: number;
  state: string;
  fail_count: number;
  owner: string | null;
  sealed_seed: Buffer;
  replaces: string | null;
  valid_until: number | null;
  pending_counter: number | null;
  pending_at: number | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  version: number;
}

const COLUMNS: Record<keyof TokenChanges, string> = {
  counter: 'counter',
  lastStep: 'last_step',
  driftSteps: 'drift_steps',
  state: 'state',
  failCount: 'fail_count',
  owner: 'owner',
  validUntil: 'valid_until',
  pendingCounter: 'pending_counter',
  pendingAt: 'pending_at',
  lastUsedAt: 'last_used_at',
};

function toRecord(row: TokenRow): TokenRecord {
  return {
    serial: row.serial,
    kind: row.kind as TokenRecord['kind'],
    algorithm: row.algorithm as TokenRecord['algorithm'],
    digits: row.digits,
    period: row.period,
    counter: row.counter,
    lastStep: row.last_step,
    driftSteps: row.drift_steps,
    state: row.state as TokenState,
    failCount: row.fail_count,
    owner: row.owner,
    sealedSeed: new Uint8Array(row.sealed_seed),
    replaces: row.replaces,
    validUntil: row.valid_until,
    pendingCounter: row.pending_counter,
    pendingAt: row.pending_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
    version: row.version,
  };
}

/** Tokens kept in memory (see `SqliteTokenStore.tokens`): at most this many, the longest held forgotten first. */
const TOKEN_CACHE_SIZE = 10_000;

interface Batch {
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export class SqliteTokenStore implements TokenStore, ServiceStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly service: ServiceTables;
  private readonly updates = new Map<string, Database.Statement>();
  private batch: Batch | undefined;
  /**
   * The tokens as this connection last wrote or read them: a verification reads its token here,
   * not with a SELECT. This process is the file's only writer, and every token write goes through
   * this class, which keeps the copy equal to the row (a write updates it, a failed batch clears it).
   * A copy that were ever stale would only fail its compare-and-set, which forgets it.
   */
  private readonly tokens = new Map<string, TokenRecord>();
  /** Runs a write in a savepoint of the batch's transaction (made once: better-sqlite3 nests it). */
  private readonly inSavepoint: <T>(work: () => T) => T;

  constructor(readonly file: string) {
    ensurePrivateFile(file);
    for (const companion of ['-wal', '-shm', '-journal']) makePrivate(file + companion);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.inSavepoint = this.db.transaction(<T>(work: () => T): T => work()) as <T>(work: () => T) => T;
    this.statements = {
      insertToken: this.db.prepare(`INSERT INTO tokens (serial, kind, algorithm, digits, period, counter, last_step, drift_steps, state,
        fail_count, owner, sealed_seed, replaces, valid_until, pending_counter, pending_at, created_at, updated_at, last_used_at, version)
        VALUES (@serial, @kind, @algorithm, @digits, @period, @counter, @lastStep, @driftSteps, @state, @failCount, @owner, @sealedSeed,
        @replaces, @validUntil, NULL, NULL, @now, @now, NULL, 1)`),
      getToken: this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE serial = ?'),
      deleteToken: this.db.prepare<[string]>('DELETE FROM tokens WHERE serial = ?'),
      recordFailure: this.db.prepare(`UPDATE tokens SET fail_count = fail_count + 1,
        state = CASE WHEN state = 'active' AND fail_count + 1 >= @maxFail THEN 'locked' ELSE state END,
        version = version + 1, updated_at = @now WHERE serial = @serial`),
      countTokens: this.db.prepare<[], { state: string; n: number }>('SELECT state, COUNT(*) AS n FROM tokens GROUP BY state'),
      insertAudit: this.db.prepare(
        'INSERT INTO audit (at, actor, action, serial, result, detail, subject_kind) VALUES (@at, @actor, @action, @serial, @result, @detail, @subjectKind)',
      ),
      listApiKeys: this.db.prepare<[], { id: string; role: string; hash: string; created_at: number }>('SELECT * FROM api_keys ORDER BY created_at'),
      insertApiKey: this.db.prepare('INSERT INTO api_keys (id, role, hash, created_at) VALUES (?, ?, ?, ?)'),
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      ping: this.db.prepare('SELECT 1'),
    };
    this.service = new ServiceTables(this.db, (entry) => this.insertAudit(entry));
  }

  /** Creates the tables of a new file, or brings an older file up to SCHEMA_VERSION, in one transaction. */
  private migrate(): void {
    const upgrade = this.db.transaction(() => {
      this.db.exec(SCHEMA);
      const found = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
      const version = found ? Number(found.value) : SCHEMA_VERSION;
      if (!Number.isInteger(version) || version < 1 || version > SCHEMA_VERSION) {
        throw new Error(`${this.file} has schema version ${found?.value}; this server reads versions 1 to ${SCHEMA_VERSION}`);
      }
      this.db.exec(SERVICE_SCHEMA);
      addLaterServiceColumns(this.db);
      if (version < 3) this.nameAuditSubjects();
      this.db
        .prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .run(String(SCHEMA_VERSION));
    });
    try {
      upgrade.immediate();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** Version 3: the audit's subject kind, taken from each older record's action. */
  private nameAuditSubjects(): void {
    this.db.exec(`ALTER TABLE audit ADD COLUMN ${SUBJECT_KIND_COLUMN}`);
    const update = this.db.prepare('UPDATE audit SET subject_kind = ? WHERE action = ? AND serial IS NOT NULL');
    for (const { action } of this.db.prepare<[], { action: string }>('SELECT DISTINCT action FROM audit').all()) {
      update.run(subjectKindOfAction(action), action);
    }
  }

  async insertToken(token: NewToken, audit: NewAuditEntry): Promise<TokenRecord> {
    return this.write(() => {
      try {
        this.statements.insertToken.run({ ...token, sealedSeed: Buffer.from(token.sealedSeed), now: audit.at });
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateSerialError(token.serial);
        throw error;
      }
      this.insertAudit(audit);
      return this.remember(toRecord(this.statements.getToken.get(token.serial)!));
    });
  }

  async getToken(serial: string): Promise<TokenRecord | undefined> {
    const cached = this.tokens.get(serial);
    if (cached) return cached;
    const row = this.statements.getToken.get(serial);
    return row && this.remember(toRecord(row));
  }

  async listTokens(filter: TokenFilter): Promise<TokenRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.owner !== undefined) {
      where.push('owner = ?');
      params.push(filter.owner);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      params.push(filter.state);
    }
    const sql = `SELECT * FROM tokens ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY serial LIMIT ? OFFSET ?`;
    const rows = this.db.prepare<(string | number)[], TokenRow>(sql).all(...params, filter.limit ?? 1000, filter.offset ?? 0);
    return rows.map(toRecord);
  }

  async countTokens(): Promise<Record<TokenState, number>> {
    const counts = Object.fromEntries(TOKEN_STATES.map((state) => [state, 0])) as Record<TokenState, number>;
    for (const row of this.statements.countTokens.all()) counts[row.state as TokenState] = row.n;
    return counts;
  }

  async updateToken(serial: string, expectedVersion: number, changes: TokenChanges, audit: NewAuditEntry | null): Promise<boolean> {
    const statement = this.updateStatement(Object.keys(changes) as (keyof TokenChanges)[]);
    const updatedAt = audit?.at ?? Date.now();
    return this.write(() => {
      const cached = this.tokens.get(serial);
      if (statement.run({ ...changes, serial, expectedVersion, updatedAt }).changes !== 1) {
        if (cached?.version === expectedVersion) this.tokens.delete(serial); // stale: read it again
        return false;
      }
      if (audit) this.insertAudit(audit);
      if (cached?.version === expectedVersion) this.tokens.set(serial, { ...cached, ...changes, version: expectedVersion + 1, updatedAt });
      else this.tokens.delete(serial);
      return true;
    });
  }

  async recordFailure(serial: string, maxFail: number, audit: (counted: TokenRecord) => NewAuditEntry): Promise<TokenRecord | undefined> {
    return this.write(() => {
      if (this.statements.recordFailure.run({ serial, maxFail, now: Date.now() }).changes !== 1) {
        this.tokens.delete(serial);
        return undefined;
      }
      const counted = this.remember(toRecord(this.statements.getToken.get(serial)!));
      this.insertAudit(audit(counted));
      return counted;
    });
  }

  async deleteToken(serial: string, audit: NewAuditEntry): Promise<boolean> {
    return this.write(() => {
      this.tokens.delete(serial);
      const deleted = this.statements.deleteToken.run(serial).changes === 1;
      if (deleted) this.insertAudit(audit);
      return deleted;
    });
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.write(() => this.insertAudit(entry));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const condition = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    condition('serial = ?', filter.serial);
    condition('action = ?', filter.action);
    condition('id > ?', filter.afterId);
    condition('id < ?', filter.beforeId);
    condition('at >= ?', filter.since);
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const sql = `SELECT * FROM audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT ?`;
    const rows = this.db
      .prepare<(string | number)[], { id: number; at: number; actor: string; action: string; serial: string | null; subject_kind: string | null; result: string; detail: string }>(sql)
      .all(...params, filter.limit ?? 1000);
    return rows.map(({ subject_kind, detail, ...row }) => ({ ...row, subjectKind: subject_kind as AuditSubjectKind | null, detail: JSON.parse(detail) as AuditEntry['detail'] }));
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.statements.listApiKeys.all().map((row) => ({ id: row.id, role: row.role as ApiKeyRecord['role'], hash: row.hash, createdAt: row.created_at }));
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    return this.write(() => {
      this.statements.insertApiKey.run(key.id, key.role, key.hash, key.createdAt);
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.statements.getMeta.get(key)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    return this.write(() => {
      this.statements.setMeta.run(key, value);
    });
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  // The service (ServiceStore): SQL in sqlite-service.ts; every write through write().

  async insertOrganisation(organisation: OrganisationRecord, audit: NewAuditEntry): Promise<void> {
    return this.write(() => this.service.insertOrganisation(organisation, audit));
  }

  async getOrganisation(id: string): Promise<OrganisationRecord | undefined> {
    return this.service.getOrganisation(id);
  }

  async getOrganisationByCvr(cvr: string): Promise<OrganisationRecord | undefined> {
    return this.service.getOrganisationByCvr(cvr);
  }

  async insertPerson(person: NewPerson, audit: NewAuditEntry): Promise<PersonRecord> {
    return this.write(() => this.service.insertPerson(person, audit));
  }

  async getPerson(id: string): Promise<PersonRecord | undefined> {
    return this.service.getPerson(id);
  }

  async getPersonByUserId(userId: string): Promise<PersonRecord | undefined> {
    return this.service.getPersonByUserId(userId);
  }

  async listPeople(filter: { readonly organisationId?: string; readonly limit?: number; readonly offset?: number }): Promise<PersonRecord[]> {
    return this.service.listPeople(filter);
  }

  async updatePerson(id: string, expectedVersion: number, changes: PersonChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.write(() => this.service.updatePerson(id, expectedVersion, changes, audit));
  }

  async recordPersonFailure(id: string, maxFail: number, audit: (counted: PersonRecord) => NewAuditEntry): Promise<PersonRecord | undefined> {
    return this.write(() => this.service.recordPersonFailure(id, maxFail, audit));
  }

  async insertCard(card: NewCodeCard, audit: NewAuditEntry): Promise<CodeCardRecord> {
    return this.write(() => this.service.insertCard(card, audit));
  }

  async getCard(serial: string): Promise<CodeCardRecord | undefined> {
    return this.service.getCard(serial);
  }

  async listCards(personId: string): Promise<CodeCardRecord[]> {
    return this.service.listCards(personId);
  }

  async updateCard(serial: string, expectedVersion: number, changes: CodeCardChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.write(() => this.service.updateCard(serial, expectedVersion, changes, audit));
  }

  async insertKeyFile(keyFile: NewKeyFile, audit: NewAuditEntry): Promise<KeyFileRecord> {
    return this.write(() => this.service.insertKeyFile(keyFile, audit));
  }

  async getKeyFile(id: string): Promise<KeyFileRecord | undefined> {
    return this.service.getKeyFile(id);
  }

  async listKeyFiles(personId: string): Promise<KeyFileRecord[]> {
    return this.service.listKeyFiles(personId);
  }

  async getKeyFileByActivation(activationDigest: string): Promise<KeyFileRecord | undefined> {
    return this.service.getKeyFileByActivation(activationDigest);
  }

  async updateKeyFile(id: string, expectedVersion: number, changes: KeyFileChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.write(() => this.service.updateKeyFile(id, expectedVersion, changes, audit));
  }

  async insertSession(session: SessionRecord): Promise<void> {
    return this.write(() => this.service.insertSession(session));
  }

  async getSession(digest: string, now: number): Promise<SessionRecord | undefined> {
    return this.service.getSession(digest, now);
  }

  async updateSession(digest: string, changes: SessionChanges): Promise<void> {
    return this.write(() => this.service.updateSession(digest, changes));
  }

  async deleteSession(digest: string): Promise<void> {
    return this.write(() => this.service.deleteSession(digest));
  }

  async takeSessionRefusal(digest: string, max: number): Promise<number | undefined> {
    return this.write(() => this.service.takeSessionRefusal(digest, max));
  }

  async returnSessionRefusal(digest: string): Promise<void> {
    return this.write(() => this.service.returnSessionRefusal(digest));
  }

  async deleteSessionsOf(personId: string, except?: string): Promise<void> {
    return this.write(() => this.service.deleteSessionsOf(personId, except));
  }

  async close(): Promise<void> {
    if (this.batch) this.commitBatch();
    if (this.db.open) this.db.close();
  }

  /** Runs `work` in the current batch (opening one if needed) and settles once the batch is on disk. */
  private write<T>(work: () => T): Promise<T> {
    if (!this.batch) this.openBatch();
    const { committed } = this.batch!;
    try {
      const result = this.inSavepoint(work);
      return committed.then(() => result);
    } catch (error) {
      // Its savepoint is undone: whatever the work put in the token cache may not be in the file.
      this.tokens.clear();
      return Promise.reject(error);
    }
  }

  private openBatch(): void {
    this.db.exec('BEGIN IMMEDIATE');
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const committed = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // A write whose batch fails is answered by its own promise; this one must not go unhandled.
    committed.catch(() => undefined);
    this.batch = { committed, resolve, reject };
    setImmediate(() => this.commitBatch());
  }

  private commitBatch(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    try {
      this.db.exec('COMMIT');
      batch.resolve();
    } catch (error) {
      this.tokens.clear();
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      batch.reject(error as Error);
    }
  }

  private remember(token: TokenRecord): TokenRecord {
    this.tokens.delete(token.serial);
    this.tokens.set(token.serial, token);
    if (this.tokens.size > TOKEN_CACHE_SIZE) this.tokens.delete(this.tokens.keys().next().value!);
    return token;
  }

  /** UPDATE statements, prepared once for each set of columns a change touches. */
  private updateStatement(keys: (keyof TokenChanges)[]): Database.Statement {
    const signature = keys.join(',');
    let statement = this.updates.get(signature);
    if (!statement) {
      const assignments = keys.map((key) => `${COLUMNS[key]} = @${key}`);
      statement = this.db.prepare(`UPDATE tokens SET ${[...assignments, 'version = version + 1', 'updated_at = @updatedAt'].join(', ')}
        WHERE serial = @serial AND version = @expectedVersion`);
      this.updates.set(signature, statement);
    }
    return statement;
  }

  private insertAudit(entry: NewAuditEntry): void {
    const subjectKind = entry.serial === null ? null : (entry.subjectKind ?? subjectKindOfAction(entry.action));
    this.statements.insertAudit.run({ at: entry.at, actor: entry.actor, action: entry.action, serial: entry.serial, result: entry.result, detail: JSON.stringify(entry.detail), subjectKind });
  }
}
