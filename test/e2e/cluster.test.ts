/**
 * Three server nodes (separate `noegleviser server` processes) on one PostgreSQL database: a code
 * is accepted once however many nodes receive it at the same moment, and an administrator's change
 * on one node is honoured by the others from the very next request. Every request of a burst is in
 * flight (its connection open and the whole request written) before the first answer is read.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { burst } from '../support/burst.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { api, startServerProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type ServerProcess } from '../support/processes.ts';

reportMissingPostgres();

const NODES = 3;
const BURST = 200;
const ROUNDS = 20;
const hotp = (seed: Uint8Array, counter: number) => referenceHotp(seed, counter, 6, 'sha1');

describe.skipIf(!postgres.available)('three server nodes on one PostgreSQL', () => {
  let nodes: ServerProcess[];

  beforeAll(async () => {
    const primary = await PostgresNode.startPrimary();
    const database = await primary.createDatabase();
    const url = connectionUrl(database, [primary]);
    const masterKey = randomBytes(32).toString('hex');
    const dir = tempDir('nv-cluster');
    // Started together: their migrations and first writes race, as a cluster's nodes' do. Replays
    // count toward the lockout: --max-fail 1000 keeps 199 of them a round from locking the token.
    nodes = await Promise.all(
      Array.from({ length: NODES }, (_, i) =>
        startServerProcess({ dbFile: path.join(dir, `node-${i}`, 'tokens.db'), postgresUrl: url, args: ['--quiet', '--rate-limit', '0', '--max-fail', '1000'], env: { NOEGLEVISER_MASTER_KEY: masterKey }, readyTimeoutMs: 90_000 }),
      ),
    );
  }, 120_000);

  async function enroll(serial: string, kind: 'hotp' | 'totp'): Promise<Uint8Array> {
    const seed = new Uint8Array(randomBytes(20));
    const answer = await api(nodes[0]!, 'POST', '/v1/tokens', { key: TEST_ADMIN_KEY, body: { serial, kind, seed: Buffer.from(seed).toString('hex') } });
    expect(answer.status, answer.text).toBe(201);
    return seed;
  }

  /** The same code to every node at once, BURST times; answers how many were accepted, and checks the rest were refused as replays. */
  async function acceptedOf(serial: string, code: string): Promise<number> {
    const answers = await burst(Array.from({ length: BURST }, (_, i) => ({ url: nodes[i % NODES]!.url, path: '/v1/verify', body: { serial, code } })));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const refused = answers.filter((a) => a.body.result !== 'accepted');
    expect(refused.every((a) => a.body.result === 'rejected' && a.body.reason === 'replayed'), JSON.stringify(refused.find((a) => a.body.reason !== 'replayed'))).toBe(true);
    return answers.length - refused.length;
  }

  it(`HOTP: ${BURST} requests with the same valid code spread over ${NODES} nodes, ${ROUNDS} rounds: exactly one accepted each round, one accepted record each in the audit`, async () => {
    const seed = await enroll('CL-H', 'hotp');
    for (let round = 0; round < ROUNDS; round++) {
      expect(await acceptedOf('CL-H', hotp(seed, round)), `round ${round}`).toBe(1);
    }
    const results: string[] = [];
    for (let after = 0; ; ) {
      const page = await api(nodes[2]!, 'GET', `/v1/audit?serial=CL-H&action=verify&limit=1000&after=${after}`, { key: TEST_ADMIN_KEY });
      expect(page.status, page.text).toBe(200);
      results.push(...page.body.entries.map((e: { result: string }) => e.result));
      if (page.body.entries.length < 1000) break;
      after = page.body.entries.at(-1).id;
    }
    expect(results).toHaveLength(ROUNDS * BURST);
    expect(results.filter((result) => result === 'accepted')).toHaveLength(ROUNDS);
  });

  it(`TOTP: ${BURST} requests with the code of this step and then of the next, spread over ${NODES} nodes: exactly one accepted each`, async () => {
    const seed = await enroll('CL-T', 'totp');
    const step = Math.floor(Date.now() / 30_000);
    expect(await acceptedOf('CL-T', hotp(seed, step))).toBe(1);
    expect(await acceptedOf('CL-T', hotp(seed, step + 1))).toBe(1);
  });

  it('an administrator disables a token through node A: node B refuses its next code, and accepts it once node C enables it again', async () => {
    const seed = await enroll('CL-D', 'hotp');
    expect((await api(nodes[1]!, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial: 'CL-D', code: hotp(seed, 0) } })).body.result).toBe('accepted');
    expect((await api(nodes[0]!, 'POST', '/v1/tokens/CL-D/disable', { key: TEST_ADMIN_KEY })).status).toBe(200);
    const refused = await api(nodes[1]!, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial: 'CL-D', code: hotp(seed, 1) } });
    expect(refused.body).toMatchObject({ result: 'rejected', reason: 'disabled' });
    expect((await api(nodes[2]!, 'POST', '/v1/tokens/CL-D/enable', { key: TEST_ADMIN_KEY })).status).toBe(200);
    expect((await api(nodes[1]!, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial: 'CL-D', code: hotp(seed, 1) } })).body.result).toBe('accepted');
  });
});
