/**
 * The host's embedded database: one SQLite file through better-sqlite3, in WAL mode with
 * synchronous=FULL, so a change is on disk before the request that made it is answered. The token
 * store and the login service's store keep their tables in it; this object is what they share:
 * the connection, its pragmas, the versioned migrations each owner brings for its own tables, the
 * write path with its group commit, one compare-and-set, the audit log and the meta settings.
 *
 * Group commit: a write runs at once, inside the transaction of the current batch (so the next
 * read already sees it), each in a savepoint of its own (a failing write undoes only itself), and
 * its promise settles only when the batch is committed at the end of the event-loop turn. The
 * verifications that arrive together cost one fsync between them, and none is answered before
 * it is on disk.
 *
 * Schema versions are kept per owner (`schema.<owner>` in meta), and every migration makes only
 * what is missing. A file from before that (a single `schema_version` of 1 to 3) has no owner's
 * version yet: it runs every migration, keeping the tables and columns it has, and is marked as
 * version 4, which a server that reads only versions 1 to 3 refuses.
 */
import Database from 'better-sqlite3';
import { AUDIT_SUBJECT_KINDS, subjectKindOfAction, type AuditEntry, type AuditFilter, type AuditSubjectKind, type NewAuditEntry } from './audit.ts';
import type { MigrationOutcome } from './migration-outcome.ts';
import { ensurePrivateFile, makePrivate } from './private-files.ts';

/** One step of an owner's schema: from `version - 1` to `version`, run in the transaction that records it. */
export interface Migration {
  readonly version: number;
  up(db: Database.Database): void;
}

/** The file's format: per-owner schema versions. Versions 1 to 3 were one number for the whole file. */
const FILE_FORMAT = 4;

const SUBJECT_KIND_COLUMN = `subject_kind TEXT CHECK (subject_kind IN (${AUDIT_SUBJECT_KINDS.map((kind) => `'${kind}'`).join(', ')}))`;

