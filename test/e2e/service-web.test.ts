/**
 * The login service over real HTTP on loopback, against a real server on a real store (a SQLite
 * file; a PostgreSQL database in the `postgres` project, see test/support/test-store.ts):
 * ordering (eligibility, CPR and CVR), the two-step login with a code card, first login, lockout,
 * CSRF, self-service, extra cards, blocking, organisations and key files — and, at the end, every
 * response body, log line, audit row and stored row searched for the secrets typed.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/start.ts';
import { cardPairs } from '../../host/service/code-card.ts';
import { createKeyFile, signChallenge } from '../../host/service/web/assets/key-file.js';
import { tempDir } from '../support/processes.ts';
import { hostStorage, TEST_STORE, type HostStorage } from '../support/test-store.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { authorizationRequest, jwtClaims, loginOverHttp, logoutAtProvider, redeemCode, refreshTokens, userinfoStatus, type TestSite } from '../support/oidc-flow.ts';
import { WebClient, attributeOf, cprOfAge, csrfOf, readLetter } from '../support/web-client.ts';
import { ACR } from '../../host/service/oidc/claims.ts';
import { identifierDigest, loginKey } from '../../host/service/oidc/store/oidc-rows.ts';
import { openPayload } from '../../host/service/oidc/sealed-records.ts';
import { findMasterKey } from '../../host/server/secrets.ts';
import { SeedVault } from '../../host/server/seed-vault.ts';

const ADMIN_KEY = 'nv_admin_service-web-test-admin-key';
const CLIENT_KEY = 'nv_client_service-web-test-client-key';

let server: RunningHost;
/** The main server's store (SQLite, or PostgreSQL with NOEGLEVISER_TEST_STORE=postgres), read by the test's own connection. */
let storage: HostStorage;
let dir: string;
const logLines: string[] = [];
/** Every secret a test typed or read from a letter: none may come back in an answer, log, audit row or the store. */
const secrets = new Set<string>();
const clients: WebClient[] = [];
const apiAnswers: string[] = [];

/**
 * Authorization codes: they travel to the site in the provider's redirect (its Location, and the
 * "Redirecting to" text of its body, which no browser shows), so they are looked for in the log,
 * the audit rows and the store only.
 */
const codes = new Set<string>();
function codeOf(code: string): string {
  codes.add(code);
  return code;
}

/** Registers a password the test types, and returns it. */
function secretOf(text: string): string {
  secrets.add(text);
  return text;
}

function client(on: RunningHost = server): WebClient {
  const web = new WebClient(on.url);
  clients.push(web);
  return web;
}

