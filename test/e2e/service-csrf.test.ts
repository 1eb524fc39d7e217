/**
 * CSRF as a property of the web service, over real HTTP on loopback against the real composition
 * (startHost: token API, login service, the lab's page): every state-changing route the service and
 * the lab register — counted with fastify's onRoute as they are registered — refuses a request
 * without a valid CSRF token with 403, sent with a signed-in administrator's session so that the
 * 403 is the CSRF check's and not a login's; the session lives on after each refusal. The routes
 * exempt from the check are exactly the ones named, and each refuses such a request by its own
 * guard. A route that gets past the check makes the census fail (the controls at the end).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerLabPage } from '../../host/lab/lab-page.ts';
import { CSRF_EXEMPT, csrfExemption } from '../../host/service/web/csrf.ts';
import { CSRF_REFUSED } from '../../host/service/web/sessions.ts';
import { startHost, type RunningHost } from '../../host/start.ts';
import { tempDir } from '../support/processes.ts';
import { WebClient, attributeOf, csrfOf, readLetter, type WebResponse } from '../support/web-client.ts';

const ADMIN_KEY = 'nv_admin_service-csrf-test-admin-key';
const CLIENT_KEY = 'nv_client_service-csrf-test-client-key';
const STATE_CHANGING = ['POST', 'PUT', 'PATCH', 'DELETE'];

interface Route {
  readonly method: string;
  readonly url: string;
}

/**
 * What each exempt part may answer a request that carries the session cookie but not its own
 * credential: the API wants its key; the lab its header (and it takes no form at all).
 */
const OWN_GUARDS: Readonly<Record<string, readonly string[]>> = {
  '/v1/': ['401 NV_UNAUTHORIZED'],
  '/lab/': ['403 NV_LAB_FORBIDDEN', '415 NV_BAD_MEDIA_TYPE'],
  '/validate/check': ['401 NV_UNAUTHORIZED'],
};

interface Rig {
  readonly host: RunningHost;
  /** The state-changing routes registered from the service on, in order. */
  readonly routes: Route[];
  readonly dir: string;
}

async function startRig(name: string, extend?: (app: FastifyInstance) => void): Promise<Rig> {
  const dir = tempDir(name);
  const routes: Route[] = [];
  const outboxDir = path.join(dir, 'outbox');
  const census = (route: RouteOptions) => {
    for (const method of [route.method].flat()) if (STATE_CHANGING.includes(method)) routes.push({ method, url: route.url });
  };
  try {
    const host = await startHost({
      dbFile: path.join(dir, 'server', 'tokens.db'),
      port: 0,
      env: {},
      apiKeys: { admin: ADMIN_KEY, client: CLIENT_KEY },
      servicePolicy: { loginAttemptsPerMinute: 10_000 },
      outboxDir,
      beforeRoutes: (app) => app.addHook('onRoute', census),
      extend: async (app) => {
        await registerLabPage(app, { debugAddress: path.join(dir, 'no-token.sock'), tokenSerial: 'NV-CSRF-1', outboxDir });
        extend?.(app);
      },
    });
    return { host, routes, dir };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function closeRig(rig: Rig | undefined): Promise<void> {
  if (!rig) return;
  await rig.host.close();
  fs.rmSync(rig.dir, { recursive: true, force: true });
}

/** A new organisation's administrator after their first login: signed in, on /admin. */
async function signedInAdministrator(host: RunningHost, cvr: string): Promise<WebClient> {
  const created = await fetch(new URL('/v1/organisations', host.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cvr, name: 'Værn ApS', administrator: 'Vera Værn' }),
  });
  const answer = (await created.json()) as { administrator: { nemIdNumber: string }; letter: string; cardLetter: string };
  expect(created.status, JSON.stringify(answer)).toBe(201);
  const password = readLetter((await host.service.outbox.open(answer.letter)).html).secret('temporary-password')!;
  const { keys } = readLetter((await host.service.outbox.open(answer.cardLetter)).html);
  const web = new WebClient(host.url);
  await web.open('/login');
  const step2 = await web.submit('/login', { userId: answer.administrator.nemIdNumber, password });
  const number = attributeOf(step2.body, 'key-number', 'data-number');
  await web.submit('/login/key', { key: keys.get(number!)! });
  const own = 'vera-Pass-1x';
  await web.submit('/login/choose', { userId: 'vera.vaern', password: own, passwordAgain: own });
  expect(await signedIn(web), 'the administrator is signed in').toBe(true);
  return web;
}

async function signedIn(web: WebClient): Promise<boolean> {
  const page = await web.get('/admin');
  return page.status === 200 && page.body.includes('id="issue-form"');
}

/** A path of `route` with a value in each parameter. */
function pathOf(route: Route): string {
  return route.url.replace(/:[A-Za-z]+/g, '0000000000');
}

function refusedForCsrf(answer: WebResponse): boolean {
  if (answer.status !== 403) return false;
  if ((answer.headers.get('content-type') ?? '').startsWith('application/json')) return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code === 'NV_CSRF';
  return answer.body.includes(CSRF_REFUSED().message);
}

