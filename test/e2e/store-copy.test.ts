/**
 * Moving up: `noegleviser store copy --from LAB.sqlite --to postgres://…`, with real processes. A
 * lab's server runs on a SQLite file (its own master key file made beside it), tokens are enrolled
 * (HOTP and TOTP by hand, two thousand from a seed file) and used, people are made and log in once
 * through the service (a code card, a token, an organisation's key-file employee); the lab stops.
 * The CLI copies the file into a fresh PostgreSQL database, every table row for row; a server on
 * PostgreSQL, given a copy of the lab's key file and no API keys of its own, then takes every
 * token's next code (and refuses the last one used in the lab), the lab's API keys, and — once the
 * login service's tables are on PostgreSQL — every person's login with what they had.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFile, signChallenge } from '../../host/service/web/assets/key-file.js';
import { referenceHotp, type ReferenceAlgorithm } from '../support/oath-reference.ts';
import { connectionUrl, pollUntil, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { api, cli, cliInBackground, spawnUntilReady, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type CliResult, type ReadyProcess } from '../support/processes.ts';
import { storedLetterHtml, storedLetterIds } from '../support/stored-letters.ts';
import { attributeOf, cprOfAge, readLetter, WebClient } from '../support/web-client.ts';

reportMissingPostgres();

/** Tokens imported from a seed file: a lab's batch. */
const BULK = 2000;

interface Token {
  readonly serial: string;
  readonly kind: 'hotp' | 'totp';
  readonly algorithm: ReferenceAlgorithm;
  readonly digits: number;
  readonly period: number;
  readonly seed: Buffer;
  /** HOTP: the next counter to use; TOTP: the last step accepted (-1 for none). */
  next: number;
  /** The code last accepted in the lab, if any. */
  lastAccepted?: string;
}

function expectOneLineError(result: CliResult, code: string, exitCode: number): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
}

type Server = ReadyProcess<{ url: string }> & { readonly url: string };

/** A `noegleviser server` on `db`; API keys and the master key only as `env` gives them (never from the environment the test runs in). */
async function startServer(db: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const server = await spawnUntilReady<{ url: string }>(
    'server',
    ['server', ...db, '--listen', '127.0.0.1:0', '--quiet', '--rate-limit', '0'],
    { NOEGLEVISER_ADMIN_KEY: '', NOEGLEVISER_CLIENT_KEY: '', NOEGLEVISER_MASTER_KEY: '', NOEGLEVISER_MASTER_KEY_FILE: '', ...env },
    { timeoutMs: 60_000 },
  );
  return Object.assign(server, { url: server.ready.url });
}

/** The code of `token` at `moment` (a counter, or a TOTP step). */
function codeOf(token: Token, moment: number): string {
  return referenceHotp(token.seed, moment, token.digits, token.algorithm);
}

const stepNow = (token: Token) => Math.floor(Date.now() / 1000 / token.period);

async function verify(server: Server, serial: string, code: string): Promise<{ result: string; reason?: string }> {
  const answer = await api(server, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial, code } });
  expect(answer.status, answer.text).toBe(200);
  return answer.body as { result: string; reason?: string };
}

/** Every row of every table but SQLite's own, each value as text (integers as digits, bytes as hex), sorted; meta without the migrations' bookkeeping. */
function sqliteRows(file: string, tables: readonly string[]): Record<string, string[]> {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(tables.map((table) => [table, normalise(db.prepare(`SELECT * FROM "${table}"${table === 'meta' ? BOOKKEEPING : ''}`).safeIntegers(true).all() as Record<string, unknown>[])]));
  } finally {
    db.close();
  }
}

async function postgresRows(primary: PostgresNode, database: string, tables: readonly string[]): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const table of tables) result[table] = normalise(await primary.query(`SELECT * FROM "${table}"${table === 'meta' ? BOOKKEEPING : ''}`, [], database));
  return result;
}

