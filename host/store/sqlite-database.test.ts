/**
 * The database object both stores stand on, on real SQLite files: an owner's migrations run once,
 * in order, all or nothing, and are recorded per owner; the one compare-and-set applies only at
 * the expected version and writes its audit record only then; a write undone tells the stores.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/processes.ts';
import { SqliteTokenStore } from '../server/store/sqlite-token-store.ts';
import { SqliteDatabase, type Migration, type TableShape } from './sqlite-database.ts';

let dir: string;
let file: string;
const opened: SqliteDatabase[] = [];

function open(): SqliteDatabase {
  const database = SqliteDatabase.open(file);
  opened.push(database);
  return database;
}

beforeEach(() => {
  dir = tempDir('database');
  file = path.join(dir, 'host.db');
});

afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const THINGS: TableShape = { table: 'things', key: 'id', columns: { label: 'label', count: 'count' } };
const ran: number[] = [];
const THING_MIGRATIONS: Migration[] = [
  {
    version: 1,
    up: (db) => {
      ran.push(1);
      db.exec('CREATE TABLE things (id TEXT PRIMARY KEY, label TEXT NOT NULL, count INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL) STRICT');
    },
  },
  {
    version: 2,
    up: (db) => {
      ran.push(2);
      db.exec("INSERT INTO things VALUES ('a', 'first', 0, 0, 1)");
    },
  },
];

describe('migrations', () => {
  it("run an owner's steps once, in order, and record its version apart from other owners'", async () => {
    ran.length = 0;
    const database = open();
    database.migrate('things', [...THING_MIGRATIONS].reverse());
    database.migrate('things', THING_MIGRATIONS);
    expect(ran).toEqual([1, 2]);
    expect(await database.getMeta('schema.things')).toBe('2');
    expect(await database.getMeta('schema.core')).toBe('2');
    expect(await database.getMeta('schema.others')).toBeUndefined();
  });

  it('a step that fails leaves the owner as it was: no table, no version', async () => {
    const database = open();
    const failing: Migration[] = [THING_MIGRATIONS[0]!, { version: 2, up: () => { throw new Error('step 2 fails'); } }];
    expect(() => database.migrate('things', failing)).toThrow('step 2 fails');
    expect(await database.getMeta('schema.things')).toBeUndefined();
    expect(() => database.prepare('SELECT * FROM things').all()).toThrow(/no such table/);
  });
});

describe('the one compare-and-set', () => {
  it('applies at the expected version only, moving it on, and writes the audit record only when it applied', async () => {
    const database = open();
    database.migrate('things', THING_MIGRATIONS);
    const audit = (at: number) => ({ at, actor: 'test', action: 'thing.change', serial: 'a', result: 'ok', detail: {} });
    expect(await database.write(() => database.compareAndSet(THINGS, 'a', 1, { label: 'second', count: undefined }, audit(7)))).toBe(true);
    expect(await database.write(() => database.compareAndSet(THINGS, 'a', 1, { label: 'lost race' }, audit(8)))).toBe(false);
    expect(database.prepare('SELECT * FROM things').all()).toEqual([{ id: 'a', label: 'second', count: 0, updated_at: 7, version: 2 }]);
    expect((await database.listAudit({ serial: 'a' })).map((entry) => entry.at)).toEqual([7]);
  });
});

describe('writes', () => {
  it('a write that fails is undone alone, and the stores are told so', async () => {
    const database = open();
    database.migrate('things', THING_MIGRATIONS);
    let told = 0;
    database.onRollback(() => (told += 1));
    const results = await Promise.allSettled([
      database.write(() => database.prepare("INSERT INTO things VALUES ('b', 'kept', 0, 0, 1)").run()),
      database.write(() => {
        database.prepare("INSERT INTO things VALUES ('c', 'undone', 0, 0, 1)").run();
        throw new Error('refused');
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(told).toBe(1);
    const other = new Database(file, { readonly: true });
    try {
      expect(other.prepare('SELECT id FROM things ORDER BY id').all()).toEqual([{ id: 'a' }, { id: 'b' }]);
    } finally {
      other.close();
    }
  });
});

describe("the SQLite token store's cluster lock (one process: its own)", () => {
  it('a second lockCluster waits until the first is released; a release twice frees no one else', async () => {
    const store = new SqliteTokenStore(open());
    const first = await store.lockCluster();
    const holders: string[] = [];
    const second = store.lockCluster().then((lock) => (holders.push('second'), lock));
    const third = store.lockCluster().then((lock) => (holders.push('third'), lock));
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(holders).toEqual([]);
    await first.release();
    const secondLock = await second;
    await first.release();
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(holders).toEqual(['second']);
    await secondLock.release();
    await (await third).release();
    expect(holders).toEqual(['second', 'third']);
  });
});
