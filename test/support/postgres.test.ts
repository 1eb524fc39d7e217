/**
 * The throwaway PostgreSQL clusters the store tests run on: a primary that survives kill -9, a
 * standby that is really synchronous, promotion and the failover step after it, an old primary
 * rejoining as a standby. Skipped with a message where PostgreSQL is missing; in CI a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionUrl, pollUntil, postgres, PostgresNode, reportMissingPostgres, startSynchronousPair, type PostgresDatabase } from './postgres.ts';

reportMissingPostgres();

const clients: pg.Client[] = [];

/** A test role's connection over TCP, with its password, to the first node of `nodes` that takes it. */
async function connectAs(database: PostgresDatabase, node: PostgresNode): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: connectionUrl(database, [node]) });
  client.on('error', () => undefined);
  clients.push(client);
  await client.connect();
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
});

/** Resolves once `node` has a backend waiting for a synchronous standby to confirm a commit. */
async function commitWaitingForStandby(node: PostgresNode): Promise<void> {
  await pollUntil(async () => {
    const [row] = await node.query<{ waiting: number }>("SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
    return row!.waiting > 0;
  }, `a commit on ${node.name} waiting for its synchronous standby`, 20_000);
}

describe.skipIf(!postgres.available)('throwaway PostgreSQL clusters', () => {
  it('a primary runs as the postgres user, takes a test role over TCP with its password only, and keeps committed rows through kill -9 and restart', async () => {
    const primary = await PostgresNode.startPrimary();
    const database = await primary.createDatabase();
    const client = await connectAs(database, primary);
    await client.query('CREATE TABLE t (n int PRIMARY KEY)');
    await client.query('INSERT INTO t VALUES (1), (2)');

    const wrongPassword = new pg.Client({ connectionString: connectionUrl({ ...database, password: 'wrong' }, [primary]) });
    wrongPassword.on('error', () => undefined);
    await expect(wrongPassword.connect()).rejects.toThrow(/password authentication failed/);
    if (postgres.runAs) expect(fs.statSync(primary.dataDir).uid).toBe(postgres.runAs.uid);

    await primary.kill();
    expect(primary.running()).toBe(false);
    await expect(connectAs(database, primary)).rejects.toThrow(/ECONNREFUSED/);
    await primary.start();
    const again = await connectAs(database, primary);
    expect((await again.query('SELECT n FROM t ORDER BY n')).rows).toEqual([{ n: 1 }, { n: 2 }]);
    await primary.restart();
    expect(await primary.inRecovery()).toBe(false);
  });

  it('a killed server leaves no System V shared memory segment behind', async () => {
    const primary = await PostgresNode.startPrimary();
    const pidFile = fs.readFileSync(path.join(primary.dataDir, 'postmaster.pid'), 'utf8');
    const shmid = pidFile.split('\n')[6]!.trim().split(/\s+/)[1]!;
    // /proc/sysvipc/shm: a header line, then a line per segment, its id in the second column.
    const segmentExists = () =>
      fs
        .readFileSync('/proc/sysvipc/shm', 'utf8')
        .split('\n')
        .slice(1)
        .some((line) => line.trim().split(/\s+/)[1] === shmid);
    expect(segmentExists()).toBe(true);
    await primary.kill();
    // Marked for removal, it goes once the last of the killed backends has detached.
    await pollUntil(async () => !segmentExists(), 'the segment removed', 10_000);
  });

  it('a commit on the primary waits for the synchronous standby: with the standby down it waits, and it returns once the standby is back and has it', async () => {
    const { primary, standby } = await startSynchronousPair();
    expect(await primary.standbys()).toEqual([{ name: 'standby', state: 'streaming', syncState: 'sync' }]);
    expect(await standby.inRecovery()).toBe(true);
    const database = await primary.createDatabase();
    const client = await connectAs(database, primary);
    await client.query('CREATE TABLE t (n int PRIMARY KEY)');

    await standby.stop();
    let committed = false;
    const insert = client.query('INSERT INTO t VALUES (1)').then(() => (committed = true));
    await commitWaitingForStandby(primary);
    expect(committed).toBe(false);

    await standby.start();
    await insert;
    // synchronous_commit=on: flushed to the standby's disk before the commit returns; replayed soon after.
    await pollUntil(async () => (await standby.query('SELECT n FROM t', [], database.name)).length === 1, 'the row replayed on the standby');
  });

  it('createDatabase resolves once the standby has replayed the new database, so a test can use it there at once', async () => {
    const { primary, standby } = await startSynchronousPair();
    await standby.query('SELECT pg_wal_replay_pause()');
    let created: PostgresDatabase | undefined;
    const creating = primary.createDatabase().then((database) => (created = database));
    // The commit is on the standby's disk (it was acknowledged) but not replayed there: not yet.
    const [name] = await pollUntil(async () => {
      const rows = await primary.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'nv\\_%'");
      return rows.length === 1 ? rows.map((row) => row.datname) : undefined;
    }, 'the database on the primary');
    // Visible on the primary already while it waits for the standby; acknowledged once none waits.
    await pollUntil(async () => {
      const [row] = await primary.query<{ waiting: number }>("SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
      return row!.waiting === 0;
    }, 'the standby to acknowledge it');
    await standby.query('SELECT 1');
    expect(created).toBeUndefined();
    expect(await standby.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).toEqual([]);

    await standby.query('SELECT pg_wal_replay_resume()');
    const database = await creating;
    expect(database.name).toBe(name);
    const client = await connectAs(database, standby);
    expect((await client.query('SELECT current_database() AS name')).rows).toEqual([{ name }]);
  });

  it('failover: every acknowledged commit is on the standby after kill -9 of the primary; the promoted standby waits for the standby it inherited until the failover step clears it, then takes writes', async () => {
    const { primary, standby } = await startSynchronousPair();
    const database = await primary.createDatabase();
    const client = await connectAs(database, primary);
    await client.query('CREATE TABLE t (n int PRIMARY KEY)');
    for (let n = 1; n <= 50; n++) await client.query('INSERT INTO t VALUES ($1)', [n]);
    await primary.kill();

    await standby.promote();
    expect(await standby.inRecovery()).toBe(false);
    const promoted = await connectAs(database, standby);
    expect((await promoted.query('SELECT count(*)::int AS rows, max(n) AS last FROM t')).rows).toEqual([{ rows: 50, last: 50 }]);

    // Promoted, it still names the standby it inherited from its old primary: a commit waits for ever.
    expect((await promoted.query('SHOW synchronous_standby_names')).rows).toEqual([{ synchronous_standby_names: '"standby"' }]);
    let committed = false;
    const waiting = promoted.query('INSERT INTO t VALUES (51)').then(() => (committed = true));
    await commitWaitingForStandby(standby);
    expect(committed).toBe(false);

    // The failover step releases it, and later commits do not wait.
    await standby.setSynchronousStandbys('');
    await waiting;
    await promoted.query('INSERT INTO t VALUES (52)');
    expect((await promoted.query('SELECT count(*)::int AS rows FROM t')).rows).toEqual([{ rows: 52 }]);
  });

  it('the old primary rejoins as a synchronous standby of the promoted node, on its old port', async () => {
    const { primary, standby } = await startSynchronousPair();
    const database = await primary.createDatabase();
    const port = primary.port;
    await primary.kill();
    await standby.takeOver();

    await primary.rejoinAsStandbyOf(standby);
    expect(primary.port).toBe(port);
    expect(await primary.inRecovery()).toBe(true);
    await standby.setSynchronousStandbys(`"${primary.name}"`);
    await pollUntil(async () => (await standby.standbys()).some((s) => s.name === primary.name && s.syncState === 'sync'), 'the old primary as synchronous standby');

    const client = await connectAs(database, standby);
    await client.query('CREATE TABLE t (n int)');
    await client.query('INSERT INTO t VALUES (1)');
    await pollUntil(async () => (await primary.query('SELECT n FROM t', [], database.name)).length === 1, 'the row on the rejoined node');
    const onOldPrimary = await connectAs(database, primary);
    await expect(onOldPrimary.query('INSERT INTO t VALUES (2)')).rejects.toMatchObject({ code: '25006' });
  });
});
