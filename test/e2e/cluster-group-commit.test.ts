/**
 * Group commit and durability of a server node on PostgreSQL (a separate `noegleviser server`
 * process): the verifications that arrive together share a transaction and a commit, and an
 * "accepted" leaves the node only after its commit, so a PostgreSQL server killed right after the
 * answers keeps every acceptance.
 *
 * Writing transactions are counted by the transaction ids PostgreSQL assigned (only a transaction
 * that writes gets one; `pg_stat_database.xact_commit` would count every read as well), with
 * autovacuum off so that nothing else of the cluster writes meanwhile.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { burst } from '../support/burst.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { api, startServerProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY } from '../support/processes.ts';

reportMissingPostgres();

const TOKENS = 60;
const hotp = (seed: Uint8Array, counter: number) => referenceHotp(seed, counter, 6, 'sha1');

describe.skipIf(!postgres.available)('group commit of a server node on PostgreSQL', () => {
  it(`${TOKENS} verifications of ${TOKENS} tokens arriving together take fewer commits than verifications, and every acceptance survives kill -9 of PostgreSQL right after the answers`, async () => {
    const primary = await PostgresNode.startPrimary({ name: 'group-commit', settings: { autovacuum: 'off' } });
    onTestFinished(() => primary.kill());
    const database = await primary.createDatabase();
    const server = await startServerProcess({
      dbFile: path.join(tempDir('nv-group'), 'node', 'tokens.db'),
      postgresUrl: connectionUrl(database, [primary]),
      args: ['--quiet', '--rate-limit', '0'],
      env: { NOEGLEVISER_MASTER_KEY: randomBytes(32).toString('hex') },
      readyTimeoutMs: 90_000,
    });
    onTestFinished(async () => {
      await server.stop('SIGKILL');
    });
    const tokens = await Promise.all(
      Array.from({ length: TOKENS }, async (_, i) => {
        const serial = `GC-${i}`;
        const seed = new Uint8Array(randomBytes(20));
        const answer = await api(server, 'POST', '/v1/tokens', { key: TEST_ADMIN_KEY, body: { serial, kind: 'hotp', seed: Buffer.from(seed).toString('hex') } });
        expect(answer.status, answer.text).toBe(201);
        return { serial, code: hotp(seed, 0) };
      }),
    );

    const transactionId = async () => Number((await primary.query<{ id: string }>('SELECT txid_current()::text AS id'))[0]!.id);
    const before = await transactionId();
    const answers = await burst(tokens.map(({ serial, code }) => ({ url: server.url, path: '/v1/verify', body: { serial, code } })));
    const writing = (await transactionId()) - before - 1;
    expect(answers.map((answer) => answer.body.result)).toEqual(tokens.map(() => 'accepted'));
    console.log(`group commit: ${TOKENS} verifications arriving together were committed in ${writing} writing transaction(s)`);
    expect(writing).toBeGreaterThan(0);
    expect(writing).toBeLessThan(TOKENS);

    // Answered only after the commit: nothing accepted is lost with the server's memory.
    await primary.kill();
    await primary.start();
    const replays = await burst(tokens.map(({ serial, code }) => ({ url: server.url, path: '/v1/verify', body: { serial, code } })));
    expect(replays.filter((answer) => answer.status !== 503).map((answer) => answer.body.result)).not.toContain('accepted');
    const refused = await Promise.all(tokens.map(({ serial, code }) => api(server, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial, code } })));
    expect(refused.map((answer) => `${answer.status} ${answer.body?.result}`)).toEqual(tokens.map(() => '200 rejected'));
  }, 180_000);
});