const BOOKKEEPING = " WHERE key <> 'schema_version' AND key NOT LIKE 'schema.%'";

function normalise(rows: Record<string, unknown>[]): string[] {
  const text = (value: unknown): unknown => {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return `x${value.toString('hex')}`;
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (typeof value === 'object') return canonical(value);
    return String(value);
  };
  return rows.map((row) => JSON.stringify(Object.keys(row).sort().map((column) => [column, text(row[column])]))).sort();
}

/** JSON with its keys sorted (jsonb keeps its own order). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  return JSON.stringify(value);
}

function sqliteTables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all().map((row) => row.name);
  } finally {
    db.close();
  }
}

/** A person of the lab and how they log in (step 2 with what they had). */
interface LabPerson {
  readonly userId: string;
  readonly password: string;
  readonly credential: 'card' | 'token' | 'key-file';
  readonly keys?: Map<string, string>;
  /** The card numbers already asked (their keys used). */
  readonly usedNumbers?: Set<string>;
  readonly tokenSerial?: string;
  readonly keyFile?: { readonly personId: string; readonly fileText: string; readonly password: string };
}

describe.skipIf(!postgres.available)('store copy: a lab on SQLite moves up to PostgreSQL', () => {
  const dir = tempDir('store-copy');
  const labDir = path.join(dir, 'lab');
  const labFile = path.join(labDir, 'tokens.db');
  let primary: PostgresNode;
  const tokens: Token[] = [];
  const people: LabPerson[] = [];
  /** Every seed (hex) and password of the lab: none may be printed by the copy. */
  const secrets: string[] = [];
  let lab: Server | undefined;
  let node: Server | undefined;
  const copiedFile = labFile;
  let target: { name: string; url: string; password: string };

  const newDatabase = async () => {
    const database = await primary.createDatabase();
    return { name: database.name, password: database.password, url: connectionUrl(database, [primary]) };
  };
  /** A letter of the lab's outbox (in its store), read with the lab's master key. */
  const letter = async (id: string) => readLetter(await storedLetterHtml({ dbFile: labFile }, id));

  async function enrol(token: Token): Promise<void> {
    const body = { serial: token.serial, kind: token.kind, algorithm: token.algorithm, digits: token.digits, ...(token.kind === 'totp' ? { period: token.period } : {}), seed: token.seed.toString('hex') };
    const answer = await api(lab!, 'POST', '/v1/tokens', { key: TEST_ADMIN_KEY, body });
    expect(answer.status, answer.text).toBe(201);
    tokens.push(token);
    secrets.push(token.seed.toString('hex'));
  }

  /** Uses `token` in the lab: HOTP `times` codes in turn, TOTP the code of this step. */
  async function use(token: Token, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const moment = token.kind === 'hotp' ? token.next : stepNow(token);
      const code = codeOf(token, moment);
      expect(await verify(lab!, token.serial, code), token.serial).toMatchObject({ result: 'accepted' });
      token.lastAccepted = code;
      token.next = token.kind === 'hotp' ? moment + 1 : moment;
      if (token.kind === 'totp') break;
    }
  }

  /** Step 1 on `web`; answers the page of step 2. */
  async function stepOne(web: WebClient, userId: string, password: string) {
    await web.open('/login');
    const page = await web.submit('/login', { userId, password });
    expect(page.status, page.body.slice(0, 300)).toBe(200);
    return page;
  }

  /** Step 2 with a card: the key of the number asked (a number not asked before). */
  async function cardStep(web: WebClient, page: { body: string }, keys: Map<string, string>, used: Set<string>) {
    const number = attributeOf(page.body, 'key-number', 'data-number');
    expect(number, 'step 2 asks for a card key').toMatch(/^\d{4}$/);
    expect(used.has(number!), `key ${number} was used already`).toBe(false);
    used.add(number!);
    return web.submit('/login/key', { key: keys.get(number!)! });
  }

  async function tokenStep(web: WebClient, page: { body: string }, serial: string) {
    expect(page.body).toContain('id="code"');
    const token = tokens.find((t) => t.serial === serial)!;
    const code = codeOf(token, token.next);
    token.next += 1;
    return web.submit('/login/key', { code });
  }

  /** A first login (temporary password and the credential), then the person's own user-id and password. */
  async function firstLogin(nemId: string, temporary: string, userId: string, second: (web: WebClient, page: { body: string }) => Promise<{ body: string }>): Promise<{ web: WebClient; password: string }> {
    const web = new WebClient(lab!.url);
    const page = await second(web, await stepOne(web, nemId, temporary));
    expect(page.body).toContain('id="choose-form"');
    const password = `${userId}-Pass-7x`;
    secrets.push(temporary, password);
    const home = await web.submit('/login/choose', { userId, password, passwordAgain: password });
    expect(home.body, 'signed in').toContain('id="scope"');
    return { web, password };
  }

  async function cardPerson(name: string, cpr: string, userId: string): Promise<void> {
    const ordered = await api(lab!, 'POST', '/v1/people', { key: TEST_ADMIN_KEY, body: { name, cpr, credential: 'card' } });
    expect(ordered.status, ordered.text).toBe(201);
    const read = await letter(ordered.body.letter as string);
    const used = new Set<string>();
    const { password } = await firstLogin(ordered.body.person.nemIdNumber as string, read.secret('temporary-password')!, userId, (web, page) => cardStep(web, page, read.keys, used));
    people.push({ userId, password, credential: 'card', keys: read.keys, usedNumbers: used });
  }

  async function tokenPerson(name: string, cpr: string, userId: string): Promise<void> {
    const token: Token = { serial: 'PERSON-TOKEN', kind: 'hotp', algorithm: 'sha1', digits: 6, period: 30, seed: randomBytes(20), next: 0 };
    await enrol(token);
    const ordered = await api(lab!, 'POST', '/v1/people', { key: TEST_ADMIN_KEY, body: { name, cpr, credential: 'token', tokenSerial: token.serial } });
    expect(ordered.status, ordered.text).toBe(201);
    const temporary = (await letter(ordered.body.letter as string)).secret('temporary-password')!;
    const { password } = await firstLogin(ordered.body.person.nemIdNumber as string, temporary, userId, (web, page) => tokenStep(web, page, token.serial));
    people.push({ userId, password, credential: 'token', tokenSerial: token.serial });
  }

  /** An organisation, its administrator (a card) and an employee with a key file, activated and used once. */
  async function keyFileEmployee(): Promise<void> {
    const created = await api(lab!, 'POST', '/v1/organisations', { key: TEST_ADMIN_KEY, body: { cvr: '10103940', name: 'Statsministeriet', administrator: 'Jens Admin' } });
    expect(created.status, created.text).toBe(201);
    const temporary = (await letter(created.body.letter as string)).secret('temporary-password')!;
    const { keys } = await letter(created.body.cardLetter as string);
    const used = new Set<string>();
    const { web: admin, password } = await firstLogin(created.body.administrator.nemIdNumber as string, temporary, 'jens.admin', (web, page) => cardStep(web, page, keys, used));
    people.push({ userId: 'jens.admin', password, credential: 'card', keys, usedNumbers: used });

    const before = new Set(await storedLetterIds({ dbFile: labFile }));
    await admin.open('/admin');
    const issued = await admin.submit('/admin/employees', { name: 'Karen Nøglefil', credential: 'key-file', role: 'employee' });
    expect(issued.body).toContain('class="notice"');
    const activation = (await storedLetterIds({ dbFile: labFile })).find((id) => !before.has(id) && id.endsWith('-key-file-activation'));
    expect(activation, 'the activation letter is in the outbox').toBeDefined();
    const code = (await letter(activation!)).secret('activation-code')!;

    const browser = new WebClient(lab!.url);
    await browser.open('/activate');
    const csrf = /data-csrf="([^"]+)"/.exec(browser.lastPage)![1]!;
    const begun = await browser.postJson('/activate/begin', { activationCode: code }, { 'x-csrf-token': csrf });
    expect(begun.status, begun.body).toBe(200);
    const { personId, label } = JSON.parse(begun.body) as { personId: string; label: string };
    const made = await createKeyFile({ personId, label, password: 'karen-File-77' });
    const completed = await browser.postJson('/activate/complete', { activationCode: code, publicKey: made.publicKey }, { 'x-csrf-token': csrf });
    expect(completed.status, completed.body).toBe(200);
    const person: LabPerson = { userId: personId, password: 'karen-File-77', credential: 'key-file', keyFile: { personId, fileText: made.fileText, password: 'karen-File-77' } };
    await keyFileLogin(lab!, person);
    people.push(person);
    secrets.push(code, 'karen-File-77');
  }

  async function keyFileLogin(server: Server, person: LabPerson): Promise<void> {
    const web = new WebClient(server.url);
    const page = await web.open('/login/key-file');
    const challenge = /data-challenge="([^"]+)"/.exec(page.body)![1]!;
    const csrf = /data-csrf="([^"]+)"/.exec(page.body)?.[1] ?? /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const signature = await signChallenge(person.keyFile!.fileText, person.keyFile!.password, challenge);
    const signedIn = await web.postJson('/login/key-file', { personId: person.keyFile!.personId, signature }, { 'x-csrf-token': csrf });
    expect(signedIn.status, signedIn.body).toBe(200);
    const session = JSON.parse((await web.get('/api/session')).body);
    expect(session.principal).toMatchObject({ nemIdNumber: person.keyFile!.personId, role: 'employee' });
  }

  beforeAll(async () => {
    primary = await PostgresNode.startPrimary({ name: 'copy' });
    fs.mkdirSync(labDir, { recursive: true });
    // The lab makes its own master key file beside its database, as a lab does.
    lab = await startServer(['--db', labFile], { NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY: TEST_CLIENT_KEY });
    const hand: Token[] = [
      { serial: 'HOTP-SHA1', kind: 'hotp', algorithm: 'sha1', digits: 6, period: 30, seed: randomBytes(20), next: 0 },
      { serial: 'HOTP-SHA256', kind: 'hotp', algorithm: 'sha256', digits: 8, period: 30, seed: randomBytes(32), next: 0 },
      { serial: 'HOTP-SHA512', kind: 'hotp', algorithm: 'sha512', digits: 6, period: 30, seed: randomBytes(64), next: 0 },
      { serial: 'HOTP-UNUSED', kind: 'hotp', algorithm: 'sha1', digits: 6, period: 30, seed: randomBytes(20), next: 0 },
      { serial: 'TOTP-30', kind: 'totp', algorithm: 'sha1', digits: 6, period: 30, seed: randomBytes(20), next: -1 },
      { serial: 'TOTP-60', kind: 'totp', algorithm: 'sha256', digits: 8, period: 60, seed: randomBytes(32), next: -1 },
      { serial: 'TOTP-UNUSED', kind: 'totp', algorithm: 'sha1', digits: 6, period: 30, seed: randomBytes(20), next: -1 },
    ];
    for (const token of hand) await enrol(token);
    await use(hand[0]!, 3);
    await use(hand[1]!, 7);
    await use(hand[2]!, 1);
    await use(hand[4]!, 1);
    await use(hand[5]!, 1);

    // A lab's batch, from a seed file (oathcsv), through the CLI.
    const bulk: Token[] = Array.from({ length: BULK }, (_, i) => ({ serial: `BATCH${String(i).padStart(5, '0')}`, kind: 'hotp', algorithm: 'sha1', digits: 6, period: 30, seed: randomBytes(20), next: 0 }));
    const csv = path.join(dir, 'batch.csv');
    fs.writeFileSync(csv, bulk.map((token) => `${token.serial}, ${token.seed.toString('hex')}, HOTP, 6, 0`).join('\n') + '\n', { mode: 0o600 });
    const imported = await cli(['token', 'import', csv, '--json'], { env: { NOEGLEVISER_SERVER: lab.url, NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, XDG_CONFIG_HOME: path.join(dir, 'config') }, timeoutMs: 60_000 });
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: BULK });
    fs.rmSync(csv);
    tokens.push(...bulk);
    await use(bulk[0]!, 2);

    await cardPerson('Anna Kort', cprOfAge(40, '1001'), 'anna.kort');
    await tokenPerson('Bo Token', cprOfAge(50, '1002'), 'bo.token');
    await keyFileEmployee();
    expect(await lab.stop()).toBe(0);
    lab = undefined;
    expect(fs.existsSync(path.join(labDir, 'master.key')), 'the lab made its master key file').toBe(true);
  }, 300_000);

  afterAll(async () => {
    await lab?.stop();
    await node?.stop();
    await primary?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a --to that is not a postgres:// URL: one line NV_BAD_DB, exit 2', async () => {
    for (const to of [path.join(dir, 'elsewhere.db'), 'mysql://root:s3cret-pw@db.example/tokens']) {
      const result = await cli(['store', 'copy', '--from', labFile, '--to', to]);
      expectOneLineError(result, 'NV_BAD_DB', 2);
      expect(result.stderr).not.toContain('s3cret-pw');
    }
    expect(fs.existsSync(path.join(dir, 'elsewhere.db'))).toBe(false);
  });

  it('refuses a --from that is missing, not SQLite, or not a noegleviser database: one line NV_STORE_COPY_SOURCE, exit 2; the target is not touched', async () => {
    const { name, url } = await newDatabase();
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'these are not the tokens you are looking for\n'.repeat(200));
    const other = path.join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    for (const from of [path.join(dir, 'missing.db'), text, other, dir]) {
      const result = await cli(['store', 'copy', '--from', from, '--to', url], { timeoutMs: 60_000 });
      expectOneLineError(result, 'NV_STORE_COPY_SOURCE', 2);
    }
    expect(await primary.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", [], name)).toEqual([]);
  });

  it('copies every table of the lab row for row, in seconds, printing counts and no secret', async () => {
    target = await newDatabase();
    const tables = sqliteTables(labFile);
    expect(tables).toEqual(expect.arrayContaining(['tokens', 'api_keys', 'audit', 'meta', 'people', 'code_cards', 'key_files', 'organisations', 'sessions']));
    const onPostgres = async () => (await primary.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", [], target.name)).map((row) => row.tablename);

    const copied = sqliteTables(copiedFile);
    const started = Date.now();
    const result = await cli(['store', 'copy', '--from', copiedFile, '--to', target.url, '--json'], { timeoutMs: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { from: string; to: string; rows: number; ms: number; tables: { table: string; rows: number }[]; masterKeyFile?: string; masterKey: string };
    console.log(`store copy: ${report.rows} rows of ${report.tables.length} tables (${tokens.length} tokens) in ${(report.ms / 1000).toFixed(2)} s (the command: ${seconds.toFixed(2)} s)`);
    expect(result.stdout).not.toContain(target.password);
    expect(report.masterKeyFile).toBe(path.join(labDir, 'master.key'));
    expect(report.masterKey).toContain('NOEGLEVISER_MASTER_KEY');
    expect(report.tables.map((table) => table.table).sort()).toEqual(copied);

    const inFile = sqliteRows(copiedFile, copied);
    const inPostgres = await postgresRows(primary, target.name, copied);
    for (const table of copied) {
      expect(report.tables.find((entry) => entry.table === table)?.rows, `${table}: rows reported`).toBe(inFile[table]!.length);
      expect(inPostgres[table]!.length, `${table}: rows on PostgreSQL`).toBe(inFile[table]!.length);
      expect(inPostgres[table], `${table}: the same rows`).toEqual(inFile[table]);
    }
    expect(inFile.tokens!.length).toBe(tokens.length);
    expect(inFile.api_keys!.length).toBe(2);
    expect(inFile.audit!.length).toBeGreaterThan(BULK);
    expect(inFile.meta!.some((row) => row.includes('master_key_check'))).toBe(true);
    expect(report.ms, 'a lab of thousands of tokens copies in seconds').toBeLessThan(15_000);
    for (const secret of secrets) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('a server on PostgreSQL with a copy of the lab key file and the lab API keys takes every token next code, and refuses the last one used in the lab', async () => {
    expect(target, 'the copy ran').toBeDefined();
    const nodeDir = path.join(dir, 'node');
    fs.mkdirSync(nodeDir, { recursive: true });
    fs.copyFileSync(path.join(labDir, 'master.key'), path.join(nodeDir, 'master.key'));
    fs.chmodSync(path.join(nodeDir, 'master.key'), 0o600);
    // No API keys given: the node uses the lab's (their hashes were copied), and makes none.
    node = await startServer(['--db', target.url, '--data-dir', nodeDir], {});
    expect(node.stdout()).not.toMatch(/nv_(admin|client)_/);
    const auditBefore = Number((await primary.query<{ max: string }>('SELECT max(id) AS max FROM audit', [], target.name))[0]!.max);

    for (const token of tokens.filter((t) => t.lastAccepted)) {
      expect(await verify(node, token.serial, token.lastAccepted!), `${token.serial}: the last code used in the lab`).toMatchObject({ result: 'rejected' });
    }
    const failures: string[] = [];
    const queue = [...tokens];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let token = queue.shift(); token; token = queue.shift()) {
          // TOTP: a step after the one the lab accepted (the next one, within the window, if that is still this one).
          const moment = token.kind === 'hotp' ? token.next : Math.max(stepNow(token), token.next + 1);
          const answer = await verify(node!, token.serial, codeOf(token, moment));
          if (answer.result !== 'accepted') failures.push(`${token.serial}: ${JSON.stringify(answer)}`);
          else token.next = token.kind === 'hotp' ? moment + 1 : moment;
        }
      }),
    );
    expect(failures).toEqual([]);
    const listed = await api(node, 'GET', '/v1/tokens?limit=1', { key: TEST_ADMIN_KEY });
    expect(listed.status, listed.text).toBe(200);
    // The audit's ids go on from the lab's: the sequence was set past them.
    const audit = await primary.query<{ id: string; serial: string }>('SELECT id, serial FROM audit WHERE id > $1 ORDER BY id', [auditBefore], target.name);
    expect(audit.length).toBeGreaterThanOrEqual(tokens.length);
  });

  it('a second copy onto the now used database is refused: one line NV_STORE_NOT_EMPTY, exit 1, nothing changed', async () => {
    expect(target, 'the copy ran').toBeDefined();
    const count = async () => (await primary.query<{ n: string }>('SELECT (SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit) AS n', [], target.name))[0]!.n;
    const before = await count();
    const again = await cli(['store', 'copy', '--from', copiedFile, '--to', target.url], { timeoutMs: 60_000 });
    expectOneLineError(again, 'NV_STORE_NOT_EMPTY', 1);
    expect(again.stderr).toContain('tokens');
    expect(await count()).toBe(before);
  });

  it('prints, for a person, the rows of each table and what to do with the master key', async () => {
    const fresh = await newDatabase();
    const result = await cli(['store', 'copy', '--from', copiedFile, '--to', fresh.url], { timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    const [first] = result.stdout.split('\n');
    expect(first!.startsWith(`${copiedFile} → postgres://`), first).toBe(true);
    expect(first).toMatch(new RegExp(`/${fresh.name}: \\d+ rows in \\d+ tables, one transaction`));
    expect(result.stdout).toMatch(new RegExp(`^\\s+tokens\\s+${tokens.length}$`, 'm'));
    expect(result.stdout).toContain(`${path.join(labDir, 'master.key')}`);
    expect(result.stdout).toContain('NOEGLEVISER_MASTER_KEY');
    expect(result.stdout).not.toContain(fresh.password);
    for (const secret of secrets) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  /** Every person of the lab logs in on `server` with what they had: their user-id, password and card key, token code or key file. */
  async function everyPersonLogsIn(server: Server): Promise<void> {
    expect(people.map((person) => person.credential).sort()).toEqual(['card', 'card', 'key-file', 'token']);
    for (const person of people) {
      if (person.credential === 'key-file') {
        await keyFileLogin(server, person);
        continue;
      }
      const web = new WebClient(server.url);
      const step2 = await stepOne(web, person.userId, person.password);
      const home = person.credential === 'card' ? await cardStep(web, step2, person.keys!, person.usedNumbers!) : await tokenStep(web, step2, person.tokenSerial!);
      // Self-service for a person, the organisation's page for its administrator.
      expect(home.body, `${person.userId} signed in`).toContain('id="signed-in-as"');
    }
  }

  it('every person logs in on PostgreSQL with the credential they had: card, token, key file', async () => {
    expect(node, 'the server on PostgreSQL runs').toBeDefined();
    await everyPersonLogsIn(node!);
  });

  it('a server started against the target while the copy runs waits for the copy, then starts on all of it: the lab API keys, none of its own', async () => {
    const fresh = await newDatabase();
    const migrated = await cli(['store', 'migrate', '--db', fresh.url], { timeoutMs: 60_000 });
    expect(migrated.code, migrated.stderr).toBe(0);
    const waiting = (kind: string) =>
      pollUntil(
        async () => Number((await primary.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = $2", [fresh.name, kind]))[0]!.n) >= 1,
        `a session of the copy's database waiting on lock type ${kind}`,
        30_000,
      );
    // The copy held where the test chooses: an uncommitted row of the test's with the key of one the copy writes makes it wait there.
    const blocker = new pg.Client({ connectionString: fresh.url });
    await blocker.connect();
    let waiter: Server | undefined;
    try {
      await blocker.query('BEGIN');
      await blocker.query("INSERT INTO meta (key, value) VALUES ('master_key_check', 'held by the test')");
      const copy = cliInBackground(['store', 'copy', '--from', copiedFile, '--to', fresh.url], { timeoutMs: 120_000 });
      await waiting('transactionid');

      const nodeDir = path.join(dir, 'waiting-node');
      fs.mkdirSync(nodeDir, { recursive: true });
      fs.copyFileSync(path.join(labDir, 'master.key'), path.join(nodeDir, 'master.key'));
      fs.chmodSync(path.join(nodeDir, 'master.key'), 0o600);
      let started = false;
      const starting = startServer(['--db', fresh.url, '--data-dir', nodeDir], {}).then((server) => ((started = true), (waiter = server)));
      await waiting('advisory');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(started, 'the server does not start while the copy is held').toBe(false);

      await blocker.query('ROLLBACK');
      const copied = await copy.result;
      expect(copied.code, copied.stderr).toBe(0);
      const server = await starting;
      expect(server.stdout(), 'it made no API keys of its own').not.toMatch(/nv_(admin|client)_/);
      const listed = await api(server, 'GET', '/v1/tokens?limit=1', { key: TEST_ADMIN_KEY });
      expect(listed.status, listed.text).toBe(200);
      expect(Number((await primary.query<{ n: string }>('SELECT count(*) AS n FROM tokens', [], fresh.name))[0]!.n)).toBe(tokens.length);
    } finally {
      await blocker.end().catch(() => undefined);
      await waiter?.stop();
    }
  });
});
