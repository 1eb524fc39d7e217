/**
 * Real headless Chromium for browser tests: Debian's `chromium` driven by playwright-core, which
 * never downloads a browser of its own. Where /usr/bin/chromium is missing a browser test file is
 * skipped with a message, except in CI (CI=true), where the missing package is a failing test.
 * Also `recordTraffic`, which keeps every response and console message of a page or context, so a
 * test can search all of them for a secret that must not leak.
 */
import fs from 'node:fs';
import { chromium as playwrightChromium, type Browser, type BrowserContext, type ConsoleMessage, type Page, type Response } from 'playwright-core';
import { reportMissingPackage } from './required-package.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * --no-sandbox: the tests may run as root. The networking flags keep Chromium from calling home:
 * on a closed network those connections fail by the dozen at every start.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumAvailability {
  readonly available: boolean;
  readonly executablePath: string;
  /** Why it is not available, naming the Debian package; empty when it is. */
  readonly missing: string;
}

export function chromiumAvailability(executablePath = CHROMIUM_PATH): ChromiumAvailability {
  let available = false;
  try {
    fs.accessSync(executablePath, fs.constants.X_OK);
    available = true;
  } catch {
    available = false;
  }
  return { available, executablePath, missing: available ? '' : `Debian's chromium is missing: apt-get install chromium (no ${executablePath})` };
}

export const chromium: ChromiumAvailability = chromiumAvailability();

/**
 * Call at the top level of a browser test file, beside `describe.skipIf(!chromium.available)`:
 * where Chromium is missing it warns that the file is skipped, or in CI registers a test that fails.
 */
export function reportMissingChromium(availability: ChromiumAvailability = chromium): void {
  reportMissingPackage(availability.missing, 'Debian chromium is installed', 'the browser tests are skipped');
}

/** Starts headless Chromium on a new temporary profile, which Playwright removes when the browser closes. */
export async function launchChromium(availability: ChromiumAvailability = chromium): Promise<Browser> {
  if (!availability.available) throw new Error(availability.missing);
  return playwrightChromium.launch({
    executablePath: availability.executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    chromiumSandbox: false,
  });
}

export type TrafficEntry =
  | { readonly kind: 'response'; readonly url: string; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string }
  | { readonly kind: 'console'; readonly type: string; readonly text: string; readonly url: string }
  | { readonly kind: 'page-error'; readonly text: string };

export interface Traffic {
  /** Everything recorded so far; a response body lands once it has been read (see `settled`). */
  readonly entries: TrafficEntry[];
  /** Waits until every response seen so far has its body recorded. */
  settled(): Promise<void>;
  /** The entries whose text (body, headers, console text, URL) contains `needle`, after `settled()`. */
  find(needle: string): Promise<TrafficEntry[]>;
  stop(): void;
}

/**
 * Records every response (all frames, redirects included, with its headers and body as text) and
 * every console message and uncaught page error of `target`. Record a context to catch popups too.
 */
export function recordTraffic(target: Page | BrowserContext): Traffic {
  const entries: TrafficEntry[] = [];
  const pending = new Set<Promise<void>>();

  const onResponse = (response: Response) => {
    const read = (async () => {
      const headers = await response.allHeaders().catch(() => response.headers());
      // A redirect, or a response whose page has gone, has no body to read.
      const body = await response.body().then(
        (bytes) => bytes.toString('utf8'),
        () => '',
      );
      entries.push({ kind: 'response', url: response.url(), status: response.status(), headers, body });
    })();
    pending.add(read);
    void read.finally(() => pending.delete(read));
  };
  const onConsole = (message: ConsoleMessage) => {
    entries.push({ kind: 'console', type: message.type(), text: message.text(), url: message.location().url });
  };
  const onPageError = (error: Error) => {
    entries.push({ kind: 'page-error', text: `${error.message}\n${error.stack ?? ''}` });
  };
  const onPage = (page: Page) => page.on('pageerror', onPageError);

  if (isContext(target)) {
    target.on('response', onResponse);
    target.on('console', onConsole);
    target.on('page', onPage);
    for (const page of target.pages()) onPage(page);
  } else {
    target.on('response', onResponse);
    target.on('console', onConsole);
    target.on('pageerror', onPageError);
  }

  const settled = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    entries,
    settled,
    find: async (needle) => {
      await settled();
      return entries.filter((entry) => entryText(entry).includes(needle));
    },
    stop: () => {
      if (isContext(target)) {
        target.off('response', onResponse);
        target.off('console', onConsole);
        target.off('page', onPage);
        for (const page of target.pages()) page.off('pageerror', onPageError);
      } else {
        target.off('response', onResponse);
        target.off('console', onConsole);
        target.off('pageerror', onPageError);
      }
    },
  };
}

function isContext(target: Page | BrowserContext): target is BrowserContext {
  return 'newPage' in target && 'pages' in target;
}

function entryText(entry: TrafficEntry): string {
  switch (entry.kind) {
    case 'response':
      return [entry.url, ...Object.entries(entry.headers).map(([name, value]) => `${name}: ${value}`), entry.body].join('\n');
    case 'console':
      return `${entry.url}\n${entry.text}`;
    case 'page-error':
      return entry.text;
  }
}
