/**
 * privacyIDEA's `POST /validate/check` on the server (real HTTP on loopback, a real SQLite file):
 * each answer spelled out as privacyIDEA 3.x documents it — "API → Validate endpoints → POST
 * /validate/check" for the request, its parameters and the challenge flow (transaction_id), and
 * "API → response" (the JSON-RPC-like envelope: result.status, result.value,
 * result.authentication, detail) — for accept, reject, replay, lock, unknown user and the
 * challenge, with `pass` as the code alone or the person's password followed by the code
 * (otppin=userstore). Who may call: the client key, or a network given with --validate-allow.
 */
import { startTestHost } from '../support/in-process-host.ts';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../host/start.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { tempDir, TEST_CLIENT_KEY } from '../support/processes.ts';

const SEED = Buffer.alloc(20, 0x5a);
const LOCK_SEED = Buffer.alloc(20, 0x6b);
const code = (counter: number, seed = SEED) => referenceHotp(seed, counter);
const PASSWORD = 'Rugbr0d-og-smør!';

/** The envelope of every answer with rid 2 (what /validate/check answers), per "API → response". */
const envelope = { jsonrpc: '2.0', id: 2, version: 'privacyIDEA 3.14', versionnumber: '3.14', time: expect.any(Number) };

async function post(host: RunningHost, body: Record<string, string> | string, options: { key?: string; form?: boolean } = {}) {
  const form = typeof body === 'string' || options.form === true;
  const response = await fetch(`${host.url}/validate/check`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json', ...(options.key ? { authorization: `Bearer ${options.key}` } : {}) },
    body: typeof body === 'string' ? body : form ? new URLSearchParams(body).toString() : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function startValidateHost(dir: string, validateAllow: string[]): Promise<RunningHost> {
  return startTestHost(dir, { policy: { maxFail: 3 }, validateAllow });
}

/** A person with a user-id and password of their own, holding an HOTP token. */
async function personWithToken(host: RunningHost, userId: string, serial: string, seed: Buffer): Promise<string> {
  const actor = { name: 'test' };
  const { person } = await host.service.people.order({ name: 'Jens Hansen', birthDate: '1980-02-03', credential: { kind: 'card' } }, actor);
  await host.service.login.chooseCredentials(person.id, { userId, password: PASSWORD, passwordAgain: PASSWORD }, actor);
  await host.tokens.enroll({ serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: new Uint8Array(seed), owner: person.id }, actor);
  return person.id;
}

describe('POST /validate/check, as privacyIDEA 3.x answers it', () => {
  const dir = tempDir('validate-check');
  let host: RunningHost;
  beforeAll(async () => {
    // A plugin on this machine sends no key: loopback is listed, as --validate-allow 127.0.0.1/32 lists it.
    host = await startValidateHost(dir, ['127.0.0.1/32', '::1/128']);
    await personWithToken(host, 'jenshansen', 'PI-HOTP-1', SEED);
    await personWithToken(host, 'karenmadsen', 'PI-LOCK-1', LOCK_SEED);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('accept, the code alone in a form (as the plugins send it): 200, value true, ACCEPT, "matching 1 tokens" with serial, type and otplen', async () => {
    expect(await post(host, `user=jenshansen&realm=whatever&pass=${code(0)}`)).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: true, authentication: 'ACCEPT' }, detail: { message: 'matching 1 tokens', serial: 'PI-HOTP-1', type: 'hotp', otplen: 6, threadid: expect.any(Number) } },
    });
  });

  it('accept, password then code (otppin=userstore) in JSON', async () => {
    expect(await post(host, { user: 'jenshansen', pass: `${PASSWORD}${code(1)}` })).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: true, authentication: 'ACCEPT' }, detail: { message: 'matching 1 tokens', serial: 'PI-HOTP-1', type: 'hotp', otplen: 6, threadid: expect.any(Number) } },
    });
  });

  it('replay: the code just accepted, again: REJECT, "wrong otp value. previous otp used again"', async () => {
    expect(await post(host, { user: 'jenshansen', pass: code(1) })).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: false, authentication: 'REJECT' }, detail: { message: 'wrong otp value. previous otp used again', serial: 'PI-HOTP-1', type: 'hotp', threadid: expect.any(Number) } },
    });
  });

  it('reject, a wrong code: REJECT, "wrong otp value"', async () => {
    const wrong = ['000000', '111111', '999999'].find((c) => ![2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].some((n) => code(n) === c))!;
    expect(await post(host, { serial: 'PI-HOTP-1', pass: wrong })).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: false, authentication: 'REJECT' }, detail: { message: 'wrong otp value', serial: 'PI-HOTP-1', type: 'hotp', threadid: expect.any(Number) } },
    });
  });

  it('reject, a wrong password before a right code: REJECT, "wrong otp pin", no serial; the code is not used up', async () => {
    expect(await post(host, { user: 'jenshansen', pass: `not-the-password${code(2)}` })).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: false, authentication: 'REJECT' }, detail: { message: 'wrong otp pin', threadid: expect.any(Number) } },
    });
    expect((await post(host, { user: 'jenshansen', pass: code(2) })).body.result).toEqual({ status: true, value: true, authentication: 'ACCEPT' });
  });

  it('the challenge flow: the password alone gives CHALLENGE with a transaction_id; the code with it, ACCEPT; the same transaction_id again, REJECT', async () => {
    const first = await post(host, { user: 'jenshansen', pass: PASSWORD });
    const transactionId = (first.body.detail as { transaction_id: string }).transaction_id;
    expect(transactionId).toMatch(/^\d{20}$/);
    const message = "Press your token's button and enter the code it shows";
    const challenge = { client_mode: 'interactive', message, serial: 'PI-HOTP-1', transaction_id: transactionId, type: 'hotp' };
    expect(first).toEqual({
      status: 200,
      body: {
        ...envelope,
        result: { status: true, value: false, authentication: 'CHALLENGE' },
        detail: { ...challenge, messages: [message], multi_challenge: [challenge], transaction_ids: [transactionId], preferred_client_mode: 'interactive', threadid: expect.any(Number) },
      },
    });
    const second = await post(host, { user: 'jenshansen', pass: code(3), transaction_id: transactionId });
    expect(second).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: true, authentication: 'ACCEPT' }, detail: { message: 'matching 1 tokens', serial: 'PI-HOTP-1', type: 'hotp', otplen: 6, threadid: expect.any(Number) } },
    });
    expect((await post(host, { user: 'jenshansen', pass: code(4), transaction_id: transactionId })).body.result).toEqual({ status: true, value: false, authentication: 'REJECT' });
  });

  it('lock: after 3 wrong codes the token is locked, and even its right code gets REJECT, "Failcounter exceeded"', async () => {
    for (const wrong of ['000001', '000002', '000003']) await post(host, { user: 'karenmadsen', pass: wrong });
    expect(await post(host, { user: 'karenmadsen', pass: code(0, LOCK_SEED) })).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: false, authentication: 'REJECT' }, detail: { message: 'Failcounter exceeded', serial: 'PI-LOCK-1', type: 'hotp', threadid: expect.any(Number) } },
    });
  });

  it('an unknown user: HTTP 400, status false, error 904 "ERR904: User <eve@realm1> does not exist."', async () => {
    expect(await post(host, { user: 'eve', realm: 'realm1', pass: '123456' })).toEqual({
      status: 400,
      body: { jsonrpc: '2.0', id: 1, version: 'privacyIDEA 3.14', time: expect.any(Number), result: { status: false, error: { code: 904, message: 'ERR904: User <eve@realm1> does not exist.' } }, detail: null },
    });
  });

  it('a serial that is not the user\'s, and a request without pass: HTTP 400, error 905', async () => {
    expect((await post(host, { serial: 'PI-LOCK-1', user: 'jenshansen', pass: '123456' })).body.result).toEqual({ status: false, error: { code: 905, message: 'ERR905: Given serial does not belong to given user!' } });
    expect(await post(host, { user: 'jenshansen' })).toMatchObject({ status: 400, body: { result: { status: false, error: { code: 905, message: 'ERR905: Missing parameter: pass' } } } });
  });

  it('GET is refused with 405 (pass would be in URLs and logs), and the code in its query is not used', async () => {
    const response = await fetch(`${host.url}/validate/check?user=jenshansen&pass=${code(5)}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(((await response.json()) as { result: unknown }).result).toEqual({ status: false, error: { code: 905, message: 'ERR905: /validate/check takes POST only' } });
    expect((await post(host, { user: 'jenshansen', pass: code(5) })).body.result).toEqual({ status: true, value: true, authentication: 'ACCEPT' });
  });

  it('every verdict is in the audit, as /v1/verify\'s are, by the caller "validate-check" and its address', async () => {
    const entries = await host.tokens.audit({ serial: 'PI-HOTP-1', action: 'verify' });
    expect(entries.filter((e) => e.actor === 'validate-check').map((e) => e.result)).toEqual(expect.arrayContaining(['accepted', 'rejected']));
    expect(entries.every((e) => e.detail.ip === '127.0.0.1' || e.detail.ip === '::1' || e.detail.ip === '::ffff:127.0.0.1')).toBe(true);
  });
});

describe('who may call /validate/check', () => {
  const dir = tempDir('validate-check-access');
  let host: RunningHost;
  beforeAll(async () => {
    host = await startValidateHost(dir, ['10.0.0.0/8']);
    await personWithToken(host, 'jenshansen', 'PI-HOTP-2', SEED);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('a caller from outside the listed networks without a key: 401 NV_UNAUTHORIZED, and the code is not used', async () => {
    expect(await post(host, { user: 'jenshansen', pass: code(0) })).toEqual({
      status: 401,
      body: { error: { code: 'NV_UNAUTHORIZED', message: expect.stringMatching(/client key.*--validate-allow/) } },
    });
    expect((await host.tokens.get('PI-HOTP-2')).counter).toBe(0);
  });

  it('the same caller with the client key: ACCEPT', async () => {
    expect((await post(host, { user: 'jenshansen', pass: code(0) }, { key: TEST_CLIENT_KEY })).body.result).toEqual({ status: true, value: true, authentication: 'ACCEPT' });
  });

  it('the rest of the API still takes JSON only: a form to /v1/verify is 415', async () => {
    const response = await fetch(`${host.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${TEST_CLIENT_KEY}` }, body: 'serial=PI-HOTP-2&code=123456' });
    expect(response.status).toBe(415);
  });
});
