/**
 * Moving up from SQLite: a lab's database file copied into a PostgreSQL database, table by table
 * by name. Every owner's PostgreSQL table mirrors its SQLite table (same table name, same column
 * names), so the copy knows no owner: it reads each table of the file and writes its rows into the
 * PostgreSQL table of that name, converting each value to its PostgreSQL column's type. Sealed
 * seeds, password hashes and API-key hashes are bytes and text like any other and stay sealed:
 * the master key that opens them is the operator's (an environment variable or a key file), never
 * in a database, and goes along unchanged; the store's check of it is a setting, copied with the
 * others.
 *
 * The file is read in one read transaction (a consistent snapshot, even of a lab still running);
 * the target is written in one transaction, after a check that it holds nothing yet: a copy
 * happens whole or not at all, and never onto a database in use. That transaction holds the locks
 * a node's start takes (its migrations, its first API keys and master key check) from before the
 * check to the commit, so a node started against the target meanwhile waits, then finds the
 * copy whole, or nothing if it failed; and a node that began its start first ends it before the
 * check, which then finds what it made.
 *
 * The errors are `StoreCopyError`s with a code; the start module (host/start.ts), which opens the
 * target as a server does, turns them into the host's coded errors.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { PostgresDatabase, Queryable } from './postgres/postgres-database.ts';

export type StoreCopyErrorCode =
  /** `--from` is missing, not SQLite, or not a noegleviser database. */
  | 'NV_STORE_COPY_SOURCE'
  /** The target database already holds rows. */
  | 'NV_STORE_NOT_EMPTY'
  /** A table of the file has no PostgreSQL table of its name. */
  | 'NV_STORE_COPY_UNKNOWN_TABLE'
  /** A column of the file has no PostgreSQL column of its name (a file of an older layout). */
  | 'NV_STORE_COPY_COLUMNS'
  | 'NV_STORE_COPY_LAYOUT'
  /** PostgreSQL refused a row; nothing was written. */
  | 'NV_STORE_COPY_FAILED';

export class StoreCopyError extends Error {
  constructor(
    readonly code: StoreCopyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreCopyError';
  }
}

/** How many rows of one table were copied. */
export interface CopiedTable {
  readonly table: string;
  readonly rows: number;
}

/** SQLite's own tables (sqlite_sequence, sqlite_stat1, …): never copied; AUTOINCREMENT's high-water mark is carried into the sequences instead. */
const isSqliteOwn = (table: string) => table.startsWith('sqlite_');

/**
 * Tables each node keeps for itself by design, which a copy leaves behind. None today: everything
 * the SQLite file holds is what a cluster shares (the login throttle and the letters too, once in
 * the store). A table added here must say why it is node-local.
 */
const NODE_LOCAL_TABLES: ReadonlySet<string> = new Set<string>();

/** The settings table, and its keys that are each database's own migration bookkeeping (not copied: the target's migrations keep their own). */
const META = 'meta';
const BOOKKEEPING_WHERE = "key <> 'schema_version' AND key NOT LIKE 'schema.%'";

/** At most this many parameters in one INSERT (PostgreSQL's limit is 65535), and at most this many rows. */
const MAX_PARAMETERS = 60_000;
const MAX_ROWS_PER_INSERT = 1000;

interface SourceTable {
  readonly name: string;
  readonly columns: readonly string[];
}

