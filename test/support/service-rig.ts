/**
 * The rig of the login service's browser tests: a real validation server in-process (real SQLite
 * file, loopback, a pino log kept in memory), an emulated token enrolled through the bridge with a
 * seed only the test knows, the lab page (token face, outbox, service frame) and headless Chromium.
 * Each person gets a browser context of their own whose responses, console and requests are kept,
 * and every secret the test types is registered, so that at the end the traffic, the log and the
 * audit rows can be searched for all of them (`leaks`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Browser, BrowserContext, Frame, Page, Response } from 'playwright-core';
import { startEmulator, type RunningEmulator } from '../../device/targets/emulator/emulator.ts';
import { enrollWithServer } from '../../host/bridge/enrolment.ts';
import { connectToken } from '../../host/bridge/operations.ts';
import { ServerClient } from '../../host/bridge/server-client.ts';
import { registerLabPage } from '../../host/lab/lab-page.ts';
import { registerLabSitesPage } from '../../host/lab/sites/lab-sites.ts';
import type { RunningSite } from '../../host/lab/sites/relying-party.ts';
import { startHost, type RunningHost } from '../../host/start.ts';
import { hostStorage } from './test-store.ts';
import { launchChromium, recordTraffic, type Traffic } from './browser.ts';
import { tempDir } from './processes.ts';
import { seedSpellings } from './seed-search.ts';
import { cprOfAge as cprWithSerial, readLetter } from './web-client.ts';

const ADMIN_KEY = `nv_admin_${randomBytes(12).toString('hex')}`;
const CLIENT_KEY = `nv_client_${randomBytes(12).toString('hex')}`;

/** A request the browser sent: its URL and body (the typed secrets are expected here, and only here). */
export interface SentRequest {
  readonly url: string;
  readonly method: string;
  readonly body: string;
}

/** One person's browser: a context of their own, the lab page in it, and what it saw and sent. */
export interface Person {
  readonly context: BrowserContext;
  /** The lab page (/lab): token face, outbox, and the service's login page in its frame. */
  readonly lab: Page;
  readonly traffic: Traffic;
  readonly requests: SentRequest[];
  /** The service frame of the lab page. */
  service(): Frame;
}

/** What a letter says, read from the letter frame of the lab page. */
export interface LetterContents {
  readonly nemId: string | undefined;
  readonly temporaryPassword: string | undefined;
  readonly activationCode: string | undefined;
  /** Card keys by their 4-digit number. */
  readonly keys: ReadonlyMap<string, string>;
}

export interface OperatorAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A place a secret was found where it must not be, named without the secret itself. */
export interface Leak {
  readonly kind: string;
  readonly where: string;
}

export interface ServiceRig {
  readonly server: RunningHost;
  readonly emulator: RunningEmulator;
  /** The token's seed: only this rig and the server know it. */
  readonly seed: Uint8Array;
  readonly browser: Browser;
  readonly logLines: string[];
  /** Answers the tests received outside a page (a form posted with the context's request API). */
  readonly extraAnswers: string[];
  /** The operator API with the admin key. */
  operator(method: 'GET' | 'POST', url: string, body?: unknown): Promise<OperatorAnswer>;
  orderPerson(input: { name: string; cpr?: string; birthDate?: string; credential?: 'card' | 'token'; tokenSerial?: string }): Promise<{ nemId: string; letterId: string }>;
  /** `letterId`: the administrator's temporary password; `cardLetterId`: their code card, in a letter of its own. */
  createOrganisation(input: { cvr: string; name: string; administrator: string }): Promise<{ organisationId: string; adminNemId: string; letterId: string; cardLetterId: string }>;
  /** A new browser context with the lab page open. */
  newPerson(): Promise<Person>;
  /** Registers a typed password, activation code or other text secret (searched for as is). */
  typedSecret(text: string): string;
  /** Registers a typed card key (searched for as a 6-digit number standing alone). */
  typedKey(key: string): string;
  /** Every registered secret or seed spelling found in a recorded answer, console line, log line or audit row. */
  leaks(): Promise<Leak[]>;
  /**
   * Where `needle` was recorded: answers, console, log and audit rows, and also the lab's letters
   * and the requests the browsers sent when asked for (the controls of a leak search).
   */
  search(needle: string, options?: { letters?: boolean; requests?: boolean }): Promise<string[]>;
  /** How many secrets are registered, by kind. */
  secretCounts(): { texts: number; keys: number };
  /** What `/lab/sites` lists, as the lab does: the sites started beside the rig, and the person whose provider sessions it shows. */
  showLabSites(sites: readonly RunningSite[], person?: string): void;
  close(): Promise<void>;
}

