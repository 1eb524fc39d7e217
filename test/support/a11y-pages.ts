/**
 * Every page a person sees, by route and state, for the WCAG check (test/e2e/accessibility.browser.test.ts).
 *
 * A page is an entry of `A11Y_PAGES`: a name, whether someone is signed in, and `open`, which brings
 * a fresh tab (a browser context of its own, no cookies) to the page in that state, using the
 * people and letters of an `A11ySite` made once by `prepareSite`. To check a new page, add an entry
 * (or push one from another file: `A11Y_PAGES` is what the test iterates):
 *
 *     { name: 'OpenID Connect: consent', signedIn: true, open: async (page, site) => {
 *         await site.signIn(page, site.people.card);          // a signed-in person, on /self-service
 *         await page.goto(site.url('/oidc/auth?client_id=…'));  // …then the page to check
 *     } },
 *
 * `open` may use anything in the site (the rig's server, its operator API, the service in-process)
 * and must end with the page loaded; the test then runs axe over it and every frame in it.
 */
import type { Frame, Page } from 'playwright-core';
import { startLabSites } from '../../host/lab/sites/lab-sites.ts';
import type { RunningSite, SiteKind } from '../../host/lab/sites/relying-party.ts';
import { CARD_SECRET_BYTES, cardPairs } from '../../host/service/code-card.ts';
import { cardHtml } from '../../host/service/outbox/card-render.ts';
import { newCardLetter } from '../../host/service/outbox/letters.ts';
import { referenceHotp } from './oath-reference.ts';
import { cprOfAge, freshPassword, shownNumber, stepOne, submit, type ServiceRig } from './service-rig.ts';
import { tempDir } from './processes.ts';
import { readLetter } from './web-client.ts';

/** Someone who logs in with a code card: NemID number, the password they type now, their card's keys. */
export interface CardHolder {
  readonly nemId: string;
  /** Their own user-id once chosen; until then their NemID number. */
  readonly userId: string;
  readonly password: string;
  readonly keys: ReadonlyMap<string, string>;
}

/** Someone who logs in with a code token registered here with a seed the site knows. */
export interface TokenHolder {
  readonly nemId: string;
  readonly userId: string;
  readonly password: string;
  readonly tokenSerial: string;
  readonly seed: Uint8Array;
}

export interface A11ySite {
  readonly rig: ServiceRig;
  url(path: string): string;
  readonly people: {
    /** Own user-id and password chosen; has an active card and its threshold successor, not yet used. */
    readonly card: CardHolder;
    /** Has never logged in: temporary password from the welcome letter. */
    readonly firstLogin: CardHolder;
    /** Own credentials chosen; a code token. */
    readonly token: TokenHolder;
    /** Temporary password from the welcome letter; their code token is reported lost with a replacement. */
    readonly lostToken: TokenHolder;
    /** An organisation's NemID administrator, own credentials chosen; lands on /admin. */
    readonly admin: CardHolder;
    /** A 14-year-old (view-only, kontokig) with a code card, own credentials chosen. */
    readonly viewOnly: CardHolder;
  };
  /** The lab's three sites, relying parties of the rig's provider (the tax office and the portal are not first-party). */
  readonly sites: Readonly<Record<SiteKind, RunningSite>>;
  /** Every letter id in the outbox with its kind, one or more of each kind. */
  readonly letters: readonly { readonly id: string; readonly kind: string }[];
  /** Step 1 and, with a card, step 2: ends signed in (or at the first login's choice). */
  signIn(page: Page | Frame, person: CardHolder): Promise<void>;
  /** Types the key for the number the card step shows. */
  typeCardKey(page: Page | Frame, person: CardHolder): Promise<void>;
  /** Stops the sites. */
  close(): Promise<void>;
}

export interface A11yPage {
  readonly name: string;
  /** Whether someone is signed in (at any step of a login) when the page is checked. */
  readonly signedIn: boolean;
  open(page: Page, site: A11ySite): Promise<void>;
}

async function go(page: Page, site: A11ySite, path: string): Promise<void> {
  const response = await page.goto(site.url(path));
  if (!response) throw new Error(`no answer for ${path}`);
}

/**
 * A letter of `kind` in the lab's outbox, as the lab's letter frame opens it: the same bytes, but
 * without the header's `sandbox` policy, under which no script runs (axe's included).
 */
