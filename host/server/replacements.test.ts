/**
 * A lost token's temporary replacement as a credential of its own kind: kept apart from the
 * tokens, counted toward its own lockout (also by a crowd of wrong tries at once), and converted
 * from the `password` token a server before this one kept it as, in a file that must keep working.
 * On real SQLite files, with a random master key and a clock the test moves.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/processes.ts';
import { sealVersion1 } from '../../test/support/legacy-seal.ts';
import type { Actor } from '../store/audit.ts';
import { SqliteDatabase } from '../store/sqlite-database.ts';
import { DEFAULT_POLICY } from './policy.ts';
import { SeedVault } from './seed-vault.ts';
import { SqliteTokenStore } from './store/sqlite-token-store.ts';
import { TokenService } from './token-service.ts';

const T0 = 1_800_000_000_000;
const admin: Actor = { name: 'admin-test' };
const client: Actor = { name: 'client-test' };

let dir: string;
let file: string;
let masterKey: Uint8Array;
let clock: number;
const databases: SqliteDatabase[] = [];

beforeEach(() => {
  dir = tempDir('replacements');
  file = path.join(dir, 'tokens.db');
  masterKey = new Uint8Array(randomBytes(32));
  clock = T0;
});

afterEach(async () => {
  for (const database of databases.splice(0)) await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(maxFail = DEFAULT_POLICY.maxFail): { service: TokenService; database: SqliteDatabase } {
  const database = SqliteDatabase.open(file);
  databases.push(database);
  const service = new TokenService(new SqliteTokenStore(database), new SeedVault(masterKey), { ...DEFAULT_POLICY, maxFail }, () => clock);
  return { service, database };
}

/** Reads the file with a connection of its own. */
function rawQuery<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

async function lostWithReplacement(service: TokenService, serial: string, owner: string): Promise<{ serial: string; password: string; validUntil: string }> {
  await service.enroll({ serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: new Uint8Array(randomBytes(20)), owner }, admin);
  return (await service.reportLost(serial, { replacement: true }, admin)).replacement!;
}

/** A 12-character password that is not `password`. */
const wrongOf = (password: string) => password.slice(1) + (password[0] === 'A' ? 'B' : 'A');

describe('a temporary replacement', () => {
  it('is no token: kept apart, by the lost token it replaces, with its password sealed and never in a token row', async () => {
    const { service } = open();
    const replacement = await lostWithReplacement(service, 'R1', 'anna');
    expect(rawQuery<{ serial: string }>('SELECT serial FROM tokens').map((row) => row.serial)).toEqual(['R1']);
    const rows = rawQuery<{ id: string; replaces: string; owner: string; sealed_password: Buffer }>('SELECT * FROM replacements');
    expect(rows.map(({ id, replaces, owner }) => ({ id, replaces, owner }))).toEqual([{ id: 'LOST-R1', replaces: 'R1', owner: 'anna' }]);
    expect(rows[0]!.sealed_password.includes(Buffer.from(replacement.password))).toBe(false);
    await expect(service.get('LOST-R1')).rejects.toMatchObject({ code: 'NV_UNKNOWN_SERIAL' });
    await expect(service.verify('LOST-R1', replacement.password, client)).rejects.toMatchObject({ code: 'NV_UNKNOWN_SERIAL' });
  });

  it('counts wrong passwords toward its own lockout: at maxFail it is locked, the right one refused, and a new one issued works', async () => {
    const { service } = open(3);
    const replacement = await lostWithReplacement(service, 'R2', 'bo');
    const wrong = wrongOf(replacement.password);
    expect(await service.verifyUser('bo', wrong, client)).toMatchObject({ result: 'rejected', reason: 'wrong_code', failCount: 1, locked: false });
    expect(await service.verifyReplacement('LOST-R2', wrong, client)).toMatchObject({ result: 'rejected', reason: 'wrong_code', failCount: 2, locked: false });
    const locking = await service.verifyReplacement('LOST-R2', wrong, client);
    expect(locking).toMatchObject({ result: 'rejected', reason: 'wrong_code', failCount: 3, locked: true });
    expect(locking.result === 'rejected' && locking.hint).toMatch(/POST \/v1\/tokens\/R2\/lost \{"replacement":true\}/);
    expect(await service.verifyReplacement('LOST-R2', replacement.password, client)).toMatchObject({ result: 'rejected', reason: 'locked', locked: true });
    expect((await service.replacementsOf('bo'))[0]).toMatchObject({ state: 'locked', failCount: 3 });

    const fresh = (await service.reportLost('R2', { replacement: true }, admin)).replacement!;
    expect(await service.verifyUser('bo', fresh.password, client)).toEqual({ result: 'accepted', serial: 'LOST-R2' });
  });

  it('a right password starts the count over', async () => {
    const { service } = open(3);
    const replacement = await lostWithReplacement(service, 'R3', 'cai');
    await service.verifyReplacement('LOST-R3', wrongOf(replacement.password), client);
    await service.verifyReplacement('LOST-R3', wrongOf(replacement.password), client);
    expect(await service.verifyReplacement('LOST-R3', replacement.password, client)).toEqual({ result: 'accepted', serial: 'LOST-R3' });
    expect((await service.replacementsOf('cai'))[0]!.failCount).toBe(0);
  });

  it('a crowd of wrong passwords at once locks it exactly at maxFail, and every one is answered', async () => {
    const { service } = open(5);
    const replacement = await lostWithReplacement(service, 'R4', 'dan');
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => service.verifyReplacement('LOST-R4', wrongOf(replacement.password), client)));
    expect(outcomes.every((o) => o.result === 'rejected')).toBe(true);
    expect(outcomes.filter((o) => o.result === 'rejected' && !o.locked)).toHaveLength(4);
    expect((await service.replacementsOf('dan'))[0]).toMatchObject({ state: 'locked' });
  });

  it('ends with its person: revoking every replacement of an owner refuses them after', async () => {
    const { service } = open();
    const replacement = await lostWithReplacement(service, 'R5', 'eva');
    await service.revokeReplacementsOf('eva', admin);
    expect((await service.replacementsOf('eva'))[0]!.state).toBe('revoked');
    await expect(service.verifyUser('eva', replacement.password, client)).rejects.toMatchObject({ code: 'NV_UNKNOWN_USER' });
    expect(await service.verifyReplacement('LOST-R5', replacement.password, client)).toMatchObject({ result: 'rejected', reason: 'revoked' });
  });
});

