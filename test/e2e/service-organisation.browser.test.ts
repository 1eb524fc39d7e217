/**
 * Organisations and employee signatures (medarbejdersignatur) in real headless Chromium: an
 * organisation's NemID administrator, set up by the operator, logs in with the card from their
 * letter and issues an employee a key file (nøglefil); the employee activates it at /activate
 * (the key pair is made in the browser and downloaded), logs in with the downloaded file at
 * /login/key-file, and the key and its password never leave the browser. Another organisation's
 * administrator neither sees the employee nor can act on them. At the end every answer, console
 * line, log line and audit row is searched for what was typed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from 'playwright-core';
import { chromium, reportMissingChromium } from '../support/browser.ts';
import { tempDir } from '../support/processes.ts';
import {
  freshPassword,
  open,
  readLetterInLab,
  shownNumber,
  startServiceRig,
  stepOne,
  submit,
  type Person,
  type ServiceRig,
} from '../support/service-rig.ts';

reportMissingChromium();

describe.skipIf(!chromium.available)('organisations and key files in the browser', () => {
  let rig: ServiceRig;
  let downloads = '';
  /** Filled by the first test, used by the next. */
  const issued = { employeeId: '', employeeName: 'Karen Nøglefil', keyFilePassword: '', fileText: '', activationCode: '' };

  beforeAll(async () => {
    rig = await startServiceRig('svc-org');
    downloads = tempDir('svc-keyfile');
  });
  afterAll(async () => {
    await rig?.close();
    if (downloads) fs.rmSync(downloads, { recursive: true, force: true });
  });

  /** An organisation's first administrator: letter read in the lab, first login with a card key, credentials chosen, in again: lands on /admin. */
  async function administrator(organisation: { cvr: string; name: string; administrator: string }, userId: string): Promise<{ person: Person; frame: Frame }> {
    const person = await rig.newPerson();
    const { adminNemId, letterId, cardLetterId } = await rig.createOrganisation(organisation);
    const letter = await readLetterInLab(person.lab, letterId);
    expect(letter.nemId).toBe(adminNemId);
    const card = await readLetterInLab(person.lab, cardLetterId);
    expect([letter.keys.size, card.temporaryPassword], 'the password and the card come in separate letters').toEqual([0, undefined]);
    const frame = person.service();
    const typeKey = async () => {
      const number = await shownNumber(frame);
      await frame.fill('#key', rig.typedKey(card.keys.get(number!)!));
      return submit(frame, '#key-submit');
    };
    expect((await stepOne(frame, adminNemId, rig.typedSecret(letter.temporaryPassword!))).path).toBe('/login/key');
    expect((await typeKey()).path).toBe('/login/choose');
    const password = rig.typedSecret(freshPassword(userId));
    await frame.fill('#new-user-id', userId);
    await frame.fill('#new-password', password);
    await frame.fill('#new-password-again', password);
    expect(await submit(frame, '#choose-submit')).toEqual({ status: 200, path: '/self-service' });
    expect(await frame.locator('#role').getAttribute('data-role')).toBe('administrator');
    expect(await submit(frame, '#logout-submit')).toMatchObject({ path: '/login' });

    expect((await stepOne(frame, userId, password)).path).toBe('/login/key');
    expect(await typeKey(), 'an administrator lands on the administration page').toEqual({ status: 200, path: '/admin' });
    expect(await frame.locator('#organisation').getAttribute('data-cvr')).toBe(organisation.cvr);
    return { person, frame };
  }

  let adminA: { person: Person; frame: Frame };

  it('an administrator issues a key file; the employee activates it, gets the file as a download, and logs in with it; the key never leaves the browser', async () => {
    adminA = await administrator({ cvr: '10103940', name: 'Statsministeriet', administrator: 'Jens Admin' }, 'jens.admin');
    const { frame } = adminA;
    await frame.fill('#employee-name', issued.employeeName);
    await frame.selectOption('#employee-credential', 'key-file');
    await frame.selectOption('#employee-role', 'employee');
    expect(await submit(frame, '#issue-submit')).toEqual({ status: 200, path: '/admin' });
    expect(await frame.locator('#notice').count()).toBe(1);
    const row = frame.locator('#employees tr[data-person]').filter({ hasText: issued.employeeName });
    expect(await row.count()).toBe(1);
    issued.employeeId = (await row.getAttribute('data-person'))!;
    expect(issued.employeeId).toMatch(/^\d{10}$/);
    expect(await row.getAttribute('data-state')).toBe('pending');
    expect(await row.locator('li[data-key-file]').getAttribute('data-state')).toBe('awaiting-activation');

    // The employee, on their own machine.
    const employee = await rig.newPerson();
    const letters = await rig.server.service.outbox.list({ personId: issued.employeeId });
    const activationLetter = letters.find((l) => l.kind === 'key-file-activation');
    expect(activationLetter, 'the activation letter is in the outbox').toBeDefined();
    const letter = await readLetterInLab(employee.lab, activationLetter!.id);
    expect(letter.activationCode).toMatch(/\S{8,}/);
    expect(letter.temporaryPassword, 'a key-file employee has no password at the service').toBeUndefined();
    issued.activationCode = rig.typedSecret(letter.activationCode!);
    issued.keyFilePassword = rig.typedSecret(freshPassword('karen-file'));

    const page = await employee.context.newPage();
    await page.goto(new URL('/activate', employee.lab.url()).toString());
    await page.fill('#activation-code', issued.activationCode);
    await page.fill('#key-file-new-password', issued.keyFilePassword);
    await page.fill('#key-file-new-password-again', issued.keyFilePassword);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#activate-submit')]);
    const file = path.join(downloads, 'employee.nvkey');
    await download.saveAs(file);
    await page.locator('#activate-done').waitFor({ state: 'visible' });
    expect(await page.locator('#activate-status').textContent()).toBe('Activation complete.');
    expect(download.suggestedFilename()).toMatch(/^nøglefil-.*\.nvkey$/);
    expect(await page.locator('#key-file-download').getAttribute('href')).toMatch(/^blob:/);

    issued.fileText = fs.readFileSync(file, 'utf8');
    const keyFile = JSON.parse(issued.fileText) as { format?: unknown; personId?: unknown; publicKey?: unknown; privateKey?: unknown };
    expect(keyFile).toMatchObject({ format: 'noegleviser-key-file/1', personId: issued.employeeId });
    expect(typeof keyFile.privateKey).toBe('string');
    expect(issued.fileText, 'the file holds the key sealed, not the password').not.toContain(issued.keyFilePassword);
    // What the browser sent: the public key, never the sealed private key or its password.
    const sent = employee.requests.filter((request) => request.method === 'POST');
    expect(sent.map((request) => new URL(request.url).pathname)).toEqual(['/activate/begin', '/activate/complete']);
    expect(sent[1]!.body).toContain(keyFile.publicKey as string);
    for (const request of sent) {
      expect(request.body).not.toContain(keyFile.privateKey as string);
      expect(request.body).not.toContain(issued.keyFilePassword);
    }

    // A wrong key-file password is caught in the browser: nothing is sent.
    expect(await open(page, '/login/key-file')).toEqual({ status: 200, path: '/login/key-file' });
    await page.setInputFiles('#key-file-input', file);
    await page.fill('#key-file-password', rig.typedSecret(freshPassword('not-karen')));
    await page.click('#key-file-submit');
    await page.locator('#key-file-status', { hasText: /wrong key-file password/i }).waitFor();
    expect(page.url()).toMatch(/\/login\/key-file$/);
    expect(employee.requests.filter((request) => request.method === 'POST' && new URL(request.url).pathname === '/login/key-file')).toEqual([]);

    await page.fill('#key-file-password', issued.keyFilePassword);
    await Promise.all([page.waitForURL((url) => url.pathname === '/self-service'), page.click('#key-file-submit')]);
    expect(await page.locator('#organisation').getAttribute('data-cvr')).toBe('10103940');
    expect(await page.locator('#organisation').textContent()).toContain('Statsministeriet');
    expect(await page.locator('#role').getAttribute('data-role')).toBe('employee');
    expect(await page.locator('#person-name').textContent()).toBe(issued.employeeName);
    expect(await page.locator('#key-files tr[data-key-file]').getAttribute('data-state')).toBe('active');
    const loginPost = employee.requests.filter((request) => request.method === 'POST' && new URL(request.url).pathname === '/login/key-file');
    expect(loginPost).toHaveLength(1);
    expect(JSON.parse(loginPost[0]!.body)).toEqual({ personId: issued.employeeId, signature: expect.any(String) });

    // The administrator sees the employee's key file in use.
    expect(await open(frame, '/admin')).toEqual({ status: 200, path: '/admin' });
    expect(await frame.locator(`#employees tr[data-person="${issued.employeeId}"]`).getAttribute('data-state')).toBe('active');
  });

  it('another organisation’s administrator does not see the employee, and blocking them from that session is "not found"', async () => {
    expect(issued.employeeId, 'the first test issued the employee').toMatch(/^\d{10}$/);
    const adminB = await administrator({ cvr: '24256790', name: 'Novo Nordisk A/S', administrator: 'Lene Anden' }, 'lene.anden');
    const { frame, person } = adminB;
    const listed = await frame.locator('#employees tr[data-person]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-person')));
    expect(listed.length, 'the administrator sees their own organisation').toBeGreaterThan(0);
    expect(listed).not.toContain(issued.employeeId);
    const content = await frame.content();
    expect(content).not.toContain(issued.employeeId);
    expect(content).not.toContain(issued.employeeName);

    const csrf = await frame.locator('#issue-form input[name="_csrf"]').inputValue();
    const post = async (id: string) => {
      const answer = await person.context.request.post(new URL(`/admin/employees/${id}/block`, frame.url()).toString(), { form: { _csrf: csrf }, maxRedirects: 0 });
      const body = await answer.text();
      rig.extraAnswers.push(body);
      return { status: answer.status(), error: /id="error"[^>]*>([^<]*)</.exec(body)?.[1], body };
    };
    const foreign = await post(issued.employeeId);
    const nobody = await post('0000000000');
    expect(foreign.status).toBe(404);
    expect(foreign.body, 'the refusal is the administrator’s page, not a missing route').toContain('id="issue-form"');
    expect(foreign.error, 'the same answer as for a person who does not exist').toBe(nobody.error);
    expect(nobody.status).toBe(404);
    expect(foreign.body).not.toContain(issued.employeeName);
    expect((await rig.server.service.people.get(issued.employeeId)).state).toBe('active');

    // Control: the same action from the employee's own administrator does block them.
    const own = adminA.frame;
    expect(await open(own, '/admin')).toEqual({ status: 200, path: '/admin' });
    expect(await submit(own, `.block-employee[data-id="${issued.employeeId}"]`), 'asked first').toEqual({ status: 200, path: `/admin/employees/${issued.employeeId}/block` });
    expect(await own.locator('#confirm-question').textContent()).toBe(`Block ${issued.employeeName}'s employee signature?`);
    await own.click('#confirm-submit');
    await own.waitForURL((url) => url.searchParams.get('done') === 'employee-blocked');
    expect(await own.locator(`#employees tr[data-person="${issued.employeeId}"]`).getAttribute('data-state')).toBe('blocked');
    expect((await rig.server.service.people.get(issued.employeeId)).state).toBe('blocked');
  });

  it('no answer, console line, log line or audit row holds a password, card key or activation code typed, or the token seed', async () => {
    const counts = rig.secretCounts();
    expect(counts.texts).toBeGreaterThanOrEqual(7);
    expect(counts.keys).toBeGreaterThanOrEqual(4);
    expect(await rig.leaks()).toEqual([]);
    // Controls: the activation code was shown in its letter and sent by the browser; the employee's pages were recorded.
    expect(await rig.search(issued.activationCode, { letters: true })).toContainEqual(expect.stringMatching(/response 200 \/lab\/outbox\//));
    expect(await rig.search(issued.activationCode, { requests: true })).toContainEqual(expect.stringMatching(/request POST \/activate\/begin$/));
    expect(await rig.search(issued.employeeName)).toContainEqual(expect.stringMatching(/response 200 \/self-service/));
  });
});
