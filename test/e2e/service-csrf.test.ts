/**
 * CSRF as a property of the web service, over real HTTP on loopback against the real composition
 * (startHost: token API, login service, the lab's page): every state-changing route the service and
 * the lab register — counted with fastify's onRoute as they are registered — refuses a request
 * without a valid CSRF token with 403, sent with a signed-in administrator's session so that the
 * 403 is the CSRF check's and not a login's; the session lives on after each refusal. The routes
 * exempt from the check are exactly the ones named, and each refuses such a request by its own
 * guard. A route that gets past the check makes the census fail (the controls at the end).
 */
import { createHash, randomBytes } from 'node:crypto';
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

/** What oidc-provider answers a form posted without the site's client authentication, and a JSON call (it takes forms only). */
const NO_CLIENT_AUTH = '400 invalid_request (no client authentication mechanism provided)';
const FORMS_ONLY = (endpoint: string) => `400 invalid_request (only application/x-www-form-urlencoded content-type bodies are supported on POST ${endpoint})`;

/**
 * What each exempt part may answer a request that carries the session cookie but not its own
 * credential: the API wants its key; the lab its header (and it takes no form at all). The
 * provider's route (/oidc/*) is one route for all its endpoints: each endpoint that takes a POST is
 * named with what it wants instead (`paths`), and is probed by that path; every other endpoint the
 * provider publishes, and any other method, must answer 404.
 */
const OWN_GUARDS: Readonly<Record<string, readonly string[] | { readonly paths: Readonly<Record<string, readonly string[]>> }>> = {
  // The API routes registered beside the token API (the provider's sites and keys) take JSON only: a form is refused for its type before anything else.
  '/v1/': ['401 NV_UNAUTHORIZED', '415 NV_BAD_MEDIA_TYPE'],
  '/lab/': ['403 NV_LAB_FORBIDDEN', '415 NV_BAD_MEDIA_TYPE'],
  '/validate/check': ['401 NV_UNAUTHORIZED'],
  '/oidc/*': {
    paths: {
      // A site's client authentication (client_secret_basic or _post).
      '/oidc/token': [NO_CLIENT_AUTH, FORMS_ONLY('/token')],
      '/oidc/token/revocation': [NO_CLIENT_AUTH, FORMS_ONLY('/token/revocation')],
      '/oidc/request': [NO_CLIENT_AUTH, FORMS_ONLY('/request')],
      // An access token.
      '/oidc/me': ['401 invalid_token (no access token provided)', FORMS_ONLY('/me')],
      // The xsrf token the provider keeps in its own session for the logout it asked to confirm.
      '/oidc/session/end/confirm': ['400 invalid_request (could not find logout details)', FORMS_ONLY('/session/end/confirm')],
    },
  },
};

/** Where the census probes a route: the provider's endpoints by their paths (and those it publishes), any other route once. */
async function probesOf(web: WebClient, route: Route, exemption: string | undefined): Promise<{ path: string; guard: readonly string[] | undefined }[]> {
  const guard = exemption === undefined ? undefined : OWN_GUARDS[exemption];
  if (guard === undefined || Array.isArray(guard)) return [{ path: pathOf(route), guard: guard as readonly string[] | undefined }];
  const { paths } = guard as { paths: Readonly<Record<string, readonly string[]>> };
  const discovery = JSON.parse((await web.get('/oidc/.well-known/openid-configuration')).body) as Record<string, unknown>;
  const published = Object.entries(discovery)
    .filter(([name, value]) => name.endsWith('_endpoint') && typeof value === 'string')
    .map(([, value]) => new URL(value as string).pathname);
  const all = [...new Set([...Object.keys(paths), ...published])];
  return all.map((path) => ({ path, guard: route.method === 'POST' && paths[path] ? paths[path] : ['404 '] }));
}

interface Rig {
  readonly host: RunningHost;
  /** The state-changing routes registered from the service on, in order. */
  readonly routes: Route[];
  readonly dir: string;
}