function letterPage(kind: string): A11yPage {
  return {
    name: `letter: ${kind}`,
    signedIn: false,
    open: async (page, site) => {
      const letter = site.letters.find((l) => l.kind === kind);
      if (!letter) throw new Error(`no ${kind} letter in the outbox`);
      const path = `/lab/outbox/${letter.id}`;
      await page.route(site.url(path), async (route) => {
        const response = await route.fetch();
        const headers = { ...response.headers() };
        delete headers['content-security-policy'];
        await route.fulfill({ response, headers });
      });
      await go(page, site, path);
    },
  };
}

/** The provider's login, reached as a person sent by `at` is: the site's /login, redirected to the provider's interaction. */
async function sentBy(page: Page, at: RunningSite): Promise<void> {
  await page.goto(`${at.url}/login`);
  if (!/^\/oidc\/interaction\/[^/]+$/.test(new URL(page.url()).pathname)) throw new Error(`${at.title} did not send the person to the provider's login (${page.url()})`);
}

/** The two steps at the provider for `at` (card key), allowing the site when consent is asked; ends on the site's page. */
async function signInAt(page: Page, site: A11ySite, at: RunningSite, person: CardHolder): Promise<void> {
  await sentBy(page, at);
  await stepOne(page, person.userId, person.password);
  await site.typeCardKey(page, person);
  if (new URL(page.url()).origin !== at.url) {
    if ((await page.locator('#consent-allow').count()) === 0) throw new Error(`${at.title}: neither the site nor consent after the login (${page.url()})`);
    await Promise.all([page.waitForURL((url) => url.origin === at.url), page.click('#consent-allow')]);
  }
  await page.locator('#signed-in').waitFor();
}

