/**
 * The PostgreSQL database object and the token store on it, against a real throwaway primary
 * (test/support/postgres.ts): migrations under the advisory lock, the compare-and-set across
 * "nodes" (database objects with pools of their own), group commit, a failing write in a batch,
 * and the master key's check claimed once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionUrl, pollUntil, postgres, reportMissingPostgres, PostgresNode, type PostgresDatabase as TestDatabase } from '../../../test/support/postgres.ts';
import { PostgresTokenStore } from '../../server/store/postgres-token-store.ts';
import { DuplicateSerialError, type NewToken } from '../../server/store/types.ts';
import { PostgresDatabase } from './postgres-database.ts';

reportMissingPostgres();

const opened: PostgresDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((database) => database.close().catch(() => undefined)));
});

const token = (serial: string): NewToken => ({
  serial,
  kind: 'hotp',
  algorithm: 'sha1',
  digits: 6,
  period: 0,
  counter: 0,
  lastStep: -1,
  driftSteps: 0,
  state: 'active',
  failCount: 0,
  owner: null,
  sealedSeed: new Uint8Array([1, 2, 3]),
});
const audit = (action: string, serial: string) => ({ at: Date.now(), actor: 'test', action, serial, result: 'ok', detail: {} });

describe.skipIf(!postgres.available)('the PostgreSQL database object', () => {
  let primary: PostgresNode;
  beforeAll(async () => {
    primary = await PostgresNode.startPrimary();
  });
  afterAll(async () => {
    await primary?.kill();
  });

  async function freshDatabase(): Promise<TestDatabase> {
    return primary.createDatabase();
  }
  async function open(database: TestDatabase): Promise<PostgresDatabase> {
    const db = await PostgresDatabase.open(connectionUrl(database, [primary]));
    opened.push(db);
    return db;
  }

  it('nodes starting together apply each migration once under the advisory lock; the schema version is recorded, and an older server is refused a newer schema', async () => {
    const database = await freshDatabase();
    const nodes = await Promise.all([open(database), open(database), open(database)]);
    const stores = await Promise.all(nodes.map((node) => PostgresTokenStore.open(node)));
    expect(stores).toHaveLength(3);
    expect(await nodes[0]!.getMeta('schema.tokens')).toBe('2');
    expect(await nodes[0]!.getMeta('schema.core')).toBe('1');
    await expect(nodes[0]!.migrate('tokens', [])).rejects.toThrow(/schema version 2; this server reads versions up to 0/);
  });

  it('the compare-and-set across nodes: 60 changes from the same version on three nodes at once, exactly one applies, with exactly one audit record', async () => {
    const database = await freshDatabase();
    const nodes = await Promise.all([open(database), open(database), open(database)]);
    const stores = await Promise.all(nodes.map((node) => PostgresTokenStore.open(node)));
    const { version } = await stores[0]!.insertToken(token('CAS-1'), audit('enroll', 'CAS-1'));
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) => stores[i % 3]!.updateToken('CAS-1', version, { counter: i + 1 }, audit('verify', 'CAS-1'))),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.indexOf(true) + 1;
    expect(await stores[1]!.getToken('CAS-1')).toMatchObject({ counter: winner, version: version + 1 });
    expect(await stores[2]!.listAudit({ serial: 'CAS-1', action: 'verify' })).toHaveLength(1);
  });

  it('the batched compare-and-set: in one batch, two writes to a token at the same version → exactly one applies, a stale version → false; one transaction with their audit records', async () => {
    const database = await freshDatabase();
    const node = await open(database);
    const store = await PostgresTokenStore.open(node);
    const { version } = await store.insertToken(token('B-1'), audit('enroll', 'B-1'));
    await store.insertToken(token('B-2'), audit('enroll', 'B-2'));
    expect(await store.updateToken('B-2', version, { pendingCounter: 7, pendingAt: 1000 }, null)).toBe(true);
    const verify = (serial: string, n: number) => ({ ...audit('verify', serial), detail: { n } });
    const outcomes = await Promise.all([
      store.updateToken('B-1', version, { counter: 1 }, verify('B-1', 1)),
      store.updateToken('B-2', version, { counter: 3 }, verify('B-2', 3)),
      store.updateToken('B-1', version, { counter: 2 }, verify('B-1', 2)),
      store.updateToken('B-2', version + 1, { counter: 4, pendingCounter: null }, verify('B-2', 4)),
    ]);
    expect(outcomes[0]).not.toBe(outcomes[2]);
    expect(outcomes.slice(1).filter((_, i) => i !== 1)).toEqual([false, true]);
    const winner = outcomes[0] ? 1 : 2;
    expect(await store.getToken('B-1')).toMatchObject({ counter: winner, version: version + 1 });
    // Absent from the changes: left as it was (pendingAt); null: set to null (pendingCounter).
    expect(await store.getToken('B-2')).toMatchObject({ counter: 4, pendingCounter: null, pendingAt: 1000, version: version + 2 });
    expect((await store.listAudit({ action: 'verify' })).map((entry) => [entry.serial, entry.detail])).toEqual([
      ['B-1', { n: winner }],
      ['B-2', { n: 4 }],
    ]);
    // The rows and the audit records were written by one transaction.
    const writers = await primary.query<{ xmin: string }>("SELECT xmin::text FROM tokens UNION SELECT xmin::text FROM audit WHERE action = 'verify'", [], database.name);
    expect(writers).toHaveLength(1);
    // A lone compare-and-set (a batch of one) the same; the gets of a turn answer each their own row.
    expect(await store.updateToken('B-1', version, { counter: 9 }, verify('B-1', 9))).toBe(false);
    const [one, two, none, again] = await Promise.all([store.getToken('B-1'), store.getToken('B-2'), store.getToken('NONE'), store.getToken('B-1')]);
    expect([one?.serial, two?.serial, none, again?.counter]).toEqual(['B-1', 'B-2', undefined, winner]);
  });

  it("a lost token's replacement takes the same batched compare-and-set, beside a token's and another write in one turn", async () => {
    const node = await open(await freshDatabase());
    const store = await PostgresTokenStore.open(node);
    await store.insertToken(token('L-1'), audit('enroll', 'L-1'));
    const replacement = await store.insertReplacement({ id: 'LOST-L-1', replaces: 'L-1', owner: null, sealedPassword: new Uint8Array([9]), validUntil: Date.now() + 60_000 }, audit('lost', 'LOST-L-1'));
    const outcomes = await Promise.all([
      store.updateReplacement('LOST-L-1', replacement.version, { failCount: 0, lastUsedAt: 1234 }, audit('verify', 'LOST-L-1')),
      store.updateReplacement('LOST-L-1', replacement.version - 1, { state: 'revoked' }, audit('revoke', 'LOST-L-1')),
      store.updateToken('L-1', 1, { state: 'lost' }, audit('lost', 'L-1')),
      store.appendAudit(audit('note', 'L-1')),
    ]);
    expect(outcomes.slice(0, 3)).toEqual([true, false, true]);
    expect(await store.getReplacement('LOST-L-1')).toMatchObject({ state: 'active', lastUsedAt: 1234, version: replacement.version + 1 });
    expect(await store.getToken('L-1')).toMatchObject({ state: 'lost', version: 2 });
    expect((await store.listAudit({})).map((entry) => entry.action).sort()).toEqual(['enroll', 'lost', 'lost', 'note', 'verify']);
  });

  it('group commit: the writes of one turn share one transaction; each settles once it is committed', async () => {
    const node = await open(await freshDatabase());
    const txids = await Promise.all(Array.from({ length: 20 }, () => node.write(async (client) => (await client.query<{ txid: string }>('SELECT txid_current()::text AS txid')).rows[0]!.txid)));
    expect(new Set(txids).size).toBe(1);
    const later = await node.write(async (client) => (await client.query<{ txid: string }>('SELECT txid_current()::text AS txid')).rows[0]!.txid);
    expect(later).not.toBe(txids[0]);
  });

  it('a write that fails in a batch fails alone: the others of its turn are committed', async () => {
    const node = await open(await freshDatabase());
    const store = await PostgresTokenStore.open(node);
    await store.insertToken(token('DUP'), audit('enroll', 'DUP'));
    const results = await Promise.allSettled([
      store.insertToken(token('A-1'), audit('enroll', 'A-1')),
      node.write((client) => client.query('SELECT 1/0')),
      store.insertToken(token('DUP'), audit('enroll', 'DUP')),
      store.insertToken(token('A-2'), audit('enroll', 'A-2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateSerialError);
    expect((await store.listTokens({})).map((t) => t.serial)).toEqual(['A-1', 'A-2', 'DUP']);
    expect((await store.listAudit({ action: 'enroll' })).map((e) => e.serial)).toEqual(['DUP', 'A-1', 'A-2']);
  });

  it("the master key's check is claimed once: nodes starting together with different keys all read the first one's", async () => {
    const database = await freshDatabase();
    const nodes = await Promise.all([open(database), open(database), open(database)]);
    const stores = await Promise.all(nodes.map((node) => PostgresTokenStore.open(node)));
    const kept = await Promise.all(stores.map((store, i) => store.setMetaOnce('master_key_check', `check-${i}`)));
    expect(new Set(kept).size).toBe(1);
    expect(await stores[0]!.getMeta('master_key_check')).toBe(kept[0]);
  });

  it("the cluster lock: another node's lockCluster waits (PostgreSQL shows it waiting on the advisory lock) until the holder releases; a holder that closes lets go", async () => {
    const database = await freshDatabase();
    const [first, second, third] = await Promise.all([open(database), open(database), open(database)]);
    const waiting = async () => (await primary.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", [], database.name))[0]!.n;
    const held = await first.lockCluster();
    let secondHolds = false;
    const next = second.lockCluster().then((lock) => ((secondHolds = true), lock));
    await pollUntil(async () => (await waiting()) === 1, 'the second node waiting on the cluster lock');
    expect(secondHolds).toBe(false);
    await held.release();
    const secondLock = await next;
    // The holder's pool closes (a node stopping, or dying) without a release: the lock goes with its session.
    let thirdHolds = false;
    const after = third.lockCluster().then((lock) => ((thirdHolds = true), lock));
    await pollUntil(async () => (await waiting()) === 1, 'the third node waiting on the cluster lock');
    expect(thirdHolds).toBe(false);
    await second.close();
    await (await after).release();
    await secondLock.release();
  });

  it('failed codes from every node are all counted, and the token locks at the limit once', async () => {
    const database = await freshDatabase();
    const nodes = await Promise.all([open(database), open(database), open(database)]);
    const stores = await Promise.all(nodes.map((node) => PostgresTokenStore.open(node)));
    await stores[0]!.insertToken(token('F-1'), audit('enroll', 'F-1'));
    const counted = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.recordFailure('F-1', 10, (t) => audit(t.state === 'locked' && t.failCount === 10 ? 'lock' : 'verify', 'F-1'))));
    expect(counted.map((t) => t!.failCount).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await stores[1]!.getToken('F-1')).toMatchObject({ failCount: 30, state: 'locked' });
    expect(await stores[2]!.listAudit({ serial: 'F-1', action: 'lock' })).toHaveLength(1);
  });
});
