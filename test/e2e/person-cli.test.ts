/**
 * `noegleviser person …` and `noegleviser organisation …` as an operator runs them: the real CLI
 * against the real `noegleviser server` process on loopback, with a real SQLite file. Letters are
 * read from the server's outbox in that file; the CLI never prints a password or a card key.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startServerProcess, tempDir, TEST_ADMIN_KEY, type CliResult, type ServerProcess } from '../support/processes.ts';
import { readLetter } from '../support/web-client.ts';
import { StoredOutbox } from '../../host/service/outbox/outbox.ts';
import { SqliteLetterStore } from '../../host/service/outbox/sqlite-letter-store.ts';
import { SqliteDatabase } from '../../host/store/sqlite-database.ts';
import { findMasterKey } from '../../host/server/secrets.ts';
import { SeedVault } from '../../host/server/seed-vault.ts';

function expectOneLineError(result: CliResult, code: string, exitCode = 1): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('noegleviser person / organisation against a real server', () => {
  const dir = tempDir('person');
  let server: ServerProcess;
  /** The server and its admin key from the environment, and no config file of the user's. */
  let env: NodeJS.ProcessEnv;
  /** Every temporary password read from a letter, and every line the CLI printed. */
  const secrets: string[] = [];
  const printed: string[] = [];
  let nemId: string;

  const run = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const result = await cli(args, { env: { ...env, ...extraEnv } });
    printed.push(result.stdout, result.stderr);
    return result;
  };
  /** The letter's body, read from the server's store as the lab reads it (the test's own connection to the file). */
  const letterHtml = async (id: string) => {
    const database = SqliteDatabase.open(server.dbFile);
    try {
      const vault = new SeedVault(findMasterKey(path.dirname(server.dbFile), {})!.key);
      return (await new StoredOutbox(new SqliteLetterStore(database), vault).open(id)).html;
    } finally {
      await database.close();
    }
  };

  beforeAll(async () => {
    server = await startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet'] });
    env = { NOEGLEVISER_SERVER: server.url, NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, XDG_CONFIG_HOME: path.join(dir, 'config') };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('person order: a code card; prints the NemID number, scope and letter, and the welcome letter is in the outbox', async () => {
    const result = await run(['person', 'order', '--name', 'Anna Hansen', '--cpr', '010190-1234']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    nemId = /^NemID number:\s+(\d{10})$/m.exec(result.stdout)?.[1] ?? '';
    expect(nemId, result.stdout).toMatch(/^\d{10}$/);
    expect(result.stdout).toMatch(/^scope:\s+full$/m);
    expect(result.stdout).toMatch(/^credential:\s+code card$/m);
    const letter = /^letter:\s+(\d{4,}-\S+)/m.exec(result.stdout)?.[1];
    expect(letter, result.stdout).toBeDefined();
    const read = readLetter(await letterHtml(letter!));
    const password = read.secret('temporary-password');
    expect(password, 'the letter carries the temporary password').toBeTruthy();
    secrets.push(password!);
    expect(read.keys.size).toBe(148);
    expect(result.stdout).not.toContain(password!);
  });

  it('person show, as text and as --json, with --server and --admin-key given on the command line', async () => {
    const text = await run(['person', 'show', nemId]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^NemID number:\\s+${nemId}$`, 'm'));
    expect(text.stdout).toMatch(/^name:\s+Anna Hansen$/m);
    expect(text.stdout).toMatch(/^state:\s+pending$/m);

    const json = await run(['person', 'show', nemId, '--json', '--server', server.url, '--admin-key', TEST_ADMIN_KEY], { NOEGLEVISER_SERVER: undefined, NOEGLEVISER_ADMIN_KEY: undefined });
    expect(json.code, json.stderr).toBe(0);
    const { person } = JSON.parse(json.stdout) as { person: Record<string, unknown> };
    expect(person).toMatchObject({ nemIdNumber: nemId, name: 'Anna Hansen', scope: 'full', state: 'pending', userId: null });
    expect(Object.keys(person).some((key) => /password|hash|cpr|secret/i.test(key))).toBe(false);
  });

  it('person order --json parses; without a CPR number, a birth date gives bank-only scope', async () => {
    const result = await run(['person', 'order', '--name', 'Bent Bank', '--birth-date', '1980-05-17', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { person: { nemIdNumber: string; scope: string }; letter: string };
    expect(answer.person.scope).toBe('bank-only');
    expect(await letterHtml(answer.letter)).toContain('<');
    const password = readLetter(await letterHtml(answer.letter)).secret('temporary-password');
    secrets.push(password!);
    expect(result.stdout).not.toContain(password!);
  });

  it('person extra-cards: three extra cards, then a fourth is refused with NV_TOO_MANY_CARDS', async () => {
    const three = await run(['person', 'extra-cards', nemId, '--count', '3', '--json']);
    expect(three.code, three.stderr).toBe(0);
    const { letters } = JSON.parse(three.stdout) as { letters: string[] };
    expect(letters).toHaveLength(3);
    for (const letter of letters) expect(await letterHtml(letter), letter).toContain('<');

    expectOneLineError(await run(['person', 'extra-cards', nemId, '--count', '1']), 'NV_TOO_MANY_CARDS', 1);
    // More than the rule allows at once is wrong on the command line already.
    expectOneLineError(await run(['person', 'extra-cards', nemId, '--count', '4']), 'NV_BAD_ARGUMENT', 2);
  });

  it('person block, unblock, unlock and reissue', async () => {
    const blocked = await run(['person', 'block', nemId]);
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(blocked.stdout).toBe(`${nemId} is now blocked\n`);
    const unblocked = await run(['person', 'unblock', nemId, '--json']);
    expect(unblocked.code, unblocked.stderr).toBe(0);
    expect((JSON.parse(unblocked.stdout) as { person: { state: string } }).person.state).toBe('pending');
    // Not locked: the server's own coded refusal, one line, exit 1.
    expectOneLineError(await run(['person', 'unlock', nemId]), 'NV_BAD_STATE', 1);
    const reissued = await run(['person', 'reissue', nemId]);
    expect(reissued.code, reissued.stderr).toBe(0);
    const letter = /^letter:\s+(\d{4,}-\S+)/m.exec(reissued.stdout)?.[1];
    expect(letter, reissued.stdout).toBeDefined();
    const password = readLetter(await letterHtml(letter!)).secret('temporary-password');
    secrets.push(password!);
  });

  it('bad input: a bad CPR number, an unknown person, a missing --name, --cpr with --birth-date, neither', async () => {
    expectOneLineError(await run(['person', 'order', '--name', 'Carl Forkert', '--cpr', '320190-1234']), 'NV_BAD_CPR', 1);
    expectOneLineError(await run(['person', 'show', '9999999999']), 'NV_NO_PERSON', 1);
    expectOneLineError(await run(['person', 'order', '--cpr', '010190-1234']), 'NV_USAGE', 2);
    expectOneLineError(await run(['person', 'order', '--name', 'Dorte', '--cpr', '010190-1234', '--birth-date', '1990-01-01']), 'NV_USAGE', 2);
    expectOneLineError(await run(['person', 'order', '--name', 'Dorte']), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await run(['person', 'extra-cards', nemId]), 'NV_USAGE', 2);
    expectOneLineError(await run(['person', 'show', nemId], { NOEGLEVISER_SERVER: undefined }), 'NV_NO_SERVER', 2);
  });

  it('organisation create: a good CVR gives the organisation and its administrator; a bad one NV_BAD_CVR', async () => {
    const created = await run(['organisation', 'create', '--cvr', '24256790', '--name', 'Novo Nordisk A/S', '--administrator', 'Ida Admin', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const answer = JSON.parse(created.stdout) as { organisation: { cvr: string }; administrator: { role: string; organisationId: string }; letter: string };
    expect(answer.organisation.cvr).toBe('24256790');
    expect(answer.administrator).toMatchObject({ role: 'administrator' });
    expect(await letterHtml(answer.letter)).toContain('<');
    const password = readLetter(await letterHtml(answer.letter)).secret('temporary-password');
    if (password) secrets.push(password);

    const text = await run(['organisation', 'create', '--cvr', '10103940', '--name', 'Statsministeriet', '--administrator', 'Jens Admin']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^CVR:\s+10103940$/m);
    expect(text.stdout).toMatch(/^letter:\s+\d{4,}-employee-welcome/m);
    expect(text.stdout, 'the code card comes in a letter of its own').toMatch(/^card letter:\s+\d{4,}-employee-card/m);

    expectOneLineError(await run(['organisation', 'create', '--cvr', '24256791', '--name', 'Forkert A/S', '--administrator', 'Kim Admin']), 'NV_BAD_CVR', 1);
    expectOneLineError(await run(['organisation', 'create', '--cvr', '24256790', '--name', 'Forkert A/S']), 'NV_USAGE', 2);
  });

  it('no temporary password read from a letter was ever printed by the CLI', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const all = printed.join('\n');
    for (const secret of secrets) expect(all.includes(secret)).toBe(false);
  });
});
