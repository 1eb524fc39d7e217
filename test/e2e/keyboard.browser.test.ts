/**
 * Every flow with the keyboard alone, in real headless Chromium: Tab, Shift-Tab, Enter, Space and
 * typed text (page.keyboard only, never a click). A first login with a code card, a card login,
 * a token login (the token's button pressed from the keyboard on the lab page), blocking a card in
 * self-service, an administrator issuing an employee credential, and a site's login through the
 * OpenID Connect provider (its two steps, consent, logout). After each step and each
 * error the test checks where the focus is (document.activeElement): the first field of a step,
 * the field an error is about (invalid, described by the error, which is announced), the notice
 * after a change; and every control reached with Tab shows a focus ring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startLabSites } from '../../host/lab/sites/lab-sites.ts';
import type { RunningSite, SiteKind } from '../../host/lab/sites/relying-party.ts';
import { chromium, reportMissingChromium } from '../support/browser.ts';
import { tempDir } from '../support/processes.ts';
import { cprOfAge, freshPassword, shownNumber, startServiceRig, stepOne as fillStepOne, submit, type ServiceRig } from '../support/service-rig.ts';
import { readLetter } from '../support/web-client.ts';

reportMissingChromium();

interface Focused {
  readonly id: string;
  readonly tag: string;
  readonly invalid: string | null;
  readonly describedBy: string[];
  /** The element shows a focus ring (:focus-visible, an outline of 2 px or more). */
  readonly ring: boolean;
}

/** Runs in the page (a string, as the tests are compiled without the DOM's types). */
const FOCUSED = `(() => {
  const element = document.activeElement ?? document.body;
  const style = getComputedStyle(element);
  return {
    id: element.id,
    tag: element.tagName.toLowerCase(),
    invalid: element.getAttribute('aria-invalid'),
    describedBy: (element.getAttribute('aria-describedby') ?? '').split(/\\s+/).filter(Boolean),
    ring: element.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
})()`;

async function focused(page: Page): Promise<Focused> {
  return (await page.evaluate(FOCUSED)) as Focused;
}

/** Waits until the focus is on `#id` (autofocus lands once the page has rendered), then says where it is. */
async function expectFocusOn(page: Page, id: string, why: string): Promise<Focused> {
  await expect.poll(async () => (await focused(page)).id, { message: why, timeout: 10_000 }).toBe(id);
  return focused(page);
}

/** Presses Tab (or Shift-Tab) until `selector` has the focus; every control passed on the way shows a ring. */
async function tabTo(page: Page, selector: string, options: { back?: boolean; max?: number } = {}): Promise<number> {
  for (let presses = 1; presses <= (options.max ?? 40); presses++) {
    await page.keyboard.press(options.back ? 'Shift+Tab' : 'Tab');
    const where = await focused(page);
    if (where.tag !== 'body' && where.tag !== 'iframe') expect(where.ring, `#${where.id || where.tag} shows a focus ring`).toBe(true);
    if (await page.locator(`${selector}:focus`).count()) return presses;
  }
  throw new Error(`${selector} never got the focus`);
}

/** Presses `key` and waits for the page it leads to. */
async function pressAndLoad(page: Page, key: string): Promise<string> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press(key)]);
  return new URL(page.url()).pathname;
}

/** A field the error is about: invalid, described by the announced error. */
async function expectErrorOn(page: Page, id: string, why: string): Promise<void> {
  const where = await expectFocusOn(page, id, why);
  expect(where.invalid, `#${id} is marked invalid`).toBe('true');
  expect(where.describedBy, `#${id} is described by the error`).toContain('error');
  expect(await page.locator('#error').getAttribute('role'), 'the error is announced').toBe('alert');
}

