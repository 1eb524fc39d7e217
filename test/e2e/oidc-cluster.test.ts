/**
 * The OpenID Connect provider on two server nodes (separate `noegleviser server` processes) on one
 * PostgreSQL database, driven over HTTP as a browser and a site would (no browser): a person logs
 * in through node A; an authorization code obtained via node A, sent to node A and node B at the
 * same moment, is redeemed exactly once (the others are refused and the tokens of the one are
 * revoked), round after round; a refresh token sent to both nodes at once is used exactly once
 * (one refresh gets tokens, the reuse ends the grant), round after round; and the same person gets the same `sub` at the site from either
 * node, node B reading the provider session cookie node A set (the cookie keys, the pairwise salt
 * and the signing key are the cluster's, kept sealed in the store). A key rotated on node A is
 * signed with and published by node B within its key check (`--oidc-key-check 1`), without a
 * restart; once the retired key's time has passed (its retirement moved back in the store by the
 * retention, as a clock would) both nodes drop it from their JWKS.
 */
import { createHash, createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { RETIRED_KEY_KEPT_MS } from '../../host/service/oidc/keys.ts';
import { storedLetterHtml } from '../support/stored-letters.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { api, startServerProcess, tempDir, TEST_ADMIN_KEY, type ServerProcess } from '../support/processes.ts';
import { cprOfAge, readLetter, WebClient, type WebResponse } from '../support/web-client.ts';

reportMissingPostgres();

const ISSUER = 'http://login.cluster.test/oidc';
const REDIRECT_URI = 'http://127.0.0.2:8080/callback';
const ROUNDS = 10;
const PER_NODE = 5;
const KEY_CHECK_SECONDS = 1;

interface Site {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A location's path and query (the provider may answer absolute URLs on its issuer): what to ask the node for. */
function onNode(location: string): string {
  const url = new URL(location, 'http://node.invalid');
  return url.pathname + url.search;
}

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The kid of the published key whose signature on `jwt` (RS256) verifies, or undefined. */
function signedBy(jwt: string, keys: readonly (JsonWebKey & { kid: string })[]): string | undefined {
  const [header, payload, signature] = jwt.split('.');
  return keys.find((key) => verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey({ key, format: 'jwk' }), Buffer.from(signature!, 'base64url')))?.kid;
}

describe.skipIf(!postgres.available)('the OpenID Connect provider on two server nodes on one PostgreSQL', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let site: Site;
  let seed: Uint8Array;
  /** The cluster's database, as its superuser sees it. */
  let storeRows: (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;
  let counter = 0;
  const userId = 'klynge.kirsten';
  const password = `Klynge-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    const primary = await PostgresNode.startPrimary({ name: 'oidc-cluster' });
    const database = await primary.createDatabase();
    const url = connectionUrl(database, [primary]);
    storeRows = (sql, values = []) => primary.query(sql, values, database.name);
    const masterKey = randomBytes(32).toString('hex');
    const dir = tempDir('oidc-cluster');
    const [dirA, dirB] = [path.join(dir, 'node-a'), path.join(dir, 'node-b')];
    const start = (nodeDir: string) =>
      startServerProcess({ dbFile: path.join(nodeDir, 'tokens.db'), postgresUrl: url, args: ['--quiet', '--rate-limit', '0', '--issuer', ISSUER, '--oidc-key-check', String(KEY_CHECK_SECONDS)], env: { NOEGLEVISER_MASTER_KEY: masterKey }, readyTimeoutMs: 90_000 });

    // A person with a code token (its seed known only to the test) who has chosen a user-id and password, through node A.
    a = await start(dirA);
    seed = new Uint8Array(randomBytes(20));
    expect((await api(a, 'POST', '/v1/tokens', { key: TEST_ADMIN_KEY, body: { serial: 'KLYNGE-1', kind: 'hotp', seed: Buffer.from(seed).toString('hex') } })).status).toBe(201);
    const ordered = await api(a, 'POST', '/v1/people', { key: TEST_ADMIN_KEY, body: { name: 'Kirsten Klynge', cpr: cprOfAge(41, '3014'), credential: 'token', tokenSerial: 'KLYNGE-1' } });
    expect(ordered.status, ordered.text).toBe(201);
    const welcome = readLetter(await storedLetterHtml({ postgresUrl: url, masterKey }, ordered.body.letter));
    const first = new WebClient(a.url);
    await first.open('/login');
    await first.submit('/login', { userId: ordered.body.person.nemIdNumber, password: welcome.secret('temporary-password')! });
    expect((await first.submit('/login/key', { code: referenceHotp(seed, counter++) })).body).toContain('id="choose-form"');
    await first.submit('/login/choose', { userId, password, passwordAgain: password });
    await first.submit('/logout', {});

    const added = await api(a, 'POST', '/v1/oidc/sites', {
      key: TEST_ADMIN_KEY,
      body: { name: 'Net bank', redirectUris: [REDIRECT_URI], acceptedScopes: ['full', 'bank-only', 'view-only'], firstParty: true, allowInsecureLoopback: true },
    });
    expect(added.status, added.text).toBe(201);
    site = { clientId: added.body.site.clientId, clientSecret: added.body.clientSecret };

    // Both nodes start together on the one database (the person and the site are in it already).
    await a.stop();
    [a, b] = await Promise.all([start(dirA), start(dirB)]);
  }, 180_000);

  /** Follows the provider's redirects on the node `web` talks to: the site's callback's code, or the page it stops at. */
  async function follow(web: WebClient, first: WebResponse, from: string): Promise<{ code?: string; page: WebResponse; at: string }> {
    let response = first;
    let at = from;
    for (let hops = 0; response.location && hops < 10; hops++) {
      if (response.location.startsWith(REDIRECT_URI)) {
        const back = new URL(response.location);
        expect(back.searchParams.get('error'), back.search).toBeNull();
        return { code: back.searchParams.get('code')!, page: response, at };
      }
      at = onNode(response.location);
      response = await web.get(at);
    }
    return { page: response, at };
  }

  /** An authorization request of the site, with PKCE, through the node `web` talks to (`extra` added to it). */
  async function authorize(web: WebClient, extra: Record<string, string> = {}): Promise<{ verifier: string; code?: string; page: WebResponse; at: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      client_id: site.clientId,
      response_type: 'code',
      scope: 'openid profile',
      redirect_uri: REDIRECT_URI,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: randomBytes(8).toString('hex'),
      ...extra,
    });
    const path = `/oidc/auth?${query}`;
    return { verifier, ...(await follow(web, await web.get(path), path)) };
  }

  /** The site at `node`'s token endpoint with `form` (client_secret_basic). */
  async function tokenRequest(node: ServerProcess, form: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
    const response = await fetch(`${node.url}/oidc/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(site.clientId)}:${encodeURIComponent(site.clientSecret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  /** The site redeeming `code` at `node`'s token endpoint. */
  const redeem = (node: ServerProcess, code: string, verifier: string) => tokenRequest(node, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });

  /** The site refreshing its tokens at `node`'s token endpoint. */
  const refresh = (node: ServerProcess, refreshToken: string) => tokenRequest(node, { grant_type: 'refresh_token', refresh_token: refreshToken });

  /** One browser, one cookie jar, for both nodes. */
  let browser: WebClient;

  it('a person logs in through node A and the site gets a code', async () => {
    browser = new WebClient(a.url);
    const started = await authorize(browser);
    expect(started.code, 'a login page first').toBeUndefined();
    const flow = started.at.replace(/\/login$/, '');
    expect(flow).toMatch(/^\/oidc\/interaction\/[^/]+$/);
    const keyStep = await browser.submit(`${flow}/login`, { userId, password });
    expect(keyStep.status, keyStep.body.slice(0, 300)).toBe(200);
    const done = await follow(browser, await browser.post(`${flow}/login/key`, { code: referenceHotp(seed, counter++) }), `${flow}/login/key`);
    expect(done.code, done.page.body.slice(0, 300)).toBeTruthy();
    expect((await redeem(a, done.code!, started.verifier)).status).toBe(200);
  });

  it(`a code obtained via node A, sent to node A and node B at once (${PER_NODE} each), is redeemed exactly once, and the tokens of that one are revoked; ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // The provider's session (from the login above) gives a code at once.
      const { code, verifier } = await authorize(browser);
      expect(code, `round ${round}: a code on the session`).toBeTruthy();
      const answers = await Promise.all(Array.from({ length: 2 * PER_NODE }, (_, i) => redeem(i % 2 === 0 ? a : b, code!, verifier)));
      const issued = answers.filter((answer) => answer.status === 200);
      expect(issued, `round ${round}: ${JSON.stringify(answers.map((answer) => answer.status))}`).toHaveLength(1);
      expect(issued[0]!.body.id_token).toBeTruthy();
      for (const refused of answers.filter((answer) => answer.status !== 200)) expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      // A second redemption revoked what the first was given: its access token is refused by either node.
      for (const node of [a, b]) {
        const me = await fetch(`${node.url}/oidc/me`, { headers: { authorization: `Bearer ${issued[0]!.body.access_token}` } });
        expect(me.status, `round ${round}`).toBe(401);
      }
    }
  });

  it("the same person gets the same sub at the site from either node (a code of one redeemed at the other); node B reads node A's session cookie and signs with the same key", async () => {
    const viaA = await authorize(browser);
    const tokensA = await redeem(b, viaA.code!, viaA.verifier);
    expect(tokensA.status, JSON.stringify(tokensA.body)).toBe(200);
    const viaB = await authorize(browser.at(b.url));
    expect(viaB.code, "node B reads the provider session cookie node A set: no login page").toBeTruthy();
    const tokensB = await redeem(a, viaB.code!, viaB.verifier);
    expect(tokensB.status, JSON.stringify(tokensB.body)).toBe(200);
    const [idA, idB] = [tokensA.body.id_token!, tokensB.body.id_token!];
    expect(payloadOf(idB).sub).toBe(payloadOf(idA).sub);
    expect(payloadOf(idB).iss).toBe(ISSUER);
    expect(headerOf(idB).kid).toBe(headerOf(idA).kid);
    // Both nodes publish the same keys.
    const jwks = await Promise.all([a, b].map(async (node) => (await api(node, 'GET', '/oidc/jwks')).body));
    expect(jwks[1]).toEqual(jwks[0]);
  });

  it(`a refresh token sent to node A and node B at once (${PER_NODE} each) is used exactly once: one refresh gets tokens, the others are refused, and the reuse ends the grant; ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // offline_access with prompt=consent (a first-party site: no page) on the provider's session, a new grant each round.
      const { code, verifier } = await authorize(browser, { scope: 'openid profile offline_access', prompt: 'consent' });
      expect(code, `round ${round}: a code on the session`).toBeTruthy();
      const tokens = await redeem(round % 2 === 0 ? a : b, code!, verifier);
      expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
      expect(tokens.body.refresh_token, `round ${round}: a refresh token`).toBeTruthy();
      const answers = await Promise.all(Array.from({ length: 2 * PER_NODE }, (_, i) => refresh(i % 2 === 0 ? a : b, tokens.body.refresh_token!)));
      const refreshed = answers.filter((answer) => answer.status === 200);
      expect(refreshed, `round ${round}: ${JSON.stringify(answers.map((answer) => answer.status))}`).toHaveLength(1);
      expect(refreshed[0]!.body.refresh_token).toBeTruthy();
      expect(refreshed[0]!.body.refresh_token).not.toBe(tokens.body.refresh_token);
      expect(payloadOf(refreshed[0]!.body.id_token!).sub).toBe(payloadOf(tokens.body.id_token!).sub);
      for (const refused of answers.filter((answer) => answer.status !== 200)) expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      // The token was used again: the grant is ended, with the new refresh token and access token of the one that got them, on either node.
      for (const node of [a, b]) {
        expect(await refresh(node, refreshed[0]!.body.refresh_token!), `round ${round}`).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
        const me = await fetch(`${node.url}/oidc/me`, { headers: { authorization: `Bearer ${refreshed[0]!.body.access_token}` } });
        expect(me.status, `round ${round}`).toBe(401);
      }
    }
  });

  /** The kids a node publishes (its JWKS), and the keys. */
  const jwksOf = async (node: ServerProcess) => (await api(node, 'GET', '/oidc/jwks')).body.keys as (JsonWebKey & { kid: string })[];

  /** An ID token of the site, its code obtained on the provider's session via `node` and redeemed there. */
  async function idTokenVia(node: ServerProcess): Promise<string> {
    const { code, verifier } = await authorize(browser.at(node.url));
    expect(code, 'a code on the session').toBeTruthy();
    const tokens = await redeem(node, code!, verifier);
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    return tokens.body.id_token!;
  }

  it(`a key rotated on node A is signed with and published by node B within its key check (${KEY_CHECK_SECONDS} s), no restart; once the retired key's time has passed both nodes drop it`, async () => {
    const before = await idTokenVia(b);
    const oldKid = headerOf(before).kid as string;
    expect((await jwksOf(b)).map((key) => key.kid)).toEqual([oldKid]);

    const rotation = await api(a, 'POST', '/v1/oidc/keys/rotate', { key: TEST_ADMIN_KEY, body: {} });
    expect(rotation.status, rotation.text).toBe(201);
    const { kid } = rotation.body as { kid: string; retired: string[] };
    expect(rotation.body.retired).toEqual([oldKid]);
    const rotatedAt = Date.now();
    expect(headerOf(await idTokenVia(a)).kid, 'node A at once').toBe(kid);

    await vi.waitFor(async () => expect((await jwksOf(b)).map((key) => key.kid)).toEqual([kid, oldKid]), { timeout: 15_000, interval: 100 });
    expect(Date.now() - rotatedAt, 'node B within its check (and a make)').toBeLessThan(KEY_CHECK_SECONDS * 1000 + 4000);
    const after = await idTokenVia(b);
    expect(headerOf(after).kid, "node B's new ID tokens are signed with the new key").toBe(kid);
    for (const node of [a, b]) {
      const keys = await jwksOf(node);
      expect(keys.map((key) => key.kid)).toEqual([kid, oldKid]);
      expect(signedBy(after, keys)).toBe(kid);
      expect(signedBy(before, keys), 'a token signed before the rotation still verifies').toBe(oldKid);
    }

    // The retention passes: the old key's retirement moved back by it in the store, as a clock would move on.
    const [{ count }] = (await storeRows('UPDATE oidc_signing_keys SET retired_at = retired_at - $1 WHERE kid = $2 RETURNING 1 AS count', [RETIRED_KEY_KEPT_MS + 1000, oldKid])) as [{ count: number }];
    expect(count).toBe(1);
    for (const node of [a, b]) await vi.waitFor(async () => expect((await jwksOf(node)).map((key) => key.kid)).toEqual([kid]), { timeout: 15_000, interval: 100 });
    expect((await storeRows('SELECT kid FROM oidc_signing_keys')).map((row) => row.kid)).toEqual([kid]);
    expect(headerOf(await idTokenVia(b)).kid).toBe(kid);
    expect(signedBy(before, await jwksOf(b)), 'what the old key signed verifies no more').toBeUndefined();
  });
});