/** A lab's SQLite file, open read-only. */
export class SqliteSource {
  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
  ) {}

  /** Opens `file` read-only; one that is missing, not SQLite, or not a noegleviser database is refused (NV_STORE_COPY_SOURCE). */
  static open(file: string): SqliteSource {
    if (!fs.existsSync(file)) throw new StoreCopyError('NV_STORE_COPY_SOURCE', `there is no file ${file} to copy from`);
    if (!fs.statSync(file).isFile()) throw new StoreCopyError('NV_STORE_COPY_SOURCE', `${file} is not a file: give the lab's SQLite database file`);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
      const owned = hasMeta && db.prepare("SELECT 1 FROM meta WHERE key LIKE 'schema.%'").get() !== undefined;
      if (!owned) throw new StoreCopyError('NV_STORE_COPY_SOURCE', `${file} is not a noegleviser database (it has no schema versions in a meta table)`);
      return new SqliteSource(file, db);
    } catch (error) {
      db?.close();
      if (error instanceof StoreCopyError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreCopyError('NV_STORE_COPY_SOURCE', `cannot read ${file} as a SQLite database: ${reason}`);
    }
  }

  /** The tables to copy, with their columns: every table but SQLite's own and the node-local ones. */
  tables(): SourceTable[] {
    const names = this.db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((row) => row.name)
      .filter((name) => !isSqliteOwn(name) && !NODE_LOCAL_TABLES.has(name));
    return names.map((name) => ({ name, columns: this.db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(name).map((row) => row.name) }));
  }

  /** AUTOINCREMENT's high-water mark of `table` (ids once given and since deleted are not given again), if it has one. */
  sequenceOf(table: string): number | undefined {
    const has = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").get() !== undefined;
    if (!has) return undefined;
    return this.db.prepare<[string], { seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table)?.seq;
  }

  /** The rows of `table` to copy, as arrays in `columns`' order; integers as bigint, so none loses a digit. */
  rows(table: string, columns: readonly string[]): IterableIterator<unknown[]> {
    const where = table === META ? ` WHERE ${BOOKKEEPING_WHERE}` : '';
    const statement = this.db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)}${where} ORDER BY rowid`);
    return statement.raw(true).safeIntegers(true).iterate() as IterableIterator<unknown[]>;
  }

  /** The file's layout: each owner's schema version (`schema.<owner>` in meta). */
  schemaVersions(): Map<string, number> {
    const rows = this.db.prepare<[], { key: string; value: string }>("SELECT key, value FROM meta WHERE key LIKE 'schema.%'").all();
    return new Map(rows.map((row) => [row.key.slice('schema.'.length), Number(row.value)]));
  }

  /** Reads from here to `end()` see one snapshot of the file. */
  begin(): void {
    this.db.exec('BEGIN');
  }

  end(): void {
    if (this.db.inTransaction) this.db.exec('COMMIT');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** A PostgreSQL column as the copy needs it: its type (for the cast and the conversion), and its sequence if ids are drawn from one. */
interface TargetColumn {
  readonly name: string;
  readonly type: string;
  /** 'a': GENERATED ALWAYS AS IDENTITY (an INSERT must say OVERRIDING SYSTEM VALUE). */
  readonly identity: string;
  readonly sequence: string | null;
}

type TargetTables = Map<string, Map<string, TargetColumn>>;

async function targetTables(client: Queryable): Promise<TargetTables> {
  const { rows } = await client.query<{ table: string; column: string; type: string; identity: string; sequence: string | null }>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity::text AS identity,
      pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS sequence
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`);
  const tables: TargetTables = new Map();
  for (const row of rows) {
    let columns = tables.get(row.table);
    if (!columns) tables.set(row.table, (columns = new Map()));
    columns.set(row.column, { name: row.column, type: row.type, identity: row.identity, sequence: row.sequence });
  }
  return tables;
}

/** The target's tables that hold rows (meta's migration bookkeeping aside). */
async function tablesWithRows(client: Queryable, tables: Iterable<string>): Promise<string[]> {
  const checks = [...tables].map((table) => `SELECT ${literal(table)} AS name WHERE EXISTS (SELECT 1 FROM ${quote(table)}${table === META ? ` WHERE ${BOOKKEEPING_WHERE}` : ''})`);
  if (checks.length === 0) return [];
  const { rows } = await client.query<{ name: string }>(checks.join(' UNION ALL '));
  return rows.map((row) => row.name).sort();
}

