/**
 * The login service as an OpenID Connect provider, in real headless Chromium against the real
 * server (real SQLite file) and the lab's sites as relying parties on openid-client, each on a
 * loopback address of its own: a person logs in at the net bank with a code card key, comes back
 * with the right claims, then goes to the tax office on the provider's SSO session (after consent)
 * and again with prompt=login; `sub` differs between the sites and stays the same at one. A token
 * holder at the tax office with the token's code; a key-file employee at the debt-collection portal
 * with the organisation's CVR and role; a code redeemed twice (refused, its tokens revoked) and
 * without its PKCE verifier; an ID token tampered with on its way to a site; no secret, seed or
 * authorization code in the server's log or audit.
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { startSite, type RunningSite, type SiteKind } from '../../host/lab/sites/relying-party.ts';
import type { Scope } from '../../host/service/store/types.ts';
import { ACR } from '../../host/service/oidc/claims.ts';
import { createKeyFile } from '../../host/service/web/assets/key-file.js';
import { chromium, reportMissingChromium } from '../support/browser.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { authorizationRequest, redeemCode, userinfoStatus, type TestSite } from '../support/oidc-flow.ts';
import { cprOfAge, freshPassword, readLetterInLab, shownNumber, startServiceRig, stepOne, submit, type Person, type ServiceRig } from '../support/service-rig.ts';

reportMissingChromium();

function jwtHeader(token: string): { kid?: string; alg?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid?: string; alg?: string };
}

/** The kid of the published key whose RS256 signature the token carries, or undefined. */
function signedBy(token: string, keys: readonly (JsonWebKey & { kid: string })[]): string | undefined {
  const [head, payload, signature] = token.split('.') as [string, string, string];
  const key = keys.find((candidate) => candidate.kid === jwtHeader(token).kid);
  if (!key) return undefined;
  return verify('RSA-SHA256', Buffer.from(`${head}.${payload}`), createPublicKey({ key, format: 'jwk' }), Buffer.from(signature, 'base64url')) ? key.kid : undefined;
}

