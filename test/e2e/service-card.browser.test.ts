/**
 * The login service with code cards (nøglekort), in real headless Chromium against the real server
 * on loopback with a real SQLite file: each person reads their letter in the lab page's outbox and
 * logs in in its service frame, typing what the letter says. A new person's first login and own
 * credentials, the new card sent at the threshold and taken into use, and a blocked card; at the
 * end every answer, console line, log line and audit row is searched for what was typed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from 'playwright-core';
import { chromium, reportMissingChromium } from '../support/browser.ts';
import {
  cprOfAge,
  freshPassword,
  open,
  readLetterInLab,
  shownNumber,
  startServiceRig,
  stepOne,
  submit,
  type LetterContents,
  type ServiceRig,
} from '../support/service-rig.ts';

reportMissingChromium();

describe.skipIf(!chromium.available)('code cards in the browser', () => {
  let rig: ServiceRig;
  /** Anna's, kept for the controls of the leak search. */
  const anna = { temporary: '', password: '', key: '' };

  beforeAll(async () => {
    rig = await startServiceRig('svc-card');
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** Step 2 with the card: types the key beside the number shown; returns the number and where the page landed. */
  async function typeKey(frame: Frame, keys: ReadonlyMap<string, string>): Promise<{ number: string; status: number; path: string }> {
    const number = await shownNumber(frame);
    expect(number, 'step 2 shows a 4-digit number').toMatch(/^\d{4}$/);
    const key = keys.get(number!);
    expect(key, `the card in the letter has a key for ${number}`).toBeDefined();
    await frame.fill('#key', rig.typedKey(key!));
    return { number: number!, ...(await submit(frame, '#key-submit')) };
  }

  async function logIn(frame: Frame, userId: string, password: string, keys: ReadonlyMap<string, string>) {
    const first = await stepOne(frame, userId, password);
    expect(first, 'step 1 leads to step 2').toEqual({ status: 200, path: '/login/key' });
    return typeKey(frame, keys);
  }

  async function logOut(frame: Frame): Promise<void> {
    expect(await submit(frame, '#logout-submit')).toMatchObject({ path: '/login' });
  }

  /** The self-service table of cards: state and keys left by serial. */
  async function cardRows(frame: Frame): Promise<Map<string, { state: string; keysLeft: number }>> {
    const rows = new Map<string, { state: string; keysLeft: number }>();
    const locator = frame.locator('#cards tr[data-card]');
    for (let i = 0; i < (await locator.count()); i++) {
      const row = locator.nth(i);
      rows.set((await row.getAttribute('data-card'))!, {
        state: (await row.getAttribute('data-state'))!,
        keysLeft: Number((await row.locator('.keys-left').textContent())!.trim()),
      });
    }
    return rows;
  }

  /** A new person: ordered by the operator, letter read in the lab, first login, own credentials chosen. */
  async function newPerson(name: string, userId: string) {
    const person = await rig.newPerson();
    const { nemId, letterId } = await rig.orderPerson({ name, cpr: cprOfAge(40) });
    const letter = await readLetterInLab(person.lab, letterId);
    const frame = person.service();
    await logIn(frame, letter.nemId!, rig.typedSecret(letter.temporaryPassword!), letter.keys);
    const password = rig.typedSecret(freshPassword(userId));
    await frame.fill('#new-user-id', userId);
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toEqual({ status: 200, path: '/self-service' });
    return { person, nemId, letter, frame, password };
  }

  it('a new person: welcome letter in the outbox → temporary password and a key → own user-id and password → log out → in again with them and another key; the temporary password is refused after', async () => {
    const person = await rig.newPerson();
    const { nemId, letterId } = await rig.orderPerson({ name: 'Anna Hansen', cpr: cprOfAge(40) });
    const letter: LetterContents = await readLetterInLab(person.lab, letterId);
    expect(letter.nemId, 'the letter names the NemID number the operator was given').toBe(nemId);
    expect(letter.temporaryPassword).toMatch(/\S{8,}/);
    expect(letter.keys.size).toBe(148);
    expect(new Set(letter.keys.values()).size).toBeGreaterThan(140);
    const temporary = rig.typedSecret(letter.temporaryPassword!);
    anna.temporary = temporary;

    const frame = person.service();
    expect(new URL(frame.url()).pathname).toBe('/login');
    const first = await logIn(frame, nemId, temporary, letter.keys);
    expect(first, 'a first login goes on to choosing credentials').toMatchObject({ status: 200, path: '/login/choose' });
    expect(await frame.locator('#person-name').textContent()).toBe('Anna Hansen');

    const password = rig.typedSecret(freshPassword('anna'));
    anna.password = password;
    anna.key = letter.keys.get(first.number)!;
    await frame.fill('#new-user-id', 'anna.hansen');
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toEqual({ status: 200, path: '/self-service' });
    expect(await frame.locator('#person-user-id').textContent()).toBe('anna.hansen');
    expect(await frame.locator('#scope').getAttribute('data-scope')).toBe('full');
    const [card] = [...(await cardRows(frame)).values()];
    expect(card, 'one key used of 148').toEqual({ state: 'active', keysLeft: 147 });

    await logOut(frame);
    expect(await open(frame, '/self-service'), 'logged out: self-service sends to the login').toMatchObject({ path: '/login' });

    const second = await logIn(frame, 'anna.hansen', password, letter.keys);
    expect(second).toMatchObject({ status: 200, path: '/self-service' });
    expect(second.number, 'a used key is not asked again').not.toBe(first.number);
    expect([...(await cardRows(frame)).values()]).toEqual([{ state: 'active', keysLeft: 146 }]);
    await logOut(frame);

    const refused = await stepOne(frame, nemId, temporary);
    expect(refused).toEqual({ status: 401, path: '/login' });
    expect(await frame.locator('#error').textContent()).toMatch(/user-id or password/i);
    expect(await shownNumber(frame)).toBeUndefined();
  });

  it('uses keys until the threshold set in self-service: exactly one new card arrives in the outbox, and choosing it at step 2 with a key from its letter works and replaces the old card', async () => {
    const { person, nemId, letter, frame, password } = await newPerson('Frederik Tærskel', 'frederik.t');
    await frame.fill('#threshold', '145');
    expect(await submit(frame, '#threshold-submit')).toEqual({ status: 200, path: '/self-service' });
    expect(await frame.locator('#notice').count()).toBe(1);
    expect(await frame.locator('#threshold').inputValue()).toBe('145');

    const newCardLetters = async () => (await rig.server.service.outbox.list({ personId: nemId })).filter((l) => l.kind === 'new-card');
    const [oldSerial] = [...(await cardRows(frame)).keys()];
    const asked = new Set<string>();
    let logins = 0;
    while ((await cardRows(frame)).get(oldSerial!)!.keysLeft > 145) {
      expect(await newCardLetters(), 'no new card before the threshold').toHaveLength(0);
      await logOut(frame);
      const login = await logIn(frame, 'frederik.t', password, letter.keys);
      expect(login.path).toBe('/self-service');
      asked.add(login.number);
      logins++;
    }
    expect(logins, '147 keys left after the first login, 145 two logins later').toBe(2);
    expect(asked.size).toBe(2);
    expect(await newCardLetters()).toHaveLength(1);

    // More logins on the old card send no second card.
    for (let i = 0; i < 2; i++) {
      await logOut(frame);
      expect((await logIn(frame, 'frederik.t', password, letter.keys)).path).toBe('/self-service');
    }
    const sent = await newCardLetters();
    expect(sent).toHaveLength(1);
    await person.lab.click('#outbox-refresh');
    const listed = person.lab.locator('#outbox li .meta').filter({ hasText: 'to Frederik Tærskel · new-card' });
    await listed.first().waitFor();
    expect(await listed.count(), 'the lab lists the one new-card letter').toBe(1);
    const successor = await readLetterInLab(person.lab, sent[0]!.id);
    expect(successor.keys.size).toBe(148);
    expect(successor.temporaryPassword, 'a new card comes without a new password').toBeUndefined();

    const before = await cardRows(frame);
    expect(before.get(oldSerial!)).toEqual({ state: 'active', keysLeft: 143 });
    const fresh = [...before].find(([, row]) => row.state === 'issued');
    expect(fresh, 'self-service lists the new card as not yet used').toBeDefined();
    const [newSerial, newRow] = fresh!;
    expect(newRow.keysLeft).toBe(148);

    await logOut(frame);
    expect((await stepOne(frame, 'frederik.t', password)).path).toBe('/login/key');
    expect(await frame.locator('#key-card-serial').textContent(), 'the old card is asked until the new one is taken into use').toBe(oldSerial);
    expect(await frame.locator('#card-serial option').evaluateAll((options) => options.map((o) => o.getAttribute('value')))).toEqual([newSerial]);
    await frame.selectOption('#card-serial', newSerial);
    expect(await submit(frame, '#card-submit')).toEqual({ status: 200, path: '/login/key' });
    expect(await frame.locator('#key-card-serial').textContent()).toBe(newSerial);
    const switched = await typeKey(frame, successor.keys);
    expect(switched).toMatchObject({ status: 200, path: '/self-service' });

    const after = await cardRows(frame);
    expect(after.get(newSerial)).toEqual({ state: 'active', keysLeft: 147 });
    expect(after.get(oldSerial!)!.state).toBe('replaced');
    expect(await frame.locator(`#cards tr[data-card="${oldSerial}"] .block-button`).count(), 'a replaced card has nothing left to block').toBe(0);

    await logOut(frame);
    expect((await stepOne(frame, 'frederik.t', password)).path).toBe('/login/key');
    expect(await frame.locator('#key-card-serial').textContent(), 'the replaced card is not asked again').toBe(newSerial);
    expect(await newCardLetters()).toHaveLength(1);
  });

  it('blocks a card in self-service: a login already at step 2 has its key refused, and a new login gets no number for it', async () => {
    const { letter, frame, password } = await newPerson('Hans Spærring', 'hans.block');
    const [serial] = [...(await cardRows(frame)).keys()];

    // The same person on another browser, halfway through a login when the card is blocked.
    const elsewhere = await rig.newPerson();
    const otherFrame = elsewhere.service();
    expect((await stepOne(otherFrame, 'hans.block', password)).path).toBe('/login/key');
    const waiting = await shownNumber(otherFrame);
    expect(waiting).toMatch(/^\d{4}$/);

    expect(await submit(frame, `.block-button[data-id="${serial}"]`), 'asked first').toEqual({ status: 200, path: '/self-service/block' });
    expect(await frame.locator('#confirm-question').textContent()).toBe(`Block code card ${serial}?`);
    expect((await rig.server.service.cards.get(serial!))!.state, 'the question blocks nothing').not.toBe('blocked');
    await frame.click('#confirm-submit');
    await frame.waitForURL((url) => url.searchParams.get('done') === 'blocked');
    await frame.locator('#notice').waitFor();
    expect(await frame.locator(`#cards tr[data-card="${serial}"]`).getAttribute('data-state')).toBe('blocked');
    expect(await frame.locator(`.block-button[data-id="${serial}"]`).count()).toBe(0);

    await otherFrame.fill('#key', rig.typedKey(letter.keys.get(waiting!)!));
    const refused = await submit(otherFrame, '#key-submit');
    expect(refused, 'the right key of a blocked card gets nobody in: the block ended the login halfway').toEqual({ status: 200, path: '/login' });
    expect(await otherFrame.locator('#notice').textContent()).toMatch(/session has expired/);
    expect(await open(otherFrame, '/self-service'), 'and nobody is signed in').toMatchObject({ path: '/login' });

    await logOut(frame);
    const again = await stepOne(frame, 'hans.block', password);
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(await shownNumber(frame), 'no number of the blocked card is shown').toBeUndefined();
    expect(await frame.locator('#key').count()).toBe(0);
    expect(await frame.locator('#error').textContent()).toMatch(/card/i);
    expect(await open(frame, '/self-service')).toMatchObject({ path: '/login' });
    expect((await rig.server.service.cards.get(serial!))!.state).toBe('blocked');
  });

  it('no answer, console line, log line or audit row holds a password, a card key typed, or the token seed', async () => {
    const counts = rig.secretCounts();
    expect(counts.texts).toBeGreaterThanOrEqual(6);
    expect(counts.keys).toBeGreaterThanOrEqual(9);
    expect(rig.logLines.length).toBeGreaterThan(50);
    expect(await rig.leaks()).toEqual([]);
    // Controls: the search sees the pages, the letters and what the browser sent.
    expect(await rig.search('anna.hansen')).toContainEqual(expect.stringMatching(/response 200 \/self-service/));
    expect(await rig.search(anna.temporary, { letters: true })).toContainEqual(expect.stringMatching(/response 200 \/lab\/outbox\//));
    expect(await rig.search(anna.password, { requests: true })).toContainEqual(expect.stringMatching(/request POST \/login$/));
    expect(await rig.search(`key=${anna.key}`, { requests: true })).toContainEqual(expect.stringMatching(/request POST \/login\/key$/));
  });
});
