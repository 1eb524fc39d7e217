/**
 * The lab page in real headless Chromium (Debian's chromium, through playwright-core) against a
 * real validation server on loopback with a real SQLite file and an emulated token enrolled
 * through the bridge with a seed only this test knows: the codes the token's face shows are the
 * RFC 4226 codes of that seed (node:crypto reference), the same the debug link reads and the
 * server accepts; a letter posted to the outbox appears in the page and opens there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startEmulator, type RunningEmulator } from '../../device/targets/emulator/emulator.ts';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { enrollWithServer } from '../../host/bridge/enrolment.ts';
import { connectToken } from '../../host/bridge/operations.ts';
import { ServerClient } from '../../host/bridge/server-client.ts';
import { registerLabPage } from '../../host/lab/lab-page.ts';
import { startHost, type RunningHost } from '../../host/start.ts';
import { chromium, launchChromium, recordTraffic, reportMissingChromium, type Traffic } from '../support/browser.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { tempDir } from '../support/processes.ts';

/** The common 7-segment digits by segment name, written out here rather than taken from the firmware's font. */
const DIGIT_SEGMENTS: Readonly<Record<string, string>> = {
  '0': 'abcdef', '1': 'bc', '2': 'abdeg', '3': 'abcdg', '4': 'bcfg',
  '5': 'acdfg', '6': 'acdefg', '7': 'abc', '8': 'abcdefg', '9': 'abcdfg',
};

reportMissingChromium();

