/**
 * Seed files through the server: `noegleviser token import` and `token export` (the real CLI
 * process) against a host started on loopback with its real SQLite file (the malformed files and a
 * store that refuses a file's last key on PostgreSQL too, in one transaction). RFC 6030's figures with
 * their stated outcomes, malformed files each with a coded error and nothing imported, owners only
 * for people the login service knows, and round trips for every format: export → import into a
 * fresh server → the same codes verify there (oathtool as referee for users.oath).
 */
import { execFileSync } from 'node:child_process';
import { startTestHost } from '../support/in-process-host.ts';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../host/start.ts';
import { debianTool } from '../support/debian-tools.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { api, cli, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type CliResult } from '../support/processes.ts';
import { connectionUrl, postgres, reportMissingPostgres } from '../support/postgres.ts';
import { testPrimary } from '../support/test-store.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../host/seed-files/fixtures');
const figure = (n: number) => path.join(FIXTURES, `rfc6030-figure${n}.xml`);
const RFC_SECRET = Buffer.from('12345678901234567890');
const HAVE_OATHTOOL = debianTool('oathtool', 'oathtool', 'oathtool as the round trips\' referee');
reportMissingPostgres();

/** A host on one of the stores, and a way to run SQL on its database beside it (to make it refuse a row). */
interface HostOnStore {
  readonly host: RunningHost;
  exec(sql: string): Promise<void>;
}

/** The SQL that makes the store refuse to insert the token `serial`, in each store's dialect. */
const REFUSE_SERIAL = {
  sqlite: (serial: string) => `CREATE TRIGGER refuse_serial BEFORE INSERT ON tokens WHEN NEW.serial = '${serial}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;`,
  postgres: (serial: string) => `CREATE FUNCTION refuse_serial() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.serial = '${serial}' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER refuse_serial BEFORE INSERT ON tokens FOR EACH ROW EXECUTE FUNCTION refuse_serial();`,
};
const ALLOW_EVERY_SERIAL = { sqlite: 'DROP TRIGGER refuse_serial', postgres: 'DROP TRIGGER refuse_serial ON tokens; DROP FUNCTION refuse_serial();' };

type StoreKind = keyof typeof REFUSE_SERIAL;

async function startOnStore(kind: StoreKind, dir: string): Promise<HostOnStore> {
  if (kind === 'sqlite') {
    const host = await startTestHost(dir);
    return {
      host,
      exec: async (sql) => {
        const db = new Database(host.dbFile);
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
    };
  }
  const primary = await testPrimary();
  const database = await primary.createDatabase();
  const host = await startTestHost(dir, { dbFile: connectionUrl(database, [primary]), dataDir: path.join(dir, 'server') });
  return { host, exec: async (sql) => void (await primary.query(sql, [], database.name)) };
}


function runner(host: RunningHost, dir: string) {
  const env = { NOEGLEVISER_SERVER: host.url, NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY: TEST_CLIENT_KEY, XDG_CONFIG_HOME: path.join(dir, 'config') };
  return (args: string[], input?: string) => cli(args, { env, input });
}

function json(result: CliResult): any {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

function failure(result: CliResult, code: string): void {
  expect(result.code, result.stdout + result.stderr).toBe(1);
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
}

/** The admin API's import, as the CLI sends it (the file as base64); answers status and body. */
async function importByApi(host: RunningHost, file: string, options: { password?: string; key?: string; dryRun?: boolean; replace?: boolean; allowShortSeed?: boolean } = {}) {
  return api(host, 'POST', '/v1/tokens/import', { key: TEST_ADMIN_KEY, body: { file: fs.readFileSync(file).toString('base64'), fileName: path.basename(file), ...options } });
}

function refusedWith(answer: { status: number; body: any }, code: string): void {
  expect(answer.body?.error?.code, JSON.stringify(answer.body)).toBe(code);
}

const serialsOn = async (host: RunningHost) => (await host.tokens.list({})).map((t) => t.serial).sort();
const verify = async (host: RunningHost, serial: string, code: string) => (await api(host, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial, code } })).body;