function codeOf(answer: WebResponse): string | undefined {
  try {
    return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/**
 * Sends each route requests a cross-site form or script could make with the signed-in session's
 * cookie: a form without `_csrf`, a form and a JSON call with a wrong token. Every one must be
 * refused for the CSRF token (an exempt route: by its own guard), and the session must still be
 * signed in afterwards (so nothing was done with it, and the next route is tried signed in too).
 * Answers the problems found, the first of each route.
 */
async function census(web: WebClient, routes: readonly Route[]): Promise<string[]> {
  const problems = new Map<string, string>();
  const wrong = 'x'.repeat(32);
  for (const route of routes) {
    const where = `${route.method} ${route.url}`;
    const path = pathOf(route);
    const attempts = [
      () => web.request(route.method, path, { text: '', type: 'application/x-www-form-urlencoded' }),
      () => web.request(route.method, path, { text: new URLSearchParams({ _csrf: wrong }).toString(), type: 'application/x-www-form-urlencoded' }),
      () => web.request(route.method, path, { text: '{}', type: 'application/json' }, { 'x-csrf-token': wrong }),
    ];
    const exemption = csrfExemption(route.url);
    for (const attempt of attempts) {
      const answer = await attempt();
      let problem: string | undefined;
      if (exemption) {
        const guard = OWN_GUARDS[exemption.prefix];
        const refusal = `${answer.status} ${codeOf(answer) ?? ''}`;
        if (!guard) problem = `exempt under ${exemption.prefix}, which this census knows no guard of`;
        else if (!guard.includes(refusal)) problem = `exempt, yet not refused by its own guard (HTTP ${refusal})`;
      } else if (!refusedForCsrf(answer)) {
        problem = `not refused for its CSRF token (HTTP ${answer.status})`;
      }
      if (problem && !problems.has(where)) problems.set(where, `${where}: ${problem}`);
      if (!(await signedIn(web))) {
        problems.set(where, `${where}: the session was ended by a request without its CSRF token`);
        return [...problems.values()];
      }
    }
  }
  return [...problems.values()];
}

describe('every state-changing route of the web service refuses a request without its CSRF token', () => {
  let rig: Rig | undefined;
  let web: WebClient;

  beforeAll(async () => {
    rig = await startRig('csrf');
    web = await signedInAdministrator(rig.host, '41000015');
  }, 60_000);
  afterAll(() => closeRig(rig));

  it('the census counts the routes of the login, self-service, administration, JSON login, operator API and lab', () => {
    const names = rig!.routes.map((r) => `${r.method} ${r.url}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /login',
        'POST /login/key',
        'POST /login/choose',
        'POST /login/key-file',
        'POST /activate/complete',
        'POST /logout',
        'POST /self-service/block',
        'POST /self-service/password',
        'POST /admin/employees',
        'POST /admin/employees/:id/block',
        'POST /api/login',
        'POST /api/logout',
        'POST /v1/people',
        'POST /lab/token/press',
      ]),
    );
    expect(names.length).toBeGreaterThanOrEqual(25);
  });

  it('the exempt routes are the ones named, each with why: the API (an API key, no cookie), the lab (loopback and its own header) privacyIDEA\'s validate API (a client key or a listed network) and the OpenID Connect provider (its own)', () => {
    expect(CSRF_EXEMPT.map((e) => e.prefix)).toEqual(['/v1/', '/lab/', '/validate/check', '/oidc/']);
    for (const exemption of CSRF_EXEMPT) expect(exemption.why.length).toBeGreaterThan(40);
  });

  it('each refuses with 403 NV_CSRF (an exempt one by its own guard), and the signed-in session lives on', async () => {
    expect(await census(web, rig!.routes)).toEqual([]);
  }, 120_000);

  it('the session used is signed in: with its token, the same kind of request is let through', async () => {
    const page = await web.open('/self-service');
    const answer = await web.post('/self-service/threshold', { threshold: '30', _csrf: csrfOf(page.body) });
    expect(answer).toMatchObject({ status: 303, location: '/self-service?done=threshold' });
  });
});

describe('the census fails for a route that gets past the check', () => {
  let rig: Rig | undefined;
  let web: WebClient;
  const changed: string[] = [];

  beforeAll(async () => {
    rig = await startRig('csrf-controls', (app) => {
      // Does its work in its own onRequest hook, before the web service's check runs.
      const doWork = async (request: FastifyRequest, reply: FastifyReply) => {
        changed.push(request.url);
        return reply.send({ changed: true });
      };
      app.post('/test/before-the-check', { onRequest: doWork }, async () => ({}));
      // Under an exempt name, but outside the lab's plugin: no loopback or header check of its own.
      app.post('/lab/test-outside-the-lab', doWork);
    });
    web = await signedInAdministrator(rig.host, '41000023');
  }, 60_000);
  afterAll(() => closeRig(rig));

  it('names each such route, and only those', async () => {
    const problems = await census(web, rig!.routes);
    expect(problems.map((p) => p.split(':')[0])).toEqual(['POST /test/before-the-check', 'POST /lab/test-outside-the-lab']);
    expect(changed.length, 'their work was done, by requests without a CSRF token').toBeGreaterThan(0);
  }, 120_000);
});