async function operator(method: 'GET' | 'POST', url: string, body?: unknown, on: RunningHost = server): Promise<{ status: number; json: any }> {
  const response = await fetch(new URL(url, on.url), {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  apiAnswers.push(text);
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

interface Letter {
  readonly password: string | undefined;
  readonly activationCode: string | undefined;
  readonly keys: Map<string, string>;
}

async function letter(id: string, on: RunningHost = server): Promise<Letter> {
  const { html } = await on.service.outbox.open(id);
  const read = readLetter(html);
  const result = { password: read.secret('temporary-password'), activationCode: read.secret('activation-code'), keys: read.keys };
  if (result.password) secrets.add(result.password);
  if (result.activationCode) secrets.add(result.activationCode);
  return result;
}

async function orderPerson(name: string, cpr: string): Promise<{ nemId: string; letter: Letter }> {
  const ordered = await operator('POST', '/v1/people', { name, cpr, credential: 'card' });
  expect(ordered.status, JSON.stringify(ordered.json)).toBe(201);
  return { nemId: ordered.json.person.nemIdNumber, letter: await letter(ordered.json.letter) };
}

/** Step 1 and step 2 with a card; returns the page reached. */
async function logIn(web: WebClient, userId: string, password: string, keys: Map<string, string>) {
  await web.open('/login');
  const afterPassword = await web.submit('/login', { userId, password });
  expect(afterPassword.status, afterPassword.body.slice(0, 300)).toBe(200);
  const number = attributeOf(afterPassword.body, 'key-number', 'data-number');
  expect(number, 'step 2 shows a 4-digit number').toMatch(/^\d{4}$/);
  const key = keys.get(number!);
  expect(key, `the card has a key for ${number}`).toBeDefined();
  secrets.add(key!);
  return { number: number!, page: await web.submit('/login/key', { key: key! }) };
}

/** A code token enrolled with a seed only the test knows, and a person ordered with it (their welcome letter read). */
async function tokenHolder(name: string, cpr: string, serial: string, on: RunningHost = server): Promise<{ nemId: string; seed: Uint8Array; welcome: Letter }> {
  const seed = new Uint8Array(randomBytes(20));
  secrets.add(Buffer.from(seed).toString('hex'));
  const enrolled = await operator('POST', '/v1/tokens', { serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: Buffer.from(seed).toString('hex') }, on);
  expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
  const ordered = await operator('POST', '/v1/people', { name, cpr, credential: 'token', tokenSerial: serial }, on);
  expect(ordered.status, JSON.stringify(ordered.json)).toBe(201);
  return { nemId: ordered.json.person.nemIdNumber, seed, welcome: await letter(ordered.json.letter, on) };
}

/** `POST /v1/tokens/:serial/lost {replacement: true}`: the temporary password, shown this once (the answer is not kept with the others: it is meant to hold it). */
async function reportLost(serial: string, on: RunningHost = server, validDays?: number): Promise<{ serial: string; password: string; validUntil: string }> {
  const response = await fetch(new URL(`/v1/tokens/${serial}/lost`, on.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ replacement: true, ...(validDays === undefined ? {} : { validDays }) }),
  });
  const answer = (await response.json()) as { replacement: { serial: string; password: string; validUntil: string } };
  expect(response.status, JSON.stringify(answer)).toBe(200);
  return { ...answer.replacement, password: secretOf(answer.replacement.password) };
}

/** A person ordered with a card who has made their first login and chosen `userId`: signed in, on /self-service. */
async function signedInPerson(name: string, cpr: string, userId: string): Promise<{ web: WebClient; nemId: string; welcome: Letter; password: string }> {
  const { nemId, letter: welcome } = await orderPerson(name, cpr);
  const web = client();
  await logIn(web, nemId, welcome.password!, welcome.keys);
  const password = `${userId}-Pass-1x`;
  secrets.add(password);
  const home = await web.submit('/login/choose', { userId, password, passwordAgain: password });
  expect(home.body, 'signed in on self-service').toContain('id="scope"');
  return { web, nemId, welcome, password };
}

/** A new organisation whose administrator has made their first login: signed in, on /admin. */
async function signedInAdministrator(cvr: string, name: string, userId: string): Promise<{ web: WebClient; nemId: string; organisationId: string }> {
  const created = await operator('POST', '/v1/organisations', { cvr, name, administrator: 'Ada Administrator' });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const nemId = created.json.administrator.nemIdNumber as string;
  const { password: temporary } = await letter(created.json.letter);
  const { keys } = await letter(created.json.cardLetter);
  const web = client();
  await logIn(web, nemId, temporary!, keys);
  const password = `${userId}-Pass-1x`;
  secrets.add(password);
  await web.submit('/login/choose', { userId, password, passwordAgain: password });
  expect((await web.open('/admin')).body).toContain('id="issue-form"');
  return { web, nemId, organisationId: created.json.organisation.id as string };
}

beforeAll(async () => {
  dir = tempDir('service');
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  storage = await hostStorage(path.join(dir, 'server', 'tokens.db'));
  server = await startHost({
    ...storage.options,
    port: 0,
    apiKeys: { admin: ADMIN_KEY, client: CLIENT_KEY },
    logger: { level: 'info', stream: sink },
    env: {},
    servicePolicy: { loginAttemptsPerMinute: 10_000 },
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('ordering: eligibility, CPR and CVR', () => {
  it.each([
    ['a date that does not exist', '300290-1234', 'NV_BAD_CPR'],
    ['a month out of range', '011390-1234', 'NV_BAD_CPR'],
    ['too few digits', '01019-1234', 'NV_BAD_CPR'],
    ['letters', '0101AB-1234', 'NV_BAD_CPR'],
  ])('a CPR number with %s is refused with its own message', async (_what, cpr, code) => {
    const { status, json } = await operator('POST', '/v1/people', { name: 'Test Person', cpr });
    expect(status).toBe(400);
    expect(json.error.code).toBe(code);
    expect(json.error.message).not.toContain(cpr.replace('-', ''));
  });

  it('gives full use from 15 with a CPR number, view-only (kontokig) from 13 to 15, and bank-only without one', async () => {
    const full = await operator('POST', '/v1/people', { name: 'Femten Årig', cpr: cprOfAge(15, '1111') });
    const view = await operator('POST', '/v1/people', { name: 'Tretten Årig', cpr: cprOfAge(13, '2222') });
    const year = new Date().getUTCFullYear() - 20;
    const bank = await operator('POST', '/v1/people', { name: 'Uden Cpr', birthDate: `${year}-01-01` });
    expect([full.status, view.status, bank.status]).toEqual([201, 201, 201]);
    expect([full.json.person.scope, view.json.person.scope, bank.json.person.scope]).toEqual(['full', 'view-only', 'bank-only']);
  });

  it('refuses the under-13s, the under-15s without a CPR number, and a second NemID for one CPR number', async () => {
    const young = await operator('POST', '/v1/people', { name: 'Tolv Årig', cpr: cprOfAge(12, '3333') });
    expect([young.status, young.json.error.code]).toEqual([422, 'NV_NOT_ELIGIBLE']);
    const year = new Date().getUTCFullYear() - 14;
    const noCpr = await operator('POST', '/v1/people', { name: 'Fjorten Uden', birthDate: `${year}-01-01` });
    expect([noCpr.status, noCpr.json.error.code]).toEqual([422, 'NV_NOT_ELIGIBLE']);
    const cpr = cprOfAge(30, '5555');
    expect((await operator('POST', '/v1/people', { name: 'Første Gang', cpr })).status).toBe(201);
    const again = await operator('POST', '/v1/people', { name: 'Anden Gang', cpr });
    expect([again.status, again.json.error.code]).toEqual([409, 'NV_ALREADY_HAS_NEMID']);
  });

  it.each([
    ['seven digits', '1010394', 'NV_BAD_CVR'],
    ['a wrong check digit', '10103941', 'NV_BAD_CVR'],
    ['letters', '1010394X', 'NV_BAD_CVR'],
  ])('a CVR number with %s is refused', async (_what, cvr, code) => {
    const { status, json } = await operator('POST', '/v1/organisations', { cvr, name: 'Firma A/S', administrator: 'Ada Admin' });
    expect([status, json.error.code]).toEqual([400, code]);
  });
});

describe('the two-step login with a code card', () => {
  it('first login with the temporary password and a key, then own user-id and password; the temporary one is refused after', async () => {
    const { nemId, letter: welcome } = await orderPerson('Anna Hansen', cprOfAge(40, '1001'));
    expect(welcome.password).toBeDefined();
    expect(welcome.keys.size).toBe(148);
    const web = client();
    const first = await logIn(web, nemId, welcome.password!, welcome.keys);
    expect(first.page.body).toContain('id="choose-form"');
    secrets.add('anna-Pass-2026x');
    const chosen = await web.submit('/login/choose', { userId: 'anna.hansen', password: 'anna-Pass-2026x', passwordAgain: 'anna-Pass-2026x' });
    expect(chosen.status).toBe(200);
    expect(attributeOf(chosen.body, 'scope', 'data-scope')).toBe('full');
    await web.submit('/logout', {});

    const again = client();
    await again.open('/login');
    const refused = await again.submit('/login', { userId: nemId, password: welcome.password! });
    expect(refused.status).toBe(401);
    const second = await logIn(again, 'Anna.Hansen', 'anna-Pass-2026x', welcome.keys);
    expect(second.page.body).toContain('id="scope"');
    expect(second.number).not.toBe(first.number);
  });

  it('never says whether a user-id exists: an unknown one gets the same answer as a wrong password', async () => {
    const { nemId } = await orderPerson('Bo Jensen', cprOfAge(50, '1002'));
    const web = client();
    await web.open('/login');
    const wrong = await web.submit('/login', { userId: nemId, password: 'not-the-password1' });
    const unknown = await web.submit('/login', { userId: 'nobody.here', password: 'not-the-password1' });
    const messageOf = (html: string) => /class="error"[^>]*>([^<]*)</.exec(html)?.[1];
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(messageOf(unknown.body)).toBe(messageOf(wrong.body));
    expect(messageOf(wrong.body)).toMatch(/user-id or password/i);
  });

  it('locks after five failures, wrong passwords and wrong keys alike; then even the right password and key are refused', async () => {
    const { nemId, letter: welcome } = await orderPerson('Carl Lock', cprOfAge(35, '1003'));
    const web = client();
    await web.open('/login');
    for (let i = 0; i < 3; i++) expect((await web.submit('/login', { userId: nemId, password: `wrong-${i}-password` })).status).toBe(401);
    const step2 = await web.submit('/login', { userId: nemId, password: welcome.password! });
    const number = attributeOf(step2.body, 'key-number', 'data-number')!;
    const wrongKey = (Number(welcome.keys.get(number)) + 1) % 1_000_000;
    const fourth = await web.submit('/login/key', { key: String(wrongKey).padStart(6, '0') });
    expect(fourth.status).toBe(401);
    expect(attributeOf(fourth.body, 'key-number', 'data-number'), 'the same number is asked again after a wrong key').toBe(number);
    const fifth = await web.submit('/login/key', { key: String((wrongKey + 1) % 1_000_000).padStart(6, '0') });
    expect(fifth.status).toBe(403);
    expect(fifth.body).toMatch(/locked/i);
    await web.open('/login');
    const after = await web.submit('/login', { userId: nemId, password: welcome.password! });
    const wrongNow = await web.submit('/login', { userId: nemId, password: 'still-wrong-1' });
    expect(after.status, 'a locked account does not tell a guesser that the password is right').toBe(401);
    expect(after.body).toMatch(/locked/i);
    expect(/class="error"[^>]*>([^<]*)</.exec(after.body)?.[1]).toBe(/class="error"[^>]*>([^<]*)</.exec(wrongNow.body)?.[1]);
    const person = await operator('GET', `/v1/people/${nemId}`);
    expect([person.json.person.state, person.json.person.failCount]).toEqual(['locked', 6]);
    const unlocked = await operator('POST', `/v1/people/${nemId}/unlock`, {});
    expect(unlocked.json.person.state).toBe('pending');
    expect((await logIn(client(), nemId, welcome.password!, welcome.keys)).page.body).toContain('id="choose-form"');
  });

  it('keeps the session in an HttpOnly, SameSite=Strict, Secure cookie, renewed at each step, with strict page headers', async () => {
    const { nemId, letter: welcome } = await orderPerson('Erik Cookie', cprOfAge(31, '1012'));
    const web = client();
    const page = await web.get('/login');
    const cookie = page.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^nv_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Secure');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const step1 = await web.post('/login', { userId: nemId, password: welcome.password! });
    const renewed = step1.headers.getSetCookie()[0]!;
    expect(renewed.split(';')[0]).not.toBe(cookie.split(';')[0]);
    const stale = new WebClient(server.url);
    await stale.get('/login'); // a session of its own…
    const reused = await fetch(new URL('/login/key', server.url), { headers: { cookie: cookie.split(';')[0]! }, redirect: 'manual' });
    expect([reused.status, reused.headers.get('location')], 'the cookie from before step 1 is worth nothing after it').toEqual([303, '/login']);
    clients.push(stale);
  });

  it('answers a page route’s wrongly typed fields with a coded 400, not a failure', async () => {
    const web = client();
    await web.open('/login');
    for (const userId of [42, true, { a: 1 }, ['x']]) {
      const answer = await web.postJson('/login', { userId, password: 'whatever-1', _csrf: csrfOf(web.lastPage) });
      expect(answer.status).toBe(400);
      expect(answer.body).toContain('userId');
    }
  });

  it('refuses a form without its CSRF token, or with another session’s', async () => {
    const { nemId, letter: welcome } = await orderPerson('Dora Csrf', cprOfAge(28, '1004'));
    const web = client();
    await web.open('/login');
    const missing = await web.post('/login', { userId: nemId, password: welcome.password! }, { csrf: false });
    expect(missing.status).toBe(403);
    expect(missing.body).toContain('CSRF');
    const other = client();
    await other.open('/login');
    const foreign = await web.post('/login', { userId: nemId, password: welcome.password!, _csrf: /name="_csrf" value="([^"]+)"/.exec(other.lastPage)?.[1] ?? 'x' });
    expect(foreign.status).toBe(403);
    const json = await web.postJson('/login/key-file', { personId: nemId, signature: 'x' });
    expect([json.status, JSON.parse(json.body).error.code], 'a JSON call is checked too').toEqual([403, 'NV_CSRF']);
    const person = await operator('GET', `/v1/people/${nemId}`);
    expect(person.json.person.failCount, 'a refused form is not a login attempt').toBe(0);
  });
});

describe('first login: choosing the user-id', () => {
  /** A person ordered with a card who has passed step 2 of their first login: on the choose page. */
  async function atChoosePage(name: string, cpr: string) {
    const { nemId, letter: welcome } = await orderPerson(name, cpr);
    const web = client();
    const { page } = await logIn(web, nemId, welcome.password!, welcome.keys);
    expect(page.body).toContain('id="choose-form"');
    return { web, nemId, welcome };
  }
  const takenAnswers = async (nemId: string) =>
    (await server.tokens.audit({ serial: nemId, action: 'person.choose-credentials', limit: 1000 })).filter((entry) => entry.result === 'user-id-taken').length;

  it('says a user-id is taken three times per first-login stage; after the third the person starts again at step 1', async () => {
    for (const [i, userId] of ['taken.first', 'taken.second', 'taken.third'].entries()) await signedInPerson(`Tage Optaget ${'ABC'[i]}`, cprOfAge(46, `200${3 + i}`), userId);
    const { web, nemId, welcome } = await atChoosePage('Ulla Ny', cprOfAge(29, '2006'));
    const password = secretOf('ulla-Pass-2026');
    const choose = (userId: string, again = password) => web.submit('/login/choose', { userId, password, passwordAgain: again });

    const differ = await choose('ulla.ny', 'ulla-Pass-2027');
    expect([differ.status, differ.body.includes('id="choose-form"')], 'a refusal that is no user-id taken is not counted').toEqual([400, true]);
    for (const userId of ['taken.first', 'Taken.Second']) {
      const refused = await choose(userId);
      expect(refused.status).toBe(409);
      expect(refused.body).toContain('id="choose-form"');
      expect(refused.body).toMatch(/user-id is taken/);
    }
    const third = await choose('taken.third');
    expect(third.status).toBe(409);
    expect(third.body).toMatch(/user-id is taken/);
    expect(third.body, 'the stage has ended: back at step 1').toContain('id="login-form"');
    expect(third.body).not.toContain('id="choose-form"');
    expect((await web.get('/login/choose')).location).toBe('/login');
    expect((await web.post('/login/choose', { userId: 'ulla.ny', password, passwordAgain: password })).location).toBe('/login');
    expect(await takenAnswers(nemId)).toBe(3);

    // Step 1 again (and a new key): three more answers, and a free user-id is taken into use.
    const again = await logIn(web, nemId, welcome.password!, welcome.keys);
    expect(again.page.body).toContain('id="choose-form"');
    expect((await choose('taken.first')).body).toContain('id="choose-form"');
    expect((await choose('ulla.ny')).body).toContain('id="scope"');
    expect(await takenAnswers(nemId)).toBe(4);
  });

  it('answers at most three “taken” to requests racing each other in one stage', async () => {
    await signedInPerson('Vera Optaget', cprOfAge(51, '2007'), 'taken.race');
    const { web, nemId } = await atChoosePage('Willy Hurtig', cprOfAge(33, '2008'));
    const password = secretOf('willy-Pass-2026');
    const csrf = csrfOf(web.lastPage);
    const answers = await Promise.all(Array.from({ length: 8 }, () => web.post('/login/choose', { userId: 'taken.race', password, passwordAgain: password, _csrf: csrf })));
    // 409: refused; 303 to /login: the stage (and its session) had ended before this one was read.
    expect(answers.filter((answer) => answer.status !== 409 && !(answer.status === 303 && answer.location === '/login'))).toEqual([]);
    expect(await takenAnswers(nemId)).toBe(3);
    expect((await web.get('/login/choose')).location).toBe('/login');
  });

  it('keeps the user-id typed after a refusal (the passwords are typed again)', async () => {
    const { web } = await atChoosePage('Xenia Tastefejl', cprOfAge(27, '2009'));
    const password = secretOf('xenia-Pass-2026');
    const differ = await web.submit('/login/choose', { userId: 'xenia.t', password, passwordAgain: `${password}x` });
    expect(differ.status).toBe(400);
    expect(differ.body).toMatch(/not the same/);
    expect(attributeOf(differ.body, 'new-user-id', 'value')).toBe('xenia.t');
    expect(attributeOf(differ.body, 'new-password', 'value')).toBeUndefined();
  });
});

describe('no JSON login for other sites: /api/login is gone, sites use OpenID Connect', () => {
  /** A site of the test's, registered at the provider (first-party: no consent asked), accepting every scope of person. */
  async function testSite(name: string): Promise<TestSite> {
    const redirectUri = `http://127.0.0.9/${name}/callback`;
    const { site, clientSecret } = await server.oidc.sites.add({ name, redirectUris: [redirectUri], acceptedScopes: ['full', 'bank-only', 'view-only'], firstParty: true, allowInsecureLoopback: true }, { name: 'test' });
    return { clientId: site.clientId, clientSecret: secretOf(clientSecret), redirectUri };
  }

  it('POST /api/login, /api/login/key and /api/logout answer 404 NV_NO_ROUTE, with a session and its CSRF token too, and try no password', async () => {
    const { nemId, letter: welcome } = await orderPerson('Ane Apiløs', cprOfAge(33, '1012'));
    const rp = client();
    const session = JSON.parse((await rp.get('/api/session')).body) as { stage: string; csrfToken: string };
    expect(session.stage, '/api/session (the pages\' own) stays').toBe('anonymous');
    for (const [url, body] of [['/api/login', { userId: nemId, password: welcome.password }], ['/api/login/key', { key: '123456' }], ['/api/logout', {}]] as const) {
      for (const headers of [{ 'x-csrf-token': session.csrfToken }, {}] as Record<string, string>[]) {
        const answer = await rp.postJson(url, body, headers);
        expect([url, answer.status, JSON.parse(answer.body).error.code]).toEqual([url, 404, 'NV_NO_ROUTE']);
      }
    }
    expect((await operator('GET', `/v1/people/${nemId}`)).json.person.failCount).toBe(0);
    expect((await server.tokens.audit({ serial: nemId, limit: 100 })).filter((entry) => entry.action.startsWith('login')), 'no login was tried').toEqual([]);
  });

  it('a site gets the same two steps through the provider, and the scope travels with the login (a view-only person)', async () => {
    const site = await testSite('scope-site');
    const ordered = await operator('POST', '/v1/people', { name: 'Kim Kontokig', cpr: cprOfAge(14, '1010'), credential: 'card' });
    const welcome = await letter(ordered.json.letter);
    const nemId = ordered.json.person.nemIdNumber as string;
    const web = client();
    await logIn(web, nemId, welcome.password!, welcome.keys);
    const password = secretOf('kim-Kontokig-2026');
    await web.submit('/login/choose', { userId: 'kim.kontokig', password, passwordAgain: password });
    await web.submit('/logout', {});

    const issuer = server.oidc.issuer()!;
    const request = authorizationRequest(issuer, site);
    let keptUnder: string[] = [];
    let flowUid: string | undefined;
    const back = await loginOverHttp(client(), request, site, {
      userId: 'kim.kontokig',
      password,
      answer: async (page) => {
        // Between the steps the login is kept in the store: under the digest of the interaction's uid, never the uid (which its cookie and address carry).
        flowUid = /\/interaction\/([^/"]+)\/login\/key"/.exec(page)?.[1];
        keptUnder = (await storage.rows<{ uid: string }>('SELECT uid FROM oidc_interaction_logins')).map((row) => row.uid);
        return { key: secretOf(welcome.keys.get(attributeOf(page, 'key-number', 'data-number')!)!) };
      },
    });
    expect(back).toMatchObject({ state: request.state, error: null });
    expect(flowUid, 'the step page posts to its interaction').toBeTruthy();
    expect(keptUnder).toContain(loginKey(flowUid!));
    expect(keptUnder.filter((key) => key.includes(flowUid!)), 'no stored key carries the uid').toEqual([]);
    expect((await storage.rows<{ uid: string }>('SELECT uid FROM oidc_interaction_logins')).map((row) => row.uid), 'a finished login is deleted').not.toContain(loginKey(flowUid!));
    const tokens = await redeemCode(issuer, site, codeOf(back.code!), request.verifier);
    expect(tokens.status, JSON.stringify(tokens.json)).toBe(200);
    expect(jwtClaims(tokens.json.id_token!)).toMatchObject({ name: 'Kim Kontokig', nemid_scope: 'view-only', amr: ['pwd', 'otp'], nonce: request.nonce });

    // The provider's session is kept with the digest of its uid (what a token's session is found by), never the uid: opened with the master key, each session's uid is nowhere in the table.
    const vault = new SeedVault(findMasterKey(path.join(dir, 'server'), {})!.key);
    const stored = await storage.rows<{ model: string; id: string; payload: string; uid: string | null }>('SELECT * FROM oidc_models');
    const sessions = stored.filter((row) => row.model === 'Session');
    expect(sessions.length, 'the login left a session at the provider').toBeGreaterThan(0);
    for (const row of sessions) {
      const uid = openPayload<{ uid?: string }>(vault, row)?.uid;
      expect(uid, 'the session opens and has a uid').toMatch(/^[A-Za-z0-9_-]{10,}$/);
      expect(row.uid).toBe(identifierDigest(uid!));
      expect(stored.filter((other) => JSON.stringify({ ...other, payload: undefined }).includes(uid!)), 'no stored column carries the uid').toEqual([]);
    }
  });

  it("a lost token's temporary password logs its holder in at a site: pwd alone, the NSIS level Low", async () => {
    const site = await testSite('lost-token-site');
    const { nemId, seed, welcome } = await tokenHolder('Mads Api', cprOfAge(48, '2011'), 'TABT-2');
    const web = client();
    await web.open('/login');
    await web.submit('/login', { userId: nemId, password: welcome.password! });
    await web.submit('/login/key', { code: referenceHotp(seed, 0) });
    const password = secretOf('mads-Api-2026');
    await web.submit('/login/choose', { userId: 'mads.api', password, passwordAgain: password });
    await web.submit('/logout', {});
    const replacement = await reportLost('TABT-2');

    const issuer = server.oidc.issuer()!;
    const request = authorizationRequest(issuer, site);
    const back = await loginOverHttp(client(), request, site, {
      userId: 'mads.api',
      password,
      answer: (page) => {
        expect(page, 'step 2 asks for the temporary password').toContain('id="temporary-password"');
        return { code: replacement.password };
      },
    });
    const tokens = await redeemCode(issuer, site, codeOf(back.code!), request.verifier);
    expect(tokens.status, JSON.stringify(tokens.json)).toBe(200);
    expect(jwtClaims(tokens.json.id_token!)).toMatchObject({ name: 'Mads Api', nemid_scope: 'full', amr: ['pwd'], acr: ACR.low });
  });
});

describe('refresh tokens: a site that asks for offline_access (and the person allows it)', () => {
  const OFFLINE = { scope: 'openid profile offline_access', prompt: 'consent' };

  async function offlineSite(name: string, firstParty: boolean): Promise<TestSite> {
    const redirectUri = `http://127.0.0.9/${name}/callback`;
    const { site, clientSecret } = await server.oidc.sites.add({ name, redirectUris: [redirectUri], acceptedScopes: ['full', 'bank-only', 'view-only'], firstParty, allowInsecureLoopback: true }, { name: 'test' });
    return { clientId: site.clientId, clientSecret: secretOf(clientSecret), redirectUri };
  }

  /** A person with a card who has chosen `userId`, signed in at the service in `web` (for self-service). */
  async function cardHolder(name: string, cpr: string, userId: string) {
    const person = await signedInPerson(name, cpr, userId);
    const answer = (page: string) => ({ key: secretOf(person.welcome.keys.get(attributeOf(page, 'key-number', 'data-number')!)!) });
    return { ...person, login: { userId, password: person.password, answer } };
  }

  /** A login at `site` in a browser of its own (`extra` on the authorization request): the browser and the site's token answer. */
  async function tokensFor(site: TestSite, login: Parameters<typeof loginOverHttp>[3], extra: Record<string, string> = OFFLINE) {
    const issuer = server.oidc.issuer()!;
    const request = authorizationRequest(issuer, site, extra);
    const browser = client();
    const back = await loginOverHttp(browser, request, site, login);
    expect(back, JSON.stringify(back)).toMatchObject({ state: request.state, error: null });
    const tokens = await redeemCode(issuer, site, codeOf(back.code!), request.verifier);
    expect(tokens.status, JSON.stringify(tokens.json)).toBe(200);
    if (tokens.json.refresh_token) secretOf(tokens.json.refresh_token);
    return { browser, tokens: tokens.json };
  }

  async function refresh(site: TestSite, refreshToken: string) {
    const answer = await refreshTokens(server.oidc.issuer()!, site, refreshToken);
    if (answer.json.refresh_token) secretOf(answer.json.refresh_token);
    return answer;
  }

  it('only offline_access with prompt=consent gets a refresh token; a site that is not first-party asks the person first, in words', async () => {
    const bank = await offlineSite('offline-bank', true);
    const person = await cardHolder('Rikke Refresh', cprOfAge(36, '3101'), 'rikke.refresh');
    expect((await tokensFor(bank, person.login, {})).tokens.refresh_token, 'no offline_access: none').toBeUndefined();
    expect((await tokensFor(bank, person.login, { scope: 'openid profile offline_access' })).tokens.refresh_token, 'offline_access without prompt=consent is dropped').toBeUndefined();
    expect((await tokensFor(bank, person.login)).tokens.refresh_token).toBeTruthy();

    const portal = await offlineSite('offline-portal', false);
    const { browser, tokens } = await tokensFor(portal, person.login);
    const consent = browser.seen.find((page) => page.includes('id="consent-sharing"'));
    expect(consent, 'the person was asked').toBeDefined();
    expect(consent).toContain('to stay signed in while you are away');
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('a refresh gives new tokens and a new refresh token, each used once: one used again is refused and ends the grant', async () => {
    const site = await offlineSite('offline-rotation', true);
    const person = await cardHolder('Rolf Rotation', cprOfAge(52, '3102'), 'rolf.rotation');
    const { tokens } = await tokensFor(site, person.login);
    const issuer = server.oidc.issuer()!;
    const first = await refresh(site, tokens.refresh_token!);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.refresh_token, 'rotated').toBeTruthy();
    expect(first.json.refresh_token).not.toBe(tokens.refresh_token);
    expect(first.json.access_token).not.toBe(tokens.access_token);
    expect(jwtClaims(first.json.id_token!)).toMatchObject({ sub: jwtClaims(tokens.id_token!).sub, name: 'Rolf Rotation', aud: site.clientId });
    expect(await userinfoStatus(issuer, first.json.access_token!)).toBe(200);
    const second = await refresh(site, first.json.refresh_token!);
    expect(second.status, JSON.stringify(second.json)).toBe(200);

    // The first refresh token again (a stolen copy, say): refused, and the grant is ended for whoever holds its successors.
    expect(await refresh(site, tokens.refresh_token!)).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(await refresh(site, second.json.refresh_token!), 'the newest refresh token goes with the grant').toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(await userinfoStatus(issuer, second.json.access_token!), 'and its access token').toBe(401);
  });

  it("a refresh after the person's access ended is refused: a logout at the provider, a blocked card, a new password", async () => {
    const site = await offlineSite('offline-ends', true);
    const issuer = server.oidc.issuer()!;
    const person = await cardHolder('Alma Afsluttet', cprOfAge(44, '3103'), 'alma.afsluttet');
    const refused = { status: 400, json: { error: 'invalid_grant' } };

    const loggedOut = await tokensFor(site, person.login);
    const other = await tokensFor(site, person.login); // another browser of hers: its grant is not this logout's
    expect(await logoutAtProvider(loggedOut.browser, issuer, site)).toBe(303);
    expect(await refresh(site, loggedOut.tokens.refresh_token!), 'the logout ended its offline grant').toMatchObject(refused);
    const kept = await refresh(site, other.tokens.refresh_token!);
    expect(kept.status, 'the other browser keeps its own').toBe(200);
    // The site logs her out of itself only there (the provider session stays): an offline grant outlives that.
    expect(await logoutAtProvider(other.browser, issuer, site, false)).toBe(303);
    const outlived = await refresh(site, kept.json.refresh_token!);
    expect(outlived.status, 'a site-only logout keeps an offline grant').toBe(200);

    const password = secretOf('alma-Afsluttet-2');
    const changed = await person.web.submit('/self-service/password', { current: person.password, password, passwordAgain: password });
    expect(changed.status, changed.body.slice(0, 300)).toBe(200);
    expect(await refresh(site, outlived.json.refresh_token!), 'a new password ends every grant, also one no session holds').toMatchObject(refused);

    const again = await tokensFor(site, { ...person.login, password });
    expect((await refresh(site, again.tokens.refresh_token!)).status).toBe(200);
    const refreshed = await refresh(site, again.tokens.refresh_token!);
    expect(refreshed, 'used once').toMatchObject(refused);
    const fresh = await tokensFor(site, { ...person.login, password });
    const [card] = await server.service.cards.ofPerson(person.nemId);
    await person.web.submit('/self-service/block', { kind: 'card', id: card!.serial, confirm: 'yes' });
    expect((await server.service.cards.get(card!.serial))!.state).toBe('blocked');
    expect(await refresh(site, fresh.tokens.refresh_token!), 'a blocked card ends every grant').toMatchObject(refused);
  });
});

describe('support: re-issue', () => {
  it('re-issues a person with a code token: the token is reported lost, a new card and temporary password go out, and step 2 asks the card', async () => {
    const seed = randomBytes(20).toString('hex');
    secrets.add(seed);
    const enrolled = await fetch(new URL('/v1/tokens', server.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ serial: 'RE-1001', kind: 'hotp', algorithm: 'sha1', digits: 6, seed }),
    });
    expect(enrolled.status).toBe(201);
    const ordered = await operator('POST', '/v1/people', { name: 'Rasmus Reissue', cpr: cprOfAge(44, '1014'), credential: 'token', tokenSerial: 'RE-1001' });
    expect(ordered.status, JSON.stringify(ordered.json)).toBe(201);
    const nemId = ordered.json.person.nemIdNumber as string;
    const reissued = await operator('POST', `/v1/people/${nemId}/reissue`, {});
    expect(reissued.status, JSON.stringify(reissued.json)).toBe(201);
    const token = await fetch(new URL('/v1/tokens/RE-1001', server.url), { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(((await token.json()) as { token: { state: string } }).token.state).toBe('lost');
    const fresh = await letter(reissued.json.letter);
    expect(fresh.keys.size).toBe(148);
    const web = client();
    const step = await logIn(web, nemId, fresh.password!, fresh.keys);
    expect(step.page.body).toContain('id="choose-form"');
  });
});

describe('a lost code token: its temporary password at step 2', () => {
  it('logs its holder in with the temporary password instead of a code; a wrong one (or a code) counts toward the lockout', async () => {
    const { nemId, seed, welcome } = await tokenHolder('Lone Tabt', cprOfAge(39, '2010'), 'TABT-1');
    const web = client();
    await web.open('/login');
    await web.submit('/login', { userId: nemId, password: welcome.password! });
    expect((await web.submit('/login/key', { code: referenceHotp(seed, 0) })).body).toContain('id="choose-form"');
    const password = secretOf('lone-Tabt-2026');
    await web.submit('/login/choose', { userId: 'lone.tabt', password, passwordAgain: password });
    await web.submit('/logout', {});

    const replacement = await reportLost('TABT-1');
    expect(replacement.password).toMatch(/^[A-Za-z0-9]{12}$/);
    await web.open('/login');
    const step2 = await web.submit('/login', { userId: 'lone.tabt', password });
    expect(step2.status).toBe(200);
    expect(step2.body, 'the page asks for the temporary password, not a code').toContain('id="temporary-password"');
    expect(step2.body).not.toContain('id="code"');
    expect(step2.body).toMatch(/temporary password/i);
    expect(step2.body).toContain('TABT-1');
    expect(attributeOf(step2.body, 'temporary-password', 'maxlength')).toBe('12');
    expect(attributeOf(step2.body, 'temporary-password-valid-until', 'datetime')).toBe(replacement.validUntil);

    const failCount = async () => (await operator('GET', `/v1/people/${nemId}`)).json.person.failCount as number;
    const wrong = replacement.password.slice(0, 11) + (replacement.password.endsWith('a') ? 'b' : 'a');
    const refused = await web.submit('/login/key', { code: wrong });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatch(/temporary password is wrong/i);
    expect(refused.body, 'asked again').toContain('id="temporary-password"');
    expect(await failCount()).toBe(1);
    const code = await web.submit('/login/key', { code: referenceHotp(seed, 1) });
    expect(code.status, 'the lost token’s code is no answer either').toBe(401);
    expect(await failCount()).toBe(2);

    const done = await web.submit('/login/key', { code: replacement.password });
    expect(done.status).toBe(200);
    expect(done.body).toContain('id="scope"');
    expect(done.body).toContain('lone.tabt');
    expect(await failCount(), 'a right answer starts the count over').toBe(0);
  });

  it('re-issuing a person ends the temporary password of their lost token with the rest of their credentials', async () => {
    const { nemId } = await tokenHolder('Rita Genudstedt', cprOfAge(52, '2015'), 'TABT-4');
    const replacement = await reportLost('TABT-4');
    const byUser = () => fetch(new URL('/v1/verify', server.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: nemId, code: replacement.password }),
    });
    expect(await (await byUser()).json()).toMatchObject({ result: 'accepted', serial: 'LOST-TABT-4' });
    expect((await operator('POST', `/v1/people/${nemId}/reissue`, {})).status).toBe(201);
    const after = await byUser();
    expect([after.status, ((await after.json()) as { error: { code: string } }).error.code]).toEqual([404, 'NV_UNKNOWN_USER']);
  });
});

describe('code cards: keys used once, thresholds, extra cards, blocking', () => {
  it('accepts each of the 148 keys once, in an order the server chooses, and then the card is used up', async () => {
    const { nemId } = await orderPerson('Eva Keys', cprOfAge(33, '1005'));
    const person = await server.service.people.get(nemId);
    const [card] = await server.service.cards.ofPerson(nemId);
    const pairs = server.service.cards.pairsOf(card!);
    const byNumber = new Map(pairs.map((p) => [p.number, p.key]));
    const asked: string[] = [];
    for (let i = 0; i < 148; i++) {
      const challenge = await server.service.cards.challenge(nemId, card!.serial);
      asked.push(challenge.number);
      const answer = await server.service.cards.answer({ ...person, cardThreshold: 0 }, card!.serial, byNumber.get(challenge.number)!, { name: 'test' });
      expect(answer.result).toBe('accepted');
    }
    expect(new Set(asked).size).toBe(148);
    expect(asked).not.toEqual(pairs.map((p) => p.number)); // not the printed order
    expect((await server.service.cards.get(card!.serial))!.state).toBe('used-up');
    await expect(server.service.cards.challenge(nemId, card!.serial)).rejects.toMatchObject({ code: 'NV_NO_CARD' });
  });

  it('sends a new card exactly once when the keys left reach the threshold, and the new card works', async () => {
    const { nemId, letter: welcome } = await orderPerson('Frederik Threshold', cprOfAge(45, '1006'));
    const web = client();
    await logIn(web, nemId, welcome.password!, welcome.keys);
    await web.submit('/login/choose', { userId: 'frederik.t', password: 'frederik-Pass1', passwordAgain: 'frederik-Pass1' });
    secrets.add('frederik-Pass1');
    const saved = await web.submit('/self-service/threshold', { threshold: '145' });
    expect(saved.body).toContain('class="notice"');
    const newCards = async () => (await server.service.outbox.list({ personId: nemId })).filter((l) => l.kind === 'new-card');
    for (let login = 0; login < 4; login++) {
      await web.submit('/logout', {});
      await logIn(web, 'frederik.t', 'frederik-Pass1', welcome.keys);
    }
    const sent = await newCards();
    expect(sent).toHaveLength(1); // 147 → 143 keys left crossed 145 once
    const successor = await letter(sent[0]!.id);
    await web.submit('/logout', {});
    await web.open('/login');
    const step2 = await web.submit('/login', { userId: 'frederik.t', password: 'frederik-Pass1' });
    const cards = await server.service.cards.ofPerson(nemId);
    const fresh = cards.find((c) => c.state === 'issued')!;
    const switched = await web.submit('/login/card', { cardSerial: fresh.serial });
    expect(step2.body).toContain(fresh.serial);
    const number = attributeOf(switched.body, 'key-number', 'data-number')!;
    secrets.add(successor.keys.get(number)!);
    const done = await web.submit('/login/key', { key: successor.keys.get(number)! });
    expect(done.body).toContain('id="scope"');
    const after = await server.service.cards.ofPerson(nemId);
    expect(after.find((c) => c.serial === fresh.serial)!.state).toBe('active');
    expect(after.filter((c) => c.serial !== fresh.serial).map((c) => c.state)).toEqual(['replaced']);
    expect(await newCards()).toHaveLength(1);
  });

  it('never orders a fourth extra card, also when orders race', async () => {
    const { nemId } = await orderPerson('Gunnar Race', cprOfAge(61, '1013'));
    const raced = await Promise.all([2, 2, 2].map((count) => operator('POST', `/v1/people/${nemId}/extra-cards`, { count })));
    expect(raced.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect((await server.service.cards.ofPerson(nemId)).filter((c) => c.extra)).toHaveLength(2);
  });

  it('orders up to three extra cards, and refuses a fourth', async () => {
    const { nemId } = await orderPerson('Gitte Extra', cprOfAge(60, '1007'));
    const three = await operator('POST', `/v1/people/${nemId}/extra-cards`, { count: 3 });
    expect(three.status).toBe(201);
    expect(three.json.letters).toHaveLength(3);
    const fourth = await operator('POST', `/v1/people/${nemId}/extra-cards`, { count: 1 });
    expect([fourth.status, fourth.json.error.code]).toEqual([409, 'NV_TOO_MANY_CARDS']);
    const extra = (await server.service.cards.ofPerson(nemId)).filter((c) => c.extra);
    expect(extra).toHaveLength(3);
  });

  it('blocks a card in self-service: its keys are refused from then on', async () => {
    const { nemId, letter: welcome } = await orderPerson('Hans Block', cprOfAge(41, '1008'));
    const web = client();
    await logIn(web, nemId, welcome.password!, welcome.keys);
    await web.submit('/login/choose', { userId: 'hans.block', password: 'hans-Block-22', passwordAgain: 'hans-Block-22' });
    secrets.add('hans-Block-22');
    const elsewhere = client(); // the same person signed in on another machine (or a thief with the card)
    await logIn(elsewhere, 'hans.block', 'hans-Block-22', welcome.keys);
    expect((await elsewhere.open('/self-service')).body).toContain('id="scope"');
    const [card] = await server.service.cards.ofPerson(nemId);
    const blocked = await web.submit('/self-service/block', { kind: 'card', id: card!.serial, confirm: 'yes' });
    expect((await elsewhere.get('/self-service')).location, 'blocking ends every other session').toBe('/login');
    expect((await web.get('/self-service')).status, 'but not the one that blocked').toBe(200);
    expect(blocked.body).toContain('class="notice"');
    expect((await server.service.cards.get(card!.serial))!.state).toBe('blocked');
    await web.submit('/logout', {});
    await web.open('/login');
    const step2 = await web.submit('/login', { userId: 'hans.block', password: 'hans-Block-22' });
    expect(step2.body).not.toContain('id="key-number"');
    const person = await server.service.people.get(nemId);
    for (const [, key] of [...welcome.keys].slice(0, 20)) {
      expect((await server.service.cards.answer(person, card!.serial, key, { name: 'test' })).result).toBe('wrong');
    }
  });

  it('keeps a card’s keys unrecoverable from the store without the master key', async () => {
    const { nemId, letter: welcome } = await orderPerson('Ida Vault', cprOfAge(38, '1009'));
    const [row] = await storage.rows<{ sealed_secret: Buffer }>('SELECT sealed_secret FROM code_cards WHERE person_id = ?', nemId);
    const fromStoredBytes = cardPairs(new Uint8Array(row!.sealed_secret.subarray(0, 32)));
    const keys = [...welcome.keys.values()];
    expect(fromStoredBytes.map((p) => p.key).filter((k) => keys.includes(k)).length).toBeLessThan(3);
    // A lone 6-digit key may turn up by chance among the stored digits (NemID numbers, hashes); a
    // number followed by its key would not: that is how a card stored in the clear would look.
    // The SQLite file's bytes; on PostgreSQL, every row of the service's tables as the test reads it.
    const files =
      TEST_STORE === 'sqlite'
        ? [server.dbFile, `${server.dbFile}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f).toString('latin1'))
        : [JSON.stringify(await Promise.all(['people', 'code_cards', 'audit'].map((table) => storage.rows(`SELECT * FROM ${table}`))))];
    for (const [number, key] of welcome.keys) for (const bytes of files) expect(new RegExp(`${number}[^0-9]{0,12}${key}`).test(bytes)).toBe(false);
    expect(welcome.keys.size).toBe(148);
  });
});

describe('organisations and employee credentials', () => {
  it('two orders of one CVR number at once make one organisation; the other is told it exists, not an internal failure', async () => {
    const order = () => server.service.organisations.create({ cvr: '41000007', name: 'Samtidig ApS', administrator: 'Sara Samtidig' }, { name: 'test' });
    const outcomes = await Promise.allSettled([order(), order()]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    expect(refused.reason).toMatchObject({ code: 'NV_ORGANISATION_EXISTS', status: 409 });
  });

  it('sends an employee’s temporary password and code card in two letters, neither with the other’s secret', async () => {
    const created = await operator('POST', '/v1/organisations', { cvr: '30000021', name: 'Breve ApS', administrator: 'Bent Breve' });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const nemId = created.json.administrator.nemIdNumber as string;
    const passwordLetter = await letter(created.json.letter);
    const cardLetter = await letter(created.json.cardLetter);
    expect(created.json.cardLetter).not.toBe(created.json.letter);
    expect([passwordLetter.password !== undefined, passwordLetter.keys.size]).toEqual([true, 0]);
    expect([cardLetter.password, cardLetter.keys.size]).toEqual([undefined, 148]);
    const letters = await server.service.outbox.list({ personId: nemId });
    expect(letters.map((l) => l.kind).sort()).toEqual(['employee-card', 'employee-welcome']);
    expect((await server.service.outbox.open(created.json.cardLetter)).html).not.toContain(nemId);

    // Re-issued: again two letters, and the new pair logs in.
    const reissued = await operator('POST', `/v1/people/${nemId}/reissue`, {});
    expect(reissued.status, JSON.stringify(reissued.json)).toBe(201);
    const [fresh, freshCard] = [await letter(reissued.json.letter), await letter(reissued.json.cardLetter)];
    expect([fresh.keys.size, freshCard.password]).toEqual([0, undefined]);
    expect((await logIn(client(), nemId, fresh.password!, freshCard.keys)).page.body).toContain('id="choose-form"');
  });

  it('lets an administrator issue an employee key file, which the employee activates and logs in with; another organisation sees nothing of it', async () => {
    const created = await operator('POST', '/v1/organisations', { cvr: '10103940', name: 'Statsministeriet', administrator: 'Jens Admin' });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const adminLetter = await letter(created.json.letter);
    const adminCard = await letter(created.json.cardLetter);
    const admin = client();
    await logIn(admin, created.json.administrator.nemIdNumber, adminLetter.password!, adminCard.keys);
    secrets.add('jens-Admin-99');
    const adminHome = await admin.submit('/login/choose', { userId: 'jens.admin', password: 'jens-Admin-99', passwordAgain: 'jens-Admin-99' });
    expect(adminHome.status).toBe(200);
    const adminPage = await admin.open('/admin');
    expect(adminPage.body).toContain('id="issue-form"');
    const issued = await admin.submit('/admin/employees', { name: 'Karen Nøglefil', credential: 'key-file', role: 'employee' });
    expect(issued.body).toContain('class="notice"');
    const employee = (await server.service.people.ofOrganisation(created.json.organisation.id)).find((p) => p.name === 'Karen Nøglefil')!;
    const activation = (await server.service.outbox.list({ personId: employee.id })).find((l) => l.kind === 'key-file-activation')!;
    const code = (await letter(activation.id)).activationCode!;

    const browser = client();
    await browser.open('/activate');
    const csrf = /data-csrf="([^"]+)"/.exec(browser.lastPage)![1]!;
    const begun = await browser.postJson('/activate/begin', { activationCode: code }, { 'x-csrf-token': csrf });
    expect(begun.status, begun.body).toBe(200);
    const { personId, label } = JSON.parse(begun.body) as { personId: string; label: string };
    secrets.add('karen-File-77');
    const made = await createKeyFile({ personId, label, password: 'karen-File-77' });
    const completed = await browser.postJson('/activate/complete', { activationCode: code, publicKey: made.publicKey }, { 'x-csrf-token': csrf });
    expect(completed.status, completed.body).toBe(200);
    const reused = await browser.postJson('/activate/begin', { activationCode: code }, { 'x-csrf-token': csrf });
    expect(reused.status).toBe(404);

    const loginPage = await browser.open('/login/key-file');
    const challenge = attributeOf(loginPage.body, 'key-file-form', 'data-challenge') ?? /data-challenge="([^"]+)"/.exec(loginPage.body)![1]!;
    const pageCsrf = /name="_csrf" value="([^"]+)"/.exec(loginPage.body)?.[1] ?? /data-csrf="([^"]+)"/.exec(loginPage.body)![1]!;
    const signature = await signChallenge(made.fileText, 'karen-File-77', challenge);
    const signedIn = await browser.postJson('/login/key-file', { personId, signature }, { 'x-csrf-token': pageCsrf });
    expect(signedIn.status, signedIn.body).toBe(200);
    const session = JSON.parse((await browser.get('/api/session')).body);
    expect(session.principal).toMatchObject({ nemIdNumber: personId, organisation: { cvr: '10103940' }, role: 'employee' });
    const replay = await browser.postJson('/login/key-file', { personId, signature }, { 'x-csrf-token': pageCsrf });
    expect(replay.status).toBeGreaterThanOrEqual(400);

    // Forged signatures tell nothing about which NemID numbers exist, and lock nobody.
    const forger = client();
    const answers: string[] = [];
    for (const target of [personId, '1234567890', personId, '1234567891', personId, personId, personId]) {
      const page = await forger.open('/login/key-file');
      const token = /data-csrf="([^"]+)"/.exec(page.body)![1]!;
      const forged = await forger.postJson('/login/key-file', { personId: target, signature: 'A'.repeat(86) }, { 'x-csrf-token': token });
      answers.push(`${forged.status} ${forged.body}`);
    }
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/^401 .*NV_KEY_FILE_FAILED/);
    expect((await server.service.people.get(personId)).state).toBe('active');

    const other = await operator('POST', '/v1/organisations', { cvr: '24256790', name: 'Novo Nordisk A/S', administrator: 'Lene Anden' });
    expect(other.status, JSON.stringify(other.json)).toBe(201);
    const otherLetter = await letter(other.json.letter);
    const otherAdmin = client();
    await logIn(otherAdmin, other.json.administrator.nemIdNumber, otherLetter.password!, (await letter(other.json.cardLetter)).keys);
    await otherAdmin.submit('/login/choose', { userId: 'lene.anden', password: 'lene-Anden-11', passwordAgain: 'lene-Anden-11' });
    secrets.add('lene-Anden-11');
    const otherPage = await otherAdmin.open('/admin');
    expect(otherPage.body).not.toContain(employee.id);
    expect(otherPage.body).not.toContain('Karen');
    const touch = await otherAdmin.post(`/admin/employees/${employee.id}/block`, {});
    expect(touch.status).toBe(404);
    expect((await server.service.people.get(employee.id)).state).toBe('active');
    const audit = await server.tokens.audit({ action: 'person.order', limit: 1000 });
    expect(audit.some((entry) => entry.serial === employee.id && entry.detail.organisation === created.json.organisation.id)).toBe(true);
  });
});

describe('key-file login', () => {
  /** One attempt as the login page makes it: a fresh challenge, signed by `sign`; the answer and the signature verifications it cost. */
  async function attempt(web: WebClient, personId: string, sign: (challenge: string) => Promise<string>) {
    const page = await web.open('/login/key-file');
    const challenge = /data-challenge="([^"]+)"/.exec(page.body)![1]!;
    const csrf = /data-csrf="([^"]+)"/.exec(page.body)![1]!;
    const signature = await sign(challenge);
    const before = server.service.keyFileVerifier.verifications;
    const answer = await web.postJson('/login/key-file', { personId, signature }, { 'x-csrf-token': csrf });
    return { status: answer.status, body: answer.body, verifications: server.service.keyFileVerifier.verifications - before };
  }

  it('makes exactly one signature verification per attempt, whether the NemID number has an active key file, none, or is unknown', async () => {
    const { web: admin, organisationId } = await signedInAdministrator('30000013', 'Signatur ApS', 'ada.signatur');
    for (const name of ['Sofie Signatur', 'Otto Uaktiveret']) await admin.submit('/admin/employees', { name, credential: 'key-file', role: 'employee' });
    const employees = await server.service.people.ofOrganisation(organisationId);
    const holder = employees.find((p) => p.name === 'Sofie Signatur')!;
    const awaiting = employees.find((p) => p.name === 'Otto Uaktiveret')!;
    const activation = (await server.service.outbox.list({ personId: holder.id })).find((l) => l.kind === 'key-file-activation')!;
    const code = (await letter(activation.id)).activationCode!;
    const made = await createKeyFile({ personId: holder.id, label: holder.name, password: secretOf('sofie-File-77') });
    await server.service.keyFiles.activate(code, made.publicKey, { name: 'test' });
    const stranger = await createKeyFile({ personId: holder.id, label: 'not hers', password: secretOf('stranger-File-1') });
    const { nemId: cardHolder } = await orderPerson('Carla Kortholder', cprOfAge(37, '2002'));
    const forged = (challenge: string) => signChallenge(stranger.fileText, 'stranger-File-1', challenge);

    const web = client();
    const attempts = {
      'an active key file, a signature by another key': await attempt(web, holder.id, forged),
      'an unknown NemID number': await attempt(web, '1234567890', forged),
      'a person with a code card and no key file': await attempt(web, cardHolder, forged),
      'a key file awaiting activation': await attempt(web, awaiting.id, forged),
      'not a NemID number at all': await attempt(web, 'x', forged),
    };
    for (const [what, { status, body, verifications }] of Object.entries(attempts)) {
      expect(verifications, what).toBe(1);
      expect(`${status} ${body}`, what).toBe(`${attempts['an unknown NemID number'].status} ${attempts['an unknown NemID number'].body}`);
    }
    expect(attempts['an unknown NemID number'].status).toBe(401);
    const right = await attempt(web, holder.id, (challenge) => signChallenge(made.fileText, 'sofie-File-77', challenge));
    expect([right.status, right.verifications], right.body).toEqual([200, 1]);
  });
});

describe('on a server whose clock the test moves', () => {
  let clock = Date.parse('2026-03-02T08:00:00Z');
  let timed: RunningHost;
  const advance = (ms: number) => {
    clock += ms;
  };

  beforeAll(async () => {
    timed = await startHost({
      ...(await hostStorage(path.join(dir, 'timed', 'tokens.db'))).options,
      port: 0,
      apiKeys: { admin: ADMIN_KEY, client: CLIENT_KEY },
      env: {},
      now: () => clock,
      servicePolicy: { loginAttemptsPerMinute: 10_000 },
    });
  });
  afterAll(async () => {
    await timed?.close();
  });

  it('sends a person whose session expired to /login, which says so; a form posted then lands there too', async () => {
    const ordered = await operator('POST', '/v1/people', { name: 'Per Pause', cpr: cprOfAge(36, '2013'), credential: 'card' }, timed);
    const welcome = await letter(ordered.json.letter, timed);
    const web = client(timed);
    const chosen = await logIn(web, ordered.json.person.nemIdNumber, welcome.password!, welcome.keys);
    expect(chosen.page.body).toContain('id="choose-form"');
    const password = secretOf('per-Pause-2026');
    const home = await web.submit('/login/choose', { userId: 'per.pause', password, passwordAgain: password });
    expect(home.body).toContain('id="scope"');
    const cookie = (await fetch(new URL('/login', timed.url), { redirect: 'manual' })).headers.getSetCookie()[0]!;
    expect(cookie, 'a live session’s cookie lasts while the browser runs: the server decides when the session ends').not.toMatch(/max-age|expires/i);

    advance(15 * 60_000 + 1);
    const away = await web.get('/self-service');
    expect([away.status, away.location]).toEqual([303, '/login']);
    const login = await web.open('/login');
    expect(attributeOf(login.body, 'notice', 'role')).toBe('status');
    expect(login.body).toMatch(/session has expired/);
    expect((await web.open('/login')).body, 'said once: the new session is live').not.toMatch(/session has expired/);

    // Signed in again, then idle again: a form posted after the end lands on /login with the message.
    await logIn(web, 'per.pause', password, welcome.keys);
    const form = await web.open('/self-service');
    advance(15 * 60_000 + 1);
    const posted = await web.post('/self-service/threshold', { threshold: '30', _csrf: csrfOf(form.body) });
    expect([posted.status, posted.location]).toEqual([303, '/login']);
    expect((await web.open('/login')).body).toMatch(/session has expired/);
    expect((await client(timed).open('/login')).body, 'no cookie, no session to have expired').not.toMatch(/session has expired/);
  });

  it('refuses a lost token’s temporary password once its validity has passed, and ends the login without counting a failure', async () => {
    const { nemId, welcome } = await tokenHolder('Ole Udløbet', cprOfAge(55, '2012'), 'TABT-3', timed);
    const replacement = await reportLost('TABT-3', timed, 1);
    expect(Date.parse(replacement.validUntil)).toBe(clock + 86_400_000);
    const web = client(timed);
    advance(86_400_000 - 60_000);
    await web.open('/login');
    expect((await web.submit('/login', { userId: nemId, password: welcome.password! })).body, 'still valid a minute before').toContain('id="temporary-password"');
    advance(2 * 60_000);
    const late = await web.submit('/login/key', { code: replacement.password });
    expect(late.status).toBe(403);
    expect(late.body).toMatch(/temporary password for your lost code token has expired/);
    expect(late.body).not.toContain('id="key-form"');
    await web.open('/login');
    const again = await web.submit('/login', { userId: nemId, password: welcome.password! });
    expect(again.status).toBe(403);
    expect(again.body).toMatch(/has expired/);
    expect((await operator('GET', `/v1/people/${nemId}`, undefined, timed)).json.person.failCount).toBe(0);
  });
});

describe('blocking asks first', () => {
  /** The confirmation page's form: where it posts and every field it carries (the CSRF token, the target, confirm=yes). */
  function confirmForm(html: string): { action: string; fields: Record<string, string> } {
    const form = /<form[^>]*id="confirm-form"[^>]*>([\s\S]*?)<\/form>/.exec(html);
    expect(form, 'the page is a confirmation').not.toBeNull();
    const fields = Object.fromEntries([...form![1]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    return { action: /action="([^"]+)"/.exec(form![0])![1]!, fields };
  }

  it('self-service shows what will be blocked and blocks only once confirmed, by a form that needs no script', async () => {
    const { web, nemId } = await signedInPerson('Yrsa Sikker', cprOfAge(34, '2014'), 'yrsa.sikker');
    const { nemId: other } = await orderPerson('Zaki Anden', cprOfAge(35, '2015'));
    const [card] = await server.service.cards.ofPerson(nemId);
    const [foreign] = await server.service.cards.ofPerson(other);

    const asked = await web.post('/self-service/block', { kind: 'card', id: card!.serial });
    expect(asked.status).toBe(200);
    expect(asked.body).toContain(`Block code card ${card!.serial}?`);
    expect(asked.body).not.toContain('<script');
    expect((await server.service.cards.get(card!.serial))!.state, 'nothing is blocked by the question').toBe('active');
    const { action, fields } = confirmForm(asked.body);
    expect(action).toBe('/self-service/block');
    expect(fields).toEqual({ _csrf: csrfOf(asked.body), kind: 'card', id: card!.serial, confirm: 'yes' });
    expect(attributeOf(asked.body, 'confirm-cancel', 'href')).toBe('/self-service');

    const done = await web.post(action, fields);
    expect([done.status, done.location]).toEqual([303, '/self-service?done=blocked']);
    expect((await server.service.cards.get(card!.serial))!.state).toBe('blocked');

    const notMine = await web.post('/self-service/block', { kind: 'card', id: foreign!.serial, _csrf: fields._csrf! });
    expect(notMine.status, 'another person’s card is not asked about').toBe(404);
    expect(notMine.body).not.toContain('id="confirm-form"');
  });

  it('the admin page asks before blocking an employee, offers no block on the administrator’s own row, and refuses it', async () => {
    const { web: admin, nemId: self, organisationId } = await signedInAdministrator('30000048', 'Spærre ApS', 'ada.spaerre');
    await admin.submit('/admin/employees', { name: 'Åge Ansat', credential: 'card', role: 'employee' });
    const employee = (await server.service.people.ofOrganisation(organisationId)).find((p) => p.name === 'Åge Ansat')!;
    const page = await admin.open('/admin');
    expect(page.body).toContain(`class="block-employee danger" data-id="${employee.id}"`);
    expect(page.body, 'no block on the own row').not.toContain(`class="block-employee danger" data-id="${self}"`);

    const asked = await admin.post(`/admin/employees/${employee.id}/block`, {});
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('Block Åge Ansat&#39;s employee signature?');
    expect((await server.service.people.get(employee.id)).state).toBe('pending');
    const { action, fields } = confirmForm(asked.body);
    expect(fields).toEqual({ _csrf: csrfOf(asked.body), confirm: 'yes' });
    const done = await admin.post(action, fields);
    expect([done.status, done.location]).toEqual([303, '/admin?done=employee-blocked']);
    expect((await server.service.people.get(employee.id)).state).toBe('blocked');

    for (const body of [{}, { confirm: 'yes' }] as Record<string, string>[]) {
      const refused = await admin.post(`/admin/employees/${self}/block`, body);
      expect(refused.status).toBe(409);
      expect(refused.body).toMatch(/cannot block your own employee signature/);
    }
    expect((await server.service.people.get(self)).state).toBe('active');
  });
});

describe('notices after a redirect', () => {
  it('shows none for a key that is not one of its own (__proto__, constructor…), on self-service and on /admin', async () => {
    const { web } = await signedInPerson('Nina Notice', cprOfAge(42, '2001'), 'nina.notice');
    const { web: admin } = await signedInAdministrator('30000005', 'Notice ApS', 'ada.notice');
    const inherited = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
    for (const [who, page] of [[web, '/self-service'], [admin, '/admin']] as const) {
      for (const done of inherited) {
        const answer = await who.get(`${page}?done=${done}`);
        expect(answer.status, `${page}?done=${done}`).toBe(200);
        expect(answer.body, `${page}?done=${done}`).not.toContain('id="notice"');
        expect(answer.body).not.toMatch(/\[object Object\]|native code|function /);
      }
      // Control: a notice of its own is shown.
      expect((await who.get(`${page}?done=password`)).body).toContain('id="notice"');
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with a coded error once an address has tried to log in too often in a minute', async () => {
    // The general rate limit off (--rate-limit 0): the login steps keep theirs.
    const limited = await startHost({ ...(await hostStorage(path.join(dir, 'limited', 'tokens.db'))).options, port: 0, env: {}, rateLimitPerSecond: 0, servicePolicy: { loginAttemptsPerMinute: 3 } });
    try {
      const web = new WebClient(limited.url);
      await web.open('/login');
      const statuses: number[] = [];
      let csrf = csrfOf(web.lastPage);
      for (let i = 0; i < 5; i++) {
        statuses.push((await web.post('/login', { userId: 'someone.else', password: 'wrong-password1', _csrf: csrf })).status);
        if (web.lastPage.includes('name="_csrf"')) csrf = csrfOf(web.lastPage);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const json = await web.postJson('/login/key-file', { personId: 'x', signature: 'y' }, { 'x-csrf-token': 'z' });
      expect([json.status, JSON.parse(json.body).error.code], 'one allowance for all the login routes of an address').toEqual([429, 'NV_RATE_LIMITED']);
      expect(json.headers.get('retry-after')).toMatch(/^\d+$/);
      const provider = await web.post('/oidc/interaction/some-login/login', { userId: 'x', password: 'y', _csrf: 'z' });
      expect(provider.status, "the provider's login shares it").toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('secrets', () => {
  it('appear in no answer, log line, audit row or stored row', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    const audit = JSON.stringify(await server.tokens.audit({ limit: 1000 }));
    const rows = await Promise.all(['people', 'code_cards', 'key_files', 'sessions', 'audit', 'tokens', 'oidc_models'].map(async (table) => JSON.stringify(await storage.rows(`SELECT * FROM ${table}`))));
    const haystacks = { answers: [...apiAnswers, ...clients.flatMap((c) => c.seen)].join('\n'), log: logLines.join(''), audit, store: rows.join('\n') };
    expect(haystacks.answers.length).toBeGreaterThan(10_000);
    expect(haystacks.log.length).toBeGreaterThan(1000);
    // A card key is 6 digits: it counts when it stands alone, not inside a longer number (a timestamp, a NemID number).
    const found = (text: string, secret: string) => (/^\d+$/.test(secret) ? new RegExp(`(?<!\\d)${secret}(?!\\d)`).test(text) : text.includes(secret));
    expect(codes.size).toBeGreaterThan(1);
    for (const code of codes) {
      for (const where of ['log', 'audit', 'store'] as const) expect(haystacks[where].includes(code), `${where} contains an authorization code`).toBe(false);
    }
    for (const secret of secrets) {
      for (const [where, text] of Object.entries(haystacks)) expect(found(text, secret), `${where} contains a secret: ${text.slice(Math.max(0, text.indexOf(secret) - 120), text.indexOf(secret)).replace(/\s+/g, ' ')}…`).toBe(false);
    }
  });
});
