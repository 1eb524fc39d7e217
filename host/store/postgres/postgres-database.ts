/**
 * The host's shared database on PostgreSQL, for several server nodes: what the SQLite database
 * object (../sqlite-database.ts) is to one process, over a pool of connections to the primary
 * (primary.ts): per-owner versioned migrations, the write path with its group commit, the one
 * compare-and-set with its audit record, the audit log, the meta settings and a cluster-wide lock.
 *
 * Migrations run at start in one transaction under a transaction-level advisory lock, so nodes
 * starting together apply each step once; every step makes only what is missing.
 *
 * Group commit: the writes that arrive in one turn of the event loop run one after the other in
 * one transaction on one connection, and settle when it commits (one commit, one wait for the
 * synchronous standby between them); none is answered before its commit. The compare-and-sets of
 * a turn (`writeCompareAndSet`) run as one statement per table (batched-compare-and-set.ts), and a
 * turn of nothing else is that one statement, its own transaction: one round trip. A batch that fails as a
 * whole (a deadlock with another node's batch, a write that fails) is rolled back and each of its
 * writes run again in a transaction of its own, so one write's failure is its own. A write is
 * therefore a function of the connection that may be run twice and keeps no effect outside the
 * database until it has settled.
 *
 * Nothing is cached: another node may have changed any row since; a stale read only fails its
 * compare-and-set.
 */
import type pg from 'pg';
import { AUDIT_SUBJECT_KINDS, subjectKindOfAction, type AuditEntry, type AuditFilter, type AuditSubjectKind, type NewAuditEntry } from '../audit.ts';
import type { MigrationOutcome } from '../migration-outcome.ts';
import { StoreUnavailableError } from '../store-errors.ts';
import { compareAndSetMany, type CompareAndSetWrite } from './batched-compare-and-set.ts';
import { PrimaryPool, type PrimaryPoolOptions } from './primary.ts';

/** What a write runs its statements on: the batch's connection, inside its transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** One step of an owner's schema, from `version - 1` to `version`; SQL that makes only what is missing. */
export interface PostgresMigration {
  readonly version: number;
  readonly sql: string;
}

/** A table whose rows a store changes by key (as in the SQLite database object). */
export interface TableShape {
  readonly table: string;
  readonly key: string;
  readonly columns: Readonly<Record<string, string>>;
}

/** The advisory lock keys of this application: migrations, and the cluster-wide lock of `exclusively`. */
const MIGRATION_LOCK = 0x6e76_0001;
const CLUSTER_LOCK = 0x6e76_0002;

/** Writes of one turn run in one transaction, at most this many. */
const MAX_BATCH = 256;
/** How long a batch waits for a row lock before it is run again write by write. */
const BATCH_LOCK_TIMEOUT = '100ms';

const NOT_A_FUNCTION = (): Promise<never> => Promise.reject(new Error('a batched compare-and-set has no function of its own'));

