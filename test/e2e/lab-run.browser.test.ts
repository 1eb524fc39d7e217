/**
 * `npm start`'s lab as a newcomer meets it: the real `noegleviser lab` process (server, login
 * service, emulated token, bridge) and its page in real headless Chromium, at the window sizes of
 * an ordinary laptop. The welcome letter is the one the lab itself sent; the code a press shows is
 * checked against the server with the lab's own client key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { chromium, launchChromium, reportMissingChromium } from '../support/browser.ts';
import { startLab, type LabRun } from '../support/lab-process.ts';
import { api, tempDir } from '../support/processes.ts';

reportMissingChromium();

/** How long the page may take to notice a change it polls for (it reads the display every second). */
const NOTICE_MS = 10_000;

describe.skipIf(!chromium.available)("npm start's lab page in headless Chromium", () => {
  const dir = tempDir('labrun');
  let lab: LabRun | undefined;
  let browser: Browser | undefined;
  let clientKey: string;

  beforeAll(async () => {
    lab = await startLab(path.join(dir, 'data'), path.join(dir, 'run'));
    clientKey = (JSON.parse(fs.readFileSync(path.join(dir, 'data', 'api-keys.json'), 'utf8')) as { client: string }).client;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function openLab(width: number, height: number): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    await page.goto(lab!.ready.lab);
    return page;
  }

  const statusText = (page: Page) => page.locator('#token-status').textContent();

  it.each([
    [1280, 800],
    [1024, 768],
  ])('at %i×%i the opened welcome letter shows the NemID number and temporary password whole, without scrolling sideways', async (width, height) => {
    const page = await openLab(width, height);
    try {
      await page.locator('#outbox a[data-letter-id]').first().click();
      const letter = page.frameLocator('iframe[name="letter"]');
      const number = letter.locator('[data-field="nemid-number"]');
      const password = letter.locator('[data-secret="temporary-password"]');
      await password.waitFor();
      expect(await number.textContent()).toBe(lab!.ready.person);
      expect(await password.textContent()).toMatch(/^\S{8,}$/);

      const frame = (await page.locator('#letter').boundingBox())!;
      for (const [what, field] of [['NemID number', number], ['temporary password', password]] as const) {
        const box = (await field.boundingBox())!;
        // Inside the frame as it is drawn, with nothing scrolled: seen whole where the page shows the letter.
        expect({ what, left: box.x >= frame.x, right: box.x + box.width <= frame.x + frame.width, top: box.y >= frame.y, bottom: box.y + box.height <= frame.y + frame.height }).toEqual({
          what,
          left: true,
          right: true,
          top: true,
          bottom: true,
        });
      }
      // The letter needs no sideways scrolling in its frame, nor the page in the window; the login stays beside it.
      const [letterScroll, letterClient] = await letter.locator('html').evaluate((root) => [root.scrollWidth, root.clientWidth]);
      expect(letterScroll).toBeLessThanOrEqual(letterClient);
      expect(await page.locator('html').evaluate((root) => root.scrollWidth)).toBeLessThanOrEqual(width);
      const login = (await page.locator('iframe[name="service"]').boundingBox())!;
      expect(login.x).toBeGreaterThanOrEqual(frame.x + frame.width);
      expect(login.x + login.width).toBeLessThanOrEqual(width);
    } finally {
      await page.context().close();
    }
  });

  it("the hint to type a code goes once the code is used, and once the display goes dark; when the lab stops, no code stays lit", async () => {
    const page = await openLab(1280, 800);
    try {
      const pressForCode = async (presses: number) => {
        await page.click('#token-button');
        await page.locator(`#token-display[data-presses="${presses}"]`).waitFor();
        const code = (await page.locator('#token-display').getAttribute('data-text'))!;
        expect(code).toMatch(/^\d{6}$/);
        expect(await statusText(page)).toBe(`Code ${code}: type it into the login page`);
        return code;
      };
      const hintGone = (code: string) =>
        page.locator('#token-status').filter({ hasNotText: code }).waitFor({ timeout: NOTICE_MS });

      // Used: the server accepts the code (as the login would); the display still shows it, the hint goes.
      const used = await pressForCode(1);
      const verified = await api({ url: lab!.ready.server }, 'POST', '/v1/verify', { key: clientKey, body: { serial: lab!.ready.serial, code: used } });
      expect(verified.body).toMatchObject({ result: 'accepted' });
      await hintGone(used);
      expect(await page.locator('#token-display').getAttribute('data-text')).toBe(used);
      expect(await statusText(page)).toBe('That code was used; the next press after the display has gone dark shows a new one.');

      // Dark: the token's 30 s pass with the code unused; the hint goes with it.
      await debugCall(lab!.ready.debug, 'advance', { ms: 31_000 });
      await page.locator('#token-display[data-text=""]').waitFor({ timeout: NOTICE_MS });
      const unused = await pressForCode(2);
      expect(unused).not.toBe(used);
      await debugCall(lab!.ready.debug, 'advance', { ms: 31_000 });
      await hintGone(unused);
      expect(await page.locator('#token-display').getAttribute('data-text')).toBe('');

      // Stopped: the code on the display does not stay lit on the page.
      const last = await pressForCode(3);
      expect(await lab!.stop()).toBe(0);
      await page.locator('#token-display.off[data-text=""]').waitFor({ timeout: NOTICE_MS });
      expect(await page.locator('#token-display .seg.on').count()).toBe(0);
      await page.locator('#token-status.error').filter({ hasText: 'the lab does not answer' }).waitFor({ timeout: NOTICE_MS });
      expect(await statusText(page)).not.toContain(last);
      expect(await page.locator('#token-display .seg.on').count()).toBe(0);
    } finally {
      await page.context().close();
    }
  });
});