/** The order to fill the tables in: a table after the tables its foreign keys point to. */
async function fillOrder(client: Queryable, tables: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(`
    SELECT child.relname AS child, parent.relname AS parent
    FROM pg_constraint k JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid
    WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace AND k.conrelid <> k.confrelid`);
  const parents = new Map<string, string[]>();
  for (const { child, parent } of rows) parents.set(child, [...(parents.get(child) ?? []), parent]);
  const order: string[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (table: string) => {
    if (placed.has(table) || visiting.has(table)) return;
    visiting.add(table);
    for (const parent of parents.get(table) ?? []) if (tables.includes(parent)) place(parent);
    visiting.delete(table);
    placed.add(table);
    order.push(table);
  };
  for (const table of tables) place(table);
  return order;
}

/**
 * A value read from SQLite as its PostgreSQL column takes it: integers (read as bigint) as their
 * digits, 0/1 as a boolean, text as text for json/jsonb (PostgreSQL parses it), blobs as bytes.
 */
function toTarget(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return typeof value === 'bigint' || typeof value === 'number' ? value !== 0 && value !== 0n : value;
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return type === 'bytea' ? value : value.toString('utf8');
  if (type === 'bytea' && typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'number' && (type === 'text' || type.startsWith('character'))) return String(value);
  return value;
}

/** Where the insert of a table failed, without the row's values (they may be secrets). */
function refusal(table: string, error: unknown): StoreCopyError {
  const fields = error as { code?: string; constraint?: string; column?: string; message?: string };
  // PostgreSQL's message may quote the offending value ("invalid input syntax for type …: "…""): left out.
  const message = (fields.message ?? String(error)).replace(/:\s*".*$/s, '');
  const where = [fields.constraint && `constraint ${fields.constraint}`, fields.column && `column ${fields.column}`].filter(Boolean).join(', ');
  return new StoreCopyError('NV_STORE_COPY_FAILED', `PostgreSQL refused a row of ${table}: ${message}${where ? ` (${where})` : ''}${fields.code ? ` [SQLSTATE ${fields.code}]` : ''}; nothing was copied`);
}

/**
 * The file must have this build's SQLite layout (`layout`: each owner's schema version, as a file
 * this build makes has them): a migration may change rows, not only tables (the provider's records
 * are sealed from its third on, and the ones kept before in the clear are deleted), and a copy runs
 * no SQLite migration. An older file is brought up to date with `store migrate --db FILE` first.
 */
function checkLayout(source: SqliteSource, layout: ReadonlyMap<string, number>): void {
  const found = source.schemaVersions();
  const owners = [...new Set([...layout.keys(), ...found.keys()])].sort();
  const older = owners.filter((owner) => (found.get(owner) ?? 0) < (layout.get(owner) ?? 0));
  const newer = owners.filter((owner) => (found.get(owner) ?? 0) > (layout.get(owner) ?? 0));
  const list = (names: string[]) => names.map((owner) => `${owner} ${found.get(owner) ?? 'none'} (this build: ${layout.get(owner) ?? 'none'})`).join(', ');
  if (newer.length > 0) {
    throw new StoreCopyError('NV_STORE_COPY_LAYOUT', `${source.file} was made by a newer noegleviser (schema versions ${list(newer)}): copy it with that version; nothing was copied`);
  }
  if (older.length > 0) {
    throw new StoreCopyError('NV_STORE_COPY_LAYOUT', `${source.file} has an older layout (schema versions ${list(older)}): bring it up to date with \`noegleviser store migrate --db FILE\` first; nothing was copied`);
  }
}

/**
 * Copies every table of `source` into `target`, in one transaction: refused (and nothing written)
 * when the file's layout is not `layout` (when given), when a table of the file has no PostgreSQL
 * table or column of its name, or when the target already holds rows. Answers the rows copied per
 * table, in the order they were filled.
 */
export async function copyIntoPostgres(source: SqliteSource, target: PostgresDatabase, layout?: ReadonlyMap<string, number>): Promise<CopiedTable[]> {
  if (layout) checkLayout(source, layout);
  return target.pool.transaction(async (client) => {
    await target.holdStartLocks(client);
    const targets = await targetTables(client);
    source.begin();
    try {
      const tables = source.tables();
      const unknown = tables.filter((table) => !targets.has(table.name)).map((table) => table.name);
      if (unknown.length > 0) {
        throw new StoreCopyError(
          'NV_STORE_COPY_UNKNOWN_TABLE',
          `${source.file} has ${unknown.length === 1 ? 'a table' : 'tables'} that ${target.description} has not: ${unknown.join(', ')} (is this server older than the lab's, or is that part not on PostgreSQL yet?); nothing was copied`,
        );
      }
      const missing = tables.flatMap((table) => table.columns.filter((column) => !targets.get(table.name)!.has(column)).map((column) => `${table.name}.${column}`));
      if (missing.length > 0) {
        throw new StoreCopyError(
          'NV_STORE_COPY_COLUMNS',
          `${target.description} has no column for ${missing.join(', ')} of ${source.file}: a file of an older layout? bring it up to date with \`noegleviser store migrate --db FILE\` first; nothing was copied`,
        );
      }
      const busy = await tablesWithRows(client, targets.keys());
      if (busy.length > 0) {
        throw new StoreCopyError('NV_STORE_NOT_EMPTY', `${target.description} is not empty (${busy.join(', ')} hold rows): store copy fills only a new database; nothing was copied`);
      }
      const byName = new Map(tables.map((table) => [table.name, table]));
      const copied: CopiedTable[] = [];
      for (const name of await fillOrder(client, [...byName.keys()])) {
        const table = byName.get(name)!;
        const rows = await copyTable(client, source, table, targets.get(name)!);
        copied.push({ table: name, rows });
      }
      return copied;
    } finally {
      source.end();
    }
  });
}

/** One table's rows, in multi-row INSERTs; then its sequences set past the highest id (and SQLite's high-water mark). */
async function copyTable(client: Queryable, source: SqliteSource, table: SourceTable, columns: Map<string, TargetColumn>): Promise<number> {
  const targets = table.columns.map((column) => columns.get(column)!);
  const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / Math.max(1, targets.length))));
  const overriding = targets.some((column) => column.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '';
  const head = `INSERT INTO ${quote(table.name)} (${targets.map((column) => quote(column.name)).join(', ')})${overriding} VALUES `;
  let count = 0;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const values: unknown[] = [];
    const tuples = batch.map((row) => `(${row.map((value, i) => (values.push(toTarget(value, targets[i]!.type)), `$${values.length}::${targets[i]!.type}`)).join(', ')})`);
    try {
      await client.query(head + tuples.join(', '), values);
    } catch (error) {
      throw refusal(table.name, error);
    }
    count += batch.length;
    batch = [];
  };
  for (const row of source.rows(table.name, table.columns)) {
    batch.push(row);
    if (batch.length >= perInsert) await flush();
  }
  await flush();
  for (const column of targets) {
    if (!column.sequence) continue;
    const high = source.sequenceOf(table.name) ?? 0;
    // The next id drawn is past both the highest copied and any SQLite had given (and deleted since).
    await client.query(`SELECT setval($1, GREATEST(COALESCE((SELECT max(${quote(column.name)}) FROM ${quote(table.name)}), 0), $2::bigint) + 1, false)`, [column.sequence, high]);
  }
  return count;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
