/**
 * The simulation's HTML report in real Chromium, opened from its file with the network off (the
 * page carries its plotting library inline): every plot drawn on its canvas. A screenshot is kept
 * for people to look at, in artifacts/simulation/ at the repository's root (git-ignored, outside
 * any test's temporary folder, so CI can keep it as an artefact); it is not compared.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { chromium, launchChromium, reportMissingChromium } from '../test/support/browser.ts';
import { ROOT, tempDir } from '../test/support/processes.ts';
import { runSimulate } from './test/run-command.ts';

export const ARTIFACT_DIR = path.join(ROOT, 'artifacts', 'simulation');
const PLOTS = ['plot-weekly', 'plot-offsets', 'plot-battery', 'plot-flash', 'plot-ahead'];

reportMissingChromium();

describe.skipIf(!chromium.available)('the simulation report in Chromium', () => {
  const dir = tempDir('simreport');
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('draws all five plots offline, each canvas painted', { timeout: 300_000 }, async () => {
    const run = await runSimulate(['--tokens', '30', '--days', '28', '--seed', 'nv-report-1', '--report', dir]);
    expect(run.code, run.stderr).toBe(0);
    browser = await launchChromium();
    const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 1600 } });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto('file://' + path.join(dir, 'report.html'));
    await page.waitForSelector('body[data-charts="5"]');
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([]);
    expect(await page.locator('canvas').count()).toBe(PLOTS.length);
    for (const id of PLOTS) {
      // A drawn canvas has pixels that are not transparent.
      const painted = (await page.evaluate(`(() => {
        const canvas = document.getElementById(${JSON.stringify(id)});
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
        return { count, width: canvas.width };
      })()`)) as { count: number; width: number };
      expect(painted.width, id).toBeGreaterThan(100);
      expect(painted.count, id).toBeGreaterThan(1000);
    }
    expect(await page.locator('#invariants td.held').count()).toBe(6);
    fs.mkdirSync(ARTIFACT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACT_DIR, 'report.png'), fullPage: true });
    expect(fs.statSync(path.join(ARTIFACT_DIR, 'report.png')).size).toBeGreaterThan(10_000);
  });
});
