/**
 * The validation server as an operator runs it: the real `noegleviser server` process on loopback,
 * a real SQLite file, HTTP from outside. Several small servers where isolation matters (replay
 * with a high max-fail, a kill -9, a tight rate limit); one server runs without --quiet so its
 * request log can be searched for seeds at the end. Expected codes come from the node:crypto
 * reference, never from the engine under test.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceHotp } from '../support/oath-reference.ts';
import { api as rawApi, cli, ROOT, spawnUntilReady, startServerProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type ServerProcess } from '../support/processes.ts';
import { findSeed } from '../support/seed-search.ts';
import { TEST_STORE } from '../support/test-store.ts';

const ADMIN = TEST_ADMIN_KEY;
const CLIENT = TEST_CLIENT_KEY;
const dir = tempDir('api');

/** Every server this file started (also the ones stopped), every response body, every seed sent. */
const servers: ServerProcess[] = [];
const responses: string[] = [];
const seeds: Uint8Array[] = [];
/** Secrets that are not seeds but must not be logged or audited either (temporary passwords). */
const passwords: string[] = [];

type Options = Parameters<typeof rawApi>[3];

/** `api` from test/support, keeping every response body for the seed search at the end. */
async function api(server: Pick<ServerProcess, 'url'>, method: string, route: string, options: Options = {}) {
  const response = await rawApi(server, method, route, options);
  responses.push(response.text);
  return response;
}

async function start(name: string, args: string[]): Promise<ServerProcess> {
  const server = await startServerProcess({ dbFile: path.join(dir, name, 'tokens.db'), args });
  servers.push(server);
  return server;
}

const hotp = (seed: Uint8Array, counter: number) => referenceHotp(seed, counter, 6, 'sha1');
const totpNow = (seed: Uint8Array, period = 30) => hotp(seed, Math.floor(Date.now() / 1000 / period));

/** A six-digit code that is no HOTP code of `seed` for any counter in [0, upTo). */
function wrongCode(seed: Uint8Array, upTo = 2_000): string {
  const used = new Set(Array.from({ length: upTo }, (_, counter) => hotp(seed, counter)));
  for (let n = 314_159; ; n = (n + 7919) % 1_000_000) {
    const code = String(n).padStart(6, '0');
    if (!used.has(code)) return code;
  }
}

async function enroll(
  server: ServerProcess,
  serial: string,
  options: { kind?: 'hotp' | 'totp'; owner?: string; counter?: number; upper?: boolean } = {},
): Promise<Uint8Array> {
  const seed = new Uint8Array(randomBytes(20));
  seeds.push(seed);
  const hex = Buffer.from(seed).toString('hex');
  const response = await api(server, 'POST', '/v1/tokens', {
    key: ADMIN,
    body: {
      serial,
      kind: options.kind ?? 'hotp',
      seed: options.upper ? hex.toUpperCase() : hex,
      ...(options.owner ? { owner: options.owner } : {}),
      ...(options.counter !== undefined ? { counter: options.counter } : {}),
      ...(options.kind === 'totp' ? { period: 30 } : {}),
    },
  });
  expect(response.status, response.text).toBe(201);
  return seed;
}

/** A person of the login service (bank-only, no CPR number needed); answers their NemID number. */
async function orderPerson(server: ServerProcess, name: string): Promise<string> {
  const ordered = await api(server, 'POST', '/v1/people', { key: ADMIN, body: { name, birthDate: '1990-01-01', credential: 'card' } });
  expect(ordered.status, ordered.text).toBe(201);
  return ordered.body.person.nemIdNumber;
}

const verify = (server: ServerProcess, serial: string, code: string, key = CLIENT) => api(server, 'POST', '/v1/verify', { key, body: { serial, code } });
const resync = (server: ServerProcess, serial: string, codes: string[]) => api(server, 'POST', '/v1/resync', { key: CLIENT, body: { serial, codes } });
const token = async (server: ServerProcess, serial: string) => (await api(server, 'GET', `/v1/tokens/${serial}`, { key: ADMIN })).body.token;

function expectError(response: { status: number; body: any; text: string }, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code }, response.text).toEqual({ status, code });
  expect(Object.keys(response.body.error).sort()).toEqual(['code', 'message']);
  expect(response.body.error.message).toEqual(expect.any(String));
  expect(response.text).not.toMatch(/\n\s+at /);
}

/** Every audit entry of a server, paged with `after`. */
async function auditAll(server: ServerProcess): Promise<any[]> {
  const entries: any[] = [];
  for (;;) {
    const after = entries.length ? `&after=${entries[entries.length - 1].id}` : '';
    const page = await api(server, 'GET', `/v1/audit?limit=1000${after}`, { key: ADMIN });
    expect(page.status).toBe(200);
    entries.push(...page.body.entries);
    if (page.body.entries.length < 1000) return entries;
  }
}