export async function startServiceRig(name: string): Promise<ServiceRig> {
  const dir = tempDir(name);
  const seed = new Uint8Array(randomBytes(20));
  const logLines: string[] = [];
  const extraAnswers: string[] = [];
  const texts = new Set<string>();
  const keys = new Set<string>();
  const people: Person[] = [];
  let labSites: readonly RunningSite[] = [];
  let labPerson: string | undefined;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });

  const emulator = await startEmulator({ profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') });
  let server: RunningHost | undefined;
  let browser: Browser | undefined;
  try {
    server = await startHost({
      // SQLite, or PostgreSQL with NOEGLEVISER_TEST_STORE=postgres (test-store.ts).
      ...(await hostStorage(path.join(dir, 'server', 'tokens.db'))).options,
      port: 0,
      env: {},
      apiKeys: { admin: ADMIN_KEY, client: CLIENT_KEY },
      logger: { level: 'info', stream: sink },
      servicePolicy: { loginAttemptsPerMinute: 10_000 },
      extend: (app, { service, oidc }) => {
        registerLabSitesPage(app, { sites: () => labSites, oidc, person: async () => labPerson });
        return registerLabPage(app, { debugAddress: emulator.debug, tokenSerial: emulator.serial, outbox: service.outbox });
      },
    });
    const bridge = await connectToken(emulator.port);
    try {
      const client = new ServerClient({ url: server.url, adminKey: ADMIN_KEY, clientKey: CLIENT_KEY });
      // No owner: the token is free to be issued to a person (`POST /v1/people` with credential 'token').
      await enrollWithServer(bridge, client, { secret: seed, mode: 'hotp', algorithm: 'sha1', digits: 6 });
    } finally {
      await bridge.close();
    }
    browser = await launchChromium();
  } catch (error) {
    await browser?.close();
    await server?.close();
    await emulator.close();
    throw error;
  }
  const running = server;
  const chromium = browser;

  /** Everything recorded, each with where it was seen; letters and the requests sent only when asked for. */
  const haystacks = async (include: { letters: boolean; requests: boolean }): Promise<{ where: string; text: string }[]> => {
    const found: { where: string; text: string }[] = [];
    for (const [index, person] of people.entries()) {
      await person.traffic.settled();
      for (const entry of person.traffic.entries) {
        if (entry.kind === 'response') {
          const pathname = new URL(entry.url).pathname;
          // The lab's letter routes exist to show letters, secrets and all.
          if (pathname.startsWith('/lab/outbox') && !include.letters) continue;
          const headers = Object.entries(entry.headers).map(([header, value]) => `${header}: ${value}`).join('\n');
          found.push({ where: `person ${index}: response ${entry.status} ${pathname}`, text: `${entry.url}\n${headers}\n${entry.body}` });
        } else if (entry.kind === 'console') {
          found.push({ where: `person ${index}: console ${entry.type}`, text: `${entry.url}\n${entry.text}` });
        } else {
          found.push({ where: `person ${index}: page error`, text: entry.text });
        }
      }
      if (include.requests) for (const request of person.requests) found.push({ where: `person ${index}: request ${request.method} ${new URL(request.url).pathname}`, text: `${request.url}\n${request.body}` });
    }
    extraAnswers.forEach((text, index) => found.push({ where: `answer ${index} outside a page`, text }));
    logLines.forEach((text, index) => found.push({ where: `log line ${index}`, text }));
    for (const row of await running.tokens.audit({ limit: 1000 })) found.push({ where: `audit row ${row.action}`, text: JSON.stringify(row) });
    return found;
  };

  const operator = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<OperatorAnswer> => {
    const response = await fetch(new URL(url, running.url), {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    extraAnswers.push(text);
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  };

  const created = (answer: OperatorAnswer, what: string): Record<string, unknown> => {
    if (answer.status !== 201 || !isRecord(answer.body)) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  return {
    server: running,
    emulator,
    seed,
    browser: chromium,
    logLines,
    extraAnswers,
    operator,
    async orderPerson(input) {
      const body = created(await operator('POST', '/v1/people', { credential: 'card', ...input }), `ordering ${input.name}`);
      return { nemId: stringAt(body, 'person', 'nemIdNumber'), letterId: stringAt(body, 'letter') };
    },
    async createOrganisation(input) {
      const body = created(await operator('POST', '/v1/organisations', input), `creating ${input.name}`);
      return {
        organisationId: stringAt(body, 'organisation', 'id'),
        adminNemId: stringAt(body, 'administrator', 'nemIdNumber'),
        letterId: stringAt(body, 'letter'),
        cardLetterId: stringAt(body, 'cardLetter'),
      };
    },
    async newPerson() {
      const context = await chromium.newContext({ acceptDownloads: true });
      const traffic = recordTraffic(context);
      const requests: SentRequest[] = [];
      context.on('request', (request) => requests.push({ url: request.url(), method: request.method(), body: request.postData() ?? '' }));
      const lab = await context.newPage();
      await lab.goto(`${running.url}/lab`);
      await lab.frameLocator('iframe[name="service"]').locator('#login-form').waitFor();
      const person: Person = {
        context,
        lab,
        traffic,
        requests,
        service: () => {
          const frame = lab.frame({ name: 'service' });
          if (!frame) throw new Error('the lab page has no service frame');
          return frame;
        },
      };
      people.push(person);
      return person;
    },
    typedSecret(text) {
      texts.add(text);
      return text;
    },
    typedKey(key) {
      if (!/^\d{6}$/.test(key)) throw new Error('a card key has 6 digits');
      keys.add(key);
      return key;
    },
    secretCounts: () => ({ texts: texts.size, keys: keys.size }),
    showLabSites(sites, person) {
      labSites = sites;
      labPerson = person;
    },
    async leaks() {
      const found: Leak[] = [];
      const spellings = seedSpellings(seed);
      const keyPatterns = [...keys].map((key) => new RegExp(`(?<!\\d)${key}(?!\\d)`));
      for (const { where, text } of await haystacks({ letters: false, requests: false })) {
        for (const secret of texts) if (text.includes(secret)) found.push({ kind: 'typed secret', where });
        for (const pattern of keyPatterns) if (pattern.test(text)) found.push({ kind: 'card key', where });
        for (const spelling of spellings) if (text.includes(spelling)) found.push({ kind: 'token seed', where });
      }
      return found;
    },
    async search(needle, options = {}) {
      return (await haystacks({ letters: options.letters ?? false, requests: options.requests ?? false })).filter((h) => h.text.includes(needle)).map((h) => h.where);
    },
    async close() {
      await chromium.close();
      await running.close();
      await emulator.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads the letter `letterId` the way a person would: refresh the outbox, click it, read the letter frame. */
export async function readLetterInLab(lab: Page, letterId: string): Promise<LetterContents> {
  await lab.click('#outbox-refresh');
  const link = lab.locator(`#outbox a[data-letter-id="${letterId}"]`);
  await link.waitFor();
  const [response] = await Promise.all([lab.waitForResponse((r) => new URL(r.url()).pathname === `/lab/outbox/${letterId}`), link.click()]);
  if (response.status() !== 200) throw new Error(`letter ${letterId}: HTTP ${response.status()}`);
  const frame = lab.frame({ name: 'letter' });
  if (!frame) throw new Error('the lab page has no letter frame');
  await frame.waitForURL((url) => url.pathname === `/lab/outbox/${letterId}`);
  await frame.locator('body').waitFor();
  const read = readLetter(await frame.content());
  const nemId = (await frame.locator('[data-field="nemid-number"]').count()) > 0 ? ((await frame.locator('[data-field="nemid-number"]').first().textContent()) ?? undefined) : undefined;
  return {
    nemId: nemId?.trim(),
    temporaryPassword: read.secret('temporary-password'),
    activationCode: read.secret('activation-code'),
    keys: read.keys,
  };
}

/** Clicks a submit button and waits for the page it leads to; the answer's status and where it landed. */
export async function submit(frame: Frame | Page, button: string): Promise<{ status: number; path: string }> {
  const [response] = await Promise.all([frame.waitForNavigation({ waitUntil: 'load' }), frame.click(button)]);
  return { status: statusOf(response), path: new URL(frame.url()).pathname };
}

/** Navigates a frame or page to `url` of the same site. */
export async function open(frame: Frame | Page, url: string): Promise<{ status: number; path: string }> {
  const response = await frame.goto(new URL(url, frame.url()).toString());
  return { status: statusOf(response), path: new URL(frame.url()).pathname };
}

/** Step 1 in the page: user-id and password. */
export async function stepOne(frame: Frame | Page, userId: string, password: string): Promise<{ status: number; path: string }> {
  await frame.fill('#user-id', userId);
  await frame.fill('#password', password);
  return submit(frame, '#login-submit');
}

/** The 4-digit number step 2 shows, or undefined when the page shows none. */
export async function shownNumber(frame: Frame | Page): Promise<string | undefined> {
  const element = frame.locator('#key-number');
  if ((await element.count()) === 0) return undefined;
  return (await element.getAttribute('data-number')) ?? undefined;
}

/** Presses the token's button on the lab page and reads the code its display shows. */
export async function pressToken(lab: Page): Promise<string> {
  const before = Number((await lab.locator('#token-display').getAttribute('data-presses')) ?? '0');
  await lab.click('#token-button');
  await lab.locator(`#token-display[data-presses="${before + 1}"]`).waitFor();
  const text = await lab.locator('#token-display').getAttribute('data-text');
  if (!text) throw new Error('the token shows nothing after a press');
  return text;
}

let cprSerial = 1000;

/** A CPR number, new on every call, of someone `age` years old today. */
export function cprOfAge(age: number): string {
  cprSerial += 1;
  return cprWithSerial(age, String(cprSerial));
}

/** A password the service accepts that nobody has typed before. */
export function freshPassword(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('base64url')}7q`;
}

function statusOf(response: Response | null): number {
  if (!response) throw new Error('the navigation had no response');
  return response.status();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function stringAt(body: Record<string, unknown>, ...keys: string[]): string {
  let value: unknown = body;
  for (const key of keys) value = isRecord(value) ? value[key] : undefined;
  if (typeof value !== 'string') throw new Error(`no ${keys.join('.')} in ${JSON.stringify(body)}`);
  return value;
}