/** The provider's own pages (login interaction, consent, errors, logout) and the lab's three sites. */
const OIDC_PAGES: A11yPage[] = [
  // ---- signed out ----
  { name: 'OpenID Connect: login step 1 (sent by the net bank)', signedIn: false, open: (page, site) => sentBy(page, site.sites['net-bank']) },
  {
    name: 'OpenID Connect: login step 1, wrong password',
    signedIn: false,
    open: async (page, site) => {
      await sentBy(page, site.sites['net-bank']);
      await stepOne(page, site.people.card.userId, 'not-the-password-1');
    },
  },
  {
    name: 'OpenID Connect: login with key file',
    signedIn: false,
    open: async (page, site) => {
      await sentBy(page, site.sites['debt-portal']);
      await submit(page, '#tab-key-file');
    },
  },
  {
    name: 'OpenID Connect: error, an unknown site (client_id)',
    signedIn: false,
    open: async (page, site) => {
      const query = new URLSearchParams({ client_id: 'no-such-site', response_type: 'code', scope: 'openid', redirect_uri: `${site.sites['net-bank'].url}/callback` });
      await page.goto(`${site.rig.server.oidc.issuer()}/auth?${query}`);
      await page.locator('#error').waitFor();
    },
  },
  {
    name: 'OpenID Connect: error, a redirect URI not registered',
    signedIn: false,
    open: async (page, site) => {
      const bank = site.sites['net-bank'];
      const query = new URLSearchParams({ client_id: bank.clientId, response_type: 'code', scope: 'openid', redirect_uri: `${bank.url}/elsewhere`, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
      await page.goto(`${site.rig.server.oidc.issuer()}/auth?${query}`);
      await page.locator('#error').waitFor();
    },
  },
  {
    name: 'OpenID Connect: error, a login that expired (no such interaction)',
    signedIn: false,
    open: async (page, site) => {
      await page.goto(`${site.rig.server.oidc.issuer()}/interaction/no-such-login`);
      await page.locator('#error').waitFor();
    },
  },
  {
    // Nobody logged in: the provider posts its own form at once (no question) and says so.
    name: 'OpenID Connect: logged out',
    signedIn: false,
    open: async (page, site) => {
      await page.goto(`${site.rig.server.oidc.issuer()}/session/end`);
      await page.waitForURL((url) => url.pathname.endsWith('/session/end/success'));
      await page.locator('#logged-out').waitFor();
    },
  },
  ...(['net-bank', 'tax-office', 'debt-portal'] as const).map(
    (kind): A11yPage => ({
      name: `site: ${kind}, signed out`,
      signedIn: false,
      open: async (page, site) => {
        await page.goto(`${site.sites[kind].url}/`);
        await page.locator('#signed-out').waitFor();
      },
    }),
  ),

  {
    name: "the lab's sites",
    signedIn: false,
    open: async (page, site) => {
      await page.goto(site.url('/lab/sites'));
      await page.locator('#lab-sites .lab-site').first().waitFor();
    },
  },

  // ---- signed in at the provider, or halfway through its login ----
  {
    name: 'OpenID Connect: login step 2, code card',
    signedIn: true,
    open: async (page, site) => {
      await sentBy(page, site.sites['net-bank']);
      await stepOne(page, site.people.card.userId, site.people.card.password);
      await page.locator('#key').waitFor();
    },
  },
  {
    name: 'OpenID Connect: login step 2, code card, wrong key',
    signedIn: true,
    open: async (page, site) => {
      await sentBy(page, site.sites['net-bank']);
      await stepOne(page, site.people.card.userId, site.people.card.password);
      await page.fill('#key', '000000');
      await submit(page, '#key-submit');
      await page.locator('#error').waitFor();
    },
  },
  {
    name: 'OpenID Connect: login step 2, code token, wrong code',
    signedIn: true,
    open: async (page, site) => {
      await sentBy(page, site.sites['tax-office']);
      await stepOne(page, site.people.token.userId, site.people.token.password);
      await page.fill('#code', '000000');
      await submit(page, '#key-submit');
      await page.locator('#error').waitFor();
    },
  },
  {
    name: "OpenID Connect: login step 2, a lost token's temporary password",
    signedIn: true,
    open: async (page, site) => {
      await sentBy(page, site.sites['net-bank']);
      await stepOne(page, site.people.lostToken.userId, site.people.lostToken.password);
      await page.locator('#temporary-password').waitFor();
    },
  },
  {
    name: 'OpenID Connect: a first login must choose its user-id at the service first',
    signedIn: true,
    open: async (page, site) => {
      await sentBy(page, site.sites['net-bank']);
      await stepOne(page, site.people.firstLogin.userId, site.people.firstLogin.password);
      await site.typeCardKey(page, site.people.firstLogin);
      await page.locator('#error').waitFor();
    },
  },
  {
    name: 'OpenID Connect: consent (the tax office, not first-party)',
    signedIn: true,
    open: async (page, site) => {
      // Anna never answers the tax office's question, so it is asked each time.
      await sentBy(page, site.sites['tax-office']);
      await stepOne(page, site.people.card.userId, site.people.card.password);
      await site.typeCardKey(page, site.people.card);
      await page.locator('#consent-allow').waitFor();
    },
  },
  {
    name: 'OpenID Connect: log out (the confirmation, from the net bank)',
    signedIn: true,
    open: async (page, site) => {
      const bank = site.sites['net-bank'];
      await signInAt(page, site, bank, site.people.card);
      await Promise.all([page.waitForURL((url) => url.pathname.startsWith('/oidc/')), page.click('#site-logout')]);
      await page.locator('#logout-confirm').waitFor();
    },
  },
  {
    name: 'site: net-bank, signed in (claims)',
    signedIn: true,
    open: (page, site) => signInAt(page, site, site.sites['net-bank'], site.people.card),
  },
  {
    name: "the lab's sites, with the lab person's session at the provider",
    signedIn: true,
    open: async (page, site) => {
      await signInAt(page, site, site.sites['net-bank'], site.people.card);
      await page.goto(site.url('/lab/sites'));
      await page.locator('#provider-sessions .provider-session').first().waitFor();
    },
  },
  {
    name: 'site: net-bank, signed in view-only (kontokig)',
    signedIn: true,
    open: (page, site) => signInAt(page, site, site.sites['net-bank'], site.people.viewOnly),
  },
  {
    name: 'site: tax-office, signed in (claims)',
    signedIn: true,
    open: (page, site) => signInAt(page, site, site.sites['tax-office'], site.people.admin),
  },
  {
    name: 'site: tax-office, a view-only person refused (access_denied)',
    signedIn: true,
    open: async (page, site) => {
      const tax = site.sites['tax-office'];
      await sentBy(page, tax);
      await stepOne(page, site.people.viewOnly.userId, site.people.viewOnly.password);
      await site.typeCardKey(page, site.people.viewOnly);
      await page.locator('#refused').waitFor();
    },
  },
  {
    name: "site: debt-portal, signed in with an employee signature (organisation's CVR and role)",
    signedIn: true,
    open: async (page, site) => {
      await signInAt(page, site, site.sites['debt-portal'], site.people.admin);
      await page.locator('#claim-cvr').waitFor();
    },
  },
];

export const A11Y_PAGES: A11yPage[] = [
  // ---- signed out ----
  { name: 'login step 1', signedIn: false, open: (page, site) => go(page, site, '/login') },
  {
    name: 'login step 1, wrong password',
    signedIn: false,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.card.userId, 'not-the-password-1');
    },
  },
  {
    name: 'login step 1, refused form (no CSRF token): the message page',
    signedIn: false,
    open: async (page, site) => {
      await go(page, site, '/login');
      await page.locator('#login-form input[name="_csrf"]').evaluate((input) => input.setAttribute('value', 'forged'));
      await stepOne(page, 'someone', 'anything-1');
    },
  },
  { name: 'login with key file', signedIn: false, open: (page, site) => go(page, site, '/login/key-file') },
  {
    name: 'login with key file, nothing chosen',
    signedIn: false,
    open: async (page, site) => {
      await go(page, site, '/login/key-file');
      await page.locator('#key-file-submit').click();
      await page.locator('#key-file-status:not(:empty)').waitFor();
    },
  },
  { name: 'activate key file', signedIn: false, open: (page, site) => go(page, site, '/activate') },
  {
    name: 'activate key file, wrong activation code',
    signedIn: false,
    open: async (page, site) => {
      await go(page, site, '/activate');
      await page.fill('#activation-code', 'WRONG-CODE-1');
      await page.fill('#key-file-new-password', 'long-enough-1');
      await page.fill('#key-file-new-password-again', 'long-enough-1');
      await page.locator('#activate-submit').click();
      await page.locator('#activate-status', { hasText: /activation code/i }).waitFor();
    },
  },
  {
    name: 'the lab, signed out',
    signedIn: false,
    open: async (page, site) => {
      await go(page, site, '/lab');
      await page.frameLocator('#service').locator('#login-form').waitFor();
      await page.locator('#outbox li').first().waitFor();
    },
  },
  letterPage('welcome'),
  letterPage('new-card'),
  letterPage('extra-card'),
  letterPage('employee-welcome'),
  letterPage('employee-card'),
  letterPage('key-file-activation'),
  letterPage('reissue'),
  {
    name: "the code card's page",
    signedIn: false,
    open: async (page) => {
      await page.setContent(cardHtml({ serial: 'K123-456-789', pairs: cardPairs(new Uint8Array(CARD_SECRET_BYTES).fill(7)), holder: 'Anna Hansen', employee: true }));
    },
  },

  // ---- signed in, or halfway through a login ----
  {
    name: 'login step 2: code card, another card to choose',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.card.userId, site.people.card.password);
    },
  },
  {
    name: 'login step 2: code card, wrong key',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.firstLogin.userId, site.people.firstLogin.password);
      await page.fill('#key', '000000');
      await submit(page, '#key-submit');
    },
  },
  {
    name: 'login step 2: code token',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.token.userId, site.people.token.password);
    },
  },
  {
    name: 'login step 2: code token, wrong code',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.token.userId, site.people.token.password);
      await page.fill('#code', '000000');
      await submit(page, '#key-submit');
    },
  },
  {
    name: "login step 2: a lost token's temporary password, wrong",
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.lostToken.userId, site.people.lostToken.password);
      await page.fill('#temporary-password', 'ABCDEFGHJKLM');
      await submit(page, '#key-submit');
    },
  },
  {
    name: 'first login: choose user-id and password',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await site.signIn(page, site.people.firstLogin);
    },
  },
  {
    name: 'first login: choose user-id and password, refused',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await site.signIn(page, site.people.firstLogin);
      await page.fill('#new-user-id', 'x');
      await page.fill('#new-password', 'short');
      await page.fill('#new-password-again', 'other');
      await submit(page, '#choose-submit');
    },
  },
  {
    name: 'self-service: code cards, notice',
    signedIn: true,
    open: async (page, site) => {
      await site.signIn(page, site.people.card);
      await page.fill('#threshold', '20');
      await submit(page, '#threshold-submit');
    },
  },
  {
    name: 'self-service: password refused',
    signedIn: true,
    open: async (page, site) => {
      await site.signIn(page, site.people.card);
      await page.fill('#current-password', 'not-it-at-all-1');
      await page.fill('#changed-password', 'new-password-1');
      await page.fill('#changed-password-again', 'new-password-1');
      await submit(page, '#password-submit');
    },
  },
  {
    name: 'self-service: code token',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/login');
      await stepOne(page, site.people.token.userId, site.people.token.password);
      const { counter } = await site.rig.server.tokens.get(site.people.token.tokenSerial);
      await page.fill('#code', referenceHotp(site.people.token.seed, counter ?? 0));
      await submit(page, '#key-submit');
    },
  },
  {
    name: 'self-service: are you sure (block a card)',
    signedIn: true,
    open: async (page, site) => {
      await site.signIn(page, site.people.card);
      await submit(page, '.block-button');
    },
  },
  {
    name: 'administration',
    signedIn: true,
    open: (page, site) => site.signIn(page, site.people.admin),
  },
  {
    name: 'administration, refused',
    signedIn: true,
    open: async (page, site) => {
      await site.signIn(page, site.people.admin);
      await page.fill('#employee-name', ' ');
      await submit(page, '#issue-submit');
    },
  },
  {
    name: 'administration: are you sure (block an employee)',
    signedIn: true,
    open: async (page, site) => {
      await site.signIn(page, site.people.admin);
      await submit(page, '.block-employee');
    },
  },
  {
    name: 'the lab, signed in',
    signedIn: true,
    open: async (page, site) => {
      await go(page, site, '/lab');
      await page.frameLocator('#service').locator('#login-form').waitFor();
      const frame = page.frame({ name: 'service' });
      if (!frame) throw new Error('the lab page has no service frame');
      await site.signIn(frame, site.people.card);
      await page.locator('#outbox li').first().waitFor();
    },
  },
  ...OIDC_PAGES,
];

