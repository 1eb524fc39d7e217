/**
 * The token store's side of seed files, on a real SQLite file: a file's tokens go in one
 * transaction (a serial already there undoes the whole batch), --replace puts new records in the
 * old ones' place, and an export marks its tokens, each with its audit record, in a file of the
 * older layout too (migration 3).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/processes.ts';
import { auditEntry } from '../store/audit.ts';
import { SqliteDatabase } from '../store/sqlite-database.ts';
import { SqliteTokenStore } from './store/sqlite-token-store.ts';
import { DuplicateSerialError, type NewToken } from './store/types.ts';

const T0 = 1_800_000_000_000;
let dir: string;
let database: SqliteDatabase;
let store: SqliteTokenStore;

const token = (serial: string, counter = 0): NewToken => ({
  serial,
  kind: 'hotp',
  algorithm: 'sha1',
  digits: 6,
  period: 0,
  counter,
  lastStep: -1,
  driftSteps: 0,
  state: 'active',
  failCount: 0,
  owner: null,
  sealedSeed: new Uint8Array([1, 2, 3]),
});
const audit = (serial: string, action = 'import') => auditEntry({ name: 'admin-test' }, action, serial, 'ok', {}, T0, 'token');

beforeEach(() => {
  dir = tempDir('seed-transfer-store');
  database = SqliteDatabase.open(path.join(dir, 'tokens.db'));
  store = new SqliteTokenStore(database);
});

afterEach(async () => {
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('importTokens: the whole file in one transaction', () => {
  it('a serial already present in the middle of the batch undoes the tokens before it, and their audit records', async () => {
    await store.insertToken(token('B'), audit('B', 'enroll'));
    await expect(store.importTokens([token('A'), token('B', 7), token('C')], [audit('A'), audit('B'), audit('C')], { replace: false })).rejects.toBeInstanceOf(DuplicateSerialError);
    expect((await store.listTokens({})).map((t) => [t.serial, t.counter])).toEqual([['B', 0]]);
    expect(await store.listAudit({ action: 'import' })).toEqual([]);
    // Read back from the file, not the store's memory.
    await database.close();
    const raw = new Database(path.join(dir, 'tokens.db'), { readonly: true });
    expect(raw.prepare('SELECT serial FROM tokens ORDER BY serial').all()).toEqual([{ serial: 'B' }]);
    raw.close();
    database = SqliteDatabase.open(path.join(dir, 'tokens.db'));
    store = new SqliteTokenStore(database);
  });

  it('with replace, the file\'s record takes the old one\'s place (a fresh version, its own counter)', async () => {
    await store.insertToken(token('B', 3), audit('B', 'enroll'));
    await store.recordFailure('B', 10, () => audit('B', 'verify'));
    const [a, b] = await store.importTokens([token('A'), token('B', 9)], [audit('A'), audit('B')], { replace: true });
    expect([a!.serial, b!.serial, b!.counter, b!.failCount, b!.version, b!.exportedAt]).toEqual(['A', 'B', 9, 0, 1, null]);
    expect((await store.getToken('B'))!.counter).toBe(9);
  });
});

describe('markExported', () => {
  it('sets exportedAt on each token, moves its version (a racing compare-and-set fails), and writes each audit record', async () => {
    const before = await store.insertToken(token('A'), audit('A', 'enroll'));
    await store.markExported(['A'], T0 + 5, [audit('A', 'export')]);
    const after = (await store.getToken('A'))!;
    expect([after.exportedAt, after.version]).toEqual([T0 + 5, before.version + 1]);
    expect(await store.updateToken('A', before.version, { counter: 4 }, null)).toBe(false);
    expect((await store.listAudit({ action: 'export' })).map((e) => e.serial)).toEqual(['A']);
  });

  it('a file of the older layout gets the column (migration 3) and keeps its tokens', async () => {
    await store.insertToken(token('OLD'), audit('OLD', 'enroll'));
    await database.close();
    const raw = new Database(path.join(dir, 'tokens.db'));
    raw.exec("ALTER TABLE tokens DROP COLUMN exported_at; UPDATE meta SET value = '2' WHERE key = 'schema.tokens'");
    raw.close();
    database = SqliteDatabase.open(path.join(dir, 'tokens.db'));
    store = new SqliteTokenStore(database);
    expect((await store.getToken('OLD'))!.exportedAt).toBeNull();
    expect(await database.getMeta('schema.tokens')).toBe('3');
  });
});