describe.skipIf(!chromium.available)('the lab page in headless Chromium', () => {
  const dir = tempDir('labweb');
  const seed = new Uint8Array(randomBytes(20));
  let emulator: RunningEmulator;
  let server: RunningHost;
  let client: ServerClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let traffic: Traffic;

  beforeAll(async () => {
    emulator = await startEmulator({ profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') });
    server = await startHost({
      dbFile: path.join(dir, 'server', 'tokens.db'),
      port: 0,
      env: {},
      extend: (app, { service }) => registerLabPage(app, { debugAddress: emulator.debug, tokenSerial: emulator.serial, outbox: service.outbox }),
    });
    client = new ServerClient({ url: server.url, adminKey: server.createdKeys.admin!, clientKey: server.createdKeys.client! });
    const bridge = await connectToken(emulator.port);
    try {
      await enrollWithServer(bridge, client, { secret: seed, mode: 'hotp', algorithm: 'sha1', digits: 6 });
    } finally {
      await bridge.close();
    }
    browser = await launchChromium();
    context = await browser.newContext();
    traffic = recordTraffic(context);
    page = await context.newPage();
    await page.goto(`${server.url}/lab`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await emulator?.close();
  });

  /** Which segments of each position the page lights, leftmost first, blanks left out. */
  async function litDigits(): Promise<string[]> {
    const lit: string[] = [];
    const cells = page.locator('#token-display .digit');
    const count = await cells.count();
    for (let i = 0; i < count; i++) {
      const on = await cells.nth(i).locator('.seg.on').evaluateAll((segments) => segments.map((segment) => segment.getAttribute('data-seg') ?? '?'));
      if (on.length > 0) lit.push(on.sort().join(''));
    }
    return lit;
  }

  it('three clicks on the token button show the next three HOTP codes of its seed, drawn segment by segment', async () => {
    const codes: string[] = [];
    for (let counter = 0; counter < 3; counter++) {
      const [response] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/lab/token/press'), page.click('#token-button')]);
      await page.locator(`#token-display[data-presses="${counter + 1}"]`).waitFor();
      const shown = await page.locator('#token-display').getAttribute('data-text');

      expect(shown).toMatch(/^\d{6}$/);
      expect(shown).toBe(referenceHotp(seed, counter));
      expect(((await response.json()) as { display: string }).display).toBe(shown);
      expect(String((await debugCall(emulator.debug, 'display')).display).trim()).toBe(shown);
      expect(await litDigits()).toEqual([...shown!].map((digit) => [...DIGIT_SEGMENTS[digit]!].sort().join('')));

      codes.push(shown!);
      // The real token shows a code for 30 s and a press meanwhile only shows it longer: let it expire.
      await debugCall(emulator.debug, 'advance', { ms: 31_000 });
    }
    expect(new Set(codes).size).toBe(3);
    for (const code of codes) expect(await client.verify(emulator.serial, code)).toMatchObject({ result: 'accepted' });
  });

  it('shows the serial on the face and the service login page in its frame, from this server', async () => {
    expect(await page.locator('#token').getAttribute('data-serial')).toBe(emulator.serial);
    const service = page.frame({ name: 'service' });
    expect(service?.url()).toBe(`${server.url}/login`);
    // Loaded, not refused: a page that forbade framing would leave an error page and no form.
    expect(await service!.locator('form').count()).toBeGreaterThan(0);
  });

  it('a letter posted to the outbox appears in #outbox and opens in the page', async () => {
    const temporaryPassword = randomBytes(9).toString('base64url');
    const posted = await server.service.outbox.post({
      kind: 'welcome',
      personId: '1234567890',
      recipient: 'Karen Jensen',
      subject: 'Welcome to NemID (velkommen)',
      html: `<!doctype html><html><body><h1>Welcome</h1><p>Temporary password (midlertidig adgangskode): <b data-secret="temporary-password">${temporaryPassword}</b></p></body></html>`,
      attachments: [{ name: 'note.txt', contentType: 'text/plain', bytes: new TextEncoder().encode('a note') }],
    });
    await page.click('#outbox-refresh');
    const link = page.locator(`#outbox a[data-letter-id="${posted.id}"]`);
    await link.waitFor();
    expect(await link.textContent()).toBe(posted.subject);
    expect(await page.locator(`#outbox li:has(a[data-letter-id="${posted.id}"]) a[data-attachment="note.txt"]`).count()).toBe(1);

    await link.click();
    const secret = page.frameLocator('iframe[name="letter"]').locator('[data-secret="temporary-password"]');
    await secret.waitFor();
    expect(await secret.textContent()).toBe(temporaryPassword);

    // The traffic record saw the letter's body, so later tests can search it for leaks.
    const seen = await traffic.find(temporaryPassword);
    expect(seen.some((entry) => entry.kind === 'response' && new URL(entry.url).pathname === `/lab/outbox/${posted.id}`)).toBe(true);
  });

  it("each new code is announced in a polite live region, digit by digit, and the face's text reads it so too", async () => {
    await debugCall(emulator.debug, 'advance', { ms: 31_000 });
    const announcement = page.locator('#token-announcement');
    expect(await announcement.getAttribute('aria-live')).toBe('polite');
    await page.click('#token-button');
    const code = String((await debugCall(emulator.debug, 'display')).display).trim();
    await page.locator(`#token-announcement[data-code="${code}"]`).waitFor();
    expect(await announcement.textContent()).toBe(`New code: ${[...code].join(' ')}`);
    expect(await page.locator('#token-display').getAttribute('aria-label')).toBe(`Display: ${[...code].join(' ')}`);
    // A press while it is on shows the same code: nothing new to announce.
    await page.click('#token-button');
    await page.locator(`#token-display[data-text="${code}"]`).waitFor();
    expect(await announcement.textContent()).toBe(`New code: ${[...code].join(' ')}`);

    // A code pressed elsewhere (the terminal face, the debug link) is announced as the page sees it.
    await debugCall(emulator.debug, 'advance', { ms: 31_000 });
    await page.locator('#token-display[aria-label="Display: off"], #token-display[aria-label="Display: blank"]').waitFor();
    const elsewhere = String((await debugCall(emulator.debug, 'press')).display).trim();
    expect(elsewhere).not.toBe(code);
    await page.locator(`#token-announcement[data-code="${elsewhere}"]`).waitFor();
    expect(await announcement.textContent()).toBe(`New code: ${[...elsewhere].join(' ')}`);
    await debugCall(emulator.debug, 'advance', { ms: 31_000 });
  });

  it("the read-aloud control turns the token's speaker on at the volume and speed chosen, and the page says what the token said", async () => {
    const listener = await context.newPage();
    // The browser's own voice is the page's to use; this records what it was asked to say.
    await listener.addInitScript(`
      window.spoken = [];
      const speak = window.speechSynthesis.speak.bind(window.speechSynthesis);
      window.speechSynthesis.speak = (utterance) => {
        window.spoken.push({ text: utterance.text, lang: utterance.lang, rate: utterance.rate, volume: utterance.volume });
        speak(utterance);
      };
    `);
    try {
      await listener.goto(`${server.url}/lab`);
      const audio = () => debugCall(emulator.debug, 'audio');
      expect(await listener.locator('#token-read-aloud').isChecked()).toBe(false);
      await listener.check('#token-read-aloud');
      await expect.poll(audio).toEqual({ volume: 3, speed: 3 });
      await listener.selectOption('#token-volume', '5');
      await expect.poll(audio).toEqual({ volume: 5, speed: 3 });
      await listener.selectOption('#token-speed', '2');
      await expect.poll(audio).toEqual({ volume: 5, speed: 2 });

      await listener.click('#token-button');
      const code = String((await debugCall(emulator.debug, 'display')).display).trim();
      const digits = [...code].join(' ');
      await listener.locator('#token-said', { hasText: `The token said: ${digits}` }).waitFor();
      await expect.poll(() => listener.evaluate('window.spoken')).toEqual([{ text: digits, lang: 'da-DK', rate: expect.closeTo(0.8, 5), volume: 1 }]);

      await listener.uncheck('#token-read-aloud');
      await expect.poll(audio).toEqual({ volume: 0, speed: 2 });
      // Another page opened now shows the token's settings as they are.
      await page.reload();
      expect(await page.locator('#token-read-aloud').isChecked()).toBe(false);
      await expect.poll(() => page.locator('#token-speed').inputValue()).toBe('2');
    } finally {
      await listener.close();
      await debugCall(emulator.debug, 'advance', { ms: 31_000 });
    }
  });

  it('records console messages too', async () => {
    const marker = `lab-console-${randomBytes(6).toString('hex')}`;
    await page.evaluate(`console.info(${JSON.stringify(marker)})`);
    const seen = await traffic.find(marker);
    expect(seen).toEqual([expect.objectContaining({ kind: 'console', type: 'info', text: marker })]);
  });

  it('the page fetched nothing from anywhere but this server, and raised no script error', async () => {
    await traffic.settled();
    const responses = traffic.entries.filter((entry) => entry.kind === 'response');
    expect(responses.length).toBeGreaterThan(3);
    for (const entry of responses) expect(new URL(entry.url).origin).toBe(new URL(server.url).origin);
    expect(traffic.entries.filter((entry) => entry.kind === 'page-error')).toEqual([]);
    const failedLabCalls = traffic.entries.filter((entry) => entry.kind === 'response' && new URL(entry.url).pathname.startsWith('/lab') && entry.status >= 400);
    expect(failedLabCalls).toEqual([]);
  });
});