describe.skipIf(!chromium.available)('OpenID Connect: the lab sites log in through the provider', () => {
  let rig: ServiceRig;
  const sites: RunningSite[] = [];
  let bank: RunningSite;
  let tax: RunningSite;

  let portal: RunningSite;
  /** A first-party site whose requests to the provider pass a man in the middle that, when told, alters the ID token's payload. */
  let tampered: RunningSite;
  const tamper = { on: false, done: 0 };
  /** Every authorization code a browser carried to a site, to be searched for in the log. */
  const codes = new Set<string>();

  async function site(kind: SiteKind, title: string, host: string, acceptedScopes: Scope[], firstParty: boolean, providerFetch?: (url: string, init: RequestInit) => Promise<Response>): Promise<RunningSite> {
    const running = await startSite({
      kind,
      title,
      host,
      port: 0,
      issuer: rig.server.oidc.issuer()!,
      providerFetch,
      register: async (urls) => {
        const { site: made, clientSecret } = await rig.server.oidc.sites.add(
          { name: title, redirectUris: [urls.redirectUri], postLogoutRedirectUris: [urls.postLogoutRedirectUri], backchannelLogoutUri: urls.backchannelLogoutUri, acceptedScopes, firstParty, allowInsecureLoopback: true },
          { name: 'test' },
        );
        return { clientId: made.clientId, clientSecret: rig.typedSecret(clientSecret) };
      },
    });
    sites.push(running);
    return running;
  }

  beforeAll(async () => {
    rig = await startServiceRig('oidc');
    bank = await site('net-bank', 'Net bank', '127.0.0.2', ['full', 'bank-only', 'view-only'], true);
    tax = await site('tax-office', 'Tax office', '127.0.0.3', ['full'], false);
    portal = await site('debt-portal', 'Debt-collection portal', '127.0.0.4', ['full', 'bank-only'], false);
    tampered = await site('net-bank', 'Tampered bank', '127.0.0.5', ['full', 'bank-only', 'view-only'], true, async (url, init) => {
      const answer = await fetch(url, init);
      if (!tamper.on || !new URL(url).pathname.endsWith('/token')) return answer;
      const body = (await answer.json()) as { id_token?: string };
      const [head, payload, signature] = body.id_token!.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const altered = Buffer.from(JSON.stringify({ ...claims, name: 'Mallory Mellemmand' })).toString('base64url');
      tamper.done += 1;
      return new Response(JSON.stringify({ ...body, id_token: `${head}.${altered}.${signature}` }), { status: answer.status, headers: { 'content-type': 'application/json' } });
    });
  });
  afterAll(async () => {
    for (const running of sites) await running.close();
    await rig?.close();
  });

  /** Keeps every authorization code the person's browser carries to a site's callback. */
  function recordCodes(person: Person) {
    person.context.on('request', (request) => {
      const url = new URL(request.url());
      const code = url.pathname.endsWith('/callback') ? url.searchParams.get('code') : null;
      if (code) codes.add(code);
    });
  }

  /** A person with a code card who has chosen their own credentials at the service. */
  async function cardPerson(name: string, userId: string, order: { cpr?: string; birthDate?: string } = { cpr: cprOfAge(40) }) {
    const person = await rig.newPerson();
    recordCodes(person);
    const { letterId } = await rig.orderPerson({ name, ...order });
    const letter = await readLetterInLab(person.lab, letterId);
    const frame = person.service();
    await stepOne(frame, letter.nemId!, rig.typedSecret(letter.temporaryPassword!));
    await frame.fill('#key', rig.typedKey(letter.keys.get((await shownNumber(frame))!)!));
    await submit(frame, '#key-submit');
    const password = rig.typedSecret(freshPassword(userId));
    await frame.fill('#new-user-id', userId);
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toMatchObject({ path: '/self-service' });
    return { person, userId, password, keys: letter.keys, nemId: letter.nemId! };
  }

  /** The two steps at the provider's interaction: user-id and password, then the card key asked for. */
  async function twoSteps(page: Page, userId: string, password: string, keys: ReadonlyMap<string, string>) {
    expect(new URL(page.url()).pathname).toMatch(/^\/oidc\/interaction\/[^/]+$/);
    expect(await stepOne(page, userId, password)).toMatchObject({ status: 200, path: expect.stringMatching(/\/login\/key$/) });
    await page.fill('#key', rig.typedKey(keys.get((await shownNumber(page))!)!));
    await Promise.all([page.waitForURL((url) => url.host !== new URL(rig.server.url).host), page.click('#key-submit')]);
  }

  async function visit(person: Person, url: string): Promise<Page> {
    const page = await person.context.newPage();
    await page.goto(url);
    return page;
  }

  it('a card key at the net bank, then the tax office on the SSO session and with prompt=login: right claims, a sub per site', async () => {
    const anna = await cardPerson('Anna Oidc', 'anna.oidc');
    const page = await visit(anna.person, `${bank.url}/login`);
    await twoSteps(page, anna.userId, anna.password, anna.keys);
    expect(new URL(page.url()).origin).toBe(bank.url);
    expect(await page.textContent('#claim-name')).toBe('Anna Oidc');
    expect(await page.textContent('#claim-scope')).toBe('full');
    expect(await page.textContent('#claim-acr')).toBe(ACR.substantial);
    expect(await page.textContent('#claim-amr')).toBe('pwd otp');
    expect(await page.textContent('#claim-organisation')).toBe('none');
    const bankSub = (await page.textContent('#claim-sub'))!;
    expect(bankSub).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The tax office: no login asked (the provider's session), but consent, since it is not first-party.
    await page.goto(`${tax.url}/login`);
    expect(new URL(page.url()).pathname).toMatch(/^\/oidc\/interaction\//);
    expect(await page.textContent('#consent-site')).toBe('Tax office');
    await Promise.all([page.waitForURL((url) => url.origin === tax.url), page.click('#consent-allow')]);
    const taxSub = (await page.textContent('#claim-sub'))!;
    expect(taxSub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(taxSub).not.toBe(bankSub);

    // prompt=login: a fresh two-step, and the same sub at the same site.
    await page.goto(`${tax.url}/login?prompt=login`);
    await twoSteps(page, anna.userId, anna.password, anna.keys);
    expect(new URL(page.url()).origin).toBe(tax.url);
    expect(await page.textContent('#claim-sub')).toBe(taxSub);
  });

  it('an authorization request without PKCE, or with a redirect URI not registered exactly, is refused', async () => {
    const issuer = rig.server.oidc.issuer()!;
    const authorize = (params: Record<string, string>) => fetch(`${issuer}/auth?${new URLSearchParams(params)}`, { redirect: 'manual' });
    const redirectUri = `${bank.url}/callback`;
    const base = { client_id: bank.clientId, response_type: 'code', scope: 'openid', state: 'st', nonce: 'nn' };
    const withPkce = { ...base, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };

    const noPkce = await authorize({ ...base, redirect_uri: redirectUri });
    expect(noPkce.status).toBe(303);
    const back = new URL(noPkce.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(redirectUri);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE/);

    const plain = await authorize({ ...withPkce, code_challenge_method: 'plain', redirect_uri: redirectUri });
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');

    for (const wrong of [`${redirectUri}/`, `${redirectUri}?x=1`, `${bank.url.replace('127.0.0.2', '127.0.0.9')}/callback`]) {
      const answer = await authorize({ ...withPkce, redirect_uri: wrong });
      expect(answer.status, wrong).toBe(400);
      expect(answer.headers.get('location'), 'never sent to an unregistered address').toBeNull();
      expect(await answer.text()).toContain('redirect_uri');
    }
  });

  it('after a key rotation new ID tokens carry the new key id, and one signed before still verifies by the JWKS', async () => {
    const bo = await cardPerson('Bo Rotation', 'bo.rotation');
    const page = await visit(bo.person, `${bank.url}/login`);
    await twoSteps(page, bo.userId, bo.password, bo.keys);
    expect(await page.textContent('#claim-name')).toBe('Bo Rotation');
    const before = bank.idTokens.at(-1)!;
    const oldKid = jwtHeader(before).kid;
    expect(oldKid).toBe(rig.server.oidc.signingKid());

    const rotated = await rig.server.oidc.rotateKeys({ name: 'test' });
    expect(rotated.retired).toEqual([oldKid]);
    // The net bank is first-party: on the provider's session, straight back with a new ID token.
    await page.goto(`${bank.url}/login`);
    await page.waitForURL((url) => url.origin === bank.url && url.pathname === '/');
    expect(await page.textContent('#claim-name')).toBe('Bo Rotation');
    const after = bank.idTokens.at(-1)!;
    expect(after).not.toBe(before);
    expect(jwtHeader(after).kid).toBe(rotated.kid);

    const jwks = (await (await fetch(`${rig.server.oidc.issuer()}/jwks`)).json()) as { keys: (JsonWebKey & { kid: string })[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual([rotated.kid, oldKid]);
    expect(signedBy(before, jwks.keys), 'the token signed before the rotation still verifies').toBe(oldKid);
    expect(signedBy(after, jwks.keys)).toBe(rotated.kid);
  });

  /** At the tax office on the provider's session: consent asked (not first-party), then signed in. */
  async function consentAtTax(page: Page) {
    await page.goto(`${tax.url}/login`);
    expect(await page.textContent('#consent-site')).toBe('Tax office');
    await Promise.all([page.waitForURL((url) => url.origin === tax.url), page.click('#consent-allow')]);
    expect(await page.textContent('#signed-in')).toBe('You are logged in.');
  }

  async function signedOutAt(page: Page, at: RunningSite): Promise<boolean> {
    await page.goto(`${at.url}/`);
    return (await page.locator('#signed-out').count()) === 1;
  }

  it('logging out at the provider ends the session at every site by back-channel logout; blocking the card ends it too', async () => {
    const cleo = await cardPerson('Cleo Logout', 'cleo.logout');
    const page = await visit(cleo.person, `${bank.url}/login`);
    await twoSteps(page, cleo.userId, cleo.password, cleo.keys);
    await consentAtTax(page);
    const heard = () => [bank.backchannelLogouts.length, tax.backchannelLogouts.length];
    const before = heard();

    // RP-initiated logout at the net bank: the provider asks, then tells both sites.
    await page.goto(`${bank.url}/`);
    await Promise.all([page.waitForURL((url) => url.pathname.startsWith('/oidc/')), page.click('#site-logout')]);
    await Promise.all([page.waitForURL((url) => url.origin === bank.url), page.click('#logout-confirm')]);
    expect(heard()).toEqual([before[0]! + 1, before[1]! + 1]);
    expect(await signedOutAt(page, tax), 'the tax office ended its session on the back-channel logout').toBe(true);

    // In again at both; then the person blocks their card in self-service.
    await page.goto(`${bank.url}/login`);
    await twoSteps(page, cleo.userId, cleo.password, cleo.keys);
    await consentAtTax(page);
    expect(await rig.server.oidc.sessionsOf(cleo.nemId)).toHaveLength(1);
    const again = heard();
    const frame = cleo.person.service();
    await frame.goto(`${rig.server.url}/self-service`);
    const serial = (await frame.locator('#cards .block-button').first().getAttribute('data-id'))!;
    await submit(frame, `.block-button[data-id="${serial}"]`);
    await frame.click('#confirm-submit');
    await frame.waitForURL((url) => url.searchParams.get('done') === 'blocked');

    expect(heard(), 'each site was sent a back-channel logout').toEqual([again[0]! + 1, again[1]! + 1]);
    expect(await signedOutAt(page, bank)).toBe(true);
    expect(await signedOutAt(page, tax)).toBe(true);
    expect(await rig.server.oidc.sessionsOf(cleo.nemId), 'no provider session left').toEqual([]);
    // The SSO session is gone: the net bank's login asks for the two steps again.
    await page.goto(`${bank.url}/login`);
    expect(new URL(page.url()).pathname).toMatch(/^\/oidc\/interaction\/[^/]+$/);
  }, 180_000);

  it("a token reported lost, then revoked, through the token API ends its owner's provider sessions: a back-channel logout to each site, each time", async () => {
    const serial = 'OIDC-LOST-1';
    const seed = new Uint8Array(20).map((_, i) => (i * 53 + 7) & 0xff);
    rig.typedSecret(Buffer.from(seed).toString('hex'));
    const enrolled = await rig.operator('POST', '/v1/tokens', { serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: Buffer.from(seed).toString('hex') });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
    const person = await rig.newPerson();
    recordCodes(person);
    const { nemId, letterId } = await rig.orderPerson({ name: 'Lis Mistet', cpr: cprOfAge(40), credential: 'token', tokenSerial: serial });
    const letter = await readLetterInLab(person.lab, letterId);
    const frame = person.service();
    await stepOne(frame, nemId, rig.typedSecret(letter.temporaryPassword!));
    await frame.fill('#code', rig.typedKey(referenceHotp(seed, 0)));
    expect(await submit(frame, '#key-submit')).toMatchObject({ path: '/login/choose' });
    const password = rig.typedSecret(freshPassword('lis'));
    await frame.fill('#new-user-id', 'lis.mistet');
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toMatchObject({ path: '/self-service' });

    const page = await visit(person, `${bank.url}/login`);
    await stepOne(page, 'lis.mistet', password);
    await page.fill('#code', rig.typedKey(referenceHotp(seed, 1)));
    await Promise.all([page.waitForURL((url) => url.origin === bank.url), page.click('#key-submit')]);
    await consentAtTax(page);
    expect(await rig.server.oidc.sessionsOf(nemId)).toHaveLength(1);
    const heard = () => [bank.backchannelLogouts.length, tax.backchannelLogouts.length];
    const before = heard();

    // Lost, with a temporary password: the operator's token API, not the person's self-service.
    const lost = await rig.operator('POST', `/v1/tokens/${serial}/lost`, { replacement: true });
    expect(lost.status).toBe(200);
    rig.extraAnswers.pop(); // the one answer meant to show the temporary password (once), not searched for it
    const temporary = rig.typedSecret((lost.body as { replacement: { password: string } }).replacement.password);
    expect(heard(), 'each site was sent a back-channel logout').toEqual([before[0]! + 1, before[1]! + 1]);
    expect(await rig.server.oidc.sessionsOf(nemId), 'no provider session left').toEqual([]);
    expect(await signedOutAt(page, bank)).toBe(true);
    expect(await signedOutAt(page, tax)).toBe(true);

    // In again with the temporary password (pwd alone, Low); then the lost token is revoked: out again.
    await page.goto(`${bank.url}/login`);
    expect(new URL(page.url()).pathname, 'the SSO session is gone: the two steps again').toMatch(/^\/oidc\/interaction\/[^/]+$/);
    await stepOne(page, 'lis.mistet', password);
    await page.fill('#temporary-password', temporary);
    await Promise.all([page.waitForURL((url) => url.origin === bank.url), page.click('#key-submit')]);
    expect(await page.textContent('#claim-amr')).toBe('pwd');
    expect(await page.textContent('#claim-acr')).toBe(ACR.low);
    const again = heard();
    const revoked = await rig.operator('POST', `/v1/tokens/${serial}/revoke`);
    expect(revoked.status).toBe(200);
    expect(heard()).toEqual([again[0]! + 1, again[1]!]);
    expect(await rig.server.oidc.sessionsOf(nemId)).toEqual([]);
    expect(await signedOutAt(page, bank)).toBe(true);
  }, 180_000);

  it('a view-only and a bank-only person are refused by the tax office: access_denied back to the site, which says why', async () => {
    const people = [
      { name: 'Kim Kontokig', userId: 'kim.kontokig', order: { cpr: cprOfAge(14) }, what: 'view-only' },
      { name: 'Bent Bankonly', userId: 'bent.bankonly', order: { birthDate: '1980-05-01' }, what: 'bank-only' },
    ];
    for (const { name, userId, order, what } of people) {
      const who = await cardPerson(name, userId, order);
      const page = await visit(who.person, `${tax.url}/login`);
      await twoSteps(page, who.userId, who.password, who.keys);
      expect(new URL(page.url()).origin).toBe(tax.url);
      const refused = await page.textContent('#refused');
      expect(refused, what).toContain('access_denied');
      expect(refused, what).toContain(`Tax office does not accept a ${what} NemID`);
      expect(await page.locator('#signed-in').count(), what).toBe(0);
    }
  }, 180_000);

  it('max_age is honoured: a session younger than it lets the site straight in, an older one asks for the two steps again', async () => {
    const max = await cardPerson('Max Alder', 'max.alder');
    const page = await visit(max.person, `${bank.url}/login`);
    await twoSteps(page, max.userId, max.password, max.keys);
    expect(await page.textContent('#claim-name')).toBe('Max Alder');
    const [session] = await rig.server.oidc.sessionsOf(max.nemId);
    const loginSecond = Math.floor(session!.loginAt! / 1000);

    await page.goto(`${bank.url}/login?max_age=3600`);
    await page.waitForURL((url) => url.origin === bank.url && url.pathname === '/');
    expect(await page.textContent('#claim-name')).toBe('Max Alder');

    // The provider counts in whole seconds (and openid-client turns max_age=0 into prompt=login): max_age=1, once more than a second has passed.
    await vi.waitFor(() => expect(Math.floor(Date.now() / 1000)).toBeGreaterThan(loginSecond + 1), { timeout: 5_000, interval: 100 });
    await page.goto(`${bank.url}/login?max_age=1`);
    expect(new URL(page.url()).pathname).toMatch(/^\/oidc\/interaction\/[^/]+$/);
    expect(await page.locator('#user-id').count(), 'the login page, not straight back').toBe(1);
  }, 120_000);

  it('a token holder logs in at the tax office with the code of their token (HOTP, as oathtool computes it): pwd and otp', async () => {
    const serial = rig.emulator.serial;
    const nextCode = async () => rig.typedKey(referenceHotp(rig.seed, (await rig.server.tokens.get(serial)).counter ?? 0));
    const person = await rig.newPerson();
    recordCodes(person);
    const { letterId } = await rig.orderPerson({ name: 'Tove Token', cpr: cprOfAge(40), credential: 'token', tokenSerial: serial });
    const letter = await readLetterInLab(person.lab, letterId);
    const frame = person.service();
    await stepOne(frame, letter.nemId!, rig.typedSecret(letter.temporaryPassword!));
    await frame.fill('#code', await nextCode());
    expect(await submit(frame, '#key-submit')).toMatchObject({ path: '/login/choose' });
    const password = rig.typedSecret(freshPassword('tove'));
    await frame.fill('#new-user-id', 'tove.token');
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toMatchObject({ path: '/self-service' });

    const page = await visit(person, `${tax.url}/login`);
    expect(await stepOne(page, 'tove.token', password)).toMatchObject({ status: 200, path: expect.stringMatching(/\/login\/key$/) });
    expect(await page.locator('#code').count(), 'the token step asks for the code').toBe(1);
    await page.fill('#code', '000000');
    expect(await submit(page, '#key-submit')).toMatchObject({ status: 401 });
    await page.fill('#code', await nextCode());
    await Promise.all([page.waitForURL((url) => url.pathname.startsWith('/oidc/interaction/') && !url.pathname.includes('/login')), page.click('#key-submit')]);
    expect(await page.textContent('#consent-site')).toBe('Tax office');
    await Promise.all([page.waitForURL((url) => url.origin === tax.url), page.click('#consent-allow')]);
    expect(await page.textContent('#claim-name')).toBe('Tove Token');
    expect(await page.textContent('#claim-scope')).toBe('full');
    expect(await page.textContent('#claim-amr')).toBe('pwd otp');
    expect(await page.textContent('#claim-acr')).toBe(ACR.substantial);
    expect(await page.textContent('#tax-action')).toContain('skattekort');
  }, 180_000);

  it("a key-file employee at the debt-collection portal is shown the organisation's CVR, name and role (swk); a person without an employee signature shows none", async () => {
    const organisation = await rig.createOrganisation({ cvr: '10103940', name: 'Statsministeriet', administrator: 'Ane Admin' });
    const { service } = rig.server;
    const by = (await service.organisations.of(await service.people.get(organisation.adminNemId)))!;
    const issued = await service.people.issueEmployee(by, { name: 'Kaj Nøglefil', role: 'employee', credential: 'key-file' }, { name: 'test' });
    const person = await rig.newPerson();
    recordCodes(person);
    const activation = (await service.outbox.list({ personId: issued.person.id })).find((letter) => letter.kind === 'key-file-activation')!;
    const activationCode = rig.typedSecret((await readLetterInLab(person.lab, activation.id)).activationCode!);
    const keyFilePassword = rig.typedSecret(freshPassword('kaj-file'));
    const made = await createKeyFile({ personId: issued.person.id, label: 'Kaj Nøglefil', password: keyFilePassword });
    rig.typedSecret((JSON.parse(made.fileText) as { privateKey: string }).privateKey);
    await service.keyFiles.activate(activationCode, made.publicKey, { name: 'test' });

    const page = await visit(person, `${portal.url}/login`);
    expect(await submit(page, '#tab-key-file')).toMatchObject({ status: 200, path: expect.stringMatching(/^\/oidc\/interaction\/[^/]+\/login\/key-file$/) });
    await page.setInputFiles('#key-file-input', { name: 'kaj.nvkey', mimeType: 'application/json', buffer: Buffer.from(made.fileText) });
    await page.fill('#key-file-password', keyFilePassword);
    await Promise.all([page.waitForURL((url) => url.pathname.startsWith('/oidc/interaction/') && !url.pathname.includes('/login')), page.click('#key-file-submit')]);
    expect(await page.textContent('#consent-site')).toBe('Debt-collection portal');
    expect(await page.textContent('#consent-sharing')).toContain('organisation');
    await Promise.all([page.waitForURL((url) => url.origin === portal.url), page.click('#consent-allow')]);
    expect(await page.textContent('#claim-name')).toBe('Kaj Nøglefil');
    expect(await page.textContent('#claim-cvr')).toBe('10103940');
    expect(await page.textContent('#claim-organisation')).toContain('Statsministeriet');
    expect(await page.textContent('#claim-role')).toBe('employee');
    expect(await page.textContent('#claim-amr')).toBe('swk');
    expect(await page.textContent('#claim-acr')).toBe(ACR.employee);
    expect(await page.textContent('#debt-action')).toContain('for your company');

    const dora = await cardPerson('Dora Debitor', 'dora.debitor');
    const own = await visit(dora.person, `${portal.url}/login`);
    await stepOne(own, dora.userId, dora.password);
    await own.fill('#key', rig.typedKey(dora.keys.get((await shownNumber(own))!)!));
    await Promise.all([own.waitForURL((url) => url.pathname.startsWith('/oidc/interaction/') && !url.pathname.includes('/login')), own.click('#key-submit')]);
    await Promise.all([own.waitForURL((url) => url.origin === portal.url), own.click('#consent-allow')]);
    expect(await own.textContent('#claim-name')).toBe('Dora Debitor');
    expect(await own.textContent('#claim-organisation')).toBe('none');
    expect(await own.textContent('#debt-action')).toContain('as a person');
  }, 180_000);

  /** A site of the test's own: its callback records what comes back; the test redeems the code itself. */
  async function ownSite(name: string): Promise<TestSite & { arrived: URL[]; close(): Promise<void> }> {
    const arrived: URL[] = [];
    const server = http.createServer((request, response) => {
      arrived.push(new URL(request.url ?? '/', 'http://127.0.0.6'));
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><html lang="en"><title>back</title><p id="back">back at the site</p></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.6', resolve));
    const redirectUri = `http://127.0.0.6:${(server.address() as AddressInfo).port}/callback`;
    const { site: made, clientSecret } = await rig.server.oidc.sites.add({ name, redirectUris: [redirectUri], acceptedScopes: ['full'], firstParty: true, allowInsecureLoopback: true }, { name: 'test' });
    return {
      clientId: made.clientId,
      clientSecret: rig.typedSecret(clientSecret),
      redirectUri,
      arrived,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it('a code redeemed without its PKCE verifier is refused; redeemed twice, the second is refused and the tokens of the first revoked', async () => {
    const own = await ownSite('Own site');
    try {
      const issuer = rig.server.oidc.issuer()!;
      const eva = await cardPerson('Eva Genbrug', 'eva.genbrug');
      const request = authorizationRequest(issuer, own);
      const page = await visit(eva.person, request.url);
      await twoSteps(page, eva.userId, eva.password, eva.keys);
      await page.locator('#back').waitFor();
      const back = own.arrived.find((url) => url.pathname === '/callback')!;
      expect(back.searchParams.get('state')).toBe(request.state);
      const code = back.searchParams.get('code')!;
      codes.add(code);

      const withoutVerifier = await redeemCode(issuer, own, code, undefined);
      expect([withoutVerifier.status, withoutVerifier.json.error]).toEqual([400, 'invalid_grant']);
      expect(withoutVerifier.json.id_token).toBeUndefined();
      const wrongVerifier = await redeemCode(issuer, own, code, `${request.verifier.slice(0, -1)}${request.verifier.endsWith('A') ? 'B' : 'A'}`);
      expect([wrongVerifier.status, wrongVerifier.json.error]).toEqual([400, 'invalid_grant']);

      const first = await redeemCode(issuer, own, code, request.verifier);
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      const accessToken = rig.typedSecret(first.json.access_token!);
      expect(await userinfoStatus(issuer, accessToken), 'the access token works').toBe(200);

      const second = await redeemCode(issuer, own, code, request.verifier);
      expect([second.status, second.json.error]).toEqual([400, 'invalid_grant']);
      expect(second.json.access_token).toBeUndefined();
      expect(await userinfoStatus(issuer, accessToken), 'the tokens issued from the code are revoked').toBe(401);
    } finally {
      await own.close();
    }
  }, 180_000);

  it('an ID token altered on its way to a site is refused by the site (its signature no longer holds); the same login untouched is let in', async () => {
    const fay = await cardPerson('Fay Falsk', 'fay.falsk');
    const page = await visit(fay.person, `${tampered.url}/login`);
    await twoSteps(page, fay.userId, fay.password, fay.keys);
    expect(await page.textContent('#claim-name')).toBe('Fay Falsk');

    tamper.on = true;
    try {
      // On the provider's session: straight back to the site with a new code, whose ID token the middle alters.
      await page.goto(`${tampered.url}/login`);
      await page.waitForURL((url) => url.origin === tampered.url && url.pathname === '/');
    } finally {
      tamper.on = false;
    }
    expect(tamper.done).toBe(1);
    expect(await page.textContent('#refused')).toContain('not signed by the login service');
    expect(await page.locator('#signed-in').count()).toBe(0);
    expect(await page.content()).not.toContain('Mallory');
  }, 180_000);

  it('request logging redacts a query string\'s code, state, nonce, PKCE challenge and ID token hint', async () => {
    const secretParameter = /[?&](code|state|nonce|code_challenge|code_verifier|id_token_hint)=([^&"\s]*)/g;
    const logged = rig.logLines.flatMap((line) => [...line.matchAll(secretParameter)].map((match) => ({ name: match[1], value: match[2] })));
    expect(logged.some((entry) => entry.name === 'state'), 'the provider\'s authorization requests were logged').toBe(true);
    expect(logged.filter((entry) => entry.value !== '[redacted]')).toEqual([]);
    for (const token of [...bank.idTokens, ...tax.idTokens]) expect(rig.logLines.filter((line) => line.includes(token.split('.')[2]!))).toEqual([]);
  });

  it('no password, card key, token code, seed, client secret or other typed secret in any answer, console line, log line or audit row; no authorization code in them either', async () => {
    expect(rig.secretCounts().texts).toBeGreaterThan(2);
    expect(await rig.leaks()).toEqual([]);
    expect(codes.size, 'the logins above carried codes to the sites').toBeGreaterThan(5);
    // A code travels to its site in the provider's redirect (a Location the browser follows): it is searched for where it must never be.
    const audit = JSON.stringify(await rig.server.tokens.audit({ limit: 10_000 }));
    expect(audit.length).toBeGreaterThan(1000);
    expect(rig.logLines.length).toBeGreaterThan(50);
    for (const code of codes) {
      expect(rig.logLines.filter((line) => line.includes(code)), 'an authorization code in the log').toEqual([]);
      expect(audit.includes(code), 'an authorization code in the audit').toBe(false);
    }
  });
});
