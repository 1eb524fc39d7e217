/**
 * The copy itself (copy.ts), on a real SQLite file and a real throwaway PostgreSQL primary, with
 * tables of its own that use what the owners' tables may use: a boolean kept as 0/1, JSON kept as
 * text (jsonb on PostgreSQL), a double, an integer past 2^53, bytes, a foreign key to a table that
 * sorts after it, an identity column (GENERATED ALWAYS) and a serial one, more rows than one
 * INSERT takes. And what it refuses, writing nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionUrl, pollUntil, postgres, PostgresNode, reportMissingPostgres } from '../../test/support/postgres.ts';
import { tempDir } from '../../test/support/processes.ts';
import { copyIntoPostgres, SqliteSource, StoreCopyError } from './copy.ts';
import { PostgresDatabase } from './postgres/postgres-database.ts';

reportMissingPostgres();

const BIG = 2n ** 53n + 1n;
const MANY = 2500;

/** A SQLite file shaped as a noegleviser database (meta with a schema version), with `extra` SQL run last. */
function sourceFile(dir: string, extra = ''): string {
  const file = path.join(dir, `source-${Math.random().toString(36).slice(2)}.db`);
  const db = new Database(file);
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    INSERT INTO meta VALUES ('schema_version', '4'), ('schema.lab', '1'), ('setting.a', 'kept');
    CREATE TABLE zz_parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL) STRICT;
    INSERT INTO zz_parent (name) VALUES ('one'), ('two'), ('three');
    DELETE FROM zz_parent WHERE id = 3;
    CREATE TABLE aa_child (id TEXT PRIMARY KEY, parent INTEGER REFERENCES zz_parent (id), flag INTEGER NOT NULL, doc TEXT, score REAL, big INTEGER, bytes BLOB, note TEXT) STRICT;
    CREATE TABLE many (n INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;`);
  const child = db.prepare('INSERT INTO aa_child VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  child.run('c1', 1, 1, JSON.stringify({ b: 2, a: [1, 'x'] }), 1.5, BIG, Buffer.from([0, 1, 254, 255]), null);
  child.run('c2', 2, 0, null, null, null, null, 'a note');
  const many = db.prepare('INSERT INTO many (n, v) VALUES (?, ?)');
  db.transaction(() => {
    for (let n = 1; n <= MANY; n++) many.run(n, `row ${n}`);
  })();
  if (extra) db.exec(extra);
  db.close();
  return file;
}

const TARGET_TABLES = `
  CREATE TABLE zz_parent (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE aa_child (id TEXT PRIMARY KEY, parent BIGINT REFERENCES zz_parent (id), flag BOOLEAN NOT NULL, doc JSONB, score DOUBLE PRECISION, big BIGINT, bytes BYTEA, note TEXT CHECK (note IS NULL OR note <> 'refused'));
  CREATE TABLE many (n BIGSERIAL PRIMARY KEY, v TEXT NOT NULL);`;

describe.skipIf(!postgres.available)('copying a SQLite file into PostgreSQL, table by table by name', () => {
  let primary: PostgresNode;
  const dir = tempDir('copy');
  const open: { close(): unknown }[] = [];

  beforeAll(async () => {
    primary = await PostgresNode.startPrimary({ name: 'copy-unit' });
  }, 120_000);
  afterEach(async () => {
    for (const thing of open.splice(0)) await thing.close();
  });
  afterAll(async () => {
    await primary?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A new database with the core tables (as PostgresDatabase.open makes them) and the test's own. */
  async function target(): Promise<{ database: PostgresDatabase; url: string; query: <R extends Record<string, unknown>>(sql: string) => Promise<R[]> }> {
    const made = await primary.createDatabase();
    const url = connectionUrl(made, [primary]);
    const database = await PostgresDatabase.open(url);
    open.push(database);
    await database.pool.query(TARGET_TABLES);
    await database.pool.query("INSERT INTO meta (key, value) VALUES ('schema.lab', '1')");
    return { database, url, query: async <R,>(sql: string) => (await database.pool.query(sql)).rows as R[] };
  }

  function source(file: string): SqliteSource {
    const opened = SqliteSource.open(file);
    open.push(opened);
    return opened;
  }

  async function refusal(work: Promise<unknown>): Promise<StoreCopyError> {
    const error = await work.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StoreCopyError);
    return error as StoreCopyError;
  }

  const rowCounts = async (query: (sql: string) => Promise<Record<string, unknown>[]>) =>
    (await query("SELECT (SELECT count(*) FROM zz_parent) AS p, (SELECT count(*) FROM aa_child) AS c, (SELECT count(*) FROM many) AS m, (SELECT count(*) FROM meta WHERE key NOT LIKE 'schema.%') AS s"))[0];

  it('converts each value by its PostgreSQL column, fills a table after those it points to, and sets the sequences past the copied ids', async () => {
    const { database, query } = await target();
    const copied = await copyIntoPostgres(source(sourceFile(dir)), database);
    expect(copied.map((table) => table.table)).toEqual(expect.arrayContaining(['zz_parent', 'aa_child', 'many', 'meta']));
    expect(copied.findIndex((table) => table.table === 'zz_parent')).toBeLessThan(copied.findIndex((table) => table.table === 'aa_child'));
    expect(Object.fromEntries(copied.map(({ table, rows }) => [table, rows]))).toEqual({ zz_parent: 2, aa_child: 2, many: MANY, meta: 1 });

    const children = await query<{ id: string; parent: number; flag: boolean; doc: unknown; score: number | null; big: string | null; bytes: Buffer | null; note: string | null }>(
      'SELECT id, parent, flag, doc, score, big::text AS big, bytes, note FROM aa_child ORDER BY id',
    );
    expect(children).toEqual([
      { id: 'c1', parent: 1, flag: true, doc: { a: [1, 'x'], b: 2 }, score: 1.5, big: BIG.toString(), bytes: Buffer.from([0, 1, 254, 255]), note: null },
      { id: 'c2', parent: 2, flag: false, doc: null, score: null, big: null, bytes: null, note: 'a note' },
    ]);
    // The settings but not the file's migration bookkeeping: the target keeps its own.
    expect(await query("SELECT key, value FROM meta WHERE key <> 'schema.core' ORDER BY key")).toEqual([
      { key: 'schema.lab', value: '1' },
      { key: 'setting.a', value: 'kept' },
    ]);
    // Ids go on past the highest SQLite gave (3, deleted since), and past the highest copied.
    expect(await query("INSERT INTO zz_parent (name) VALUES ('next') RETURNING id")).toEqual([{ id: 4 }]);
    expect(await query("INSERT INTO many (v) VALUES ('next') RETURNING n")).toEqual([{ n: MANY + 1 }]);
  });

  it('refuses a target that holds rows (besides the bookkeeping of its migrations): NV_STORE_NOT_EMPTY, nothing written', async () => {
    const { database, query } = await target();
    await database.pool.query("INSERT INTO many (v) VALUES ('already here')");
    const error = await refusal(copyIntoPostgres(source(sourceFile(dir)), database));
    expect(error.code).toBe('NV_STORE_NOT_EMPTY');
    expect(error.message).toContain('many');
    expect(await rowCounts(query)).toEqual({ p: 0, c: 0, m: 1, s: 0 });

    const settings = await target();
    await settings.database.setMeta('master_key_check', 'x');
    expect((await refusal(copyIntoPostgres(source(sourceFile(dir)), settings.database))).message).toContain('meta');
  });

  it('refuses a table PostgreSQL has no table for, naming it, rather than leave it behind: NV_STORE_COPY_UNKNOWN_TABLE, nothing written', async () => {
    const { database, query } = await target();
    const error = await refusal(copyIntoPostgres(source(sourceFile(dir, "CREATE TABLE stray (x TEXT); INSERT INTO stray VALUES ('left behind?');")), database));
    expect(error.code).toBe('NV_STORE_COPY_UNKNOWN_TABLE');
    expect(error.message).toMatch(/: stray \(/);
    expect(await rowCounts(query)).toEqual({ p: 0, c: 0, m: 0, s: 0 });
  });

  it('refuses a column PostgreSQL has no column for: NV_STORE_COPY_COLUMNS, nothing written', async () => {
    const { database, query } = await target();
    const error = await refusal(copyIntoPostgres(source(sourceFile(dir, 'ALTER TABLE aa_child ADD COLUMN replaces TEXT;')), database));
    expect(error.code).toBe('NV_STORE_COPY_COLUMNS');
    expect(error.message).toContain('aa_child.replaces');
    expect(error.message).toContain('store migrate');
    expect(await rowCounts(query)).toEqual({ p: 0, c: 0, m: 0, s: 0 });
  });

  it('refuses a file whose layout is not this build\'s, older or newer: NV_STORE_COPY_LAYOUT, nothing written', async () => {
    const { database, query } = await target();
    const older = await refusal(copyIntoPostgres(source(sourceFile(dir)), database, new Map([['lab', 2]])));
    expect(older.code).toBe('NV_STORE_COPY_LAYOUT');
    expect(older.message).toContain('lab 1 (this build: 2)');
    expect(older.message).toContain('store migrate');
    const newer = await refusal(copyIntoPostgres(source(sourceFile(dir)), database, new Map([['lab', 1], ['oidc', 3]])));
    expect(newer.message).toContain('oidc none (this build: 3)');
    expect((await refusal(copyIntoPostgres(source(sourceFile(dir, "INSERT INTO meta VALUES ('schema.oidc', '4');")), database, new Map([['lab', 1], ['oidc', 3]])))).message).toContain('newer');
    expect(await rowCounts(query)).toEqual({ p: 0, c: 0, m: 0, s: 0 });
    // The same layout copies.
    expect((await copyIntoPostgres(source(sourceFile(dir)), database, new Map([['lab', 1]]))).length).toBeGreaterThan(0);
  });

  it('a row PostgreSQL refuses undoes the whole copy: NV_STORE_COPY_FAILED names the table and the rule, not the values', async () => {
    const { database, query } = await target();
    const refusedRow = sourceFile(dir, "INSERT INTO aa_child VALUES ('c3', 1, 0, NULL, NULL, NULL, x'5345435245542d5345454421', 'refused');");
    const error = await refusal(copyIntoPostgres(source(refusedRow), database));
    expect(error.code).toBe('NV_STORE_COPY_FAILED');
    expect(error.message).toContain('aa_child');
    expect(error.message).toContain('aa_child_note_check');
    expect(error.message).not.toMatch(/SECRET-SEED|5345435245/);
    expect(await rowCounts(query)).toEqual({ p: 0, c: 0, m: 0, s: 0 });

    const badNumber = sourceFile(dir, "CREATE TABLE numbers (n TEXT); INSERT INTO numbers VALUES ('SECRET-SEED-1');");
    const typed = await target();
    await typed.database.pool.query('CREATE TABLE numbers (n BIGINT)');
    const typeError = await refusal(copyIntoPostgres(source(badNumber), typed.database));
    expect(typeError.code).toBe('NV_STORE_COPY_FAILED');
    expect(typeError.message).toContain('numbers');
    expect(typeError.message).not.toContain('SECRET-SEED');
  });

  /**
   * A copy held at a point the test chooses: the test's own transaction inserts, and keeps
   * uncommitted, a row with the key of the copy's first row of \`many\`, so the copy's INSERT there
   * waits for that transaction to end (rolled back: the copy goes on; committed: it fails).
   */
  async function heldCopy(url: string, query: (sql: string) => Promise<Record<string, unknown>[]>) {
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    open.push({ close: () => blocker.end() });
    await blocker.query('BEGIN');
    await blocker.query("INSERT INTO many (n, v) VALUES (1, 'held')");
    return {
      release: () => blocker.query('ROLLBACK'),
      /** Resolves once the copy's INSERT waits on the test's row. */
      held: () => waiting(query, 'transactionid', 1),
    };
  }

  /** Resolves once `count` sessions of the database wait on a lock of `kind` (advisory, transactionid). */
  const waiting = (query: (sql: string) => Promise<Record<string, unknown>[]>, kind: string, count: number) =>
    pollUntil(
      async () =>
        Number((await query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = '${kind}'`))[0]!.n) === count,
      `${count} session(s) waiting on a ${kind} lock`,
      20_000,
    );

  it('holds the locks a node starts under for the whole copy: a node started meanwhile waits, then finds every row', async () => {
    const { database, url, query } = await target();
    // A node past its migrations before the copy began (it will take the cluster lock for its first API keys).
    const early = await PostgresDatabase.open(url);
    open.push(early);
    const copy = await heldCopy(url, query);
    const progress: string[] = [];
    const copying = copyIntoPostgres(source(sourceFile(dir)), database).then((copied) => (progress.push('copied'), copied));
    await copy.held();

    // A node starting now (its first migration), and the earlier one going on with its start.
    const starting = PostgresDatabase.open(url).then((node) => (open.push(node), progress.push('node migrated'), node));
    const clusterLock = early.lockCluster().then((lock) => (progress.push('cluster lock'), lock));
    await waiting(query, 'advisory', 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(progress, 'nothing goes on while the copy is held').toEqual([]);

    await copy.release();
    expect(Object.fromEntries((await copying).map(({ table, rows }) => [table, rows]))).toEqual({ zz_parent: 2, aa_child: 2, many: MANY, meta: 1 });
    const node = await starting;
    const lock = await clusterLock;
    const counts = "SELECT (SELECT count(*)::int FROM zz_parent) AS p, (SELECT count(*)::int FROM aa_child) AS c, (SELECT count(*)::int FROM many) AS m, (SELECT value FROM meta WHERE key = 'setting.a') AS s";
    expect(await node.read(counts)).toEqual([{ p: 2, c: 2, m: MANY, s: 'kept' }]);
    expect(await early.read(counts)).toEqual([{ p: 2, c: 2, m: MANY, s: 'kept' }]);
    await lock.release();
  });

  it('a copy that fails while a node waits to start leaves the target empty, and the node finds nothing', async () => {
    const { database, url, query } = await target();
    const copy = await heldCopy(url, query);
    const copying = refusal(copyIntoPostgres(source(sourceFile(dir)), database));
    await copy.held();
    const starting = PostgresDatabase.open(url).then((node) => (open.push(node), node));
    await waiting(query, 'advisory', 1);

    // The copy's INSERT stopped where it waits (as an operator's Ctrl-C or a lost connection would end it).
    await query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'transactionid'");
    const error = await copying;
    expect(error.code).toBe('NV_STORE_COPY_FAILED');
    expect(error.message).toContain('many');
    await copy.release();
    const node = await starting;
    expect(await rowCounts((sql) => node.read(sql))).toEqual({ p: 0, c: 0, m: 0, s: 0 });
  });

  it('waits for a node that is in the middle of its start, then finds what it made and refuses: NV_STORE_NOT_EMPTY', async () => {
    const { database, url, query } = await target();
    const node = await PostgresDatabase.open(url);
    open.push(node);
    const lock = await node.lockCluster();
    const copying = refusal(copyIntoPostgres(source(sourceFile(dir)), database));
    await waiting(query, 'advisory', 1);
    // The node's start keeps its master key check, then lets go of the lock.
    await node.setMeta('master_key_check', 'made by the node');
    await lock.release();
    const error = await copying;
    expect(error.code).toBe('NV_STORE_NOT_EMPTY');
    expect(await rowCounts(query)).toEqual({ p: 0, c: 0, m: 0, s: 1 });
  });

  it('opens only a noegleviser database, read-only: a missing file, a file that is not SQLite, and one without schema versions are NV_STORE_COPY_SOURCE', () => {
    const plain = path.join(dir, 'plain.txt');
    fs.writeFileSync(plain, 'not a database\n'.repeat(100));
    const foreign = path.join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE meta (key TEXT, value TEXT); CREATE TABLE t (x)');
    db.close();
    for (const file of [path.join(dir, 'missing.db'), plain, foreign, dir]) {
      expect(() => SqliteSource.open(file), file).toThrow(expect.objectContaining({ code: 'NV_STORE_COPY_SOURCE' }));
    }
    const file = sourceFile(dir);
    const before = fs.readFileSync(file);
    source(file).tables();
    expect(fs.readFileSync(file).equals(before), 'the file is not written').toBe(true);
  });
});
