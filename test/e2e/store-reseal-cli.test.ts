/**
 * `noegleviser store reseal` as an operator runs it, as a separate process on a real SQLite file:
 * a store made by a host, its seeds then put back as an older version sealed them (version 1);
 * the dry run counts and writes nothing, the run re-seals and marks the store, a second run finds
 * nothing, a value that does not open is one coded line and exit 1, and a bad --db is a usage error.
 * No seed in any output.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealVersion1 } from '../support/legacy-seal.ts';
import { cli, tempDir } from '../support/processes.ts';
import { startHost } from '../../host/start.ts';
import { VERSION_1_META } from '../../host/store/reseal/reseal.ts';

const MASTER_KEY = randomBytes(32);
const env = { NOEGLEVISER_MASTER_KEY: MASTER_KEY.toString('hex') };
const SEEDS = { 'R-1': randomBytes(20), 'R-2': randomBytes(20) } as const;
const admin = { name: 'admin-test' };

interface ResealJson {
  readonly dryRun: boolean;
  readonly resealed: number;
  readonly marked: boolean;
  readonly kinds: { kind: string; resealed: number; changedMeanwhile: number; unreadable: number }[];
  readonly unreadable: unknown[];
}

describe('store reseal, the command', () => {
  const dir = tempDir('reseal-cli');
  const dbFile = path.join(dir, 'tokens.db');
  const sealed = (serial: string): Buffer => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return (db.prepare('SELECT sealed_seed FROM tokens WHERE serial = ?').get(serial) as { sealed_seed: Buffer }).sealed_seed;
    } finally {
      db.close();
    }
  };
  const write = (sql: string, ...params: unknown[]) => {
    const db = new Database(dbFile);
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  };
  const reseal = (...args: string[]) => cli(['store', 'reseal', '--db', dbFile, ...args], { env, timeoutMs: 60_000 });
  const noSeedIn = (text: string) => {
    for (const seed of Object.values(SEEDS)) {
      expect(text).not.toContain(seed.toString('hex'));
      expect(text).not.toContain(seed.toString('base64'));
    }
  };

  beforeAll(async () => {
    const host = await startHost({ dbFile, env, port: 0 });
    try {
      for (const [serial, seed] of Object.entries(SEEDS)) await host.tokens.enroll({ serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed }, admin);
    } finally {
      await host.close();
    }
    // As a store from before purposes were bound: both seeds version 1, and no mark.
    for (const [serial, seed] of Object.entries(SEEDS)) write('UPDATE tokens SET sealed_seed = ? WHERE serial = ?', Buffer.from(sealVersion1(MASTER_KEY, serial, seed)), serial);
    write('DELETE FROM meta WHERE key = ?', VERSION_1_META);
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the dry run counts the version-1 seeds and writes nothing; the run re-seals them and marks the store; a second run finds nothing', async () => {
    const before = sealed('R-1');
    const dry = await reseal('--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const dryReport = JSON.parse(dry.stdout) as ResealJson;
    expect(dryReport).toMatchObject({ dryRun: true, resealed: 2, marked: false, unreadable: [] });
    expect(dryReport.kinds.find((kind) => kind.kind === 'seed')).toMatchObject({ resealed: 2, unreadable: 0 });
    expect(sealed('R-1').equals(before)).toBe(true);
    expect(sealed('R-1')[0]).toBe(1);

    const run = await reseal();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/re-sealed 2 value\(s\) of version 1 as version 2/);
    expect(run.stdout).toMatch(/marked as holding no version-1 value/);
    expect(sealed('R-1')[0]).toBe(2);
    expect(sealed('R-2')[0]).toBe(2);
    noSeedIn(dry.stdout + dry.stderr + run.stdout + run.stderr);

    const again = await reseal('--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ dryRun: false, resealed: 0, marked: true });
  });

  it('a value that does not open: one coded line on stderr, exit 1, the row left as it was', async () => {
    const tampered = Buffer.from(sealVersion1(MASTER_KEY, 'R-2', SEEDS['R-2']));
    tampered[tampered.length - 1]! ^= 0xff;
    write('UPDATE tokens SET sealed_seed = ? WHERE serial = ?', tampered, 'R-2');
    const result = await reseal();
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^noegleviser: .*R-2.* \[NV_RESEAL_UNREADABLE\]$/);
    expect(sealed('R-2').equals(tampered)).toBe(true);
    noSeedIn(result.stdout + result.stderr);
  });

  it('another master key, on a store from before key checks were kept: refused as a start refuses it, and the store not marked', async () => {
    for (const [serial, seed] of Object.entries(SEEDS)) write('UPDATE tokens SET sealed_seed = ? WHERE serial = ?', Buffer.from(sealVersion1(MASTER_KEY, serial, seed)), serial);
    write('DELETE FROM meta WHERE key IN (?, ?)', VERSION_1_META, 'master_key_check');
    const result = await cli(['store', 'reseal', '--db', dbFile], { env: { NOEGLEVISER_MASTER_KEY: randomBytes(32).toString('hex') }, timeoutMs: 60_000 });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^noegleviser: .+ \[NV_MASTER_KEY_MISMATCH\]\n$/);
    const db = new Database(dbFile, { readonly: true });
    try {
      expect(db.prepare('SELECT value FROM meta WHERE key = ?').get(VERSION_1_META)).toBeUndefined();
    } finally {
      db.close();
    }
    expect(sealed('R-1')[0]).toBe(1);
    // The right key re-seals them.
    expect((await reseal()).code).toBe(0);
    expect(sealed('R-1')[0]).toBe(2);
  });

  it('a --db that is neither a file nor a postgres:// URL: NV_BAD_DB, exit 2, nothing made', async () => {
    const result = await cli(['store', 'reseal', '--db', 'mysql://nobody@localhost/x'], { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^noegleviser: .+ \[NV_BAD_DB\]\n$/);
  });
});
