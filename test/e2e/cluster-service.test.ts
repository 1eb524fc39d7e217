/**
 * The login service on three server nodes (separate `noegleviser server` processes) sharing one
 * PostgreSQL database: a person takes step 1 of a login on one node and step 2 on another, a block
 * through one node ends the person's session on the others from their very next request, and one
 * code-card key sent to all three nodes at once is accepted once. Every request of a burst is in
 * flight (its connection open and the whole request written) before the first answer is read.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { storedLetterHtml, type LetterSource } from '../support/stored-letters.ts';
import { rawBurst } from '../support/burst.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { api, startServerProcess, tempDir, TEST_ADMIN_KEY, type ServerProcess } from '../support/processes.ts';
import { attributeOf, cprOfAge, csrfOf, readLetter, WebClient } from '../support/web-client.ts';

reportMissingPostgres();

const NODES = 3;
const ROUNDS = 20;

describe.skipIf(!postgres.available)('the login service on three server nodes on one PostgreSQL', () => {
  let nodes: ServerProcess[];
  let dataDirs: string[];

  /** Where the nodes' letters are: the database they share. */
  let letters: LetterSource;

  beforeAll(async () => {
    const primary = await PostgresNode.startPrimary();
    const url = connectionUrl(await primary.createDatabase(), [primary]);
    const masterKey = randomBytes(32).toString('hex');
    letters = { postgresUrl: url, masterKey };
    const dir = tempDir('cluster-svc');
    dataDirs = Array.from({ length: NODES }, (_, i) => path.join(dir, `node-${i}`));
    nodes = await Promise.all(
      dataDirs.map((dataDir) =>
        startServerProcess({ dbFile: path.join(dataDir, 'tokens.db'), postgresUrl: url, args: ['--quiet', '--rate-limit', '0', '--login-rate', '10000'], env: { NOEGLEVISER_MASTER_KEY: masterKey }, readyTimeoutMs: 90_000 }),
      ),
    );
  }, 120_000);

  let people = 0;
  /** A number as letters (a name has no digits): 1 → b, 27 → bb. */
  const lettersOf = (n: number): string => (n < 26 ? '' : lettersOf(Math.floor(n / 26))) + String.fromCharCode(97 + (n % 26));
  /** A person with a code card, ordered through `node`: their NemID number, temporary password and card keys (the letter read from the cluster's outbox). */
  async function order(node: number): Promise<{ nemId: string; password: string; keys: Map<string, string> }> {
    people++;
    const ordered = await api(nodes[node]!, 'POST', '/v1/people', { key: TEST_ADMIN_KEY, body: { name: `Klynge ${lettersOf(people)}`, cpr: cprOfAge(30 + (people % 40), String(1000 + people)), credential: 'card' } });
    expect(ordered.status, ordered.text).toBe(201);
    const letter = readLetter(await storedLetterHtml(letters, ordered.body.letter));
    return { nemId: ordered.body.person.nemIdNumber, password: letter.secret('temporary-password')!, keys: letter.keys };
  }

  /** Step 1 on `node`: the user-id and password; answers the browser, on the page of step 2. */
  async function stepOne(node: number, nemId: string, password: string): Promise<{ web: WebClient; number: string }> {
    const web = new WebClient(nodes[node]!.url);
    await web.open('/login');
    const step2 = await web.submit('/login', { userId: nemId, password });
    expect(step2.status, step2.body.slice(0, 300)).toBe(200);
    const number = attributeOf(step2.body, 'key-number', 'data-number');
    expect(number).toMatch(/^\d{4}$/);
    return { web, number: number! };
  }

  it('step 1 on node A, step 2 on node B, the first login finished on node C: one session, wherever the person is', async () => {
    const person = await order(0);
    const { web: onA, number } = await stepOne(0, person.nemId, person.password);
    const onB = onA.at(nodes[1]!.url);
    // Node B shows the key the session on node A was asked for, and takes it.
    expect(attributeOf((await onB.open('/login/key')).body, 'key-number', 'data-number')).toBe(number);
    const chosen = await onB.submit('/login/key', { key: person.keys.get(number)! });
    expect(chosen.body).toContain('id="choose-form"');
    const onC = onB.at(nodes[2]!.url);
    await onC.open('/login/choose');
    const password = 'klynge-Pass-2026';
    const home = await onC.submit('/login/choose', { userId: `klynge.${lettersOf(people)}`, password, passwordAgain: password });
    expect(home.body, 'signed in on self-service').toContain('id="scope"');
    for (const node of nodes) expect((await onC.at(node.url).get('/self-service')).status, node.url).toBe(200);
  });

  it('a block through node B ends the session on node A at its very next request', async () => {
    const person = await order(0);
    const { web: onA, number } = await stepOne(0, person.nemId, person.password);
    expect((await onA.submit('/login/key', { key: person.keys.get(number)! })).body).toContain('id="choose-form"');
    expect((await onA.get('/login/choose')).status).toBe(200);
    const blocked = await api(nodes[1]!, 'POST', `/v1/people/${person.nemId}/block`, { key: TEST_ADMIN_KEY });
    expect(blocked.status, blocked.text).toBe(201);
    const next = await onA.get('/login/choose');
    expect([next.status, next.location]).toEqual([303, '/login']);
    // And the blocked person cannot start again on any node.
    const again = new WebClient(nodes[2]!.url);
    await again.open('/login');
    expect((await again.submit('/login', { userId: person.nemId, password: person.password })).status).not.toBe(200);
  });

  it(`one code-card key sent to all ${NODES} nodes at once, by a session on each, ${ROUNDS} rounds: accepted exactly once each round`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // A person of their own each round: the key refused twice a round counts toward a lockout.
      const person = await order(round % NODES);
      const sessions = [];
      for (let node = 0; node < NODES; node++) sessions.push(await stepOne(node, person.nemId, person.password));
      // The card asks for one key until it is answered: every session was shown the same number.
      const { number } = sessions[0]!;
      expect(sessions.map((s) => s.number)).toEqual(Array(NODES).fill(number));
      const key = person.keys.get(number)!;
      const answers = await rawBurst(
        sessions.map(({ web }, node) => ({
          url: nodes[node]!.url,
          method: 'POST',
          path: '/login/key',
          headers: { Cookie: web.cookieHeader(), 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ key, _csrf: csrfOf(web.lastPage) }).toString(),
        })),
      );
      const accepted = answers.filter((answer) => answer.status === 303 && /\r\nlocation: \/login\/choose\r?$/im.test(answer.head));
      expect(accepted, `round ${round}: ${answers.map((a) => a.status).join(' ')}`).toHaveLength(1);
      for (const answer of answers) expect(answer.status, `round ${round}`).toBeLessThan(500);
    }
  });
});