/** The value of one Prometheus sample, 0 when absent. */
function sample(metrics: string, name: string, labels: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The main server: request logs on (no --quiet), default max-fail 5, no rate limit (tests run back to back). */
let main: ServerProcess;

beforeAll(async () => {
  main = await start('main', ['--rate-limit', '0']);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM')));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('API basics', () => {
  it('enroll, get, list, assign, verify, disable, enable, counter, lost, revoke, delete, audit: each with its status code', async () => {
    // enroll: 201, and the answer carries no seed
    const seed = await enroll(main, 'B-1', { upper: true });
    const enrolled = await token(main, 'B-1');
    expect(enrolled).toMatchObject({ serial: 'B-1', kind: 'hotp', algorithm: 'sha1', digits: 6, counter: 0, state: 'active', failCount: 0, owner: null });
    expect(Object.keys(enrolled)).not.toEqual(expect.arrayContaining(['seed']));
    expectError(await api(main, 'POST', '/v1/tokens', { key: ADMIN, body: { serial: 'B-1', kind: 'hotp', seed: 'ab'.repeat(20) } }), 409, 'NV_SERIAL_EXISTS');

    // assign (to a person of the login service, kept by NemID number; nobody else) and list
    const alice = await orderPerson(main, 'Alice Andersen');
    expectError(await api(main, 'POST', '/v1/tokens/B-1/assign', { key: ADMIN, body: { owner: 'alice' } }), 400, 'NV_UNKNOWN_OWNER');
    const assigned = await api(main, 'POST', '/v1/tokens/B-1/assign', { key: ADMIN, body: { owner: alice } });
    expect(assigned.status).toBe(200);
    expect(assigned.body.token.owner).toBe(alice);
    const listed = await api(main, 'GET', `/v1/tokens?owner=${alice}`, { key: ADMIN });
    expect(listed.status).toBe(200);
    expect(listed.body.tokens.map((t: { serial: string }) => t.serial)).toEqual(['B-1']);
    const all = await api(main, 'GET', '/v1/tokens', { key: ADMIN });
    expect(all.body.tokens.map((t: { serial: string }) => t.serial)).toContain('B-1');

    // verify by user and by serial
    const byUser = await api(main, 'POST', '/v1/verify', { key: CLIENT, body: { user: alice, code: hotp(seed, 0) } });
    expect(byUser.status).toBe(200);
    expect(byUser.body).toEqual({ result: 'accepted', serial: 'B-1', counter: 0 });

    // disable / enable
    const disabled = await api(main, 'POST', '/v1/tokens/B-1/disable', { key: ADMIN });
    expect([disabled.status, disabled.body.token.state]).toEqual([200, 'disabled']);
    expect((await verify(main, 'B-1', hotp(seed, 1))).body).toMatchObject({ result: 'rejected', reason: 'disabled' });
    expectError(await api(main, 'POST', '/v1/tokens/B-1/disable', { key: ADMIN }), 409, 'NV_BAD_STATE');
    const enabled = await api(main, 'POST', '/v1/tokens/B-1/enable', { key: ADMIN, body: {} });
    expect([enabled.status, enabled.body.token.state]).toEqual([200, 'active']);
    expect((await verify(main, 'B-1', hotp(seed, 1))).body).toMatchObject({ result: 'accepted', counter: 1 });

    // the bridge's counter sync: forward only
    const forward = await api(main, 'POST', '/v1/tokens/B-1/counter', { key: ADMIN, body: { counter: 20 } });
    expect([forward.status, forward.body.moved, forward.body.token.counter]).toEqual([200, true, 20]);
    const backward = await api(main, 'POST', '/v1/tokens/B-1/counter', { key: ADMIN, body: { counter: 3 } });
    expect([backward.status, backward.body.moved, backward.body.token.counter]).toEqual([200, false, 20]);
    expectError(await api(main, 'POST', '/v1/tokens/B-1/drift/reset', { key: ADMIN }), 409, 'NV_BAD_STATE');

    // lost, with a temporary replacement password for the owner
    const lost = await api(main, 'POST', '/v1/tokens/B-1/lost', { key: ADMIN, body: { replacement: true, validDays: 3 } });
    expect(lost.status).toBe(200);
    expect(lost.body.token.state).toBe('lost');
    expect(lost.body.replacement).toMatchObject({ serial: 'LOST-B-1', password: expect.stringMatching(/^[A-Za-z0-9]{12}$/) });
    expect(Date.parse(lost.body.replacement.validUntil) - Date.now()).toBeGreaterThan(3 * 86_400_000 - 60_000);
    passwords.push(lost.body.replacement.password);
    expect((await verify(main, 'B-1', hotp(seed, 20))).body).toMatchObject({ result: 'rejected', reason: 'lost' });
    const withPassword = await api(main, 'POST', '/v1/verify', { key: CLIENT, body: { user: alice, code: lost.body.replacement.password } });
    expect(withPassword.body).toEqual({ result: 'accepted', serial: 'LOST-B-1' });
    // The temporary password is the lost token's replacement, not a token of its own.
    expectError(await api(main, 'GET', '/v1/tokens/LOST-B-1', { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');

    // revoke is final
    const revoked = await api(main, 'POST', '/v1/tokens/B-1/revoke', { key: ADMIN });
    expect([revoked.status, revoked.body.token.state]).toEqual([200, 'revoked']);
    expectError(await api(main, 'POST', '/v1/tokens/B-1/enable', { key: ADMIN }), 409, 'NV_BAD_STATE');
    expectError(await api(main, 'POST', '/v1/tokens/B-1/unlock', { key: ADMIN }), 409, 'NV_BAD_STATE');

    // a TOTP token, its drift reset, and delete
    const totpSeed = await enroll(main, 'B-2', { kind: 'totp' });
    expect(await token(main, 'B-2')).toMatchObject({ kind: 'totp', period: 30, lastStep: -1, driftSteps: 0 });
    const code = totpNow(totpSeed);
    expect((await verify(main, 'B-2', code)).body).toMatchObject({ result: 'accepted' });
    expect((await verify(main, 'B-2', code)).body).toMatchObject({ result: 'rejected', reason: 'replayed' });
    const reset = await api(main, 'POST', '/v1/tokens/B-2/drift/reset', { key: ADMIN });
    expect([reset.status, reset.body.token.driftSteps]).toEqual([200, 0]);
    const deleted = await api(main, 'DELETE', '/v1/tokens/B-2', { key: ADMIN });
    expect([deleted.status, deleted.text]).toEqual([204, '']);
    expectError(await api(main, 'GET', '/v1/tokens/B-2', { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');
    expectError(await api(main, 'DELETE', '/v1/tokens/B-2', { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');

    // the audit: who, what, when, result
    const audit = await api(main, 'GET', '/v1/audit?serial=B-1', { key: ADMIN });
    expect(audit.status).toBe(200);
    const actions = audit.body.entries.map((e: { action: string; result: string }) => `${e.action}:${e.result}`);
    expect(actions).toEqual([
      'enroll:ok',
      'assign:ok',
      'verify:accepted',
      'disable:ok',
      'verify:rejected',
      'enable:ok',
      'verify:accepted',
      'sync_counter:ok',
      'sync_counter:unchanged',
      'lost:ok',
      'verify:rejected',
      'revoke:ok',
    ]);
    for (const entry of audit.body.entries) {
      expect(entry.actor).toMatch(/^(admin|client)-[0-9a-f]{8}$/);
      expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
    }
    expect(audit.body.entries[2].actor).toMatch(/^client-/);
    expect(audit.body.entries[0].actor).toMatch(/^admin-/);
    const deletions = await api(main, 'GET', '/v1/audit?serial=B-2&action=delete', { key: ADMIN });
    expect(deletions.body.entries).toHaveLength(1);
    // Each record names its subject by kind: a token's serial, a person's NemID number.
    expect(audit.body.entries[0].subject).toEqual({ kind: 'token', id: 'B-1' });
    expect(audit.body.entries[0]).not.toHaveProperty('serial');
    const orders = await api(main, 'GET', `/v1/audit?action=person.order&subject=${alice}`, { key: ADMIN });
    expect(orders.status, orders.text).toBe(200);
    expect(orders.body.entries.map((e: { subject: unknown }) => e.subject)).toEqual([{ kind: 'nemid', id: alice }]);
    // Newest first, on request.
    const newest = await api(main, 'GET', '/v1/audit?serial=B-1&order=desc&limit=2', { key: ADMIN });
    expect(newest.body.entries.map((e: { action: string }) => e.action)).toEqual(['revoke', 'verify']);

    // the master key file the server created is its owner's alone
    expect(fs.statSync(path.join(dir, 'main', 'master.key')).mode & 0o777).toBe(0o600);
  });

  it('admin routes refuse the client key (403), no key and a wrong key (401); verify and resync refuse no key', async () => {
    const seed = await enroll(main, 'AUTH-1');
    const adminRoutes: [string, string, unknown?][] = [
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens', { serial: 'AUTH-2', kind: 'hotp', seed: 'ab'.repeat(20) }],
      ['GET', '/v1/tokens/AUTH-1'],
      ['DELETE', '/v1/tokens/AUTH-1'],
      ['POST', '/v1/tokens/AUTH-1/disable'],
      ['POST', '/v1/tokens/AUTH-1/enable'],
      ['POST', '/v1/tokens/AUTH-1/unlock'],
      ['POST', '/v1/tokens/AUTH-1/revoke'],
      ['POST', '/v1/tokens/AUTH-1/lost', { replacement: true }],
      ['POST', '/v1/tokens/AUTH-1/assign', { owner: 'mallory' }],
      ['POST', '/v1/tokens/AUTH-1/counter', { counter: 500 }],
      ['POST', '/v1/tokens/AUTH-1/drift/reset'],
      ['GET', '/v1/audit'],
    ];
    for (const [method, route, body] of adminRoutes) {
      expectError(await api(main, method, route, { key: CLIENT, body }), 403, 'NV_FORBIDDEN');
      expectError(await api(main, method, route, { body }), 401, 'NV_UNAUTHORIZED');
      expectError(await api(main, method, route, { key: 'nv_admin_not_the_key_0000000000', body }), 401, 'NV_UNAUTHORIZED');
      expectError(await api(main, method, route, { body, headers: { authorization: `Basic ${ADMIN}` } }), 401, 'NV_UNAUTHORIZED');
    }
    // nothing of that happened
    expect(await token(main, 'AUTH-1')).toMatchObject({ state: 'active', owner: null, counter: 0 });
    expectError(await api(main, 'GET', '/v1/tokens/AUTH-2', { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');

    expectError(await api(main, 'POST', '/v1/verify', { body: { serial: 'AUTH-1', code: hotp(seed, 0) } }), 401, 'NV_UNAUTHORIZED');
    expectError(await verify(main, 'AUTH-1', hotp(seed, 0), 'nv_client_not_the_key_000000000'), 401, 'NV_UNAUTHORIZED');
    expectError(await api(main, 'POST', '/v1/resync', { body: { serial: 'AUTH-1', codes: [hotp(seed, 0), hotp(seed, 1)] } }), 401, 'NV_UNAUTHORIZED');
    expect((await token(main, 'AUTH-1')).counter).toBe(0);
    // the client key verifies; the admin key may too
    expect((await verify(main, 'AUTH-1', hotp(seed, 0))).body.result).toBe('accepted');
    expect((await verify(main, 'AUTH-1', hotp(seed, 1), ADMIN)).body.result).toBe('accepted');
    // /health and /metrics need no key
    expect((await api(main, 'GET', '/health')).status).toBe(200);
    expect((await api(main, 'GET', '/metrics')).status).toBe(200);
  });
});

describe('seeds shorter than RFC 4226 asks for', () => {
  it('a seed under 16 bytes is refused with NV_SHORT_SEED and nothing is stored, unless the request says allowShortSeed', async () => {
    for (const [serial, bytes] of [['SS-1', 1], ['SS-2', 8], ['SS-3', 15]] as const) {
      const seed = new Uint8Array(randomBytes(bytes));
      if (bytes >= 8) seeds.push(seed); // a 1-byte seed is two hex digits, found in any text: not worth searching for
      const hex = Buffer.from(seed).toString('hex');
      const refused = await api(main, 'POST', '/v1/tokens', { key: ADMIN, body: { serial, kind: 'hotp', seed: hex } });
      expectError(refused, 400, 'NV_SHORT_SEED');
      expect(refused.body.error.message).toContain(`${bytes} bytes`);
      expect(refused.body.error.message).toContain('allowShortSeed');
      expectError(await api(main, 'GET', `/v1/tokens/${serial}`, { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');
      expectError(await api(main, 'POST', '/v1/tokens', { key: ADMIN, body: { serial, kind: 'hotp', seed: hex, allowShortSeed: false } }), 400, 'NV_SHORT_SEED');
      expectError(await api(main, 'POST', '/v1/tokens', { key: ADMIN, body: { serial, kind: 'hotp', seed: hex, allowShortSeed: 'yes' } }), 400, 'NV_BAD_FIELD');
      expectError(await api(main, 'GET', `/v1/tokens/${serial}`, { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');

      const allowed = await api(main, 'POST', '/v1/tokens', { key: ADMIN, body: { serial, kind: 'hotp', seed: hex, allowShortSeed: true } });
      expect(allowed.status, allowed.text).toBe(201);
      expect(Object.keys(allowed.body.token)).not.toContain('allowShortSeed');
      expect((await verify(main, serial, hotp(seed, 0))).body).toMatchObject({ result: 'accepted', counter: 0 });
    }
    // 16 bytes is enough without asking.
    const seed = new Uint8Array(randomBytes(16));
    seeds.push(seed);
    const enough = await api(main, 'POST', '/v1/tokens', { key: ADMIN, body: { serial: 'SS-4', kind: 'hotp', seed: Buffer.from(seed).toString('hex') } });
    expect(enough.status, enough.text).toBe(201);
    expect((await verify(main, 'SS-4', hotp(seed, 0))).body).toMatchObject({ result: 'accepted', counter: 0 });
  });
});

describe('a start that fails', () => {
  /** No operator keys: the server makes its own and shows them once. */
  const noKeys = { NOEGLEVISER_ADMIN_KEY: '', NOEGLEVISER_CLIENT_KEY: '' };

  function expectOneLine(result: { code: number | null; stdout: string; stderr: string }, code: string, ...saying: string[]): void {
    expect({ exit: result.code, stdout: result.stdout }, result.stderr).toEqual({ exit: 1, stdout: '' });
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]$`));
    for (const words of saying) expect(lines[0]).toContain(words);
  }

  it('on a port in use: one line NV_LISTEN; the next start shows an admin and a client key, both work, and a third start shows none', async () => {
    const db = path.join(dir, 'port-in-use', 'tokens.db');
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
    const port = (squatter.address() as net.AddressInfo).port;
    let failed: Awaited<ReturnType<typeof cli>>;
    try {
      failed = await cli(['server', '--db', db, '--listen', `127.0.0.1:${port}`, '--quiet'], { env: noKeys });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expectOneLine(failed, 'NV_LISTEN', `127.0.0.1:${port}`, 'in use', '--listen');

    const second = await spawnUntilReady<{ url: string }>('server', ['server', '--db', db, '--listen', '127.0.0.1:0', '--quiet'], noKeys);
    try {
      const shown = second.stdout().split('\n').filter((line) => line.includes('"event":"api-keys"')).map((line) => JSON.parse(line));
      expect(shown).toEqual([expect.objectContaining({ admin: expect.stringMatching(/^nv_admin_/), client: expect.stringMatching(/^nv_client_/) })]);
      const [{ admin, client }] = shown;
      expect((await api(second.ready, 'GET', '/v1/tokens', { key: admin })).status).toBe(200);
      expectError(await api(second.ready, 'POST', '/v1/verify', { key: client, body: { serial: 'NONE-1', code: '123456' } }), 404, 'NV_UNKNOWN_SERIAL');
    } finally {
      await second.stop();
    }
    const third = await spawnUntilReady<{ url: string }>('server', ['server', '--db', db, '--listen', '127.0.0.1:0', '--quiet'], noKeys);
    try {
      expect(third.stdout()).not.toContain('api-keys');
      expect(third.stdout()).not.toContain('nv_');
    } finally {
      await third.stop();
    }
  });

  it('with a --db that cannot be one: a coded one-line NV_BAD_DB that says what is wrong, at once', async () => {
    const place = path.join(dir, 'bad-db');
    fs.mkdirSync(place);
    fs.writeFileSync(path.join(place, 'a-file'), 'not a folder\n');
    fs.writeFileSync(path.join(place, 'not-sqlite.db'), 'this is a text file, not a SQLite database\n'.repeat(20));
    const cases: [db: string, ...saying: string[]][] = [
      [path.join(place, 'a-file', 'tokens.db'), `${path.join(place, 'a-file')} is a file, not a folder`],
      [path.join(place, 'a-file', 'deeper', 'tokens.db'), `${path.join(place, 'a-file')} is a file, not a folder`],
      [place, 'is a folder', path.join(place, 'tokens.db')],
      ['/proc/x/tokens.db', '/proc/x cannot be made'],
      [path.join(place, 'not-sqlite.db'), 'not a SQLite database'],
    ];
    for (const [db, ...saying] of cases) {
      // Quick to fail, not a minute: a start that hangs on the path fails the test here.
      const result = await cli(['server', '--db', db, '--listen', '127.0.0.1:0', '--quiet'], { env: noKeys, timeoutMs: 20_000 });
      expectOneLine(result, 'NV_BAD_DB', db, ...saying);
    }
    // Nothing was left in the folder given as --db: it was refused before a key was made.
    expect(fs.readdirSync(place).sort()).toEqual(['a-file', 'not-sqlite.db']);
  });

  it('a --db (or NOEGLEVISER_DB) that is neither a file path nor a postgres:// URL is refused with NV_BAD_DB, naming no password; nothing is made for it', async () => {
    const cases: [db: string, ...saying: string[]][] = [
      ['mysql://root:s3cret-pw@db.example/tokens', 'give a SQLite file path or a postgres:// URL', 'mysql://…@db.example/tokens'],
      ['sqlite:///var/lib/tokens.db', 'give a SQLite file path or a postgres:// URL'],
      ['postgres://nv:s3cret-pw@127.0.0.1:notaport/tokens', 'PostgreSQL connection URL'],
    ];
    for (const [db, ...saying] of cases) {
      const result = await cli(['server', '--db', db, '--listen', '127.0.0.1:0', '--quiet'], { env: noKeys, timeoutMs: 20_000 });
      expectOneLine(result, 'NV_BAD_DB', ...saying);
      expect(result.stderr).not.toContain('s3cret-pw');
    }
    const fromEnvironment = await cli(['server', '--listen', '127.0.0.1:0', '--quiet'], { env: { ...noKeys, NOEGLEVISER_DB: 'mysql://db.example/tokens' }, timeoutMs: 20_000 });
    expectOneLine(fromEnvironment, 'NV_BAD_DB', 'give a SQLite file path or a postgres:// URL');
    for (const made of ['mysql:', 'sqlite:', 'postgres:']) expect(fs.existsSync(path.join(ROOT, made))).toBe(false);
  });
});

// The SQLite file's own modes: with PostgreSQL there is no database file on the node.
describe.skipIf(TEST_STORE === 'postgres')('file modes', () => {
  const mode = (file: string) => fs.statSync(file).mode & 0o777;
  /** A server started under umask 000, the widest there is: nothing it writes may be wider than its own modes say. */
  async function startUnderUmask000(name: string): Promise<ServerProcess> {
    const previous = process.umask(0);
    try {
      return await start(name, ['--quiet', '--rate-limit', '0']);
    } finally {
      process.umask(previous);
    }
  }

  it('in a data folder that was already there (0755), under umask 000: the database, its WAL and shared-memory files and master.key are 0600', async () => {
    const data = path.join(dir, 'modes-existing');
    fs.mkdirSync(data);
    fs.chmodSync(data, 0o755);
    const server = await startUnderUmask000('modes-existing');
    await enroll(server, 'FM-1'); // a write: the WAL has something in it
    expect(fs.statSync(path.join(data, 'tokens.db-wal')).size).toBeGreaterThan(0);
    for (const name of ['tokens.db', 'tokens.db-wal', 'tokens.db-shm', 'master.key']) expect([name, mode(path.join(data, name)).toString(8)]).toEqual([name, '600']);
    expect(mode(data).toString(8)).toBe('755'); // the operator's folder is theirs
  });

  it('a data folder the server makes is 0700 (and so is every folder it made above it), under umask 000', async () => {
    const server = await startUnderUmask000(path.join('modes-new', 'deeper'));
    await enroll(server, 'FM-2');
    for (const folder of [path.join(dir, 'modes-new'), path.join(dir, 'modes-new', 'deeper')]) expect([folder, mode(folder).toString(8)]).toEqual([folder, '700']);
    for (const name of ['tokens.db', 'tokens.db-wal', 'tokens.db-shm', 'master.key']) expect([name, mode(path.join(dir, 'modes-new', 'deeper', name)).toString(8)]).toEqual([name, '600']);
  });

  it('a database and WAL an earlier start left 0644 are made 0600', async () => {
    const data = path.join(dir, 'modes-old');
    fs.mkdirSync(data);
    for (const name of ['tokens.db', 'tokens.db-wal']) {
      fs.writeFileSync(path.join(data, name), '');
      fs.chmodSync(path.join(data, name), 0o644);
    }
    const server = await start('modes-old', ['--quiet', '--rate-limit', '0']);
    await enroll(server, 'FM-3');
    for (const name of ['tokens.db', 'tokens.db-wal', 'tokens.db-shm']) expect([name, mode(path.join(data, name)).toString(8)]).toEqual([name, '600']);
  });
});

describe('replay', () => {
  /** max-fail 1000: replays count as failures, and this is about replays, not lockout. */
  let replay: ServerProcess;
  beforeAll(async () => {
    replay = await start('replay', ['--quiet', '--rate-limit', '0', '--max-fail', '1000']);
  });

  it('every accepted code, replayed at once or later, is rejected', async () => {
    const erin = await orderPerson(replay, 'Erin Eriksen');
    const seed = await enroll(replay, 'RP-1', { owner: erin });
    const accepted: string[] = [];
    for (let counter = 0; counter < 30; counter += 1 + (counter % 3)) {
      const code = hotp(seed, counter);
      expect((await verify(replay, 'RP-1', code)).body, `counter ${counter}`).toMatchObject({ result: 'accepted', counter });
      accepted.push(code);
      expect((await verify(replay, 'RP-1', code)).body).toMatchObject({ result: 'rejected', reason: 'replayed' });
      expect((await api(replay, 'POST', '/v1/verify', { key: CLIENT, body: { user: erin, code } })).body).toMatchObject({ result: 'rejected' });
    }
    for (const code of accepted) {
      const again = await verify(replay, 'RP-1', code);
      expect(again.status).toBe(200);
      expect(again.body.result).toBe('rejected');
    }
    const seedTotp = await enroll(replay, 'RP-2', { kind: 'totp' });
    const code = totpNow(seedTotp);
    expect((await verify(replay, 'RP-2', code)).body.result).toBe('accepted');
    expect((await verify(replay, 'RP-2', code)).body).toMatchObject({ result: 'rejected', reason: 'replayed' });
    const audit = await api(replay, 'GET', '/v1/audit?serial=RP-1&action=verify', { key: ADMIN });
    expect(audit.body.entries.filter((e: { result: string }) => e.result === 'accepted')).toHaveLength(accepted.length);
  });

  it('50 concurrent HTTP requests with one valid code: exactly one is accepted', async () => {
    for (const [serial, kind] of [
      ['RC-H', 'hotp'],
      ['RC-T', 'totp'],
    ] as const) {
      const seed = await enroll(replay, serial, { kind });
      for (const round of [0, 1]) {
        // HOTP: the first code, then one 5 presses ahead of the counter; TOTP: the current step, then the next one.
        const code = kind === 'hotp' ? hotp(seed, round === 0 ? 0 : 6) : hotp(seed, Math.floor(Date.now() / 30_000) + round);
        const answers = await Promise.all(Array.from({ length: 50 }, () => verify(replay, serial, code)));
        const statuses = [...new Set(answers.map((a) => a.status))];
        expect(statuses, answers.find((a) => a.status !== 200)?.text).toEqual([200]);
        const results = answers.map((a) => a.body.result);
        expect(results.filter((r) => r === 'accepted'), `${serial} round ${round}`).toHaveLength(1);
        expect(answers.filter((a) => a.body.result === 'rejected').every((a) => a.body.reason === 'replayed')).toBe(true);
      }
      if (kind === 'hotp') expect((await token(replay, serial)).counter).toBe(7);
      const audit = await api(replay, 'GET', `/v1/audit?serial=${serial}&action=verify`, { key: ADMIN });
      expect(audit.body.entries.filter((e: { result: string }) => e.result === 'accepted')).toHaveLength(2);
    }
  });
});

describe('crash safety', () => {
  it('kill -9 in the middle of a load: no acknowledged code is accepted again, no token record is lost', async () => {
    const args = ['--quiet', '--rate-limit', '0', '--max-fail', '1000'];
    const first = await start('crash', args);
    const tokens = new Map<string, Uint8Array>();
    for (let i = 0; i < 6; i++) tokens.set(`K-${i}`, await enroll(first, `K-${i}`));
    /** Acknowledged: answered 201 (enrolments) or 200 accepted (codes, by counter) before the kill. */
    const enrolled = new Set(tokens.keys());
    const accepted = new Map<string, number[]>([...tokens.keys()].map((serial) => [serial, []]));
    const next = new Map<string, number>([...tokens.keys()].map((serial) => [serial, 0]));
    let killed = false;
    let inFlight = 0;
    let inFlightAtKill = 0;
    let acceptedTotal = 0;
    let failedRequests = 0;
    let exited: Promise<number | null> | undefined;
    const kill = () => {
      if (killed) return;
      killed = true;
      inFlightAtKill = inFlight;
      exited = first.stop('SIGKILL');
    };
    const safety = setTimeout(kill, 5_000);

    async function send<T>(request: () => Promise<T>): Promise<T | undefined> {
      inFlight++;
      try {
        return await request();
      } catch (error) {
        if (!killed) throw error;
        failedRequests++;
        return undefined;
      } finally {
        inFlight--;
      }
    }
    async function verifyLane(serial: string, seed: Uint8Array): Promise<void> {
      while (!killed) {
        const counter = next.get(serial)!;
        next.set(serial, counter + 1);
        const answer = await send(() => verify(first, serial, hotp(seed, counter)));
        if (!answer) return;
        expect(answer.status, answer.text).toBe(200);
        if (answer.body.result === 'accepted') {
          expect(answer.body.counter).toBe(counter);
          accepted.get(serial)!.push(counter);
          if (++acceptedTotal >= 300) kill();
        }
      }
    }
    async function enrolLane(lane: number): Promise<void> {
      for (let i = 0; !killed; i++) {
        const seed = new Uint8Array(randomBytes(20));
        seeds.push(seed);
        const serial = `KE-${lane}-${i}`;
        const answer = await send(() => api(first, 'POST', '/v1/tokens', { key: ADMIN, body: { serial, kind: 'hotp', seed: Buffer.from(seed).toString('hex') } }));
        if (!answer) return;
        expect(answer.status, answer.text).toBe(201);
        enrolled.add(serial);
        tokens.set(serial, seed);
      }
    }
    const lanes = [...tokens].flatMap(([serial, seed]) => [verifyLane(serial, seed), verifyLane(serial, seed), verifyLane(serial, seed)]);
    await Promise.all([...lanes, enrolLane(0), enrolLane(1)]);
    clearTimeout(safety);
    expect(await exited).toBeNull();
    expect(first.child.signalCode).toBe('SIGKILL');
    // The kill came in the middle: requests were in flight, and some never got an answer.
    expect(acceptedTotal).toBeGreaterThan(50);
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(failedRequests).toBeGreaterThan(0);
    expect(enrolled.size).toBeGreaterThan(6);

    const second = await start('crash', args);
    // every acknowledged enrolment is there
    const listed = await api(second, 'GET', '/v1/tokens?limit=1000', { key: ADMIN });
    expect(listed.status).toBe(200);
    const bySerial = new Map<string, any>(listed.body.tokens.map((t: { serial: string }) => [t.serial, t]));
    for (const serial of enrolled) expect(bySerial.has(serial), serial).toBe(true);
    // counters at or beyond what was acknowledged, and the audit agrees with the token rows
    const audit = await auditAll(second);
    for (const [serial, counters] of accepted) {
      expect(counters.length, serial).toBeGreaterThan(0);
      const highest = Math.max(...counters);
      expect(bySerial.get(serial).counter, serial).toBeGreaterThanOrEqual(highest + 1);
      const audited = audit.filter((e) => e.subject?.id === serial && e.action === 'verify' && e.result === 'accepted').map((e) => e.detail.counter as number);
      for (const counter of counters) expect(audited, `${serial} ${counter}`).toContain(counter);
      expect(bySerial.get(serial).counter).toBe(Math.max(...audited) + 1);
    }
    // no code accepted before the kill is accepted after it
    const replays = await Promise.all(
      [...accepted].flatMap(([serial, counters]) => counters.map(async (counter) => ({ serial, counter, answer: await verify(second, serial, hotp(tokens.get(serial)!, counter)) }))),
    );
    for (const { serial, counter, answer } of replays) {
      expect(answer.status, `${serial} ${counter}`).toBe(200);
      expect(answer.body.result, `${serial} ${counter}`).toBe('rejected');
    }
    // and the tokens go on working from where they are
    for (const [serial, counters] of accepted) {
      const counter = bySerial.get(serial).counter as number;
      expect((await verify(second, serial, hotp(tokens.get(serial)!, counter))).body, `${serial} after ${counters.length}`).toMatchObject({ result: 'accepted', counter });
    }
    const lastEnrolled = [...enrolled].pop()!;
    expect((await verify(second, lastEnrolled, hotp(tokens.get(lastEnrolled)!, 0))).body.result).toBe('accepted');
  });
});

describe('lockout, unlock and rate limit', () => {
  it('locks after max-fail wrong codes; the right code then answers locked; an administrator unlocks', async () => {
    const seed = await enroll(main, 'LK-1');
    const wrong = wrongCode(seed);
    for (let i = 1; i <= 5; i++) {
      const answer = await verify(main, 'LK-1', wrong);
      expect(answer.body).toMatchObject({ result: 'rejected', reason: 'wrong_code', failCount: i, locked: i === 5 });
    }
    const locked = (await verify(main, 'LK-1', hotp(seed, 0))).body;
    expect(locked).toMatchObject({ result: 'rejected', serial: 'LK-1', reason: 'locked', failCount: 5, locked: true });
    expect(locked.hint).toMatch(/POST \/v1\/resync.*POST \/v1\/tokens\/LK-1\/unlock/);
    expect(await token(main, 'LK-1')).toMatchObject({ state: 'locked', failCount: 5, counter: 0 });
    const listedLocked = await api(main, 'GET', '/v1/tokens?state=locked', { key: ADMIN });
    expect(listedLocked.body.tokens.map((t: { serial: string }) => t.serial)).toContain('LK-1');

    const unlocked = await api(main, 'POST', '/v1/tokens/LK-1/unlock', { key: ADMIN });
    expect(unlocked.status).toBe(200);
    expect(unlocked.body.token).toMatchObject({ state: 'active', failCount: 0 });
    expect((await verify(main, 'LK-1', hotp(seed, 0))).body).toMatchObject({ result: 'accepted', counter: 0 });
  });

  it('the holder unlocks with two consecutive codes via /v1/resync, not with two non-consecutive ones', async () => {
    const seed = await enroll(main, 'LK-2');
    expect((await verify(main, 'LK-2', hotp(seed, 0))).body.result).toBe('accepted');
    for (let i = 0; i < 5; i++) await verify(main, 'LK-2', wrongCode(seed));
    expect((await token(main, 'LK-2')).state).toBe('locked');

    const gap = await resync(main, 'LK-2', [hotp(seed, 3), hotp(seed, 5)]);
    expect(gap.status).toBe(200);
    expect(gap.body).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    const used = await resync(main, 'LK-2', [hotp(seed, 0), hotp(seed, 1)]);
    expect(used.body).toMatchObject({ result: 'rejected', reason: 'no_consecutive_codes' });
    expect((await token(main, 'LK-2')).state).toBe('locked');
    expect((await verify(main, 'LK-2', hotp(seed, 1))).body.reason).toBe('locked');

    const pair = await resync(main, 'LK-2', [hotp(seed, 3), hotp(seed, 4)]);
    expect(pair.status).toBe(200);
    expect(pair.body).toEqual({ result: 'resynced', serial: 'LK-2', counter: 5, unlocked: true });
    expect(await token(main, 'LK-2')).toMatchObject({ state: 'active', failCount: 0, counter: 5 });
    expect((await verify(main, 'LK-2', hotp(seed, 5))).body).toMatchObject({ result: 'accepted', counter: 5 });
  });

  it('--rate-limit 5: the sixth request a second is answered 429 NV_RATE_LIMITED, while /health keeps answering', async () => {
    const limited = await start('limited', ['--quiet', '--rate-limit', '5']);
    const seed = await enroll(limited, 'RL-1');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => verify(limited, 'RL-1', hotp(seed, i))));
    const tooMany = answers.filter((a) => a.status === 429);
    expect(tooMany.length).toBeGreaterThanOrEqual(5);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(5);
    for (const answer of tooMany) expectError(answer, 429, 'NV_RATE_LIMITED');
    // still limited: another request of that client is refused, but /health and /metrics answer
    expectError(await verify(limited, 'RL-1', hotp(seed, 20)), 429, 'NV_RATE_LIMITED');
    for (let i = 0; i < 10; i++) expect((await api(limited, 'GET', '/health')).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await api(limited, 'GET', `/health?probe=${i}`)).status).toBe(200);
    expect((await api(limited, 'GET', '/metrics')).status).toBe(200);
    // the limit is per client: the administrator's key has its own budget
    expect((await api(limited, 'GET', '/v1/tokens/RL-1', { key: ADMIN })).status).toBe(200);
    // and a second later the client is served again
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const { counter } = await token(limited, 'RL-1');
    const later = await verify(limited, 'RL-1', hotp(seed, counter));
    expect(later.status, later.text).toBe(200);
    expect(later.body).toMatchObject({ result: 'accepted', counter });
  });
});

describe('windows over HTTP', () => {
  it('a code 11 presses ahead is rejected, and resync with the next two codes recovers the token', async () => {
    const seed = await enroll(main, 'W-1');
    expect((await verify(main, 'W-1', hotp(seed, 0))).body.result).toBe('accepted');
    // counter is 1: presses 1..10 were lost, the 11th shows counter 11.
    const beyond = (await verify(main, 'W-1', hotp(seed, 11))).body;
    expect(beyond).toMatchObject({ result: 'rejected', reason: 'out_of_window' });
    expect(beyond.hint).toMatch(/beyond the server's window.*POST \/v1\/resync/);
    expect((await token(main, 'W-1')).counter).toBe(1);
    const recovered = await resync(main, 'W-1', [hotp(seed, 12), hotp(seed, 13)]);
    expect(recovered.status).toBe(200);
    expect(recovered.body).toEqual({ result: 'resynced', serial: 'W-1', counter: 14, unlocked: false });
    expect(await token(main, 'W-1')).toMatchObject({ counter: 14, failCount: 0 });
    expect((await verify(main, 'W-1', hotp(seed, 13))).body.result).toBe('rejected');
    expect((await verify(main, 'W-1', hotp(seed, 14))).body).toMatchObject({ result: 'accepted', counter: 14 });
    // and the edge of the window: counter 15 is expected, 24 is the 10th code, 25 the 11th
    expect((await verify(main, 'W-1', hotp(seed, 25))).body.result).toBe('rejected');
    expect((await verify(main, 'W-1', hotp(seed, 24))).body).toMatchObject({ result: 'accepted', counter: 24 });
  });
});

describe('malformed requests', () => {
  it('each gets its coded 4xx, and the server goes on answering', async () => {
    const seed = await enroll(main, 'M-1');
    const json = { 'content-type': 'application/json' };
    const cases: { name: string; method: string; route: string; key?: string; body?: unknown; raw?: string; headers?: Record<string, string>; status: number; code: string }[] = [
      { name: 'bad JSON', method: 'POST', route: '/v1/verify', key: CLIENT, raw: '{"serial": "M-1", "code": ', status: 400, code: 'NV_BAD_JSON' },
      { name: 'not JSON at all', method: 'POST', route: '/v1/tokens', key: ADMIN, raw: 'serial=M-2&kind=hotp', status: 400, code: 'NV_BAD_JSON' },
      { name: 'an empty JSON body', method: 'POST', route: '/v1/verify', key: CLIENT, raw: '', headers: json, status: 400, code: 'NV_BAD_JSON' },
      { name: 'a body over 16 KiB', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '123456', pad: 'x'.repeat(17 * 1024) }, status: 413, code: 'NV_BODY_TOO_LARGE' },
      { name: 'an enrolment over 16 KiB', method: 'POST', route: '/v1/tokens', key: ADMIN, raw: JSON.stringify({ serial: 'M-9', kind: 'hotp', seed: 'ab'.repeat(9000) }), status: 413, code: 'NV_BODY_TOO_LARGE' },
      { name: 'an unknown serial (verify)', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'NO-SUCH', code: '123456' }, status: 404, code: 'NV_UNKNOWN_SERIAL' },
      { name: 'an unknown serial (resync)', method: 'POST', route: '/v1/resync', key: CLIENT, body: { serial: 'NO-SUCH', codes: ['123456', '654321'] }, status: 404, code: 'NV_UNKNOWN_SERIAL' },
      { name: 'an unknown serial (get)', method: 'GET', route: '/v1/tokens/NO-SUCH', key: ADMIN, status: 404, code: 'NV_UNKNOWN_SERIAL' },
      { name: 'an unknown serial (disable)', method: 'POST', route: '/v1/tokens/NO-SUCH/disable', key: ADMIN, status: 404, code: 'NV_UNKNOWN_SERIAL' },
      { name: 'an unknown user', method: 'POST', route: '/v1/verify', key: CLIENT, body: { user: 'nobody', code: '123456' }, status: 404, code: 'NV_UNKNOWN_USER' },
      { name: 'a code that is not digits', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '12a456' }, status: 400, code: 'NV_BAD_CODE' },
      { name: 'a code too short', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '12345' }, status: 400, code: 'NV_BAD_CODE' },
      { name: 'a code too long', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '1234567' }, status: 400, code: 'NV_BAD_CODE' },
      { name: 'a code with a space', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '12345 ' }, status: 400, code: 'NV_BAD_CODE' },
      { name: 'resync codes of the wrong length', method: 'POST', route: '/v1/resync', key: CLIENT, body: { serial: 'M-1', codes: ['123456', '1234'] }, status: 400, code: 'NV_BAD_CODE' },
      { name: 'an unknown field (verify)', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '123456', counter: 3 }, status: 400, code: 'NV_UNKNOWN_FIELD' },
      { name: 'an unknown field (enroll)', method: 'POST', route: '/v1/tokens', key: ADMIN, body: { serial: 'M-2', kind: 'hotp', seed: 'ab'.repeat(20), secret: 'x' }, status: 400, code: 'NV_UNKNOWN_FIELD' },
      { name: 'an unknown field (empty action body)', method: 'POST', route: '/v1/tokens/M-1/disable', key: ADMIN, body: { force: true }, status: 400, code: 'NV_UNKNOWN_FIELD' },
      { name: 'an unknown query parameter', method: 'GET', route: '/v1/tokens?colour=red', key: ADMIN, status: 400, code: 'NV_UNKNOWN_FIELD' },
      { name: 'a missing code', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1' }, status: 400, code: 'NV_MISSING_FIELD' },
      { name: 'a missing seed', method: 'POST', route: '/v1/tokens', key: ADMIN, body: { serial: 'M-2', kind: 'hotp' }, status: 400, code: 'NV_MISSING_FIELD' },
      { name: 'a missing owner', method: 'POST', route: '/v1/tokens/M-1/assign', key: ADMIN, body: {}, status: 400, code: 'NV_MISSING_FIELD' },
      { name: 'neither serial nor user', method: 'POST', route: '/v1/verify', key: CLIENT, body: { code: '123456' }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'both serial and user', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', user: 'alice', code: '123456' }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'a code as a number', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: 123456 }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'a serial as a number', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 17, code: '123456' }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'an empty code', method: 'POST', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '' }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'an array for a body', method: 'POST', route: '/v1/verify', key: CLIENT, body: ['M-1', '123456'], status: 400, code: 'NV_BAD_FIELD' },
      { name: 'one resync code', method: 'POST', route: '/v1/resync', key: CLIENT, body: { serial: 'M-1', codes: ['123456'] }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'digits as a string', method: 'POST', route: '/v1/tokens', key: ADMIN, body: { serial: 'M-2', kind: 'hotp', seed: 'ab'.repeat(20), digits: '6' }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'a negative counter', method: 'POST', route: '/v1/tokens/M-1/counter', key: ADMIN, body: { counter: -1 }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'an unknown kind', method: 'POST', route: '/v1/tokens', key: ADMIN, body: { serial: 'M-2', kind: 'sms', seed: 'ab'.repeat(20) }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'a seed that is not hex', method: 'POST', route: '/v1/tokens', key: ADMIN, body: { serial: 'M-2', kind: 'hotp', seed: 'zz'.repeat(20) }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'a seed of an odd length', method: 'POST', route: '/v1/tokens', key: ADMIN, body: { serial: 'M-2', kind: 'hotp', seed: 'abc' }, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'a serial with a space', method: 'GET', route: '/v1/tokens/M%201', key: ADMIN, status: 400, code: 'NV_BAD_FIELD' },
      { name: 'an unknown route', method: 'GET', route: '/v1/nope', key: ADMIN, status: 404, code: 'NV_NO_ROUTE' },
      { name: 'an unknown action', method: 'POST', route: '/v1/tokens/M-1/explode', key: ADMIN, status: 404, code: 'NV_NO_ROUTE' },
      { name: 'a wrong method', method: 'PUT', route: '/v1/verify', key: CLIENT, body: { serial: 'M-1', code: '123456' }, status: 404, code: 'NV_NO_ROUTE' },
      { name: 'text/plain', method: 'POST', route: '/v1/verify', key: CLIENT, raw: '{"serial":"M-1","code":"123456"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'NV_BAD_MEDIA_TYPE' },
      { name: 'form data', method: 'POST', route: '/v1/verify', key: CLIENT, raw: 'serial=M-1&code=123456', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'NV_BAD_MEDIA_TYPE' },
    ];
    for (const { name, method, route, status, code, ...options } of cases) {
      const answer = await api(main, method, route, options);
      expect({ name, status: answer.status, code: answer.body?.error?.code }, answer.text).toEqual({ name, status, code });
      expectError(answer, status, code);
      const health = await api(main, 'GET', '/health');
      expect([name, health.status]).toEqual([name, 200]);
    }
    // Still verifying: malformed requests were errors, not failures, and moved nothing.
    expect(await token(main, 'M-1')).toMatchObject({ state: 'active', failCount: 0, counter: 0, owner: null });
    expect((await verify(main, 'M-1', hotp(seed, 0))).body).toMatchObject({ result: 'accepted', counter: 0 });
    expectError(await api(main, 'GET', '/v1/tokens/M-2', { key: ADMIN }), 404, 'NV_UNKNOWN_SERIAL');
  });
});

/** Sends `text` as it is on a new connection and reads the one answer: status line, and the body as its Content-Length says. */
function rawHttp(server: Pick<ServerProcess, 'url'>, text: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(text));
    let received = Buffer.alloc(0);
    const done = () => {
      const all = received.toString('utf8');
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const headers = all.slice(0, end);
      const length = Number(/^content-length:\s*(\d+)/im.exec(headers)?.[1] ?? NaN);
      const body = received.subarray(Buffer.byteLength(all.slice(0, end + 4)));
      if (!(body.length >= length)) return false;
      socket.destroy();
      resolve({ status: Number(headers.split(' ')[1]), headers, body: body.subarray(0, length).toString('utf8') });
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      done();
    });
    socket.on('error', () => {}); // a reset after the answer; 'close' decides
    socket.on('close', () => {
      if (!done()) reject(new Error(`no whole answer to ${JSON.stringify(text.slice(0, 80))}: ${JSON.stringify(received.toString('utf8').slice(0, 200))}`));
    });
  });
}

describe('what fastify and Node answer by themselves', () => {
  it('a URL that does not decode, a path part over the limit, headers over 16 KiB, broken HTTP, no Host, an odd Expect, CONNECT: each a coded NV_ envelope that echoes nothing', async () => {
    const marker = 'Echo-Marker-7f3a';
    const host = `Host: ${new URL(main.url).host}\r\n`;
    const cases: { name: string; request: string; status: number; code: string }[] = [
      { name: 'a bad escape', request: `GET /v1/tokens/${marker}%zz HTTP/1.1\r\n${host}\r\n`, status: 400, code: 'NV_BAD_URL' },
      { name: 'a lone percent sign', request: `GET /${marker}/% HTTP/1.1\r\n${host}\r\n`, status: 400, code: 'NV_BAD_URL' },
      { name: 'a bad escape on a service page', request: `GET /login/${marker}%zz HTTP/1.1\r\n${host}\r\n`, status: 400, code: 'NV_BAD_URL' },
      { name: 'a path part over the router limit', request: `GET /v1/tokens/${marker}${'A'.repeat(300)} HTTP/1.1\r\n${host}\r\n`, status: 414, code: 'NV_URL_TOO_LONG' },
      { name: 'a URL over 16 KiB', request: `GET /v1/${marker}${'A'.repeat(20_000)} HTTP/1.1\r\n${host}\r\n`, status: 431, code: 'NV_HEADERS_TOO_LARGE' },
      { name: 'a header over 16 KiB', request: `GET /health HTTP/1.1\r\n${host}X-Big: ${marker}${'B'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'NV_HEADERS_TOO_LARGE' },
      { name: 'not HTTP', request: `${marker} /health\r\n\r\n`, status: 400, code: 'NV_BAD_HTTP' },
      { name: 'a method HTTP does not know', request: `${marker.toUpperCase().replace(/-/g, '')} /health HTTP/1.1\r\n${host}\r\n`, status: 400, code: 'NV_BAD_HTTP' },
      { name: 'both Content-Length and Transfer-Encoding', request: `POST /v1/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400, code: 'NV_BAD_HTTP' },
      { name: 'HTTP/1.1 without Host', request: `GET /health?${marker} HTTP/1.1\r\n\r\n`, status: 400, code: 'NV_BAD_HTTP' },
      { name: 'an Expect other than 100-continue', request: `GET /health HTTP/1.1\r\n${host}Expect: ${marker}\r\n\r\n`, status: 417, code: 'NV_BAD_EXPECT' },
      { name: 'CONNECT', request: `CONNECT ${marker}.example:443 HTTP/1.1\r\n${host}\r\n`, status: 404, code: 'NV_NO_ROUTE' },
      { name: 'an unknown route', request: `GET /v1/${marker} HTTP/1.1\r\n${host}\r\n`, status: 404, code: 'NV_NO_ROUTE' },
      { name: 'an unknown method on a route', request: `PROPFIND /v1/verify?${marker} HTTP/1.1\r\n${host}\r\n`, status: 404, code: 'NV_NO_ROUTE' },
    ];
    for (const { name, request, status, code } of cases) {
      const answer = await rawHttp(main, request);
      responses.push(answer.body);
      expect({ name, status: answer.status, contentType: /^content-type: (.*)$/im.exec(answer.headers)?.[1] }).toEqual({ name, status, contentType: 'application/json; charset=utf-8' });
      expectError({ status: answer.status, body: JSON.parse(answer.body), text: answer.body }, status, code);
      expect(answer.body.toLowerCase(), name).not.toContain(marker.toLowerCase());
      expect(answer.body, name).not.toMatch(/FST_|statusCode/);
      expect([name, (await api(main, 'GET', '/health')).status]).toEqual([name, 200]);
    }
  });
});

describe('health and metrics', () => {
  it('/health answers ok; /metrics shows the verification counters moving', async () => {
    const health = await api(main, 'GET', '/health');
    expect([health.status, health.body]).toEqual([200, { status: 'ok' }]);
    const seed = await enroll(main, 'MT-1');
    const before = (await api(main, 'GET', '/metrics')).text;
    expect(before).toContain('# TYPE noegleviser_verifications_total counter');
    await verify(main, 'MT-1', hotp(seed, 0));
    await verify(main, 'MT-1', hotp(seed, 0));
    await verify(main, 'MT-1', wrongCode(seed));
    await resync(main, 'MT-1', [hotp(seed, 5), hotp(seed, 6)]);
    const metrics = await api(main, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    const after = metrics.text;
    const delta = (labels: string, name = 'noegleviser_verifications_total') => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('result="accepted",reason=""')).toBe(1);
    expect(delta('result="rejected",reason="replayed"')).toBe(1);
    expect(delta('result="rejected",reason="wrong_code"')).toBe(1);
    expect(delta('result="resynced"', 'noegleviser_resyncs_total')).toBe(1);
    const active = (await api(main, 'GET', '/v1/tokens?state=active&limit=1000', { key: ADMIN })).body.tokens.length;
    expect(sample(after, 'noegleviser_tokens', 'state="active"')).toBe(active);
    expect(after).toMatch(/noegleviser_http_request_duration_seconds_count\{method="POST",route="\/v1\/verify",status="200"\} \d+/);
  });
});

describe('the seed never leaves the server', () => {
  it('no seed (hex either case, base32, base64) is in any response body, log output or audit record', async () => {
    // the non-quiet server really wrote request logs, and there is something to search
    expect(main.stderr()).toContain('incoming request');
    expect(seeds.length).toBeGreaterThan(20);
    const audits: string[] = [];
    for (const server of servers) {
      if (server.child.exitCode !== null || server.child.signalCode !== null) continue;
      const entries = await auditAll(server);
      expect(entries.length).toBeGreaterThan(0);
      audits.push(JSON.stringify(entries));
    }
    const haystacks: [string, string][] = [
      ...responses.map((text, i) => [`response ${i}`, text] as [string, string]),
      ...servers.flatMap((server, i) => [
        [`server ${i} stdout`, server.stdout()] as [string, string],
        [`server ${i} stderr`, server.stderr()] as [string, string],
      ]),
      ...audits.map((text, i) => [`audit ${i}`, text] as [string, string]),
    ];
    expect(responses.length).toBeGreaterThan(500);
    const everything = haystacks.map(([, text]) => text).join('\n');
    for (const seed of seeds) {
      const found = findSeed(everything, seed);
      if (found) {
        const where = haystacks.find(([, text]) => text.includes(found))![0];
        expect.fail(`a seed was found (${found.length} characters) in ${where}`);
      }
    }
    // temporary passwords are shown once, in the lost answer, and never logged or audited
    const logsAndAudit = [...servers.flatMap((s) => [s.stdout(), s.stderr()]), ...audits].join('\n');
    for (const password of passwords) expect(logsAndAudit).not.toContain(password);
  });
});