describe.skipIf(!chromium.available)('every flow with the keyboard alone', () => {
  let rig: ServiceRig;
  let sites: Record<SiteKind, RunningSite>;

  beforeAll(async () => {
    rig = await startServiceRig('keyboard');
    const running = await startLabSites({ dir: tempDir('keyboard-sites'), port: 0, oidc: rig.server.oidc });
    sites = Object.fromEntries(running.map((site) => [site.kind, site])) as Record<SiteKind, RunningSite>;
  }, 120_000);
  afterAll(async () => {
    for (const site of Object.values(sites ?? {})) await site.close();
    await rig?.close();
  });

  async function letterOf(id: string) {
    const read = readLetter((await rig.server.service.outbox.open(id)).html);
    return { password: read.secret('temporary-password')!, keys: read.keys };
  }

  async function newPage(): Promise<Page> {
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await page.goto(new URL('/login', rig.server.url).toString());
    return page;
  }

  /** Step 1 from the focused user-id field: type, Tab, type, Enter. */
  async function stepOne(page: Page, userId: string, password: string): Promise<string> {
    await expectFocusOn(page, 'user-id', 'step 1 starts in the user-id field');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(userId);
    await tabTo(page, '#password');
    await page.keyboard.type(password);
    return pressAndLoad(page, 'Enter');
  }

  async function typeCardKey(page: Page, keys: ReadonlyMap<string, string>): Promise<string> {
    await expectFocusOn(page, 'key', 'step 2 starts in the key field');
    const number = await page.locator('#key-number').getAttribute('data-number');
    await page.keyboard.type(keys.get(number!)!);
    return pressAndLoad(page, 'Enter');
  }

  /** The first login's own credentials, from the focused user-id field; ends on self-service. */
  async function chooseCredentials(page: Page, userId: string): Promise<string> {
    await expectFocusOn(page, 'new-user-id', 'the first login starts in the user-id field');
    const password = freshPassword(userId);
    await page.keyboard.type(userId);
    await tabTo(page, '#new-password');
    await page.keyboard.type(password);
    await tabTo(page, '#new-password-again');
    await page.keyboard.type(password);
    expect(await pressAndLoad(page, 'Enter')).toBe('/self-service');
    await expectFocusOn(page, 'notice', 'the notice that the credentials are saved');
    return password;
  }

  async function logOut(page: Page): Promise<void> {
    await tabTo(page, '#logout-submit', { back: true });
    expect(await pressAndLoad(page, 'Enter')).toBe('/login');
  }

  it('a first login, a card login and blocking the card, each error with the focus on its field', async () => {
    const { nemId, letterId } = await rig.orderPerson({ name: 'Karl Tastatur', cpr: cprOfAge(40) });
    const letter = await letterOf(letterId);
    const page = await newPage();

    // Step 1, wrong password: the focus returns to the user-id, both fields marked.
    expect(await stepOne(page, nemId, 'not-the-password-1')).toBe('/login');
    await expectErrorOn(page, 'user-id', 'a refused step 1 puts the focus on the user-id');
    expect(await page.locator('#password').getAttribute('aria-invalid')).toBe('true');

    // Step 1 right, then a wrong key: the focus stays in the key field, marked.
    expect(await stepOne(page, nemId, letter.password)).toBe('/login/key');
    await expectFocusOn(page, 'key', 'step 2 starts in the key field');
    expect(await page.locator('#key').getAttribute('aria-invalid')).toBeNull();
    await page.keyboard.type('000000');
    expect(await pressAndLoad(page, 'Enter')).toBe('/login/key');
    await expectErrorOn(page, 'key', 'a wrong key puts the focus back in the key field');
    expect(await typeCardKey(page, letter.keys)).toBe('/login/choose');

    // The first login's choice: a user-id against the rules, then two passwords that differ.
    await expectFocusOn(page, 'new-user-id', 'the first login starts in the user-id field');
    const wrong = freshPassword('karl');
    await page.keyboard.type('1x');
    await tabTo(page, '#new-password');
    await page.keyboard.type(wrong);
    await tabTo(page, '#new-password-again');
    await page.keyboard.type(wrong);
    expect(await pressAndLoad(page, 'Enter'), 'no browser bubble stops the form: the service answers').toBe('/login/choose');
    await expectErrorOn(page, 'new-user-id', 'a user-id against the rules');
    expect((await focused(page)).describedBy).toEqual(['error', 'user-id-rules']);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('karl.tastatur');
    await tabTo(page, '#new-password');
    await page.keyboard.type(wrong);
    await tabTo(page, '#new-password-again');
    await page.keyboard.type(`${wrong}x`);
    expect(await pressAndLoad(page, 'Enter')).toBe('/login/choose');
    await expectErrorOn(page, 'new-password-again', 'passwords that differ');
    // Back with Shift-Tab to the first password, then both again.
    expect(await tabTo(page, '#new-password', { back: true }), 'one Shift-Tab back').toBe(1);
    const password = freshPassword('karl');
    await page.keyboard.type(password);
    await tabTo(page, '#new-password-again');
    await page.keyboard.type(password);
    expect(await pressAndLoad(page, 'Enter')).toBe('/self-service');
    await expectFocusOn(page, 'notice', 'the notice that the credentials are saved');

    // A card login with the chosen credentials.
    await logOut(page);
    expect(await stepOne(page, 'karl.tastatur', password)).toBe('/login/key');
    expect(await typeCardKey(page, letter.keys)).toBe('/self-service');
    expect((await focused(page)).tag, 'self-service starts at the top of the page').toBe('body');

    // Blocking the card: Tab to its button, Space, the question has the focus, Tab, Enter.
    const serial = await page.locator('#cards tr[data-card]').first().getAttribute('data-card');
    await tabTo(page, `.block-button[data-id="${serial}"]`);
    expect(await pressAndLoad(page, ' ')).toBe('/self-service/block');
    await expectFocusOn(page, 'confirm-question', 'the question is read first');
    await tabTo(page, '#confirm-submit');
    expect(await pressAndLoad(page, 'Enter')).toBe('/self-service');
    await expectFocusOn(page, 'notice', 'the notice that the card is blocked');
    expect(await page.locator(`#cards tr[data-card="${serial}"]`).getAttribute('data-state')).toBe('blocked');
    await page.context().close();
  }, 300_000);

  it('a token login: the token pressed from the keyboard on the lab page, a wrong code, then the code it shows', async () => {
    const { nemId, letterId } = await rig.orderPerson({ name: 'Tine Tast', cpr: cprOfAge(40), credential: 'token', tokenSerial: rig.emulator.serial });
    const letter = await letterOf(letterId);
    const page = await newPage();
    expect(await stepOne(page, nemId, letter.password)).toBe('/login/key');
    await expectFocusOn(page, 'code', 'the token step starts in the code field');
    await page.keyboard.type('000000');
    expect(await pressAndLoad(page, 'Enter')).toBe('/login/key');
    await expectErrorOn(page, 'code', 'a wrong code puts the focus back in the code field');

    // The lab page, in a browser of its own (its service frame would start a session of its own in
    // this one): Tab to the token's button and press it with Space.
    const labContext = await rig.browser.newContext();
    const lab = await labContext.newPage();
    await lab.goto(new URL('/lab', rig.server.url).toString());
    await tabTo(lab, '#token-button');
    const pressed = lab.waitForResponse((response) => new URL(response.url()).pathname === '/lab/token/press');
    await lab.keyboard.press('Space');
    expect((await pressed).status()).toBe(200);
    // The code as a screen reader hears it: from the lab's polite live region, not from the display.
    const region = lab.locator('#token-announcement');
    expect(await region.getAttribute('aria-live')).toBe('polite');
    await lab.waitForFunction(`(document.getElementById('token-announcement')?.dataset.code ?? '').length > 0`);
    const announced = (await region.textContent()) ?? '';
    const code = (/(\d(?: \d){5})\s*$/.exec(announced)?.[1] ?? '').replace(/ /g, '');
    expect(code, `the live region said "${announced}"`).toMatch(/^\d{6}$/);
    expect(await region.getAttribute('data-code')).toBe(code);
    const face = { display: code };

    await labContext.close();
    await expectFocusOn(page, 'code', 'the code field still has the focus');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(face.display);
    const landed = await pressAndLoad(page, 'Enter');
    expect(landed, landed === '/login/choose' ? '' : `${face.display}: ${await page.locator('#error').textContent()}`).toBe('/login/choose');
    await chooseCredentials(page, 'tine.tast');
    await page.context().close();
  }, 300_000);

  it('an administrator issues an employee credential: a refused name with the focus on it, then issued', async () => {
    const organisation = await rig.createOrganisation({ cvr: '10103940', name: 'Statsministeriet', administrator: 'Ane Admin' });
    const welcome = await letterOf(organisation.letterId);
    const card = await letterOf(organisation.cardLetterId);
    const page = await newPage();
    expect(await stepOne(page, organisation.adminNemId, welcome.password)).toBe('/login/key');
    expect(await typeCardKey(page, card.keys)).toBe('/login/choose');
    await chooseCredentials(page, 'ane.admin');

    await tabTo(page, '#admin-link');
    expect(await pressAndLoad(page, 'Enter')).toBe('/admin');
    await tabTo(page, '#issue-submit');
    expect(await pressAndLoad(page, 'Enter'), 'an empty name is the service\'s to refuse, no browser bubble').toBe('/admin/employees');
    await expectErrorOn(page, 'employee-name', 'a refused name');
    expect((await focused(page)).describedBy).toEqual(['error', 'employee-name-rules']);
    await page.keyboard.type('Erik Medarbejder');
    await tabTo(page, '#employee-credential');
    await page.keyboard.press('ArrowDown'); // key file
    await tabTo(page, '#issue-submit');
    expect(await pressAndLoad(page, 'Space')).toBe('/admin');
    await expectFocusOn(page, 'notice', 'the notice that the credential is issued');
    const row = page.locator('#employees tr[data-person]').filter({ hasText: 'Erik Medarbejder' });
    expect(await row.getAttribute('data-state')).toBe('pending');
    expect(await row.locator('li[data-key-file]').getAttribute('data-state')).toBe('awaiting-activation');
    await page.context().close();
  }, 300_000);
  it("the net bank's login through the provider, the tax office's consent and the logout: keyboard only, the focus on each step and error", async () => {
    // Set-up (not under test): a card holder who has chosen their own credentials.
    const { nemId, letterId } = await rig.orderPerson({ name: 'Olga Oidc', cpr: cprOfAge(40) });
    const letter = await letterOf(letterId);
    const setup = await newPage();
    await fillStepOne(setup, nemId, letter.password);
    await setup.fill('#key', letter.keys.get((await shownNumber(setup))!)!);
    await submit(setup, '#key-submit');
    const password = freshPassword('olga');
    await setup.fill('#new-user-id', 'olga.oidc');
    await setup.fill('#new-password', password);
    await setup.fill('#new-password-again', password);
    expect((await submit(setup, '#choose-submit')).path).toBe('/self-service');
    await setup.context().close();

    const bank = sites['net-bank'];
    const tax = sites['tax-office'];
    const page = await (await rig.browser.newContext()).newPage();
    await page.goto(`${bank.url}/`);
    await tabTo(page, '#site-login');
    expect(await pressAndLoad(page, 'Enter')).toMatch(/^\/oidc\/interaction\/[^/]+$/);

    // The provider's step 1: a wrong password, the focus back on the user-id with the error tied to it.
    expect(await stepOne(page, 'olga.oidc', 'not-the-password-1')).toMatch(/^\/oidc\/interaction\/[^/]+\/login$/);
    await expectErrorOn(page, 'user-id', 'a refused step 1 at the provider puts the focus on the user-id');
    expect(await page.locator('#password').getAttribute('aria-invalid')).toBe('true');
    expect(await stepOne(page, 'olga.oidc', password)).toMatch(/\/login\/key$/);

    // Step 2: a wrong key, the focus back in the key field; then the key asked for, and back at the bank.
    await expectFocusOn(page, 'key', "the provider's step 2 starts in the key field");
    await page.keyboard.type('000000');
    expect(await pressAndLoad(page, 'Enter')).toMatch(/\/login\/key$/);
    await expectErrorOn(page, 'key', 'a wrong key at the provider puts the focus back in the key field');
    expect(await typeCardKey(page, letter.keys)).toBe('/');
    expect(new URL(page.url()).origin).toBe(bank.url);
    expect(await page.textContent('#claim-name')).toBe('Olga Oidc');

    // The tax office (not first-party): on the provider's session, the question has the focus; Tab to Allow, Enter.
    await page.goto(`${tax.url}/`);
    await tabTo(page, '#site-login');
    expect(await pressAndLoad(page, 'Enter')).toMatch(/^\/oidc\/interaction\/[^/]+$/);
    await expectFocusOn(page, 'consent-question', 'the consent question is read first');
    await tabTo(page, '#consent-allow');
    expect(await pressAndLoad(page, 'Enter')).toBe('/');
    expect(new URL(page.url()).origin).toBe(tax.url);
    expect(await page.textContent('#claim-name')).toBe('Olga Oidc');

    // Logging out from the tax office: the provider's question has the focus; Tab to Log out, Enter.
    await tabTo(page, '#site-logout');
    expect(await pressAndLoad(page, 'Enter')).toMatch(/^\/oidc\/session\/end/);
    await expectFocusOn(page, 'page-title', 'the logout question is read first');
    await tabTo(page, '#logout-confirm');
    expect(await pressAndLoad(page, 'Enter')).toBe('/');
    expect(new URL(page.url()).origin).toBe(tax.url);
    expect(await page.locator('#signed-out').count()).toBe(1);
    await page.context().close();
  }, 300_000);
});
