/**
 * Logging in with a code token (nøgleviser), in real headless Chromium, the way the lab means it:
 * the person clicks the emulated token's button on the lab page, reads its display and types the
 * code into the login page in the frame beside it. Nothing relays the press to the server. The
 * codes shown are checked against RFC 4226 computed here from the seed the token was enrolled
 * with; the same code typed a second time is refused; and the seed is in no answer, log or audit row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from 'playwright-core';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { chromium, reportMissingChromium } from '../support/browser.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { cprOfAge, freshPassword, open, pressToken, readLetterInLab, startServiceRig, stepOne, submit, type Person, type ServiceRig } from '../support/service-rig.ts';

reportMissingChromium();

describe.skipIf(!chromium.available)('a code token in the browser', () => {
  let rig: ServiceRig;
  let person: Person;
  let frame: Frame;
  let password = '';

  beforeAll(async () => {
    rig = await startServiceRig('svc-token');
    person = await rig.newPerson();
    frame = person.service();
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** The token shows a code for 30 s and a press meanwhile keeps it: let the shown code expire. */
  async function letCodeExpire(): Promise<void> {
    await debugCall(rig.emulator.debug, 'advance', { ms: 31_000 });
  }

  async function typeCode(code: string): Promise<{ status: number; path: string }> {
    expect(await frame.locator('#key-number').count(), 'a token person is asked for a code, not a card key').toBe(0);
    expect(await frame.locator('#token-serial').textContent()).toBe(rig.emulator.serial);
    await frame.fill('#code', code);
    return submit(frame, '#key-submit');
  }

  it('a person ordered with the token logs in with the code its face shows: first login, own credentials, and again with the next code', async () => {
    const { nemId, letterId } = await rig.orderPerson({ name: 'Tove Token', cpr: cprOfAge(52), credential: 'token', tokenSerial: rig.emulator.serial });
    const letter = await readLetterInLab(person.lab, letterId);
    expect(letter.nemId).toBe(nemId);
    expect(letter.keys.size, 'a token person gets no code card').toBe(0);
    const temporary = rig.typedSecret(letter.temporaryPassword!);

    expect(await stepOne(frame, nemId, temporary)).toEqual({ status: 200, path: '/login/key' });
    const first = await pressToken(person.lab);
    expect(first, 'the face shows the first HOTP code of the enrolled seed').toBe(referenceHotp(rig.seed, 0));
    expect(await typeCode(first)).toEqual({ status: 200, path: '/login/choose' });

    password = rig.typedSecret(freshPassword('tove'));
    await frame.fill('#new-user-id', 'tove.token');
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toEqual({ status: 200, path: '/self-service' });
    expect(await frame.locator(`#tokens tr[data-token="${rig.emulator.serial}"]`).getAttribute('data-state')).toBe('active');
    expect(await submit(frame, '#logout-submit')).toMatchObject({ path: '/login' });

    await letCodeExpire();
    expect(await stepOne(frame, 'tove.token', password)).toEqual({ status: 200, path: '/login/key' });
    const second = await pressToken(person.lab);
    expect(second).toBe(referenceHotp(rig.seed, 1));
    expect(await typeCode(second)).toEqual({ status: 200, path: '/self-service' });
    expect(await frame.locator('#person-user-id').textContent()).toBe('tove.token');
    expect(await submit(frame, '#logout-submit')).toMatchObject({ path: '/login' });
  });

  it('the same code typed a second time, in a new login, is refused as used already; the next press works', async () => {
    expect(password, 'the first test chose the password').not.toBe('');
    const used = referenceHotp(rig.seed, 1);

    expect(await stepOne(frame, 'tove.token', password)).toEqual({ status: 200, path: '/login/key' });
    const replay = await typeCode(used);
    expect(replay).toEqual({ status: 401, path: '/login/key' });
    expect(await frame.locator('#error').textContent()).toMatch(/used already/i);
    expect(await open(frame, '/self-service'), 'not signed in').toMatchObject({ path: '/login' });

    await letCodeExpire();
    expect(await stepOne(frame, 'tove.token', password)).toEqual({ status: 200, path: '/login/key' });
    const next = await pressToken(person.lab);
    expect(next).toBe(referenceHotp(rig.seed, 2));
    expect(await typeCode(next)).toEqual({ status: 200, path: '/self-service' });
  });

  it('with the token reported lost, its holder logs in with the temporary password issued in its place; the page says what to type', async () => {
    expect(password, 'the first test chose the password').not.toBe('');
    // Support reports the token lost (in-process: the one answer that shows the password is not the browser's).
    const { replacement } = await rig.server.service.tokens.reportLost(rig.emulator.serial, { replacement: true }, { name: 'support' });
    const temporary = rig.typedSecret(replacement!.password);

    expect(await submit(frame, '#logout-submit'), 'signed out after the test before').toMatchObject({ path: '/login' });
    expect(await stepOne(frame, 'tove.token', password)).toEqual({ status: 200, path: '/login/key' });
    expect(await frame.locator('#code').count(), 'no token code is asked for').toBe(0);
    expect(await frame.locator('#lost-token-serial').textContent()).toBe(rig.emulator.serial);
    expect(await frame.locator('#temporary-password-explain').textContent()).toMatch(/Type the temporary password .* 12 letters and digits/);
    await frame.fill('#temporary-password', temporary);
    expect(await submit(frame, '#key-submit')).toEqual({ status: 200, path: '/self-service' });
    expect(await frame.locator(`#tokens tr[data-token="${rig.emulator.serial}"]`).getAttribute('data-state')).toBe('lost');
    expect(await submit(frame, '#logout-submit')).toMatchObject({ path: '/login' });
  });

  it('no answer, console line, log line or audit row holds the seed (hex or base32) or a password typed', async () => {
    expect(rig.secretCounts().texts).toBe(3);
    expect(await rig.leaks()).toEqual([]);
    // Controls: the display's codes were recorded, and what the person typed was sent.
    expect(await rig.search(referenceHotp(rig.seed, 2))).toContainEqual(expect.stringMatching(/response 200 \/lab\/token\/press/));
    expect(await rig.search(password, { requests: true })).toContainEqual(expect.stringMatching(/request POST \/login$/));
  });
});
