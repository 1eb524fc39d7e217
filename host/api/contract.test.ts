/**
 * The contract as the host keeps it, on a real host on loopback with a real SQLite file: every
 * /v1 and /api route writes its answers by its schema in host/api (a route without one is refused
 * when it is registered), an answer carries only what its schema lists, the login service's
 * routes refuse unknown fields as the token routes do, and an organisation is sent like every
 * other view. And, for the compiler, that the types derived from the schemas are the ones meant.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/processes.ts';
import { startHost, type RunningHost } from '../start.ts';
import type { FromSchema } from './schema.ts';
import { peopleRoutes, type OrganisationView, type PersonOrder, type PersonView } from './people.ts';
import { tokenRoutes, type ResyncRequest, type VerifyOutcome } from './tokens.ts';

const ADMIN_KEY = 'nv_admin_contract-test-admin-key';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function host(extend?: (app: FastifyInstance) => void): Promise<RunningHost> {
  const dir = tempDir('contract');
  dirs.push(dir);
  return startHost({ dbFile: path.join(dir, 'tokens.db'), port: 0, env: {}, apiKeys: { admin: ADMIN_KEY }, rateLimitPerSecond: 0, extend });
}

async function call(on: RunningHost, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(new URL(url, on.url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

describe('every /v1 and /api route answers by its schema', () => {
  it.each([
    ['a /v1 route with no schema', (app: FastifyInstance) => app.get('/v1/leak', async () => ({ secret: 'x' }))],
    ['an /api route that lists its success but not its errors', (app: FastifyInstance) => app.get('/api/leak', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}))],
  ])('%s is refused when it is registered, and the host does not start', async (_what, extend) => {
    await expect(host(extend)).rejects.toMatchObject({ code: 'NV_ROUTE_WITHOUT_SCHEMA' });
  });

  it('a route outside the API (the lab page) needs none', async () => {
    const running = await host((app) => app.get('/lab/probe', async () => ({ ok: true })));
    try {
      expect((await call(running, 'GET', '/lab/probe')).json).toEqual({ ok: true });
    } finally {
      await running.close();
    }
  });

  it('an answer carries only what its schema lists: a field a handler adds never goes out', async () => {
    const running = await host((app) =>
      app.get('/v1/probe/:id', { schema: peopleRoutes.get }, async () => ({
        person: { nemIdNumber: '1234567890', userId: null, name: 'P', scope: 'full', state: 'active', organisationId: null, role: null, failCount: 0, cardThreshold: 20, createdAt: 'now', lastLoginAt: null, passwordHash: 'scrypt$secret' },
        debug: 'internal',
      })),
    );
    try {
      const { status, json } = await call(running, 'GET', '/v1/probe/1234567890');
      expect(status).toBe(200);
      expect(Object.keys(json)).toEqual(['person']);
      expect(JSON.stringify(json)).not.toContain('secret');
    } finally {
      await running.close();
    }
  });
});

  it('an answer of one of several shapes (a verdict) is written by its shape, a field no shape lists left out, not failed', async () => {
    const running = await host((app) => app.get('/v1/probe-verdict', { schema: { response: tokenRoutes.resync.response } }, async () => ({ result: 'resynced', serial: 'S-1', lastStep: 7, driftSteps: 4, unlocked: false, internal: 'x' })));
    try {
      const { status, json } = await call(running, 'GET', '/v1/probe-verdict');
      expect([status, json]).toEqual([200, { result: 'resynced', serial: 'S-1', lastStep: 7, driftSteps: 4, unlocked: false }]);
    } finally {
      await running.close();
    }
  });

describe("the login service's routes on schemas", () => {
  it.each([
    ['POST', '/v1/people', { name: 'Ukendt Felt', birthDate: '1990-01-01', credential: 'card', colour: 'red' }],
    ['POST', '/v1/organisations', { cvr: '10103940', name: 'Firma A/S', administrator: 'Ada Admin', colour: 'red' }],
    ['POST', '/v1/people/0000000000/extra-cards', { count: 1, colour: 'red' }],
    ['POST', '/v1/people/0000000000/block', { colour: 'red' }],
    ['POST', '/v1/people/0000000000/reissue', { colour: 'red' }],
  ])('%s %s refuses an unknown field with 400 NV_UNKNOWN_FIELD, and orders nothing', async (method, url, body) => {
    const running = await host();
    try {
      const { status, json } = await call(running, method, url, body);
      expect([status, json.error.code]).toEqual([400, 'NV_UNKNOWN_FIELD']);
      expect(json.error.message).toContain('"colour"');
      expect((await running.tokens.audit({ limit: 10 })).filter((entry) => entry.action.startsWith('person.') || entry.action.startsWith('organisation.'))).toEqual([]);
    } finally {
      await running.close();
    }
  });

  it('a token credential without its token is refused as a missing field', async () => {
    const running = await host();
    try {
      const { status, json } = await call(running, 'POST', '/v1/people', { name: 'Uden Token', birthDate: '1990-01-01', credential: 'token' });
      expect([status, json.error.code, json.error.message]).toEqual([400, 'NV_MISSING_FIELD', 'body lacks "tokenSerial"']);
    } finally {
      await running.close();
    }
  });

  it('the operator routes take the admin key before they look at the body: no key is 401, whatever the body', async () => {
    const running = await host();
    try {
      const { status, json } = await call(running, 'POST', '/v1/people', { colour: 'red' }, { authorization: '' });
      expect([status, json.error.code]).toEqual([401, 'NV_UNAUTHORIZED']);
    } finally {
      await running.close();
    }
  });

  it('an organisation is sent with its time in ISO 8601 like every other view, and nothing of the stored record besides', async () => {
    const running = await host();
    try {
      const before = Date.now();
      const { status, json } = await call(running, 'POST', '/v1/organisations', { cvr: '10103940', name: 'Statsministeriet', administrator: 'Jens Admin' });
      expect(status).toBe(201);
      expect(Object.keys(json.organisation).sort()).toEqual(['createdAt', 'cvr', 'id', 'name']);
      expect(json.organisation.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Date.parse(json.organisation.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(json.administrator.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    } finally {
      await running.close();
    }
  });
});

// ---- the types derived from the schemas (checked by tsc, which compiles this file too) ----

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const holds = <T extends true>(): T => true as T;

describe('the derived types', () => {
  it('are the ones the schemas mean (checked by the compiler)', () => {
    holds<Equal<FromSchema<{ readonly type: readonly ['string', 'null'] }>, string | null>>();
    holds<Equal<OrganisationView, { readonly id: string; readonly cvr: string; readonly name: string; readonly createdAt: string }>>();
    holds<Equal<PersonOrder['credential'], 'card' | 'token' | undefined>>();
    holds<Equal<PersonView['role'], 'employee' | 'administrator' | null>>();
    holds<Equal<ResyncRequest['codes'], readonly [string, string]>>();
    holds<Equal<Extract<VerifyOutcome, { result: 'accepted' }>['counter'], number | undefined>>();
    holds<Equal<Extract<VerifyOutcome, { result: 'rejected' }>['locked'], boolean>>();
    expect(true).toBe(true);
  });
});
