/**
 * Two hosts (startHost, each with the lab's page) on one throwaway PostgreSQL database: what the
 * service writes to its outbox on one node is listed and opened, the same bytes, on the other's
 * lab page, letters ordered on both nodes at once never share a number, and the login throttle
 * counts an address's attempts for the cluster, not per node.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerLabPage } from '../../host/lab/lab-page.ts';
import type { LetterSummary } from '../../host/service/outbox/outbox.ts';
import { startHost, type RunningHost } from '../../host/start.ts';
import { tempDir } from '../support/processes.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { cprOfAge, readLetter } from '../support/web-client.ts';

reportMissingPostgres();

const ADMIN_KEY = 'nv_admin_cluster_outbox_0123456789abcdef';
const CLIENT_KEY = 'nv_client_cluster_outbox_0123456789abcdef';
const LOGIN_LIMIT = 6;

describe.skipIf(!postgres.available)('the outbox and the login throttle across two nodes on PostgreSQL', () => {
  const dir = tempDir('clusterbox');
  let primary: PostgresNode;
  let nodes: RunningHost[] = [];

  beforeAll(async () => {
    primary = await PostgresNode.startPrimary({ name: 'outbox' });
    const url = connectionUrl(await primary.createDatabase(), [primary]);
    const env = { NOEGLEVISER_MASTER_KEY: randomBytes(32).toString('hex') };
    for (const name of ['a', 'b']) {
      nodes.push(
        await startHost({
          dbFile: url,
          dataDir: path.join(dir, name),
          port: 0,
          env,
          apiKeys: { admin: ADMIN_KEY, client: CLIENT_KEY },
          rateLimitPerSecond: 0,
          servicePolicy: { loginAttemptsPerMinute: LOGIN_LIMIT },
          extend: (app, { service }) => registerLabPage(app, { debugAddress: path.join(dir, `${name}-no-token.sock`), tokenSerial: `NV-OUTBOX-${name}`, outbox: service.outbox }),
        }),
      );
    }
  }, 120_000);
  afterAll(async () => {
    for (const node of nodes) await node.close().catch(() => undefined);
    nodes = [];
    await primary?.kill();
  });

  const order = async (node: RunningHost, name: string, cpr: string): Promise<string> => {
    const response = await fetch(new URL('/v1/people', node.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, cpr, credential: 'card' }),
    });
    const body = (await response.json()) as { letter: string };
    expect(response.status, JSON.stringify(body)).toBe(201);
    return body.letter;
  };
  const labList = async (node: RunningHost): Promise<LetterSummary[]> => ((await (await fetch(new URL('/lab/outbox', node.url))).json()) as { letters: LetterSummary[] }).letters;
  const labOpen = async (node: RunningHost, id: string) => {
    const response = await fetch(new URL(`/lab/outbox/${id}`, node.url));
    expect(response.status).toBe(200);
    return response.text();
  };

  it("a person ordered on node A: the welcome letter is on node B's lab page, whole, with its card", async () => {
    const [a, b] = nodes as [RunningHost, RunningHost];
    const id = await order(a, 'Anna Klynge', cprOfAge(40, '1001'));
    expect((await labList(b)).map((letter) => letter.id)).toContain(id);
    const onA = await labOpen(a, id);
    const onB = await labOpen(b, id);
    expect(onB).toBe(onA);
    const read = readLetter(onB);
    expect(read.secret('temporary-password')).toBeTruthy();
    expect(read.keys.size).toBe(148);
    const summary = (await labList(b)).find((letter) => letter.id === id)!;
    const pdf = summary.attachments.find((attachment) => attachment.contentType === 'application/pdf');
    expect(pdf, 'the card as a PDF').toBeDefined();
    const attachment = await fetch(new URL(`/lab/outbox/${id}/${pdf!.name}`, b.url));
    expect(attachment.status).toBe(200);
    expect(Buffer.from(await attachment.arrayBuffer()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('people ordered on both nodes at once: every letter has a number of its own, and both nodes list the same outbox', async () => {
    const [a, b] = nodes as [RunningHost, RunningHost];
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => order(i % 2 === 0 ? a : b, `Person ${'ABCDEFGHIJKL'[i]}`, cprOfAge(30 + i, String(2000 + i)))));
    expect(new Set(ids).size).toBe(12);
    const numbers = ids.map((id) => Number(id.split('-')[0]));
    expect(new Set(numbers).size).toBe(12);
    const [listA, listB] = await Promise.all([labList(a), labList(b)]);
    expect(listA).toEqual(listB);
    for (const id of ids) expect(listA.map((letter) => letter.id)).toContain(id);
  });

  it(`the login throttle holds for the cluster: ${LOGIN_LIMIT * 3} attempts from one address spread over both nodes, ${LOGIN_LIMIT} get past it`, async () => {
    const [a, b] = nodes as [RunningHost, RunningHost];
    // Refused by the CSRF check (no session) if let through; 429 NV_RATE_LIMITED if the throttle stops it first.
    const statuses = await Promise.all(
      Array.from({ length: LOGIN_LIMIT * 3 }, async (_, i) => {
        const response = await fetch(new URL('/login', (i % 2 === 0 ? a : b).url), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'userId=nobody&password=wrong-password1',
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status !== 429)).toHaveLength(LOGIN_LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(LOGIN_LIMIT * 2);
  });
});