describe('a file from before replacements had a kind of their own', () => {
  /**
   * The layout a server of schema version 3 wrote: the lost token, and its temporary password as
   * a token of kind `password` (12 "digits", the password sealed as its seed under its serial).
   */
  function writeVersion3File(password: string, state = 'active'): void {
    const db = new Database(file);
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE tokens (serial TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('hotp', 'totp', 'password')), algorithm TEXT NOT NULL,
        digits INTEGER NOT NULL, period INTEGER NOT NULL, counter INTEGER NOT NULL, last_step INTEGER NOT NULL, drift_steps INTEGER NOT NULL,
        state TEXT NOT NULL, fail_count INTEGER NOT NULL, owner TEXT, sealed_seed BLOB NOT NULL, replaces TEXT, valid_until INTEGER,
        pending_counter INTEGER, pending_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_used_at INTEGER,
        version INTEGER NOT NULL) STRICT;
      CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        serial TEXT, result TEXT NOT NULL, detail TEXT NOT NULL, subject_kind TEXT) STRICT;
      CREATE TABLE api_keys (id TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL) STRICT;
      INSERT INTO meta VALUES ('schema_version', '3');
    `);
    const insert = db.prepare('INSERT INTO tokens VALUES (?, ?, ?, ?, 0, ?, -1, 0, ?, ?, ?, ?, ?, ?, NULL, NULL, 1, 2, NULL, ?)');
    insert.run('OLD-1', 'hotp', 'sha1', 6, 7, 'lost', 0, '1234567890', Buffer.from(sealVersion1(masterKey, 'OLD-1', randomBytes(20))), null, null, 3);
    insert.run('LOST-OLD-1', 'password', 'sha1', 12, 0, state, 2, '1234567890', Buffer.from(sealVersion1(masterKey, 'LOST-OLD-1', Buffer.from(password, 'ascii'))), 'OLD-1', T0 + 86_400_000, 4);
    db.close();
  }

  it('turns its password token into the lost token’s replacement, which keeps verifying for its owner, fail count and all', async () => {
    const password = 'AbCdEfGh2345';
    writeVersion3File(password);
    const { service } = open();
    expect(await service.replacementsOf('1234567890')).toEqual([
      { serial: 'LOST-OLD-1', replaces: 'OLD-1', owner: '1234567890', state: 'active', failCount: 2, validUntil: new Date(T0 + 86_400_000).toISOString() },
    ]);
    expect(await service.verifyUser('1234567890', password, client)).toEqual({ result: 'accepted', serial: 'LOST-OLD-1' });
    expect((await service.get('OLD-1')).state).toBe('lost');
    expect((await service.list({})).map((t) => t.serial)).toEqual(['OLD-1']);
    // The tokens table takes no password token any more.
    expect(() => {
      const db = new Database(file);
      try {
        db.prepare("UPDATE tokens SET kind = 'password' WHERE serial = 'OLD-1'").run();
      } finally {
        db.close();
      }
    }).toThrow(/CHECK constraint failed/);
  });

  it('a password token an administrator had disabled becomes a revoked replacement, which verifies no more', async () => {
    writeVersion3File('AbCdEfGh2345', 'disabled');
    const { service } = open();
    expect((await service.replacementsOf('1234567890'))[0]!.state).toBe('revoked');
    expect(await service.verifyReplacement('LOST-OLD-1', 'AbCdEfGh2345', client)).toMatchObject({ result: 'rejected', reason: 'revoked' });
  });
});