/** The database's own tables, besides meta: the audit log (1), which names its subject's kind (2). */
const CORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS audit (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          serial TEXT,
          result TEXT NOT NULL,
          detail TEXT NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS audit_serial ON audit (serial, id);`),
  },
  {
    // Each older record's kind is taken from its action.
    version: 2,
    up: (db) => {
      const has = db.prepare<[string, string]>('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get('audit', 'subject_kind') !== undefined;
      if (!has) db.exec(`ALTER TABLE audit ADD COLUMN ${SUBJECT_KIND_COLUMN}`);
      const update = db.prepare('UPDATE audit SET subject_kind = ? WHERE action = ? AND serial IS NOT NULL AND subject_kind IS NULL');
      for (const { action } of db.prepare<[], { action: string }>('SELECT DISTINCT action FROM audit').all()) update.run(subjectKindOfAction(action), action);
    },
  },
];

interface Batch {
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export type SqlValue = string | number | bigint | Buffer | null;

/** A record's field as SQLite keeps it: booleans as 0/1, bytes as a blob. */
export function sqlValue(value: unknown): SqlValue {
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

/** A table whose rows a store changes by key: its name, its key column, and each field's column. */
export interface TableShape {
  readonly table: string;
  readonly key: string;
  readonly columns: Readonly<Record<string, string>>;
}

type AuditRow = { id: number; at: number; actor: string; action: string; serial: string | null; subject_kind: string | null; result: string; detail: string };

export class SqliteDatabase {
  private readonly db: Database.Database;
  private batch: Batch | undefined;
  private readonly rollbackListeners: (() => void)[] = [];
  private readonly updates = new Map<string, Database.Statement>();
  /** Runs a write in a savepoint of the batch's transaction (made once: better-sqlite3 nests it). */
  private readonly inSavepoint: <T>(work: () => T) => T;
  private readonly statements;
  private readonly outcomes: MigrationOutcome[] = [];

  private constructor(readonly file: string) {
    ensurePrivateFile(file);
    for (const companion of ['-wal', '-shm', '-journal']) makePrivate(file + companion);
    this.db = new Database(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('foreign_keys = ON');
      this.db.transaction(() => this.settleFormat()).immediate();
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.migrate('core', CORE_MIGRATIONS);
    this.inSavepoint = this.db.transaction(<T>(work: () => T): T => work()) as <T>(work: () => T) => T;
    this.statements = {
      insertAudit: this.db.prepare(
        'INSERT INTO audit (at, actor, action, serial, result, detail, subject_kind) VALUES (@at, @actor, @action, @serial, @result, @detail, @subjectKind)',
      ),
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      ping: this.db.prepare('SELECT 1'),
    };
  }

  /** Opens (or creates, mode 0600) the file; one of an older format is brought to this one, one of a newer format refused. */
  static open(file: string): SqliteDatabase {
    return new SqliteDatabase(file);
  }

  /**
   * Brings `owner`'s tables up to its newest migration, in one transaction. A file whose tables of
   * this owner are newer than this code knows is refused, unchanged.
   */
  migrate(owner: string, migrations: readonly Migration[]): MigrationOutcome {
    const newest = migrations.reduce((max, step) => Math.max(max, step.version), 0);
    if (this.batch) this.commitBatch();
    const upgrade = this.db.transaction((): MigrationOutcome => {
      const key = `schema.${owner}`;
      const current = Number(this.metaValue(key) ?? 0);
      if (!Number.isInteger(current) || current < 0 || current > newest) {
        throw new Error(`${this.file} holds ${owner} tables of schema version ${this.metaValue(key)}; this server reads versions up to ${newest}`);
      }
      const steps = [...migrations].filter((step) => step.version > current).sort((a, b) => a.version - b.version);
      for (const step of steps) step.up(this.db);
      if (steps.length > 0 || current === 0) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(newest));
      return { owner, from: current, to: steps.length > 0 ? newest : current };
    });
    const outcome = upgrade.immediate();
    this.outcomes.push(outcome);
    return outcome;
  }

  /** What each `migrate` since this file was opened found and did, in order. */
  get migrated(): readonly MigrationOutcome[] {
    return this.outcomes;
  }

  /** A statement on this connection, for a store's own SQL. */
  prepare<P extends unknown[] | {} = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    return this.db.prepare<P, R>(sql);
  }

  /** Runs `work` in the current batch (opening one if needed) and settles once the batch is on disk. */
  write<T>(work: () => T): Promise<T> {
    if (!this.batch) this.openBatch();
    const { committed } = this.batch!;
    try {
      const result = this.inSavepoint(work);
      return committed.then(() => result);
    } catch (error) {
      // Its savepoint is undone: whatever a store remembered of the work may not be in the file.
      this.rolledBack();
      return Promise.reject(error);
    }
  }

  /** Called whenever a write is undone (its own failure, or its batch's): a store forgets what it cached. */
  onRollback(listener: () => void): void {
    this.rollbackListeners.push(listener);
  }

  /** Rows were changed round the stores (the re-seal, host/store/reseal/): every store forgets what it cached, as after a rollback. */
  forgetCaches(): void {
    this.rolledBack();
  }

  /**
   * The one compare-and-set: applies `changes` (those of `shape`'s fields that are not undefined),
   * with version + 1 and `updated_at` (the audit record's time, or now), only to the row at
   * `expectedVersion`, and appends `audit` if it applied. Inside `write()`.
   */
  compareAndSet(shape: TableShape, key: string, expectedVersion: number, changes: object, audit: NewAuditEntry | null, updatedAt = audit?.at ?? Date.now()): boolean {
    const set = columnsOf(shape.columns, changes);
    const statement = this.updateStatement(shape, [...set.keys()], true);
    const applied = statement.run({ ...Object.fromEntries(set), key, expectedVersion, updatedAt }).changes === 1;
    if (applied && audit) this.insertAudit(audit);
    return applied;
  }

  /** Sets fields of an unversioned row (a session), whoever changed it meanwhile. Inside `write()`. */
  update(shape: TableShape, key: string, changes: object): void {
    const set = columnsOf(shape.columns, changes);
    if (set.size === 0) return;
    this.updateStatement(shape, [...set.keys()], false).run({ ...Object.fromEntries(set), key });
  }

  /** Appends an audit record in the write it belongs to (inside `write()`). */
  insertAudit(entry: NewAuditEntry): void {
    const subjectKind = entry.serial === null ? null : (entry.subjectKind ?? subjectKindOfAction(entry.action));
    this.statements.insertAudit.run({ at: entry.at, actor: entry.actor, action: entry.action, serial: entry.serial, result: entry.result, detail: JSON.stringify(entry.detail), subjectKind });
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
    const rows = this.db.prepare<(string | number)[], AuditRow>(sql).all(...params, filter.limit ?? 1000);
    return rows.map(({ subject_kind, detail, ...row }) => ({ ...row, subjectKind: subject_kind as AuditSubjectKind | null, detail: JSON.parse(detail) as AuditEntry['detail'] }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.statements.getMeta.get(key)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    return this.write(() => {
      this.statements.setMeta.run(key, value);
    });
  }

  /** A cheap query that fails when the file is unusable (for /health). */
  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    if (this.batch) this.commitBatch();
    if (this.db.open) this.db.close();
  }

  /** The meta table, and the file's format: a new file is made in it, an older one mapped onto it, a newer one refused. */
  private settleFormat(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    const found = this.metaValue('schema_version');
    const format = found === undefined ? FILE_FORMAT : Number(found);
    if (!Number.isInteger(format) || format < 1 || format > FILE_FORMAT) {
      throw new Error(`${this.file} has schema version ${found}; this server reads versions 1 to ${FILE_FORMAT}`);
    }
    if (format !== FILE_FORMAT || found === undefined) {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(FILE_FORMAT));
    }
  }

  private metaValue(key: string): string | undefined {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
  }

  private rolledBack(): void {
    for (const listener of this.rollbackListeners) listener();
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
      this.rolledBack();
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      batch.reject(error as Error);
    }
  }

  /** UPDATE statements, prepared once for each table and set of columns a change touches. */
  private updateStatement(shape: TableShape, keys: string[], versioned: boolean): Database.Statement {
    const signature = `${shape.table}:${versioned ? 'v' : '-'}:${keys.join(',')}`;
    let statement = this.updates.get(signature);
    if (!statement) {
      const assignments = keys.map((key) => `${shape.columns[key]} = @${key}`);
      if (versioned) assignments.push('version = version + 1', 'updated_at = @updatedAt');
      statement = this.db.prepare(`UPDATE ${shape.table} SET ${assignments.join(', ')} WHERE ${shape.key} = @key${versioned ? ' AND version = @expectedVersion' : ''}`);
      this.updates.set(signature, statement);
    }
    return statement;
  }
}
