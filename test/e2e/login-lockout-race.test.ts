/**
 * Step 1 of the login racing its own lockout, over real HTTP against a real server and SQLite file.
 * A person one failure short of the lock gets a burst of step-1 attempts, wrong passwords and the
 * right one, all sent before the first answer is read. Each attempt reads the person, spends a
 * slow scrypt, then decides: an attempt that read the person before the lock and decides after it
 * must see the lock. Whatever the interleaving, the person is locked exactly once, and no right
 * password is let in after the lock: every attempt let through to step 2 is audited before the
 * lock, and none of them gets further.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/start.ts';
import { tempDir } from '../support/processes.ts';
import { WebClient, cprOfAge, readLetter } from '../support/web-client.ts';

const ADMIN_KEY = 'nv_admin_lockout-race-test-admin-key';
const CLIENT_KEY = 'nv_client_lockout-race-test-client-key';
const MAX_FAILURES = 5;
/** Wrong attempts first, then the right ones: the right ones' hashes queue behind the wrong ones', so they decide after the lock. */
const WRONG = 8;
const RIGHT = 8;

let server: RunningHost;
let dir: string;

beforeAll(async () => {
  dir = tempDir('lockout-race');
  server = await startHost({
    dbFile: path.join(dir, 'server', 'tokens.db'),
    port: 0,
    apiKeys: { admin: ADMIN_KEY, client: CLIENT_KEY },
    logger: false,
    env: {},
    servicePolicy: { maxFailures: MAX_FAILURES, loginAttemptsPerMinute: 10_000 },
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function operator(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(new URL(url, server.url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

describe('step 1 racing its lockout', () => {
  it(`${WRONG} wrong and ${RIGHT} right passwords at once, one failure short of the lock: locked exactly once, and no right password let in after the lock`, async () => {
    const ordered = await operator('POST', '/v1/people', { name: 'Rita Race', cpr: cprOfAge(44, '1001'), credential: 'card' });
    expect(ordered.status, JSON.stringify(ordered.json)).toBe(201);
    const nemId: string = ordered.json.person.nemIdNumber;
    const password = readLetter((await server.service.outbox.open(ordered.json.letter)).html).secret('temporary-password');
    expect(password, 'the welcome letter holds the temporary password').toBeDefined();

    const warmUp = new WebClient(server.url);
    await warmUp.open('/login');
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await warmUp.submit('/login', { userId: nemId, password: `wrong-warm-up-${i}` })).status).toBe(401);
    expect((await operator('GET', `/v1/people/${nemId}`)).json.person).toMatchObject({ state: 'pending', failCount: MAX_FAILURES - 1 });

    // One browser per attempt, each with its own session and CSRF token; then every form posted at once.
    const attempts = [
      ...Array.from({ length: WRONG }, (_, i) => ({ right: false, password: `wrong-burst-${i}` })),
      ...Array.from({ length: RIGHT }, () => ({ right: true, password: password! })),
    ];
    const browsers = await Promise.all(
      attempts.map(async () => {
        const web = new WebClient(server.url);
        await web.open('/login');
        return web;
      }),
    );
    const answers = await Promise.all(attempts.map((attempt, i) => browsers[i]!.post('/login', { userId: nemId, password: attempt.password })));

    const person = (await operator('GET', `/v1/people/${nemId}`)).json.person;
    expect(person).toMatchObject({ state: 'locked', failCount: MAX_FAILURES - 1 + WRONG });
    const audit = (await operator('GET', `/v1/audit?subject=${nemId}&action=login.password&order=asc`)).json.entries as { result: string }[];
    const results = audit.map((entry) => entry.result);
    expect(results.filter((result) => result === 'locked'), results.join(' ')).toHaveLength(1);
    const lockedAt = results.indexOf('locked');
    const admitted = results.flatMap((result, index) => (result === 'ok' ? [index] : []));
    expect(admitted.every((index) => index < lockedAt), `a right password let in after the lock: ${results.join(' ')}`).toBe(true);

    // What each browser was told agrees with the audit: wrong ones refused; right ones let through
    // to step 2 exactly as often as the audit says, the others refused as locked.
    answers.forEach((answer, i) => {
      if (!attempts[i]!.right) expect(answer.status, `wrong attempt ${i}`).toBe(401);
      else expect([303, 401], `right attempt ${i}`).toContain(answer.status);
    });
    const throughIndexes = answers.flatMap((answer, i) => (answer.status === 303 ? [i] : []));
    expect(throughIndexes.every((i) => attempts[i]!.right && answers[i]!.location === '/login/key')).toBe(true);
    expect(throughIndexes).toHaveLength(admitted.length);
    expect(results.filter((result) => result === 'refused-locked')).toHaveLength(RIGHT - admitted.length);
    // And a session let through before the lock gets no further: step 2 ends the login.
    for (const i of throughIndexes) expect((await browsers[i]!.get('/login/key')).status, `step 2 of right attempt ${i}`).toBe(403);
  });
});
