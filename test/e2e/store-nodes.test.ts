/**
 * What the nodes of a cluster share and settle once between them, with separate `noegleviser`
 * processes: `store migrate` (two at once on a fresh database), the one master key (a node whose
 * key does not open the store's seeds refuses to start and writes nothing), and the API keys made
 * once for the cluster. The master key's check is shown on both stores, SQLite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceHotp } from '../support/oath-reference.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { api, cli, spawnUntilReady, startServerProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type CliResult, type ServerProcess } from '../support/processes.ts';

reportMissingPostgres();

function expectOneLineError(result: CliResult, code: string, exitCode: number): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
}

/** The owners' schema versions a database keeps (`schema.<owner>` in meta). */
type Schema = Record<string, number>;

interface MigrateReport {
  readonly db: string;
  readonly applied: { owner: string; from: number; to: number }[];
  readonly schema: { owner: string; version: number }[];
}

async function migrate(db: string, dataDir: string): Promise<MigrateReport> {
  const result = await cli(['store', 'migrate', '--db', db, '--data-dir', dataDir, '--json'], { timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as MigrateReport;
}

/** One of the stores, as a test sees it: where a node's --db points, and every row it keeps. */
interface StoreUnderTest {
  /** What --db names. */
  readonly db: string;
  /** The `--db` (and `--data-dir`) arguments of a node keeping its own things in `nodeDir`. */
  args(nodeDir: string): string[];
  /** Every row of the tables a start could write, as text: two equal dumps mean nothing was written. */
  dump(): Promise<string>;
  /** Forgets the master key's check, as a store from before checks were kept has none. */
  dropKeyCheck(): Promise<void>;
  schema(): Promise<Schema>;
}

const TABLES = ['meta', 'api_keys', 'tokens', 'audit'];

async function postgresStore(primary: PostgresNode): Promise<StoreUnderTest> {
  const database = await primary.createDatabase();
  const url = connectionUrl(database, [primary]);
  const rows = async (sql: string) => primary.query(sql, [], database.name);
  return {
    db: url,
    args: (nodeDir) => ['--db', url, '--data-dir', nodeDir],
    dump: async () => JSON.stringify(await Promise.all(TABLES.map((table) => rows(`SELECT * FROM ${table} ORDER BY 1`)))),
    dropKeyCheck: async () => void (await rows("DELETE FROM meta WHERE key = 'master_key_check'")),
    schema: async () => Object.fromEntries((await rows("SELECT key, value FROM meta WHERE key LIKE 'schema.%'")).map((row) => [row.key.slice('schema.'.length), Number(row.value)])),
  };
}

function sqliteStore(file: string): StoreUnderTest {
  const withFile = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    db: file,
    args: () => ['--db', file],
    dump: async () => withFile((db) => JSON.stringify(TABLES.map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all()))),
    dropKeyCheck: async () => withFile((db) => void db.prepare("DELETE FROM meta WHERE key = 'master_key_check'").run()),
    schema: async () => withFile((db) => Object.fromEntries(db.prepare<[], { key: string; value: string }>("SELECT key, value FROM meta WHERE key LIKE 'schema.%'").all().map((row) => [row.key.slice('schema.'.length), Number(row.value)]))),
  };
}

const newKey = () => randomBytes(32).toString('hex');

