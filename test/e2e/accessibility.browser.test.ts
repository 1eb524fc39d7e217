/**
 * WCAG 2.2 AA over every page of the service and the lab, signed in and out: axe-core (tags wcag2a,
 * wcag2aa, wcag21aa, wcag22aa; no rule disabled) in real headless Chromium, each page in a browser
 * context of its own, reached in the state it is checked in by the steps a person would take. The
 * pages are listed in test/support/a11y-pages.ts (add one there); a violation fails its page's test,
 * which prints each one with the selector of the element at fault.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations } from '../support/accessibility.ts';
import { A11Y_PAGES, prepareSite, type A11ySite } from '../support/a11y-pages.ts';
import { chromium, reportMissingChromium } from '../support/browser.ts';
import { startServiceRig, type ServiceRig } from '../support/service-rig.ts';

reportMissingChromium();

describe.skipIf(!chromium.available)('WCAG 2.2 AA (axe-core) on every page', () => {
  let rig: ServiceRig;
  let site: A11ySite;

  beforeAll(async () => {
    rig = await startServiceRig('a11y');
    const context = await rig.browser.newContext();
    try {
      site = await prepareSite(rig, await context.newPage());
    } finally {
      await context.close();
    }
  }, 120_000);
  afterAll(async () => {
    await site?.close();
    await rig?.close();
  });

  it('lists pages signed in and signed out, and a letter of every kind', () => {
    expect(A11Y_PAGES.some((page) => page.signedIn)).toBe(true);
    expect(A11Y_PAGES.some((page) => !page.signedIn)).toBe(true);
    expect(new Set(site.letters.map((letter) => letter.kind))).toEqual(new Set(['welcome', 'new-card', 'extra-card', 'employee-welcome', 'employee-card', 'key-file-activation', 'reissue']));
  });

  for (const entry of A11Y_PAGES) {
    it(`${entry.name} (${entry.signedIn ? 'signed in' : 'signed out'}): no violation`, async () => {
      const context = await rig.browser.newContext();
      try {
        const page = await context.newPage();
        await entry.open(page, site);
        const violations = await axeViolations(page);
        if (violations.length > 0) console.error(`${entry.name} at ${page.url()}:\n  ${violations.join('\n  ')}`);
        expect(violations, `${entry.name} at ${page.url()}`).toEqual([]);
      } finally {
        await context.close();
      }
    }, 180_000);
  }
});