async function letterOf(rig: ServiceRig, id: string): Promise<{ password: string | undefined; keys: Map<string, string> }> {
  const read = readLetter((await rig.server.service.outbox.open(id)).html);
  return { password: read.secret('temporary-password'), keys: read.keys };
}

const SUPPORT = { name: 'a11y-test' };

/**
 * The people and letters the pages need, made once on `rig`: a card holder (with a successor card),
 * a first-timer, a token holder, a lost token's holder, an organisation with its administrator and
 * employees, and at least one letter of every kind.
 */
export async function prepareSite(rig: ServiceRig, browserPage: Page): Promise<A11ySite> {
  const { service } = rig.server;
  const url = (path: string) => new URL(path, rig.server.url).toString();

  const typeCardKey = async (page: Page | Frame, person: CardHolder) => {
    const number = await shownNumber(page);
    const key = number && person.keys.get(number);
    if (!key) throw new Error(`no key for number ${number} on ${person.userId}'s card`);
    await page.fill('#key', key);
    await submit(page, '#key-submit');
  };
  const signIn = async (page: Page | Frame, person: CardHolder) => {
    if (new URL(page.url()).pathname !== '/login') await page.goto(url('/login'));
    await stepOne(page, person.userId, person.password);
    await typeCardKey(page, person);
  };
  const choose = async (page: Page, userId: string): Promise<string> => {
    const password = freshPassword(userId);
    await page.fill('#new-user-id', userId);
    await page.fill('#new-password', password);
    await page.fill('#new-password-again', password);
    await submit(page, '#choose-submit');
    return password;
  };
  const logOut = (page: Page) => submit(page, '#logout-submit');

  const cardHolder = async (name: string, age = 40): Promise<CardHolder> => {
    const { nemId, letterId } = await rig.orderPerson({ name, cpr: cprOfAge(age) });
    const letter = await letterOf(rig, letterId);
    return { nemId, userId: nemId, password: letter.password!, keys: letter.keys };
  };
  const tokenHolder = async (name: string, serial: string): Promise<TokenHolder> => {
    const seed = new Uint8Array(20).map((_, i) => (i * 37 + serial.length * 11) & 0xff);
    const enrolled = await rig.operator('POST', '/v1/tokens', { serial, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: Buffer.from(seed).toString('hex') });
    if (enrolled.status !== 201) throw new Error(`enrolling ${serial}: ${JSON.stringify(enrolled.body)}`);
    const { nemId, letterId } = await rig.orderPerson({ name, cpr: cprOfAge(40), credential: 'token', tokenSerial: serial });
    const letter = await letterOf(rig, letterId);
    return { nemId, userId: nemId, password: letter.password!, tokenSerial: serial, seed };
  };

  // A card holder with their own credentials, and the successor card the threshold sends.
  const anna = await cardHolder('Anna Hansen');
  await browserPage.goto(url('/login'));
  await signIn(browserPage, anna);
  const card: CardHolder = { ...anna, userId: 'anna.hansen', password: await choose(browserPage, 'anna.hansen') };
  await logOut(browserPage);
  await service.people.sendSuccessorCard(await service.people.get(anna.nemId), SUPPORT);

  const firstLogin = await cardHolder('Bo Førstegang');

  // A 14-year-old: view-only (kontokig), own credentials chosen.
  const kim = await cardHolder('Kim Kontokig', 14);
  await signIn(browserPage, kim);
  const viewOnly: CardHolder = { ...kim, userId: 'kim.kontokig', password: await choose(browserPage, 'kim.kontokig') };
  await logOut(browserPage);

  const tove = await tokenHolder('Tove Token', 'A11Y-TOKEN-1');
  await stepOne(browserPage, tove.userId, tove.password);
  await browserPage.fill('#code', referenceHotp(tove.seed, 0));
  await submit(browserPage, '#key-submit');
  const token: TokenHolder = { ...tove, userId: 'tove.token', password: await choose(browserPage, 'tove.token') };
  await logOut(browserPage);

  const lostToken = await tokenHolder('Lars Mistet', 'A11Y-TOKEN-2');
  const lost = await rig.operator('POST', `/v1/tokens/${lostToken.tokenSerial}/lost`, { replacement: true });
  if (lost.status !== 200) throw new Error(`reporting ${lostToken.tokenSerial} lost: ${JSON.stringify(lost.body)}`);

  // An organisation: its administrator (card, own credentials), a card employee, a key-file employee.
  const organisation = await rig.createOrganisation({ cvr: '10103940', name: 'Statsministeriet', administrator: 'Jens Admin' });
  const adminLetter = await letterOf(rig, organisation.letterId);
  const adminCard = await letterOf(rig, organisation.cardLetterId);
  const jens: CardHolder = { nemId: organisation.adminNemId, userId: organisation.adminNemId, password: adminLetter.password!, keys: adminCard.keys };
  await signIn(browserPage, jens);
  const admin: CardHolder = { ...jens, userId: 'jens.admin', password: await choose(browserPage, 'jens.admin') };
  await logOut(browserPage);
  const adminRecord = await service.people.get(organisation.adminNemId);
  const by = (await service.organisations.of(adminRecord))!;
  const cardEmployee = await service.people.issueEmployee(by, { name: 'Karen Kort', role: 'employee', credential: 'card' }, SUPPORT);
  await service.people.issueEmployee(by, { name: 'Kim Nøglefil', role: 'employee', credential: 'key-file' }, SUPPORT);
  await service.people.orderExtraCards(cardEmployee.person, 1, SUPPORT);
  const blocked = await service.people.issueEmployee(by, { name: 'Bent Spærret', role: 'employee', credential: 'card' }, SUPPORT);
  await service.people.block(blocked.person, SUPPORT);

  // The re-issue's card letter (no flow of the service posts this kind today; its template is checked all the same).
  const reissuedCard = { serial: 'K999-000-111', pairs: cardPairs(new Uint8Array(CARD_SECRET_BYTES).fill(9)) };
  await service.outbox.post({ ...newCardLetter({ recipient: 'Rita Genudstedt', card: reissuedCard, reason: 'reissue' }), personId: anna.nemId });

  const letters = (await service.outbox.list()).map(({ id, kind }) => ({ id, kind }));

  // The lab's three sites, as `npm start` runs them beside the lab (each on its own loopback address, any port).
  const running = await startLabSites({ dir: tempDir('a11y-sites'), port: 0, oidc: rig.server.oidc });
  const sites = Object.fromEntries(running.map((at) => [at.kind, at])) as Record<SiteKind, RunningSite>;
  // `/lab/sites` lists them, and the card holder's sessions at the provider, as the lab's page does for its person.
  rig.showLabSites(running, card.nemId);
  const close = async () => {
    for (const at of running) await at.close();
  };
  return { rig, url, people: { card, firstLogin, token, lostToken, admin, viewOnly }, sites, letters, signIn, typeCardKey, close };
}