describe.skipIf(!postgres.available)('store migrate', () => {
  let primary: PostgresNode;
  const dir = tempDir('store-migrate');

  beforeAll(async () => {
    primary = await PostgresNode.startPrimary();
  }, 120_000);

  it('two `store migrate` started together on a fresh database both succeed, each step applied once between them; the schema is the newest; servers then start without migrating again', async () => {
    const store = await postgresStore(primary);
    const db = store.db;
    const reports = await Promise.all([migrate(db, path.join(dir, 'a')), migrate(db, path.join(dir, 'b'))]);
    const schema = await store.schema();
    expect(Object.keys(schema)).toEqual(expect.arrayContaining(['core', 'tokens', 'service']));
    for (const [owner, version] of Object.entries(schema)) {
      // Both name the version kept; exactly one of them applied it, from nothing.
      for (const report of reports) expect(report.schema).toContainEqual({ owner, version });
      expect(reports.flatMap((report) => report.applied.filter((step) => step.owner === owner))).toEqual([{ owner, from: 0, to: version }]);
    }
    expect(version(schema, 'tokens')).toBeGreaterThanOrEqual(2);

    const before = await store.dump();
    const again = await migrate(db, path.join(dir, 'a'));
    expect(again.applied.filter((step) => step.owner in schema)).toEqual([]);
    const human = await cli(['store', 'migrate', ...store.args(path.join(dir, 'a'))], { timeoutMs: 60_000 });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('nothing to do');

    // Two nodes started together on the migrated database: neither migrates again.
    const masterKey = newKey();
    const servers = await Promise.all(['c', 'd'].map((name) => startServerProcess({ dbFile: path.join(dir, name, 'tokens.db'), postgresUrl: db, args: ['--quiet'], env: { NOEGLEVISER_MASTER_KEY: masterKey }, readyTimeoutMs: 60_000 })));
    await Promise.all(servers.map((server) => server.stop()));
    const schemaRows = (dump: string) => (JSON.parse(dump)[0] as { key: string; value: string }[]).filter((row) => row.key.startsWith('schema.'));
    expect(schemaRows(await store.dump())).toEqual(schemaRows(before));
    expect(await store.schema()).toEqual(schema);
  });

  it('a --db that names no database it can use: one coded line, exit 2; nothing made', async () => {
    const place = tempDir('migrate-bad');
    for (const db of ['mysql://root:s3cret-pw@db.example/tokens', 'postgres://nv:s3cret-pw@127.0.0.1:notaport/tokens', place]) {
      const result = await cli(['store', 'migrate', '--db', db, '--data-dir', path.join(place, 'node')]);
      expectOneLineError(result, 'NV_BAD_DB', 2);
      expect(result.stderr).not.toContain('s3cret-pw');
    }
    expect(fs.readdirSync(place)).toEqual([]);
  });

  it('on SQLite: the file made and migrated, then nothing to do', async () => {
    const file = path.join(tempDir('migrate-sqlite'), 'tokens.db');
    const first = await migrate(file, path.dirname(file));
    expect(first.applied.map((step) => step.owner)).toEqual(expect.arrayContaining(['core', 'tokens', 'service']));
    const schema = await sqliteStore(file).schema();
    for (const { owner, version: kept } of first.schema) expect(schema[owner]).toBe(kept);
    expect((await migrate(file, path.dirname(file))).applied).toEqual([]);
  });
});

function version(schema: Schema, owner: string): number {
  return schema[owner] ?? 0;
}

