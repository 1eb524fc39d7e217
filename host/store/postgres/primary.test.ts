/**
 * The primary probe against real clusters (test/support/postgres.ts): a primary with a synchronous
 * standby, the primary first or second in the list, a primary turned read-only, the primary killed
 * (NV_STORE_UNAVAILABLE), the standby promoted (found by the same pool), and the old primary back
 * as a standby at its old address (passed over, also by a new connection of a pool that knew it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../store-errors.ts';
import { connectionUrl, pollUntil, postgres, PostgresNode, reportMissingPostgres, startSynchronousPair, type PostgresDatabase, type SynchronousPair } from '../../../test/support/postgres.ts';
import { PrimaryPool, type PrimaryPoolOptions } from './primary.ts';

reportMissingPostgres();

const pools: PrimaryPool[] = [];

function poolFor(database: PostgresDatabase, nodes: { host: string; port: number }[], options: PrimaryPoolOptions = {}): PrimaryPool {
  const pool = new PrimaryPool(connectionUrl(database, nodes), options);
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end().catch(() => undefined)));
});

const endpoint = (node: PostgresNode) => ({ host: node.host, port: node.port });

async function unavailable(call: Promise<unknown>): Promise<StoreUnavailableError> {
  const error = await call.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  expect(error).toMatchObject({ code: 'NV_STORE_UNAVAILABLE' });
  return error as StoreUnavailableError;
}

describe.skipIf(!postgres.available)('the primary probe', () => {
  describe('on a primary with a synchronous standby', () => {
    let pair: SynchronousPair;
    let database: PostgresDatabase;

    beforeAll(async () => {
      pair = await startSynchronousPair();
      database = await pair.primary.createDatabase();
      await pair.primary.query('CREATE TABLE t (n serial PRIMARY KEY, note text)', [], database.name);
      await pair.primary.query(`ALTER TABLE t OWNER TO ${database.user}`, [], database.name);
    });

    it('the primary first in the list: chosen at once, and writes go to it', async () => {
      const pool = poolFor(database, [pair.primary, pair.standby]);
      await pool.query("INSERT INTO t (note) VALUES ('first')");
      expect(pool.primary).toEqual(endpoint(pair.primary));
      expect(pool.attempts).toEqual([{ host: endpoint(pair.primary), outcome: 'primary' }]);
    });

    it('calls waiting for a connection of a full pool when its primary is dropped do not wait for ever: they go to the primary found again', async () => {
      const pool = poolFor(database, [pair.primary], { max: 1 });
      const sleeping = unavailable(pool.query('SELECT pg_sleep(60)'));
      await pollUntil(async () => (await pair.primary.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")).length === 1, 'the call holding the only connection');
      // The pool is full: these wait for its one connection (node-postgres's end() forgets its waiters).
      const waiting = [pool.query<{ n: number }>('SELECT 1 AS n'), pool.query<{ n: number }>('SELECT 2 AS n')];
      await pair.primary.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'");
      await sleeping;
      const stillWaiting = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 15_000).unref());
      const answers = await Promise.race([Promise.all(waiting), stillWaiting]);
      expect(answers === 'still waiting' ? answers : answers.map((answer) => answer.rows[0]!.n)).toEqual([1, 2]);
      expect(pool.primary).toEqual(endpoint(pair.primary));
    });

    it('the primary second in the list: the standby before it is passed over', async () => {
      const pool = poolFor(database, [pair.standby, pair.primary]);
      const { rows } = await pool.query<{ in_recovery: boolean }>("INSERT INTO t (note) VALUES ('second') RETURNING pg_is_in_recovery() AS in_recovery");
      expect(rows).toEqual([{ in_recovery: false }]);
      expect(pool.primary).toEqual(endpoint(pair.primary));
      expect(pool.attempts).toEqual([
        { host: endpoint(pair.standby), outcome: 'standby' },
        { host: endpoint(pair.primary), outcome: 'primary' },
      ]);
    });

    it('only a standby listed: NV_STORE_UNAVAILABLE (503), naming no host to the client, the hosts and what each is in its cause', async () => {
      const pool = poolFor(database, [pair.standby]);
      const error = await unavailable(pool.query('SELECT 1'));
      expect(error.message).not.toContain(String(pair.standby.port));
      expect(String((error.cause as Error).message)).toContain(`127.0.0.1:${pair.standby.port} standby`);
      expect(pool.primary).toBeUndefined();
    });

    it('a host nobody listens on is passed over as unreachable', async () => {
      const nobody = { host: '127.0.0.1', port: pair.standby.port + 1 === pair.primary.port ? pair.standby.port + 2 : pair.standby.port + 1 };
      const pool = poolFor(database, [nobody, pair.primary]);
      await pool.query('SELECT 1');
      expect(pool.attempts.map((a) => a.outcome)).toEqual(['unreachable', 'primary']);
      expect(pool.attempts[0]!.reason).toMatch(/ECONNREFUSED/);
    });

    it('a Unix socket folder works as a host', async () => {
      const pool = poolFor(database, [{ host: pair.standby.socketDir, port: pair.standby.port }, { host: pair.primary.socketDir, port: pair.primary.port }]);
      await pool.query('SELECT 1');
      expect(pool.primary).toEqual({ host: pair.primary.socketDir, port: pair.primary.port });
    });

    it('calls that find no primary together share one probe', async () => {
      const changes: unknown[] = [];
      const pool = poolFor(database, [pair.standby], { onPrimaryChange: (primary) => changes.push(primary) });
      await Promise.all(Array.from({ length: 50 }, () => unavailable(pool.query('SELECT 1'))));
      expect(changes.length).toBeLessThan(50);
      expect(changes.every((primary) => primary === undefined)).toBe(true);
    });

    it('a primary that turns read-only is left: its refused write answers NV_STORE_UNAVAILABLE, and the probe takes no read-only server', async () => {
      const pool = poolFor(database, [pair.primary]);
      await pool.query("INSERT INTO t (note) VALUES ('before')");
      expect(pool.primary).toEqual(endpoint(pair.primary));
      await pair.primary.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await pair.primary.query('SELECT pg_reload_conf()');
      try {
        await pollUntil(async () => {
          const [row] = await pair.primary.query<{ read_only: string }>("SELECT current_setting('default_transaction_read_only') AS read_only");
          return row!.read_only === 'on';
        }, 'the primary read-only');
        const refused = await unavailable(pool.query("INSERT INTO t (note) VALUES ('refused')"));
        expect((refused.cause as Error).message).toMatch(/read-only transaction/);
        expect(pool.primary).toBeUndefined();
        await unavailable(pool.query('SELECT 1'));
        expect(pool.attempts).toEqual([{ host: endpoint(pair.primary), outcome: 'read-only' }]);
      } finally {
        await pair.primary.query('ALTER SYSTEM RESET default_transaction_read_only');
        await pair.primary.query('SELECT pg_reload_conf()');
      }
      await pollUntil(async () => (await pool.query("INSERT INTO t (note) VALUES ('after') RETURNING n")).rowCount === 1, 'the primary writable again', 10_000);
      expect(pool.primary).toEqual(endpoint(pair.primary));
    });
  });

  describe('a commit the synchronous standby does not confirm', () => {
    let pair: SynchronousPair;
    let database: PostgresDatabase;

    beforeAll(async () => {
      pair = await startSynchronousPair();
      database = await pair.primary.createDatabase();
      await pair.primary.query('CREATE TABLE t (n int PRIMARY KEY)', [], database.name);
      await pair.primary.query(`ALTER TABLE t OWNER TO ${database.user}`, [], database.name);
    });

    const waitingForStandby = () =>
      pollUntil(async () => {
        const [row] = await pair.primary.query<{ waiting: number }>("SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
        return row!.waiting > 0;
      }, 'a commit waiting for the standby', 20_000);

    it('a commit that waits for a standby that is gone fails with NV_STORE_UNAVAILABLE after queryTimeoutMs, not never; its connection is closed and the pool serves the next call once the standby is back', async () => {
      const pool = poolFor(database, [pair.primary], { queryTimeoutMs: 500 });
      await pool.query('INSERT INTO t VALUES (1)');
      await pair.standby.stop();
      try {
        const error = await unavailable(pool.query('INSERT INTO t VALUES (2)'));
        expect(error.message).toMatch(/did not answer in time/);
        expect(pool.primary).toEqual(endpoint(pair.primary));
      } finally {
        await pair.standby.start();
      }
      await pair.primary.waitForStandby(pair.standby.name);
      await pool.query('INSERT INTO t VALUES (3)');
      expect((await pool.query('SELECT n FROM t ORDER BY n')).rows.map((row) => row.n)).toEqual([1, 2, 3]);
    });

    it('a commit whose wait for the standby is cancelled (pg_cancel_backend) is committed on the primary only: the call answers NV_STORE_UNAVAILABLE, not success', async () => {
      const pool = poolFor(database, [pair.primary]);
      await pair.standby.stop();
      let call: Promise<StoreUnavailableError>;
      try {
        call = unavailable(pool.transaction((client) => client.query('INSERT INTO t VALUES (10)')));
        await waitingForStandby();
        await pair.primary.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
        const error = await call;
        expect((error.cause as Error).message).toMatch(/maybe not on the standby/);
      } finally {
        await pair.standby.start();
      }
      await pair.primary.waitForStandby(pair.standby.name);
      // Committed locally all the same, as PostgreSQL's warning says.
      expect((await pool.query('SELECT count(*)::int AS count FROM t WHERE n = 10')).rows).toEqual([{ count: 1 }]);
    });
  });

  describe('a primary that takes connections but never answers them (its postmaster frozen)', () => {
    let primary: PostgresNode;
    let database: PostgresDatabase;

    beforeAll(async () => {
      primary = await PostgresNode.startPrimary({ name: 'frozen' });
      database = await primary.createDatabase();
    });
    afterAll(async () => {
      await primary?.kill();
    });

    it('a call that needs a new connection fails with NV_STORE_UNAVAILABLE after connect_timeout, not never, and the pool carries on once the server answers again', async () => {
      // Idle connections close at once: the next call needs a new one.
      const pool = new PrimaryPool(`${connectionUrl(database, [primary])}?connect_timeout=1`, { idleTimeoutMs: 1 });
      pools.push(pool);
      await pool.query('SELECT 1');
      await pollUntil(async () => {
        const [row] = await primary.query<{ connections: number }>('SELECT count(*)::int AS connections FROM pg_stat_activity WHERE usename = $1', [database.user]);
        return row!.connections === 0;
      }, 'the idle connection closed');
      // The kernel still completes the TCP handshake; the stopped postmaster never answers the startup message.
      const postmaster = Number(fs.readFileSync(path.join(primary.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(postmaster, 'SIGSTOP');
      try {
        const stillWaiting = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 15_000).unref());
        const outcome = await Promise.race([pool.query('SELECT 1').then(() => 'answered', (error: unknown) => error), stillWaiting]);
        expect(outcome).toBeInstanceOf(StoreUnavailableError);
      } finally {
        process.kill(postmaster, 'SIGCONT');
      }
      expect((await pool.query<{ n: number }>('SELECT 7 AS n')).rows).toEqual([{ n: 7 }]);
    });
  });

  describe('through a failover', () => {
    let pair: SynchronousPair;
    let database: PostgresDatabase;
    /**
     * A pool whose connections close as soon as they are idle: when the primary goes away it has
     * none to break, so nothing tells it; its next connection goes to the old address.
     */
    let unaware: PrimaryPool;

    beforeAll(async () => {
      pair = await startSynchronousPair();
      database = await pair.primary.createDatabase();
      await pair.primary.query('CREATE TABLE t (n int PRIMARY KEY)', [], database.name);
      await pair.primary.query(`ALTER TABLE t OWNER TO ${database.user}`, [], database.name);
      unaware = new PrimaryPool(connectionUrl(database, [pair.primary, pair.standby]), { idleTimeoutMs: 1 });
      await unaware.query('SELECT 1');
      expect(unaware.primary).toEqual(endpoint(pair.primary));
      await pollUntil(async () => {
        const [row] = await pair.primary.query<{ connections: number }>('SELECT count(*)::int AS connections FROM pg_stat_activity WHERE usename = $1', [database.user]);
        return row!.connections === 0;
      }, 'the idle connection closed');
    });
    afterAll(async () => {
      await unaware?.end().catch(() => undefined);
    });

    it('the primary killed: NV_STORE_UNAVAILABLE while no server takes writes; the standby promoted: the same pool carries on with it, every acknowledged row there', async () => {
      const changes: unknown[] = [];
      const pool = poolFor(database, [pair.primary, pair.standby], { onPrimaryChange: (primary) => changes.push(primary) });
      for (let n = 1; n <= 20; n++) await pool.query('INSERT INTO t VALUES ($1)', [n]);
      expect(pool.primary).toEqual(endpoint(pair.primary));

      // A call in flight when the primary dies fails as unavailable, and the primary is dropped.
      const inFlight = unavailable(pool.query('SELECT pg_sleep(60)'));
      await pollUntil(async () => (await pair.primary.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")).length === 1, 'the call in flight');
      await pair.primary.kill();
      const lost = await inFlight;
      expect(lost.message).toMatch(/try again/);
      expect(pool.primary).toBeUndefined();
      await unavailable(pool.query('INSERT INTO t VALUES (21)'));
      expect(pool.attempts).toEqual([
        { host: endpoint(pair.primary), outcome: 'unreachable', reason: expect.stringMatching(/ECONNREFUSED/) },
        { host: endpoint(pair.standby), outcome: 'standby' },
      ]);

      await pair.standby.takeOver();
      await pool.query('INSERT INTO t VALUES (21)');
      expect(pool.primary).toEqual(endpoint(pair.standby));
      const { rows } = await pool.query<{ count: number; last: number }>('SELECT count(*)::int AS count, max(n) AS last FROM t');
      expect(rows).toEqual([{ count: 21, last: 21 }]);
      expect(changes).toContainEqual(endpoint(pair.standby));
    });

    it('the old primary back as a standby at its old address is passed over, also by a new connection of a pool that still took it for the primary', async () => {
      await pair.primary.rejoinAsStandbyOf(pair.standby);
      await pair.standby.setSynchronousStandbys(`"${pair.primary.name}"`);
      expect(await pair.primary.inRecovery()).toBe(true);

      const fresh = poolFor(database, [pair.primary, pair.standby]);
      await fresh.query('INSERT INTO t VALUES (22)');
      expect(fresh.primary).toEqual(endpoint(pair.standby));
      expect(fresh.attempts.map((a) => a.outcome)).toEqual(['standby', 'primary']);

      expect(unaware.primary).toEqual(endpoint(pair.primary));
      await unaware.query('INSERT INTO t VALUES (23)');
      expect(unaware.primary).toEqual(endpoint(pair.standby));
      expect((await pair.standby.query('SELECT count(*)::int AS count FROM t', [], database.name))[0]).toEqual({ count: 23 });
    });
  });
});
