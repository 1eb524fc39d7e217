/**
 * The re-seal (reseal.ts) on a real SQLite file and a real throwaway PostgreSQL database: a store
 * made by a host (a token, a lost token's replacement, a person with a code card, their letters, a
 * site, the provider's keys and secrets, a provider session), every sealed value then put back as
 * an older version sealed it (version 1, test/support/legacy-seal.ts); re-sealed by a node's start
 * or by `store reseal`, and everything used again on a node that reads version 2 only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealVersion1 } from '../../../test/support/legacy-seal.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../../../test/support/postgres.ts';
import { tempDir } from '../../../test/support/processes.ts';
import { recordKey } from '../../service/oidc/sealed-records.ts';
import { SeedVault, sealedVersion } from '../../server/seed-vault.ts';
import { resealDatabase, startHost, type RunningHost } from '../../start.ts';
import { SqliteDatabase } from '../sqlite-database.ts';
import { SqliteTokenStore } from '../../server/store/sqlite-token-store.ts';
import { PostgresDatabase } from '../postgres/postgres-database.ts';
import { resealStore, VERSION_1_META } from './reseal.ts';
import { SEALED_COLUMNS, type SealedColumn, type SealedKind } from './sealed-columns.ts';
import { blobOf, stored, type SealedRows } from './sealed-rows.ts';
import { SqliteSealedRows } from './sqlite-sealed-rows.ts';
import { PostgresSealedRows } from './postgres-sealed-rows.ts';

reportMissingPostgres();

const MASTER_KEY = randomBytes(32);
const env = { NOEGLEVISER_MASTER_KEY: MASTER_KEY.toString('hex') };
const vault = new SeedVault(MASTER_KEY);
const SEED = Buffer.from('12345678901234567890', 'ascii');
const admin = { name: 'admin-test' };
const SESSION_ID = 'session-of-the-test';

/** The name each kind's caller sealed its version-1 blobs under (as seed-vault.ts's LEGACY_NAMES reads them). */
const LEGACY_NAME: Record<SealedKind, (key: string[]) => string> = {
  seed: ([serial]) => serial!,
  'replacement-password': ([id]) => id!,
  'card-secret': ([serial]) => `card:${serial}`,
  'letter-body': ([n]) => `letter:${n}`,
  'letter-file': ([n, file]) => `letter:${n}:${file}`,
  'oidc-signing-key': ([kid]) => `oidc:signing-key:${kid}`,
  'oidc-secret': ([name]) => `oidc:secret:${name}`,
  'oidc-client-secret': ([id]) => `oidc:client-secret:${id}`,
  'oidc-record': ([model, key]) => `oidc:${model}:${key}`,
};

/** Plain SQL on the store, `?` placeholders on both. */
interface Raw {
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  run(sql: string, ...params: unknown[]): Promise<void>;
}

interface Store {
  readonly options: { dbFile: string; dataDir?: string };
  readonly raw: Raw;
  /** The re-seal's rows on a connection of the test's own. */
  rows(): Promise<{ rows: SealedRows; close(): Promise<void> }>;
}

interface Made {
  readonly personWithToken: string;
  readonly replacementPassword: string;
  readonly cardSerial: string;
  readonly letters: readonly string[];
  readonly siteId: string;
  readonly clientSecret: string;
}

const kinds = ['sqlite', ...(postgres.available ? ['postgres'] : [])] as const;