const CORE_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS audit (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        serial TEXT,
        subject_kind TEXT CHECK (subject_kind IN (${AUDIT_SUBJECT_KINDS.map((kind) => `'${kind}'`).join(', ')})),
        result TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS audit_serial ON audit (serial, id);`,
  },
];

interface PendingWrite {
  run(client: Queryable): Promise<unknown>;
  /** A compare-and-set, run with the others of its batch in one statement (`run` is not used). */
  cas?: CompareAndSetWrite;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type AuditRow = { id: number; at: number; actor: string; action: string; serial: string | null; subject_kind: string | null; result: string; detail: string };

/** An audit record's columns, in the order of `AUDIT_COLUMNS`. */
function auditValues(entry: NewAuditEntry): unknown[] {
  const subjectKind = entry.serial === null ? null : (entry.subjectKind ?? subjectKindOfAction(entry.action));
  return [entry.at, entry.actor, entry.action, entry.serial, subjectKind, entry.result, JSON.stringify(entry.detail)];
}
const AUDIT_COLUMNS = 'at, actor, action, serial, subject_kind, result, detail';

/** `$from, $from+1, …` for `count` parameters. */
function placeholders(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}

/** A record's field as PostgreSQL takes it: bytes as a Buffer (bytea). */
export function pgValue(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value);
  return value;
}

export class PostgresDatabase {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private flushing = false;
  private readonly outcomes: MigrationOutcome[] = [];
  private readonly heldLocks = new Set<{ release(): Promise<void> }>();

  private constructor(readonly pool: PrimaryPool) {}

  /** A pool on `url` (several hosts allowed) and the database's own tables brought up to date. */
  static async open(url: string, options: PrimaryPoolOptions = {}): Promise<PostgresDatabase> {
    const database = new PostgresDatabase(new PrimaryPool(url, options));
    try {
      await database.migrate('core', CORE_MIGRATIONS);
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }

  /** Where it is, for messages: the hosts and the database, never the password. */
  get description(): string {
    const { hosts, database } = this.pool.settings;
    return `postgres://${hosts.map((h) => `${h.host}:${h.port}`).join(',')}/${database ?? ''}`;
  }

  /**
   * Brings `owner`'s tables up to its newest migration, in one transaction under the migration
   * lock: nodes starting together wait for each other, and the second finds nothing to do. A
   * database whose tables of this owner are newer than this code knows is refused, unchanged.
   */
  async migrate(owner: string, migrations: readonly PostgresMigration[]): Promise<MigrationOutcome> {
    const newest = migrations.reduce((max, step) => Math.max(max, step.version), 0);
    const outcome = await this.pool.transaction(async (client): Promise<MigrationOutcome> => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const key = `schema.${owner}`;
      const found = (await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
      const current = Number(found ?? 0);
      if (!Number.isInteger(current) || current < 0 || current > newest) {
        throw new Error(`${this.description} holds ${owner} tables of schema version ${found}; this server reads versions up to ${newest}`);
      }
      const steps = [...migrations].filter((step) => step.version > current).sort((a, b) => a.version - b.version);
      for (const step of steps) await client.query(step.sql);
      if (steps.length > 0) await client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, String(newest)]);
      return { owner, from: current, to: steps.length > 0 ? newest : current };
    });
    this.outcomes.push(outcome);
    return outcome;
  }

  /** What each `migrate` since this object was opened found and did, in order. */
  get migrated(): readonly MigrationOutcome[] {
    return this.outcomes;
  }

  /**
   * Runs `work` in this turn's batch (see the file's comment) and settles once its transaction has
   * committed. `work` may be run a second time, alone, if its batch fails.
   */
  write<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
    return this.enqueue<T>(work);
  }

  /**
   * The compare-and-set (as `compareAndSet`) as a write of this turn's batch, run with the batch's
   * other compare-and-sets on the same table in one statement: true once it has committed, false
   * when the row was not at `expectedVersion` (or is gone).
   */
  writeCompareAndSet(shape: TableShape, key: string, expectedVersion: number, changes: object, audit: NewAuditEntry | null, updatedAt = audit?.at ?? Date.now()): Promise<boolean> {
    return this.enqueue<boolean>(NOT_A_FUNCTION, { shape, key, expectedVersion, changes, audit, updatedAt });
  }

  private enqueue<T>(run: (client: Queryable) => Promise<T>, cas?: CompareAndSetWrite): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, cas, resolve: resolve as (value: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.flush());
    });
  }

  /** A read by a named (prepared once per connection) statement, on the primary. */
  async readPrepared<Row extends pg.QueryResultRow>(name: string, sql: string, values: unknown[]): Promise<Row[]> {
    return (await this.pool.withClient((client) => client.query<Row>({ name, text: sql, values }))).rows;
  }

  /** A read on any connection of the primary (never a standby: a standby may lag behind a commit). */
  async read<Row extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query<Row>(sql, values)).rows;
  }

  /**
   * `fn` while this node holds the cluster-wide lock (a session advisory lock): what must happen
   * once for the whole cluster, such as making its first API keys, is done by one node at a time.
   */
  async exclusively<T>(fn: () => Promise<T>): Promise<T> {
    const lock = await this.lockCluster();
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /**
   * Waits for, then holds until `client`'s transaction ends, the locks a node's start takes: the
   * migration lock, then the cluster lock (in the order a node takes them, so neither waits on the
   * other for ever). What the transaction writes is then seen by a node that starts meanwhile
   * whole or not at all: it waits at its first migration (or, past it, at the cluster lock) until
   * the commit or the rollback.
   */
  async holdStartLocks(client: Queryable): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('SELECT pg_advisory_xact_lock($1)', [CLUSTER_LOCK]);
  }

  /**
   * Waits for, then holds, the cluster-wide lock until `release` (a session advisory lock on a
   * connection kept for it): a node may hold it across steps of its start, such as making API keys
   * and keeping them only once it listens. A node that dies lets go of it with its connection.
   */
  async lockCluster(): Promise<{ release(): Promise<void> }> {
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    let locked!: () => void;
    const acquired = new Promise<void>((resolve) => (locked = resolve));
    const holding = this.pool.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock($1)', [CLUSTER_LOCK]);
      locked();
      await released;
      await client.query('SELECT pg_advisory_unlock($1)', [CLUSTER_LOCK]);
    });
    // Whichever comes first: the lock, or the failure to get it (a lost connection after it only ends the session, and the lock with it).
    await Promise.race([acquired, holding]);
    let done = false;
    const lock = {
      release: async () => {
        if (done) return;
        done = true;
        this.heldLocks.delete(lock);
        letGo();
        await holding.catch(() => undefined);
      },
    };
    this.heldLocks.add(lock);
    return lock;
  }

  /**
   * The one compare-and-set: applies `changes` (those of `shape`'s fields that are not undefined),
   * with version + 1 and `updated_at`, only to the row at `expectedVersion`, and appends `audit`
   * if it applied; one statement (the UPDATE and the audit INSERT in one), so one round trip. The
   * row's lock, taken by the UPDATE, is held to the commit: another node's compare-and-set on the
   * same row waits, then finds the version moved and applies nothing.
   */
  async compareAndSet(client: Queryable, shape: TableShape, key: string, expectedVersion: number, changes: object, audit: NewAuditEntry | null, updatedAt = audit?.at ?? Date.now()): Promise<boolean> {
    const assignments: string[] = [];
    const values: unknown[] = [key, expectedVersion, updatedAt];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined || !Object.hasOwn(shape.columns, field)) continue;
      values.push(pgValue(value));
      assignments.push(`${shape.columns[field]} = $${values.length}`);
    }
    assignments.push('version = version + 1', 'updated_at = $3');
    const update = `UPDATE ${shape.table} SET ${assignments.join(', ')} WHERE ${shape.key} = $1 AND version = $2 RETURNING 1`;
    if (!audit) return (await client.query(update, values)).rowCount === 1;
    const from = values.length + 1;
    values.push(...auditValues(audit));
    const sql = `WITH changed AS (${update}), logged AS (INSERT INTO audit (${AUDIT_COLUMNS}) SELECT ${placeholders(from, 7)} FROM changed RETURNING 1) SELECT count(*)::int AS applied FROM changed`;
    const { rows } = await client.query<{ applied: number }>(sql, values);
    return rows[0]!.applied === 1;
  }

  /** Sets fields of an unversioned row (a session), whoever changed it meanwhile. */
  async update(client: Queryable, shape: TableShape, key: string, changes: object): Promise<void> {
    const assignments: string[] = [];
    const values: unknown[] = [key];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined || !Object.hasOwn(shape.columns, field)) continue;
      values.push(pgValue(value));
      assignments.push(`${shape.columns[field]} = $${values.length}`);
    }
    if (assignments.length === 0) return;
    await client.query(`UPDATE ${shape.table} SET ${assignments.join(', ')} WHERE ${shape.key} = $1`, values);
  }

  /** Appends an audit record in the write it belongs to. */
  async insertAudit(client: Queryable, entry: NewAuditEntry): Promise<void> {
    await client.query(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${placeholders(1, 7)})`, auditValues(entry));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const condition = (column: string, operator: string, value: string | number | undefined) => {
      if (value === undefined) return;
      values.push(value);
      where.push(`${column} ${operator} $${values.length}`);
    };
    condition('serial', '=', filter.serial);
    condition('action', '=', filter.action);
    condition('id', '>', filter.afterId);
    condition('id', '<', filter.beforeId);
    condition('at', '>=', filter.since);
    values.push(filter.limit ?? 1000);
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const rows = await this.read<AuditRow>(`SELECT * FROM audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT $${values.length}`, values);
    return rows.map(({ subject_kind, detail, ...row }) => ({ ...row, subjectKind: subject_kind as AuditSubjectKind | null, detail: JSON.parse(detail) as AuditEntry['detail'] }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.read<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]))[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.write((client) => client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]));
  }

  /** Sets `key` unless it is set; answers the value the database keeps (this one, or the one that was there). */
  async setMetaOnce(key: string, value: string): Promise<string> {
    return this.write(async (client) => {
      await client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
      return (await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]!.value;
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Lets go of the cluster lock if it is held (the pool waits for every connection to come back), then closes the pool. */
  async close(): Promise<void> {
    await Promise.all([...this.heldLocks].map((lock) => lock.release()));
    await this.pool.end();
  }

  /** Runs the pending writes as one batch, then the writes that came meanwhile as the next: one batch in flight per node. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) await this.runBatch(this.pending.splice(0, MAX_BATCH));
    } finally {
      this.flushing = false;
      this.scheduled = false;
    }
  }

  private async runBatch(batch: PendingWrite[]): Promise<void> {
    if (batch.length === 1) return this.runAlone(batch[0]!);
    // By table, the compare-and-sets, each table's in one statement after the other writes.
    const byTable = new Map<string, number[]>();
    batch.forEach((write, i) => {
      if (!write.cas) return;
      const table = byTable.get(write.cas.shape.table);
      if (table) table.push(i);
      else byTable.set(write.cas.shape.table, [i]);
    });
    const onlyOneTable = byTable.size === 1 && batch.every((write) => write.cas);
    const runCompareAndSets = async (client: Queryable, results: unknown[]) => {
      for (const indices of byTable.values()) {
        const applied = await compareAndSetMany(client, indices.map((i) => batch[i]!.cas!), BATCH_LOCK_TIMEOUT);
        indices.forEach((i, j) => (results[i] = applied[j]));
      }
    };
    let results: unknown[];
    try {
      // A batch waits briefly for a row another node's transaction holds: two batches that lock
      // the same rows in opposite orders would otherwise deadlock until PostgreSQL's detector
      // (deadlock_timeout, 1 s) broke the tie.
      results = onlyOneTable
        ? await this.pool.withClient(async (client) => {
            // One statement outside a transaction block: it commits before it answers.
            const done: unknown[] = [];
            await runCompareAndSets(client, done);
            return done;
          })
        : await this.pool.transaction(async (client) => {
            const done: unknown[] = [];
            for (const [i, write] of batch.entries()) if (!write.cas) done[i] = await write.run(client);
            await runCompareAndSets(client, done);
            return done;
          }, `BEGIN; SET LOCAL lock_timeout = '${BATCH_LOCK_TIMEOUT}'`);
    } catch (error) {
      // Unavailable: a commit may be lost or made, so every write of it is answered so and none
      // run again. Otherwise the batch was rolled back as a whole: each write again, alone.
      if (error instanceof StoreUnavailableError) {
        for (const write of batch) write.reject(error);
        return;
      }
      await Promise.all(batch.map((write) => this.runAlone(write)));
      return;
    }
    batch.forEach((write, i) => write.resolve(results[i]));
  }

  private async runAlone(write: PendingWrite): Promise<void> {
    const cas = write.cas;
    try {
      if (cas) write.resolve((await this.pool.withClient((client) => compareAndSetMany(client, [cas], null)))[0]);
      else write.resolve(await this.pool.transaction((client) => write.run(client)));
    } catch (error) {
      write.reject(error);
    }
  }
}
