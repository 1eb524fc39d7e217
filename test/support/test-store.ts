/**
 * The store the server suites run on: SQLite (the default) or, with NOEGLEVISER_TEST_STORE=postgres,
 * a PostgreSQL database of its own per server on one throwaway primary per test file
 * (test/support/postgres.ts). The same suite, not a copy: `startServerProcess` (processes.ts) and
 * the rigs ask here what `--db` to pass.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { connectionUrl, postgres, PostgresNode, type PostgresDatabase as TestDatabase } from './postgres.ts';

export type TestStore = 'sqlite' | 'postgres';

export const TEST_STORE: TestStore = process.env.NOEGLEVISER_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

let primary: Promise<PostgresNode> | undefined;

/** This file's PostgreSQL primary, started on first use (stopped with the file's other processes). */
export function testPrimary(): Promise<PostgresNode> {
  if (!postgres.available) return Promise.reject(new Error(`NOEGLEVISER_TEST_STORE=postgres, but ${postgres.missing}`));
  primary ??= PostgresNode.startPrimary({ name: 'store' });
  return primary;
}

/** The database made for each `dbFile` asked about, so that a server started again on the same file finds its store. */
const databases = new Map<string, Promise<{ node: PostgresNode; database: TestDatabase }>>();

function databaseFor(dbFile: string): Promise<{ node: PostgresNode; database: TestDatabase }> {
  const key = path.resolve(dbFile);
  let made = databases.get(key);
  if (!made) {
    made = testPrimary().then(async (node) => ({ node, database: await node.createDatabase() }));
    databases.set(key, made);
  }
  return made;
}

/**
 * The `--db` (and `--data-dir`) arguments for a server that would have kept `dbFile`: the file
 * itself on SQLite; on PostgreSQL a database of its own (the same one each time for one file, as a
 * server restarted on its file finds what it kept), with the file's folder as the node's own.
 */
export async function databaseArguments(dbFile: string): Promise<string[]> {
  if (TEST_STORE === 'sqlite') return ['--db', dbFile];
  const { node, database } = await databaseFor(dbFile);
  return ['--db', connectionUrl(database, [node]), '--data-dir', path.dirname(dbFile)];
}

/** What an in-process host (startHost) of a suite is given for its store, and the suite's own view of the rows it kept. */
export interface HostStorage {
  /** For startHost: the SQLite file, or a new database's URL with the file's folder as the node's `dataDir`. */
  readonly options: { readonly dbFile: string; readonly dataDir?: string };
  /** The rows of `sql` (`?` placeholders), read on a connection of the suite's own: only what is committed. */
  rows<T>(sql: string, ...params: unknown[]): Promise<T[]>;
}

/** The store of an in-process host that would have kept `dbFile` (see `databaseArguments`). */
export async function hostStorage(dbFile: string): Promise<HostStorage> {
  if (TEST_STORE === 'sqlite') {
    return {
      options: { dbFile },
      rows: async <T>(sql: string, ...params: unknown[]) => {
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        try {
          return db.prepare(sql).all(...params) as T[];
        } finally {
          db.close();
        }
      },
    };
  }
  const { node, database } = await databaseFor(dbFile);
  return {
    options: { dbFile: connectionUrl(database, [node]), dataDir: path.dirname(dbFile) },
    rows: async <T>(sql: string, ...params: unknown[]) => {
      let n = 0;
      return (await node.query(sql.replace(/\?/g, () => `$${++n}`), params, database.name)) as T[];
    },
  };
}