describe.each(kinds)('the re-seal on %s', (kind) => {
  let primary: PostgresNode | undefined;
  const dir = tempDir('reseal');

  beforeAll(async () => {
    if (kind === 'postgres') primary = await PostgresNode.startPrimary({ name: 'reseal' });
  }, 120_000);
  afterAll(async () => {
    await primary?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function newStore(): Promise<Store> {
    const own = fs.mkdtempSync(path.join(dir, 's-'));
    if (kind === 'sqlite') {
      const dbFile = path.join(own, 'tokens.db');
      const use = <T>(fn: (db: Database.Database) => T) => {
        const db = new Database(dbFile);
        try {
          return fn(db);
        } finally {
          db.close();
        }
      };
      return {
        options: { dbFile },
        raw: {
          all: async <T,>(sql: string, ...params: unknown[]) => use((db) => db.prepare(sql).all(...params) as T[]),
          run: async (sql, ...params) => void use((db) => db.prepare(sql).run(...params)),
        },
        rows: async () => {
          const database = SqliteDatabase.open(dbFile);
          return { rows: new SqliteSealedRows(database), close: () => database.close() };
        },
      };
    }
    const made = await primary!.createDatabase();
    const url = connectionUrl(made, [primary!]);
    const numbered = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    return {
      options: { dbFile: url, dataDir: own },
      raw: {
        all: async <T,>(sql: string, ...params: unknown[]) => (await primary!.query(numbered(sql), params, made.name)) as T[],
        run: async (sql, ...params) => void (await primary!.query(numbered(sql), params, made.name)),
      },
      rows: async () => {
        const database = await PostgresDatabase.open(url);
        return { rows: new PostgresSealedRows(database), close: () => database.close() };
      },
    };
  }

  const start = (store: Store) => startHost({ ...store.options, env, port: 0, secureCookies: false });

  /** A store with a record of every sealed kind, made by a host, as version 2. */
  async function populate(store: Store): Promise<Made> {
    const host = await start(store);
    try {
      await host.tokens.enroll({ serial: 'T-1', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: SEED }, admin);
      await host.tokens.enroll({ serial: 'T-2', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: randomBytes(20) }, admin);
      const withToken = await host.service.people.order({ name: 'Tove Holm', birthDate: '1980-02-02', credential: { kind: 'token', serial: 'T-2' } }, admin);
      const lost = await host.tokens.reportLost('T-2', { replacement: true }, admin);
      const withCard = await host.service.people.order({ name: 'Karen Berg', birthDate: '1970-03-03', credential: { kind: 'card' } }, admin);
      const [card] = await host.service.cards.ofPerson(withCard.person.id);
      const { site, clientSecret } = await host.oidc.sites.add({ name: 'Test site', redirectUris: ['https://site.example/cb'] }, admin);
      return {
        personWithToken: withToken.person.id,
        replacementPassword: lost.replacement!.password,
        cardSerial: card!.serial,
        letters: [withToken.letterId, withCard.letterId],
        siteId: site.clientId,
        clientSecret,
      };
    } finally {
      await host.close();
    }
  }

  /** Every sealed value put back as version 1 (under the name its kind used then), a provider session among them, and the store's mark removed. */
  async function downgrade(store: Store, made: Made): Promise<void> {
    const session = { accountId: made.personWithToken, loginTs: Math.floor(Date.now() / 1000), authorizations: { [made.siteId]: {} }, jti: SESSION_ID, kind: 'Session' };
    const key = recordKey('Session', SESSION_ID);
    await store.raw.run('INSERT INTO oidc_models (model, id, payload, expires_at) VALUES (?, ?, ?, ?)', 'Session', key, 'placeholder', Math.floor(Date.now() / 1000) + 3600);
    const sealedSession = vault.seal('oidc-record', ['Session', key], Buffer.from(JSON.stringify(session)));
    await store.raw.run('UPDATE oidc_models SET payload = ? WHERE model = ? AND id = ?', Buffer.from(sealedSession).toString('base64'), 'Session', key);
    for (const column of SEALED_COLUMNS) {
      for (const row of await rowsOf(store, column)) {
        const secret = vault.open(column.purpose, column.name(row.key), row.blob);
        const old = sealVersion1(MASTER_KEY, LEGACY_NAME[column.kind](row.key), secret);
        await store.raw.run(`UPDATE ${column.table} SET ${column.column} = ? WHERE ${column.keys.map((k) => `${k} = ?`).join(' AND ')}`, stored(column, old), ...row.key);
      }
    }
    await store.raw.run('DELETE FROM meta WHERE key = ?', VERSION_1_META);
  }

  async function rowsOf(store: Store, column: SealedColumn): Promise<{ key: string[]; blob: Uint8Array }[]> {
    const rows = await store.raw.all<Record<string, unknown>>(`SELECT ${column.keys.join(', ')}, ${column.column} AS sealed FROM ${column.table} ORDER BY ${column.keys.join(', ')}`);
    return rows.map((row) => ({ key: column.keys.map((k) => String(row[k])), blob: blobOf(column, row.sealed as Buffer | string) }));
  }

  /** Each kind's blobs by version: { seed: [2, 2], … }. */
  async function versions(store: Store): Promise<Record<string, (number | undefined)[]>> {
    const found: Record<string, (number | undefined)[]> = {};
    for (const column of SEALED_COLUMNS) found[column.kind] = (await rowsOf(store, column)).map((row) => sealedVersion(row.blob));
    return found;
  }

  const allOf = (found: Record<string, (number | undefined)[]>, version: number) => Object.values(found).every((list) => list.length > 0 && list.every((v) => v === version));

  /** Everything sealed, used on a host whose vault reads version 2 only. */
  async function everythingWorks(host: RunningHost, made: Made): Promise<void> {
    expect(await host.tokens.verify('T-1', '755224', admin)).toMatchObject({ result: 'accepted' });
    expect(await host.tokens.verifyUser(made.personWithToken, made.replacementPassword, admin)).toMatchObject({ result: 'accepted' });
    const card = await host.service.cards.get(made.cardSerial);
    expect(host.service.cards.pairsOf(card!)).toHaveLength(148);
    for (const letter of made.letters) {
      const { summary } = await host.service.outbox.open(letter);
      for (const file of summary.attachments) expect((await host.service.outbox.attachment(letter, file.name)).bytes.length).toBeGreaterThan(0);
    }
    expect(host.oidc.signingKid()).toBeDefined();
    expect(await host.oidc.sessionsOf(made.personWithToken)).toEqual([expect.objectContaining({ clientIds: [made.siteId] })]);
    const client = await host.oidc.sites.get(made.siteId);
    expect(Buffer.from(vault.withoutVersion1().open('oidc-client-secret', made.siteId, client!.sealedSecret)).toString('utf8')).toBe(made.clientSecret);
  }

  it('a node’s start re-seals every version-1 value of every kind as version 2, marks the store, audits the counts, and everything works on version 2 alone', async () => {
    const store = await newStore();
    const made = await populate(store);
    await downgrade(store, made);
    const before = await versions(store);
    expect(allOf(before, 1)).toBe(true);
    const host = await start(store);
    try {
      expect(host.warnings).toEqual([]);
      expect(allOf(await versions(store), 2)).toBe(true);
      expect(await store.raw.all('SELECT value FROM meta WHERE key = ?', VERSION_1_META)).toEqual([{ value: 'none' }]);
      const [audit] = await host.tokens.audit({ action: 'store.reseal', order: 'desc', limit: 1 });
      const counts = Object.fromEntries(Object.entries(before).map(([k, list]) => [k, list.length]));
      expect(audit).toMatchObject({ actor: 'system', result: 'ok', detail: { ...counts, resealed: Object.values(counts).reduce((a, b) => a + b, 0), unreadable: 0 } });
      expect(JSON.stringify(audit)).not.toContain(made.replacementPassword);
      await everythingWorks(host, made);
    } finally {
      await host.close();
    }
    // A second run finds nothing to do.
    const again = await resealDatabase({ ...store.options, env });
    expect(again).toMatchObject({ resealed: 0, unreadable: [], marked: true });
  });

  it('a new store’s first start marks it as holding no version 1 and writes no audit record for a re-seal that found nothing', async () => {
    const store = await newStore();
    await populate(store);
    expect(await store.raw.all('SELECT value FROM meta WHERE key = ?', VERSION_1_META)).toEqual([{ value: 'none' }]);
    expect(await store.raw.all("SELECT id FROM audit WHERE action = 'store.reseal'")).toEqual([]);
    // The operator's own run that finds nothing is still on record.
    expect(await resealDatabase({ ...store.options, env })).toMatchObject({ resealed: 0, unreadable: [], marked: true });
    expect(await store.raw.all("SELECT id FROM audit WHERE action = 'store.reseal'")).toHaveLength(1);
  });

  it('`store reseal` says how many of each kind it re-sealed; a dry run says it and writes nothing', async () => {
    const store = await newStore();
    const made = await populate(store);
    await downgrade(store, made);
    const snapshot = async (): Promise<Record<string, string[]>> => Object.fromEntries(await Promise.all(SEALED_COLUMNS.map(async (c) => [c.kind, (await rowsOf(store, c)).map((r) => Buffer.from(r.blob).toString('hex'))])));
    const before = await snapshot();
    const auditsBefore = await store.raw.all('SELECT id FROM audit');
    const dry = await resealDatabase({ ...store.options, env, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(Object.fromEntries(dry.kinds.map((k) => [k.kind, k.resealed]))).toEqual(Object.fromEntries(Object.entries(before).map(([k, list]) => [k, list.length])));
    expect(await snapshot()).toEqual(before);
    expect(await store.raw.all('SELECT value FROM meta WHERE key = ?', VERSION_1_META)).toEqual([]);
    expect(await store.raw.all('SELECT id FROM audit')).toEqual(auditsBefore);
    const done = await resealDatabase({ ...store.options, env });
    expect(done.resealed).toBe(dry.resealed);
    expect(done.marked).toBe(true);
    expect(allOf(await versions(store), 2)).toBe(true);
    const host = await start(store);
    try {
      await everythingWorks(host, made);
    } finally {
      await host.close();
    }
  });

  it('a version-1 value that does not open is reported by kind and row id, never its content, and left as it is; the rest are re-sealed', async () => {
    const store = await newStore();
    const made = await populate(store);
    await downgrade(store, made);
    // A letter's body changed by one byte, and a token whose serial spells a card's old name.
    const [letter] = await rowsOf(store, SEALED_COLUMNS.find((c) => c.kind === 'letter-body')!);
    const broken = Buffer.from(letter!.blob);
    broken[broken.length - 1]! ^= 1;
    await store.raw.run('UPDATE outbox_letters SET sealed_html = ? WHERE id = ?', broken, Number(letter!.key[0]));
    const ambiguous = Buffer.from(sealVersion1(MASTER_KEY, `card:${made.cardSerial}`, SEED));
    await store.raw.run(
      "INSERT INTO tokens (serial, kind, algorithm, digits, period, counter, last_step, drift_steps, state, fail_count, sealed_seed, created_at, updated_at, version) VALUES (?, 'hotp', 'sha1', 6, 30, 0, -1, 0, 'active', 0, ?, 0, 0, 1)",
      `card:${made.cardSerial}`,
      ambiguous,
    );
    const host = await start(store);
    try {
      expect(host.warnings).toEqual([expect.objectContaining({ code: 'NV_RESEAL_UNREADABLE' })]);
      expect(host.warnings[0]!.message).toContain(`letter-body ${letter!.key[0]} (does-not-open)`);
      expect(host.warnings[0]!.message).toContain(`seed card:${made.cardSerial} (ambiguous-version-1)`);
      expect(host.warnings[0]!.message).not.toContain(broken.toString('hex').slice(0, 16));
    } finally {
      await host.close();
    }
    const report = await resealDatabase({ ...store.options, env });
    expect(report.unreadable).toEqual([
      { kind: 'seed', id: `card:${made.cardSerial}`, reason: 'ambiguous-version-1' },
      { kind: 'letter-body', id: String(letter!.key[0]), reason: 'does-not-open' },
    ]);
    expect(report.resealed).toBe(0);
    const left = await store.raw.all<{ sealed_html: Buffer }>('SELECT sealed_html FROM outbox_letters WHERE id = ?', Number(letter!.key[0]));
    expect(Buffer.from(left[0]!.sealed_html)).toEqual(broken);
    const seed = await store.raw.all<{ sealed_seed: Buffer }>('SELECT sealed_seed FROM tokens WHERE serial = ?', `card:${made.cardSerial}`);
    expect(Buffer.from(seed[0]!.sealed_seed)).toEqual(ambiguous);
    const found = await versions(store);
    expect(found.seed!.filter((v) => v === 1)).toHaveLength(1);
    expect(found['letter-body']!.filter((v) => v === 1)).toHaveLength(1);
    expect(found['card-secret']!.every((v) => v === 2)).toBe(true);
  });

  it('a row written meanwhile keeps what its writer wrote', async () => {
    const store = await newStore();
    const made = await populate(store);
    await downgrade(store, made);
    const seeds = SEALED_COLUMNS.find((c) => c.kind === 'seed')!;
    const fresh = vault.seal('seed', 'T-1', randomBytes(20));
    const { rows, close } = await store.rows();
    try {
      // Between the re-seal's read and its write, a node re-enrols T-1.
      const racing: SealedRows = {
        version1Page: (column, after, limit) => rows.version1Page(column, after, limit),
        current: (column, key) => rows.current(column, key),
        replace: async (column, replacements) => {
          if (column.kind === 'seed') await store.raw.run('UPDATE tokens SET sealed_seed = ? WHERE serial = ?', Buffer.from(fresh), 'T-1');
          return rows.replace(column, replacements);
        },
      };
      const report = await resealStore(racing, vault, { columns: [seeds] });
      expect(report.kinds).toEqual([{ kind: 'seed', resealed: 1, changedMeanwhile: 1, unreadable: 0 }]);
      expect(report.version1Left).toBe(false);
    } finally {
      await close();
    }
    const t1 = await store.raw.all<{ sealed_seed: Buffer }>('SELECT sealed_seed FROM tokens WHERE serial = ?', 'T-1');
    expect(Buffer.from(t1[0]!.sealed_seed)).toEqual(Buffer.from(fresh));
    expect((await versions(store)).seed).toEqual([2, 2]);
  });

  it('a node on a marked store reads version 2 only: a version-1 row put back (from an older copy) is refused until `store reseal` re-seals it', async () => {
    const store = await newStore();
    await populate(store);
    const putBack = Buffer.from(sealVersion1(MASTER_KEY, 'T-1', SEED));
    await store.raw.run('UPDATE tokens SET sealed_seed = ? WHERE serial = ?', putBack, 'T-1');
    let host = await start(store);
    try {
      await expect(host.tokens.verify('T-1', '755224', admin)).rejects.toThrow(/version 1/);
    } finally {
      await host.close();
    }
    expect(await resealDatabase({ ...store.options, env })).toMatchObject({ resealed: 1, marked: true });
    host = await start(store);
    try {
      expect(await host.tokens.verify('T-1', '755224', admin)).toMatchObject({ result: 'accepted' });
    } finally {
      await host.close();
    }
  });

  it.runIf(kind === 'sqlite')('on SQLite, the token store forgets the records it kept of rows the re-seal changed', async () => {
    const store = await newStore();
    const made = await populate(store);
    await downgrade(store, made);
    const database = SqliteDatabase.open(store.options.dbFile);
    try {
      const tokens = new SqliteTokenStore(database);
      expect(sealedVersion((await tokens.getToken('T-1'))!.sealedSeed)).toBe(1);
      await resealStore(new SqliteSealedRows(database), vault, { columns: SEALED_COLUMNS.filter((c) => c.kind === 'seed') });
      expect(sealedVersion((await tokens.getToken('T-1'))!.sealedSeed)).toBe(2);
    } finally {
      await database.close();
    }
  });

  it('pages through more rows than one batch holds, with composite keys', async () => {
    const store = await newStore();
    const made = await populate(store);
    await downgrade(store, made);
    const { rows, close } = await store.rows();
    try {
      const report = await resealStore(rows, vault, { batch: 1 });
      expect(report.unreadable).toEqual([]);
    } finally {
      await close();
    }
    expect(allOf(await versions(store), 2)).toBe(true);
  });
});