async function startRig(name: string, extend?: (app: FastifyInstance) => void): Promise<Rig> {
  const dir = tempDir(name);
  const routes: Route[] = [];
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
      // The census sends a few hundred requests a second; the general rate limit is not what it counts.
      rateLimitPerSecond: 0,
      beforeRoutes: (app) => app.addHook('onRoute', census),
      extend: async (app, { service }) => {
        await registerLabPage(app, { debugAddress: path.join(dir, 'no-token.sock'), tokenSerial: 'NV-CSRF-1', outbox: service.outbox });
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

/** The coded error of an answer: ours (`error.code`), or an OAuth error with its description. */
function codeOf(answer: WebResponse): string | undefined {
  try {
    const { error, error_description: description } = JSON.parse(answer.body) as { error?: { code?: string } | string; error_description?: string };
    if (typeof error === 'string') return `${error} (${description ?? ''})`;
    return error?.code;
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
    const exemption = csrfExemption(route.url);
    for (const { path, guard } of await probesOf(web, route, exemption?.prefix)) {
      const attempts = [
        () => web.request(route.method, path, { text: '', type: 'application/x-www-form-urlencoded' }),
        () => web.request(route.method, path, { text: new URLSearchParams({ _csrf: wrong }).toString(), type: 'application/x-www-form-urlencoded' }),
        () => web.request(route.method, path, { text: '{}', type: 'application/json' }, { 'x-csrf-token': wrong }),
      ];
      for (const attempt of attempts) {
        const answer = await attempt();
        let problem: string | undefined;
        if (exemption) {
          const refusal = `${answer.status} ${codeOf(answer) ?? ''}`;
          if (!guard) problem = `exempt under ${exemption.prefix}, which this census knows no guard of`;
          else if (!guard.includes(refusal)) problem = `exempt, yet ${path} is not refused by its own guard (HTTP ${refusal})`;
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

  it('the census counts the routes of the login, self-service, administration, operator API, lab and provider (and no JSON login)', () => {
    const names = rig!.routes.map((r) => `${r.method} ${r.url}`);
    expect(names.filter((name) => name.includes(' /api/login') || name === 'POST /api/logout'), 'no JSON login: sites use OpenID Connect').toEqual([]);
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
        'POST /v1/people',
        'POST /lab/token/press',
        'POST /oidc/*',
        'POST /oidc/interaction/:uid/login',
        'POST /oidc/interaction/:uid/login/key',
        'POST /oidc/interaction/:uid/login/key-file',
        'POST /oidc/interaction/:uid/consent',
      ]),
    );
    expect(names.length).toBeGreaterThanOrEqual(25);
  });

  it("the exempt routes are the ones named, each with why: the API (an API key, no cookie), the lab (loopback and its own header) privacyIDEA's validate API (a client key or a listed network) and the OpenID Connect provider's endpoints (a site's own credentials), not the provider's login pages", () => {
    expect(CSRF_EXEMPT.map((e) => e.prefix)).toEqual(['/v1/', '/lab/', '/validate/check', '/oidc/*']);
    expect(csrfExemption('/oidc/interaction/:uid/login')).toBeUndefined();
    for (const exemption of CSRF_EXEMPT) expect(exemption.why.length).toBeGreaterThan(40);
  });

  it('each refuses with 403 NV_CSRF (an exempt one by its own guard), and the signed-in session lives on', async () => {
    expect(await census(web, rig!.routes)).toEqual([]);
  }, 120_000);

  it("a form of the provider's login (an interaction) is checked against the interaction's own token: a wrong one, or the right one without the interaction's cookie, is 403 NV_CSRF; the right one with it is let through", async () => {
    const redirectUri = 'http://127.0.0.9/callback';
    const { site } = await rig!.host.oidc.sites.add({ name: 'Census site', redirectUris: [redirectUri], acceptedScopes: ['full'], allowInsecureLoopback: true }, { name: 'test' });
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      client_id: site.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      state: 'census',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const person = new WebClient(rig!.host.url);
    const started = await person.get(`/oidc/auth?${query}`);
    expect(started.location, started.body).toMatch(/^\/oidc\/interaction\/[\w-]+$/);
    const page = await person.open(started.location!);
    const token = csrfOf(page.body);
    const login = `${started.location}/login`;
    const tries = { userId: 'nobody.here', password: 'not-the-password' };

    expect(refusedForCsrf(await person.post(login, { ...tries, _csrf: 'y'.repeat(token.length) }))).toBe(true);
    expect(refusedForCsrf(await person.post(login, tries, { csrf: false }))).toBe(true);
    const elsewhere = new WebClient(rig!.host.url);
    expect(refusedForCsrf(await elsewhere.post(login, { ...tries, _csrf: token }))).toBe(true);
    // Another interaction's token is not this one's.
    const other = new WebClient(rig!.host.url);
    const otherStart = await other.get(`/oidc/auth?${query}`);
    const otherToken = csrfOf((await other.open(otherStart.location!)).body);
    expect(refusedForCsrf(await person.post(login, { ...tries, _csrf: otherToken }))).toBe(true);

    const checked = await person.post(login, { ...tries, _csrf: token });
    expect(refusedForCsrf(checked), checked.body).toBe(false);
    expect(checked.body, 'the password step answered').toContain('id="error"');
  });

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