describe.each([
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgres'],
] as const)('one master key for every node, on %s', (_name, kind) => {
  let primary: PostgresNode | undefined;
  const dir = tempDir(`master-${kind}`);
  let n = 0;

  beforeAll(async () => {
    if (kind === 'postgres' && postgres.available) primary = await PostgresNode.startPrimary({ name: 'master' });
  }, 120_000);

  /** A fresh store, with a first node started on it (its key given) and a token enrolled through it, then stopped. */
  async function storeWithASeed(): Promise<{ store: StoreUnderTest; key: string; seed: Buffer }> {
    const base = path.join(dir, `store-${n++}`);
    const store = kind === 'sqlite' ? sqliteStore(path.join(base, 'tokens.db')) : await postgresStore(primary!);
    const key = newKey();
    const first = await startNode(store, path.join(base, 'node-1'), { NOEGLEVISER_MASTER_KEY: key });
    const seed = randomBytes(20);
    try {
      expect((await api(first, 'POST', '/v1/tokens', { key: TEST_ADMIN_KEY, body: { serial: 'MK-1', kind: 'hotp', seed: seed.toString('hex') } })).status).toBe(201);
    } finally {
      await first.stop();
    }
    return { store, key, seed };
  }

  async function startNode(store: StoreUnderTest, nodeDir: string, env: NodeJS.ProcessEnv): Promise<ServerProcess> {
    fs.mkdirSync(nodeDir, { recursive: true });
    const server = await spawnUntilReady<{ url: string }>('server', ['server', ...store.args(nodeDir), '--listen', '127.0.0.1:0', '--quiet'], { NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY: TEST_CLIENT_KEY, ...env }, { timeoutMs: 60_000 });
    return { url: server.ready.url, adminKey: TEST_ADMIN_KEY, clientKey: TEST_CLIENT_KEY, dbFile: '', child: server.child, stdout: server.stdout, stderr: server.stderr, stop: server.stop };
  }

  function startRefused(store: StoreUnderTest, nodeDir: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
    fs.mkdirSync(nodeDir, { recursive: true });
    // A key file the operator did not copy is not taken from the environment this test runs in.
    return cli(['server', ...store.args(nodeDir), '--listen', '127.0.0.1:0', '--quiet'], { env: { NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY: TEST_CLIENT_KEY, NOEGLEVISER_MASTER_KEY: '', NOEGLEVISER_MASTER_KEY_FILE: '', ...env }, timeoutMs: 60_000 });
  }

  it.skipIf(kind === 'postgres' && !postgres.available)('a node with another key exits 1 with one line NV_MASTER_KEY_MISMATCH and writes nothing; the node with the key verifies', async () => {
    const { store, key, seed } = await storeWithASeed();
    const before = await store.dump();
    const nodeDir = path.join(dir, `other-${n++}`);
    const refused = await startRefused(store, nodeDir, { NOEGLEVISER_MASTER_KEY: newKey() });
    expectOneLineError(refused, 'NV_MASTER_KEY_MISMATCH', 1);
    expect(refused.stderr).toContain('is not the one');
    expect(await store.dump()).toBe(before);
    expect(fs.readdirSync(nodeDir).filter((name) => name === 'master.key')).toEqual([]);

    const second = await startNode(store, path.join(dir, `same-${n++}`), { NOEGLEVISER_MASTER_KEY: key });
    try {
      const answer = await api(second, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial: 'MK-1', code: referenceHotp(seed, 0) } });
      expect(answer.body.result, answer.text).toBe('accepted');
    } finally {
      await second.stop();
    }
  });

  it.skipIf(kind === 'postgres' && !postgres.available)('a node given no key at all is refused with NV_MASTER_KEY_MISMATCH, and makes no key file of its own', async () => {
    const { store } = await storeWithASeed();
    const before = await store.dump();
    const nodeDir = path.join(dir, `keyless-${n++}`);
    const refused = await startRefused(store, nodeDir, {});
    expectOneLineError(refused, 'NV_MASTER_KEY_MISMATCH', 1);
    expect(refused.stderr).toContain('no master key');
    // With SQLite the data folder is the file's: master.key would be made beside it.
    const keyFiles = [path.join(nodeDir, 'master.key'), ...(kind === 'sqlite' ? [path.join(path.dirname(store.db), 'master.key')] : [])];
    for (const file of keyFiles) expect(fs.existsSync(file), file).toBe(false);
    expect(await store.dump()).toBe(before);
  });

  it.skipIf(kind === 'postgres' && !postgres.available)('a store with seeds and no key check (kept from before checks were): a wrong key is refused by its seed, the right one starts and keeps the check', async () => {
    const { store, key, seed } = await storeWithASeed();
    await store.dropKeyCheck();
    const before = await store.dump();
    const refused = await startRefused(store, path.join(dir, `wrong-${n++}`), { NOEGLEVISER_MASTER_KEY: newKey() });
    expectOneLineError(refused, 'NV_MASTER_KEY_MISMATCH', 1);
    expect(await store.dump()).toBe(before);

    const right = await startNode(store, path.join(dir, `right-${n++}`), { NOEGLEVISER_MASTER_KEY: key });
    try {
      expect((await api(right, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial: 'MK-1', code: referenceHotp(seed, 0) } })).body.result).toBe('accepted');
    } finally {
      await right.stop();
    }
    expect(await store.dump()).toContain('master_key_check');
  });
});

describe.skipIf(!postgres.available)('API keys made once for the cluster', () => {
  const dir = tempDir('cluster-keys');
  let nodes: Awaited<ReturnType<typeof spawnUntilReady<{ url: string }>>>[] = [];

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('three nodes started together on a fresh database, no keys given: one node shows one admin and one client key, the store keeps those two, and every node accepts them', async () => {
    const primary = await PostgresNode.startPrimary({ name: 'keys' });
    const store = await postgresStore(primary);
    const masterKey = newKey();
    nodes = await Promise.all(
      [0, 1, 2].map((i) =>
        spawnUntilReady<{ url: string }>('server', ['server', ...store.args(path.join(dir, `node-${i}`)), '--listen', '127.0.0.1:0', '--quiet'], { NOEGLEVISER_ADMIN_KEY: '', NOEGLEVISER_CLIENT_KEY: '', NOEGLEVISER_MASTER_KEY: masterKey }, { timeoutMs: 90_000 }),
      ),
    );
    const shown = nodes.flatMap((node) => node.stdout().split('\n').filter((line) => line.includes('"event":"api-keys"'))).map((line) => JSON.parse(line) as { admin: string; client: string });
    expect(shown).toHaveLength(1);
    const [{ admin, client }] = shown as [{ admin: string; client: string }];
    const kept = JSON.parse(await store.dump())[1] as { role: string }[];
    expect(kept.map((row) => row.role).sort()).toEqual(['admin', 'client']);
    for (const node of nodes) {
      expect((await api(node.ready, 'GET', '/v1/tokens', { key: admin })).status).toBe(200);
      const verify = await api(node.ready, 'POST', '/v1/verify', { key: client, body: { serial: 'NONE-1', code: '123456' } });
      expect(verify.status, verify.text).toBe(404);
    }
  });
});