describe('token import: RFC 6030 figures, each with its stated outcome', () => {
  const dir = tempDir('seed-import');
  let host: RunningHost;
  let run: ReturnType<typeof runner>;
  beforeAll(async () => {
    host = await startTestHost(dir);
    run = runner(host, dir);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('figure 2 (a 4-byte secret) is refused with NV_SHORT_SEED, and imports with --allow-short-seed', async () => {
    refusedWith(await importByApi(host, figure(2)), 'NV_SHORT_SEED');
    expect(await serialsOn(host)).toEqual([]);
    const answer = (await importByApi(host, figure(2), { allowShortSeed: true })).body;
    expect(answer).toMatchObject({ format: 'pskc', imported: 1, tokens: [{ serial: '12345678', seedBytes: 4 }] });
    await host.tokens.delete('12345678', { name: 'test' });
  });

  it('figure 3 imports: serial 987654321, a 20-byte secret, counter 0; RFC 4226\'s code for counter 0 verifies', async () => {
    const answer = (await importByApi(host, figure(3))).body;
    expect(answer.tokens).toEqual([
      expect.objectContaining({ serial: '987654321', kind: 'hotp', algorithm: 'sha1', digits: 8, counter: 0, seedBytes: 20, owner: null, replaces: false }),
    ]);
    // Its UserId names nobody the login service knows: imported without an owner, and the report says so.
    expect(answer.tokens[0].notes.join(' ')).toMatch(/nobody the login service knows: imported without an owner/);
    expect(await verify(host, '987654321', referenceHotp(RFC_SECRET, 0, 8))).toMatchObject({ result: 'accepted', counter: 0 });
    // A serial already on the server refuses the file unless --replace.
    refusedWith(await importByApi(host, figure(3)), 'NV_SERIAL_EXISTS');
    const replaced = (await importByApi(host, figure(3), { replace: true })).body;
    expect(replaced.tokens[0]).toMatchObject({ serial: '987654321', replaces: true });
    expect((await host.tokens.get('987654321')).counter).toBe(0);
    await host.tokens.delete('987654321', { name: 'test' });
  });

  it('figure 4 (a derived key, no secret in the file) is refused with NV_KEY_DERIVED', async () => {
    refusedWith(await importByApi(host, figure(4)), 'NV_KEY_DERIVED');
    expect(await serialsOn(host)).toEqual([]);
  });

  it('figure 5 imports the secret, and the dry run says its PIN policy is not used', async () => {
    const dry = (await importByApi(host, figure(5), { dryRun: true })).body;
    expect(dry).toMatchObject({ dryRun: true, imported: 0, tokens: [{ serial: '987654321' }] });
    expect(dry.tokens[0].notes.join(' ')).toMatch(/PIN policy is not used/);
    expect(JSON.stringify(dry)).not.toMatch(/MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=|3132333435363738393031323334353637383930/);
    expect(await serialsOn(host)).toEqual([]);
    const text = await run(['token', 'import', figure(5), '--dry-run']);
    expect(text.stdout).toMatch(/987654321 .*PIN policy is not used/);
    expect(text.stdout).toMatch(/dry run: 1 token\(s\) would be imported, nothing was/);
    expect((await importByApi(host, figure(5))).body).toMatchObject({ imported: 1 });
    expect(await verify(host, '987654321', referenceHotp(RFC_SECRET, 0, 8))).toMatchObject({ result: 'accepted' });
    await host.tokens.delete('987654321', { name: 'test' });
  });

  it('figure 6 decrypts under its pre-shared key (--key-file) to the RFC\'s secret', async () => {
    const keyFile = path.join(dir, 'figure6.key');
    fs.writeFileSync(keyFile, '12345678901234567890123456789012\n', { mode: 0o600 });
    refusedWith(await importByApi(host, figure(6)), 'NV_SEED_FILE_NEEDS_KEY');
    expect(json(await run(['token', 'import', figure(6), '--key-file', keyFile, '--json']))).toMatchObject({ imported: 1 });
    expect(await verify(host, '987654321', referenceHotp(RFC_SECRET, 0, 8))).toMatchObject({ result: 'accepted' });
    await host.tokens.delete('987654321', { name: 'test' });
  });

  it('figure 7 decrypts with the password qwerty from standard input (--password-file -) to the RFC\'s secret', async () => {
    const answer = json(await run(['token', 'import', figure(7), '--password-file', '-', '--json'], 'qwerty\n'));
    expect(answer).toMatchObject({ imported: 1 });
    expect(answer.notes.join(' ')).toMatch(/PBKDF2 with HMAC-SHA1, 1000 rounds/);
    expect(await verify(host, '987654321', referenceHotp(RFC_SECRET, 0, 8))).toMatchObject({ result: 'accepted' });
    await host.tokens.delete('987654321', { name: 'test' });
  });

  it('figure 10 today: every key is past its ExpiryDate, so the file is refused with NV_KEY_EXPIRED and the dry run lists each', async () => {
    failure(await run(['token', 'import', figure(10)]), 'NV_KEY_EXPIRED');
    const dry = (await importByApi(host, figure(10), { dryRun: true })).body;
    expect(dry.refused.map((r: { source: string; code: string }) => [r.source, r.code])).toEqual([
      ['KeyPackage 1 (Key 1)', 'NV_KEY_EXPIRED'],
      ['KeyPackage 2 (Key 2)', 'NV_KEY_EXPIRED'],
      ['KeyPackage 3 (Key 3)', 'NV_KEY_EXPIRED'],
      ['KeyPackage 4 (Key 4)', 'NV_KEY_EXPIRED'],
    ]);
    expect(await serialsOn(host)).toEqual([]);
  });
});

describe('token import on a server whose clock says 15 May 2006: figure 10 key by key', () => {
  const dir = tempDir('seed-import-2006');
  let host: RunningHost;
  beforeAll(async () => {
    host = await startTestHost(dir, { now: () => Date.parse('2006-05-15T12:00:00Z') });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('keys 1 (654321) and 2 (123456) import; keys 3 and 4 (9999999) are refused as expired', async () => {
    const answer = (await importByApi(host, figure(10))).body;
    expect(answer.tokens.map((t: { serial: string; notes: string[] }) => [t.serial, t.notes.some((n) => /expiry date is not kept/.test(n))])).toEqual([
      ['654321', true],
      ['123456', true],
    ]);
    expect(answer.refused.map((r: { serial: string; code: string }) => [r.serial, r.code])).toEqual([
      ['9999999', 'NV_KEY_EXPIRED'],
      ['9999999', 'NV_KEY_EXPIRED'],
    ]);
    expect(await serialsOn(host)).toEqual(['123456', '654321']);
  });
});

describe.each([
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgres'],
] as const)('malformed files on %s: each a coded error, and nothing of it imported', (_name, kind) => {
  const dir = tempDir(`seed-malformed-${kind}`);
  let host: RunningHost;
  let store: HostOnStore;
  let run: ReturnType<typeof runner>;
  const file = (name: string, text: string) => {
    const where = path.join(dir, name);
    fs.writeFileSync(where, text);
    return where;
  };
  const fig = (n: number) => fs.readFileSync(figure(n), 'utf8');
  /** Figure 3 with a second key (serial 987654322) after the first, so that a broken second key must stop the first too. */
  const two = () => {
    const text = fig(3);
    const pkg = text.slice(text.indexOf('<KeyPackage>'), text.indexOf('</KeyContainer>'));
    return text.replace('</KeyContainer>', pkg.replace('987654321', '987654322') + '</KeyContainer>');
  };
  beforeAll(async () => {
    if (kind === 'postgres' && !postgres.available) return;
    store = await startOnStore(kind, dir);
    host = store.host;
    run = runner(host, dir);
    await host.tokens.enroll({ serial: 'PRESENT1', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: new Uint8Array(20).fill(1) }, { name: 'test' });
  });
  afterAll(async () => {
    await host?.close();
  });

  const KEY_6 = '12345678901234567890123456789012';
  const cases: ReadonlyArray<[string, () => string, { password?: string; key?: string }, string]> = [
    ['not XML', () => file('not-xml.pskc', 'this is not XML at all\n'), {}, 'NV_SEED_FILE_NOT_XML'],
    [
      'a DTD with entity expansion',
      () => file('laughs.xml', `<?xml version="1.0"?>\n<!DOCTYPE KeyContainer [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n${two().replace(/<\?xml[^>]*\?>/, '').replace('<Issuer>Issuer</Issuer>', '<Issuer>&lol2;</Issuer>')}`),
      {},
      'NV_SEED_FILE_DTD',
    ],
    ['a wrong MAC', () => file('bad-mac.xml', fig(6).replace('Su+NvtQfmvfJzF6bmQiJqoLRExc=', 'Su+NvtQfmvfJzF6bmQiJqoLRFxc=')), { key: KEY_6 }, 'NV_SEED_FILE_BAD_MAC'],
    ['a wrong key', () => figure(6), { key: '07'.repeat(16) }, 'NV_SEED_FILE_WRONG_KEY'],
    ['a truncated file', () => file('truncated.xml', two().slice(0, Math.floor(two().length * 0.7))), {}, 'NV_SEED_FILE_TRUNCATED'],
    ['an unknown algorithm (its second key)', () => file('ocra.xml', two().replace(/(<KeyPackage>[\s\S]*?<KeyPackage>[\s\S]*?)pskc:hotp/, '$1pskc:ocra')), {}, 'NV_SEED_FILE_UNKNOWN_ALGORITHM'],
    ['a serial already present (its last line)', () => file('present.csv', `NEW00001, ${'31'.repeat(20)}, HOTP, 6, 0\nPRESENT1, ${'32'.repeat(20)}, HOTP, 6, 0\n`), {}, 'NV_SERIAL_EXISTS'],
    ['a seed shorter than 16 bytes (its second line)', () => file('short.csv', `NEW00001, ${'31'.repeat(20)}, HOTP, 6, 0\nNEW00002, ${'32'.repeat(10)}, HOTP, 6, 0\n`), {}, 'NV_SHORT_SEED'],
  ];

  const onThisStore = kind === 'sqlite' || postgres.available;

  it.runIf(onThisStore)('a file the store refuses at its last key (a trigger of the database): nothing of it is imported, nor audited; without the trigger the same file imports whole, and its codes verify', async () => {
    const seeds = [0x41, 0x42, 0x43].map((byte) => Buffer.alloc(20, byte));
    const where = file('three.csv', seeds.map((seed, i) => `WHOLE0${i + 1}, ${seed.toString('hex')}, HOTP, 6, 0`).join('\n') + '\n');
    await store.exec(REFUSE_SERIAL[kind]('WHOLE03'));
    try {
      const refused = await importByApi(host, where);
      expect(refused.status, refused.text).toBe(500);
      expect(await serialsOn(host)).toEqual(['PRESENT1']);
      expect((await host.tokens.audit({ action: 'import' })).filter((entry) => entry.serial?.startsWith('WHOLE'))).toEqual([]);
    } finally {
      await store.exec(ALLOW_EVERY_SERIAL[kind]);
    }
    const imported = await run(['token', 'import', where, '--json']);
    expect(json(imported)).toMatchObject({ imported: 3 });
    expect(await serialsOn(host)).toEqual(['PRESENT1', 'WHOLE01', 'WHOLE02', 'WHOLE03']);
    for (const [i, seed] of seeds.entries()) expect(await verify(host, `WHOLE0${i + 1}`, referenceHotp(seed, 0, 6))).toMatchObject({ result: 'accepted' });
    for (const serial of ['WHOLE01', 'WHOLE02', 'WHOLE03']) await host.tokens.delete(serial, { name: 'test' });
  });

  it.runIf(onThisStore).each(cases)('%s', async (_name, which, secrets, code) => {
    const answer = await importByApi(host, which(), secrets);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(answer.text).not.toMatch(/12345678901234567890|3132333435|0707070707/);
    expect(await serialsOn(host)).toEqual(['PRESENT1']);
  });

  it.runIf(onThisStore)('a wrong password, through the CLI: one coded line, exit 1, nothing imported, the password nowhere in the output', async () => {
    const result = await run(['token', 'import', figure(7), '--password-file', '-', '--json'], 'azerty\n');
    expect(result.code, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'NV_SEED_FILE_WRONG_KEY', message: expect.any(String) } });
    expect(result.stderr).toMatch(/^noegleviser: .+ \[NV_SEED_FILE_WRONG_KEY\]\n$/);
    expect(result.stdout + result.stderr).not.toMatch(/azerty/);
    expect(await serialsOn(host)).toEqual(['PRESENT1']);
  });
});

describe('owners come with a file only when they name a person the login service knows', () => {
  const dir = tempDir('seed-owners');
  let host: RunningHost;
  beforeAll(async () => {
    host = await startTestHost(dir);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('a users.oath line of a known user-id gets that person as owner; an unknown one imports without an owner', async () => {
    const { person } = await host.service.people.order({ name: 'Jens Hansen', birthDate: '1980-02-03', credential: { kind: 'card' } }, { name: 'test' });
    await host.service.login.chooseCredentials(person.id, { userId: 'jenshansen', password: 'Rugbr0d-og-smør!', passwordAgain: 'Rugbr0d-og-smør!' }, { name: 'test' });
    const users = path.join(dir, 'users.oath');
    fs.writeFileSync(users, `HOTP jenshansen - ${'31'.repeat(20)} 0\nHOTP/T30/6 nobody - ${'32'.repeat(20)}\n`);
    const answer = (await importByApi(host, users)).body;
    expect(answer.tokens.map((t: { serial: string; user: string; owner: string | null }) => [t.serial, t.user, t.owner])).toEqual([
      ['jenshansen', 'jenshansen', person.id],
      ['nobody', 'nobody', null],
    ]);
    expect((await host.tokens.list({ owner: 'jenshansen' })).map((t) => t.serial)).toEqual(['jenshansen']);
    const audit = await host.tokens.audit({ action: 'import' });
    expect(audit.map((e) => [e.serial, e.result])).toEqual(expect.arrayContaining([['jenshansen', 'ok'], ['nobody', 'ok']]));
  });
});

describe('token export', () => {
  const dir = tempDir('seed-export');
  let source: RunningHost;
  let closed: RunningHost;
  let run: ReturnType<typeof runner>;
  /** SHA-1 tokens with 20-byte seeds: every format carries them (users.oath and oathcsv included). */
  const TOKENS = [
    { serial: 'RT-H6', kind: 'hotp' as const, digits: 6, counter: 5, seed: Buffer.alloc(20, 0x11) },
    { serial: 'RT-H8', kind: 'hotp' as const, digits: 8, counter: 0, seed: Buffer.alloc(20, 0x22) },
    { serial: 'RT-T6', kind: 'totp' as const, digits: 6, period: 30, seed: Buffer.alloc(20, 0x33) },
    { serial: 'RT-T8', kind: 'totp' as const, digits: 8, period: 60, seed: Buffer.alloc(20, 0x44) },
  ];
  const codeOf = (t: (typeof TOKENS)[number], at = Date.now()) =>
    t.kind === 'hotp' ? referenceHotp(t.seed, t.counter!, t.digits) : referenceHotp(t.seed, Math.floor(at / 1000 / t.period!), t.digits);

  beforeAll(async () => {
    [source, closed] = await Promise.all([startTestHost(path.join(dir, 'source'), { allowExport: true }), startTestHost(path.join(dir, 'closed'))]);
    run = runner(source, dir);
    for (const t of TOKENS) await source.tokens.enroll({ ...t, algorithm: 'sha1', seed: new Uint8Array(t.seed) }, { name: 'test' });
    await closed.tokens.enroll({ ...TOKENS[0]!, algorithm: 'sha1', seed: new Uint8Array(TOKENS[0]!.seed) }, { name: 'test' });
  });
  afterAll(async () => {
    await Promise.all([source?.close(), closed?.close()]);
  });

  it('is off unless the server runs with --allow-export: NV_EXPORT_OFF, and the token is not marked', async () => {
    failure(await runner(closed, dir)(['token', 'export', '--all', '--password-file', '-'], 'pw\n'), 'NV_EXPORT_OFF');
    expect((await closed.tokens.get('RT-H6')).exportedAt).toBeUndefined();
  });

  it('is an encrypted PSKC by default; another format needs --plain (NV_EXPORT_PLAIN), and a PSKC needs a password or key', async () => {
    failure(await run(['token', 'export', '--all', '--format', 'otpauth']), 'NV_EXPORT_PLAIN');
    failure(await run(['token', 'export', '--all']), 'NV_EXPORT_PROTECTION');
    const out = path.join(dir, 'encrypted.pskc');
    json(await run(['token', 'export', 'RT-H6', '--password-file', '-', '--out', out, '--json'], 'export pw\n'));
    const text = fs.readFileSync(out, 'utf8');
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(text).toMatch(/<pskc:EncryptedValue>/);
    expect(text).not.toMatch(/PlainValue>[A-Za-z0-9+/=]{20,}</);
    expect(text).not.toContain(TOKENS[0]!.seed.toString('base64'));
  });

  it('is audited per token and marks each token exported in its record', async () => {
    json(await run(['token', 'export', 'RT-T6', 'RT-T8', '--format', 'otpauth', '--plain', '--out', path.join(dir, 'marked.txt'), '--json']));
    for (const serial of ['RT-T6', 'RT-T8']) {
      expect((await source.tokens.get(serial)).exportedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect((await source.tokens.audit({ serial, action: 'export' })).map((e) => [e.result, e.detail.format, e.detail.plain])).toContainEqual(['ok', 'otpauth', true]);
    }
  });

  const KEY_HEX = 'a1'.repeat(32);
  /** Each format's export request, and what its import needs. */
  const FORMATS: ReadonlyArray<[string, Record<string, unknown>, { password?: string; key?: string }]> = [
    ['PSKC under a password', { format: 'pskc', password: 'round trip' }, { password: 'round trip' }],
    ['PSKC under a key', { format: 'pskc', key: KEY_HEX }, { key: KEY_HEX }],
    ['plain PSKC', { format: 'pskc', plain: true }, {}],
    ['otpauth', { format: 'otpauth', plain: true }, {}],
    ['oathcsv', { format: 'oathcsv', plain: true }, {}],
    ['users.oath', { format: 'users.oath', plain: true }, {}],
  ];
  const EXT: Record<string, string> = { pskc: 'pskc', otpauth: 'txt', oathcsv: 'csv', 'users.oath': 'oath' };

  it.each(FORMATS)('round trip, %s (admin API): export → import into a fresh server → the same codes verify', async (name, request, secrets) => {
    const serials = TOKENS.map((t) => t.serial);
    const exported = await api(source, 'POST', '/v1/tokens/export', { key: TEST_ADMIN_KEY, body: { ...request, serials } });
    expect(exported.status, exported.text).toBe(200);
    const out = path.join(dir, `round-trip-${name.replace(/\W+/g, '-')}.${EXT[request.format as string]}`);
    fs.writeFileSync(out, exported.body.file, { mode: 0o600 });

    const fresh = await startTestHost(path.join(dir, `fresh-${name.replace(/\W+/g, '-')}`));
    try {
      const imported = (await importByApi(fresh, out, secrets)).body;
      // users.oath has no serials: a token is named after its user, which is its serial when it has no owner.
      expect(imported.tokens.map((t: { serial: string }) => t.serial).sort(), JSON.stringify(imported)).toEqual([...serials].sort());
      const now = Date.now();
      for (const t of TOKENS) {
        expect(await verify(fresh, t.serial, codeOf(t, now)), `${t.serial} after ${name}`).toMatchObject({ result: 'accepted' });
      }
      if (request.format === 'users.oath' && HAVE_OATHTOOL) {
        // oathtool, reading the exported line, makes the code the fresh server accepted.
        const line = exported.body.file.split('\n').find((l: string) => l.startsWith('HOTP\tRT-H6'))!;
        const [, , , hex, counter] = line.split('\t');
        expect(execFileSync('oathtool', ['--hotp', '-c', counter!, hex!], { encoding: 'utf8' }).trim()).toBe(codeOf(TOKENS[0]!));
      }
    } finally {
      await fresh.close();
    }
  });

  it('round trip through the CLI: token export --format users.oath --plain --out F, then token import F on a fresh server', async () => {
    const out = path.join(dir, 'cli-round-trip.oath');
    json(await run(['token', 'export', '--all', '--format', 'users.oath', '--plain', '--out', out, '--json']));
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const fresh = await startTestHost(path.join(dir, 'fresh-cli'));
    try {
      json(await runner(fresh, dir)(['token', 'import', out, '--json']));
      const now = Date.now();
      for (const t of TOKENS) expect(await verify(fresh, t.serial, codeOf(t, now))).toMatchObject({ result: 'accepted' });
    } finally {
      await fresh.close();
    }
  });
});
