/**
 * The operator's side of the CLI, as a person runs it: the real `noegleviser` against a real server
 * process and real emulators. JSON errors, "did you mean", usage for a bare command group, the
 * lab's key file as --config; `token list` and `token audit` as an operator reads them; owners
 * who must be people of the login service; what a wipe leaves on the server and how to enrol
 * again; the hints a verdict carries; questions before a record is deleted or revoked; and a TOTP
 * `sync` that names --force.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { connectToken } from '../../host/bridge/operations.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import {
  api,
  cli,
  cliInBackground,
  startEmulatorProcess,
  startServerProcess,
  tempDir,
  TEST_ADMIN_KEY,
  TEST_CLIENT_KEY,
  type CliResult,
  type EmulatorProcess,
  type ServerProcess,
} from '../support/processes.ts';
import { onTerminal, type Terminal } from '../support/terminal.ts';
import { WebClient } from '../support/web-client.ts';

const SEED_HEX = '3132333435363738393031323334353637383930';
const SEED = Buffer.from(SEED_HEX, 'hex');
const hotp = (counter: number) => referenceHotp(SEED, counter, 6, 'sha1');

function expectOneLineError(result: CliResult, code: string, exitCode: number): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
}

/** The one JSON error object a --json failure prints on stdout. */
function jsonError(result: CliResult): { code: string; message: string } {
  const lines = result.stdout.trim().split('\n');
  expect(lines, result.stdout).toHaveLength(1);
  const parsed = JSON.parse(lines[0]!) as { error: { code: string; message: string } };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message']);
  return parsed.error;
}

describe('noegleviser for an operator', () => {
  const dir = tempDir('operator');
  const runtimeDir = path.join(dir, 'run');
  let server: ServerProcess;
  let hotpToken: EmulatorProcess;
  let totpToken: EmulatorProcess;
  let env: NodeJS.ProcessEnv;
  const terminals: Terminal[] = [];

  const run = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) => cli(args, { env: { ...env, ...options.env }, input: options.input });
  const record = (serial: string) => api(server, 'GET', `/v1/tokens/${serial}`, { key: server.adminKey });
  const enrolledOnToken = async (token: EmulatorProcess) => JSON.parse((await run(['info', '--port', token.port, '--json'])).stdout).enrolled as boolean;
  const enrolByApi = (serial: string, kind: 'hotp' | 'totp') =>
    api(server, 'POST', '/v1/tokens', { key: server.adminKey, body: { serial, kind, seed: SEED_HEX, ...(kind === 'totp' ? { period: 30 } : {}) } });

  beforeAll(async () => {
    [server, hotpToken, totpToken] = await Promise.all([
      startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet', '--rate-limit', '0'] }),
      startEmulatorProcess({ profile: path.join(dir, 'hotp'), runtimeDir }),
      startEmulatorProcess({ profile: path.join(dir, 'totp'), runtimeDir }),
    ]);
    env = {
      NOEGLEVISER_RUNTIME_DIR: runtimeDir,
      NOEGLEVISER_SERVER: server.url,
      NOEGLEVISER_ADMIN_KEY: server.adminKey,
      NOEGLEVISER_CLIENT_KEY: server.clientKey,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
    };
  });
  afterEach(async () => {
    await Promise.all(terminals.splice(0).map((terminal) => terminal.stop('SIGKILL')));
  });
  afterAll(async () => {
    await Promise.all([server?.stop('SIGKILL'), hotpToken?.stop('SIGKILL'), totpToken?.stop('SIGKILL')]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('the command line', () => {
    it('with --json, a failure is one JSON error object on stdout besides the exit code, usage errors too', async () => {
      const unknown = await run(['token', 'show', 'NOPE-1', '--json']);
      expect(unknown.code).not.toBe(0);
      expect(jsonError(unknown)).toMatchObject({ code: 'NV_UNKNOWN_SERIAL', message: expect.stringContaining('NOPE-1') });

      const port = await run(['info', '--port', '/dev/ttyNOPE9', '--json']);
      expect(port.code).toBe(1);
      expect(jsonError(port).code).toBe('NV_PORT_OPEN');

      const usage = await run(['token', 'show', '--json']);
      expect(usage.code).toBe(2);
      expect(jsonError(usage)).toMatchObject({ code: 'NV_USAGE', message: expect.stringContaining('serial') });

      // Without --json, stdout stays empty.
      expect((await run(['token', 'show', 'NOPE-1'])).stdout).toBe('');
    });

    it('a misspelt command or flag gets a "did you mean" on its one line', async () => {
      const enrol = await run(['enrol', '--port', hotpToken.port]);
      expectOneLineError(enrol, 'NV_USAGE', 2);
      expect(enrol.stderr).toContain("unknown command 'enrol' (did you mean enroll?)");
      const flag = await run(['enroll', '--prot', hotpToken.port]);
      expectOneLineError(flag, 'NV_USAGE', 2);
      expect(flag.stderr).toContain("unknown option '--prot' (did you mean --port?)");
    });

    it('a bare `token` or `device` prints its usage and exits 2; --help still exits 0', async () => {
      for (const group of ['token', 'device']) {
        const bare = await run([group]);
        expect(bare.code, group).toBe(2);
        expect(bare.stderr).toContain(`Usage: noegleviser ${group}`);
      }
      expect((await run(['token', '--help'])).code).toBe(0);
    });

    it("--config takes the lab's own api-keys.json ({admin, client})", async () => {
      const keys = path.join(dir, 'api-keys.json');
      fs.writeFileSync(keys, JSON.stringify({ admin: TEST_ADMIN_KEY, client: TEST_CLIENT_KEY }, null, 2) + '\n', { mode: 0o600 });
      const noKeys = { NOEGLEVISER_ADMIN_KEY: undefined, NOEGLEVISER_CLIENT_KEY: undefined };
      const listed = await run(['token', 'list', '--config', keys, '--json'], { env: noKeys });
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toHaveProperty('tokens');
      // The client key too: a verify of a token the server does not know is the server's answer, not a missing key.
      expectOneLineError(await run(['verify', '--serial', 'NOPE-2', '123456', '--config', keys], { env: noKeys }), 'NV_UNKNOWN_SERIAL', 1);
    });
  });

  describe('token list and token audit', () => {
    let nemId: string;

    it('token list has a header row, and a TOTP token shows its time step as such', async () => {
      expect((await enrolByApi('TL-H', 'hotp')).status).toBe(201);
      expect((await enrolByApi('TL-T', 'totp')).status).toBe(201);
      const step = Math.floor(Date.now() / 30_000);
      expect((await api(server, 'POST', '/v1/verify', { key: server.clientKey, body: { serial: 'TL-T', code: referenceHotp(SEED, step, 6, 'sha1') } })).body.result).toBe('accepted');
      const listed = await run(['token', 'list']);
      expect(listed.code, listed.stderr).toBe(0);
      const lines = listed.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^SERIAL\s+KIND\s+STATE\s+COUNTER \/ TIME STEP\s+OWNER$/);
      expect(lines.find((l) => l.startsWith('TL-H '))).toMatch(/^TL-H\s+HOTP\s+active\s+counter 0\s+-$/);
      expect(lines.find((l) => l.startsWith('TL-T '))).toMatch(new RegExp(`^TL-T\\s+TOTP/30s\\s+active\\s+time step ${step}\\s+-$`));
    });

    it('token audit: newest first, --action for every action the audit records, --serial for any subject, each named by kind', async () => {
      const ordered = await run(['person', 'order', '--name', 'Nina Nielsen', '--birth-date', '1990-01-01', '--json']);
      expect(ordered.code, ordered.stderr).toBe(0);
      nemId = JSON.parse(ordered.stdout).person.nemIdNumber;
      const web = new WebClient(server.url);
      await web.open('/login');
      await web.submit('/login', { userId: nemId, password: 'not-the-password1' });

      const all = await run(['token', 'audit', '--json']);
      expect(all.code, all.stderr).toBe(0);
      const ids = (JSON.parse(all.stdout).entries as { id: number }[]).map((e) => e.id);
      expect(ids.length).toBeGreaterThan(3);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));

      for (const action of ['login.password', 'person.order']) {
        const filtered = await run(['token', 'audit', '--action', action, '--json']);
        expect(filtered.code, filtered.stderr).toBe(0);
        const entries = JSON.parse(filtered.stdout).entries as { action: string; subject: unknown }[];
        expect(entries.length, action).toBeGreaterThan(0);
        for (const entry of entries) expect(entry).toMatchObject({ action, subject: { kind: 'nemid', id: nemId } });
      }

      const person = await run(['token', 'audit', '--serial', nemId]);
      expect(person.code, person.stderr).toBe(0);
      const lines = person.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+SUBJECT\s+RESULT\s+DETAIL$/);
      const actions = lines.slice(1).map((l) => l.split(/\s{2,}/)[2]);
      expect(actions.indexOf('login.password')).toBeGreaterThanOrEqual(0);
      expect(actions.indexOf('login.password')).toBeLessThan(actions.indexOf('person.order'));
      expect(person.stdout).toContain(`NemID ${nemId}`);
      expect((await run(['token', 'audit', '--serial', 'TL-H'])).stdout).toMatch(/\benroll\s+token TL-H\s+ok/);
    });

    it('token audit --since: only what happened from then on; a time that is none is a usage error', async () => {
      const since = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await api(server, 'POST', '/v1/tokens/TL-H/disable', { key: server.adminKey })).status).toBe(200);
      const recent = await run(['token', 'audit', '--since', since, '--json']);
      expect(recent.code, recent.stderr).toBe(0);
      const entries = JSON.parse(recent.stdout).entries as { action: string; at: string; subject: { id: string } }[];
      expect(entries.map((e) => `${e.action} ${e.subject.id}`)).toEqual(['disable TL-H']);
      expect((await run(['token', 'audit', '--since', '2h', '--serial', 'TL-H', '--json'])).stdout).toContain('"enroll"');
      expectOneLineError(await run(['token', 'audit', '--since', 'yesterday']), 'NV_BAD_ARGUMENT', 2);
    });

    it('an owner must be a person the login service knows: unknown is a coded refusal that leaves token and server untouched', async () => {
      const refused = await run(['enroll', '--port', hotpToken.port, '--seed-file', '-', '--owner', 'nobody-we-know'], { input: SEED_HEX });
      expectOneLineError(refused, 'NV_UNKNOWN_OWNER', 1);
      expect(await enrolledOnToken(hotpToken)).toBe(false);
      expect((await record(hotpToken.serial)).status).toBe(404);
      expectOneLineError(await run(['token', 'assign', 'TL-T', 'nobody-we-know']), 'NV_UNKNOWN_OWNER', 1);
      const assigned = await run(['token', 'assign', 'TL-T', nemId]);
      expect(assigned.code, assigned.stderr).toBe(0);
      expect(assigned.stdout).toBe(`TL-T belongs to NemID ${nemId}\n`);
    });

    it('token delete and token revoke ask first: refused without a terminal or --force; "y" on a terminal goes on', async () => {
      expectOneLineError(await run(['token', 'delete', 'TL-T']), 'NV_NOT_CONFIRMED', 2);
      expectOneLineError(await run(['token', 'revoke', 'TL-H']), 'NV_NOT_CONFIRMED', 2);
      expect((await record('TL-T')).status).toBe(200);
      expect((await record('TL-H')).body.token.state).toBe('disabled');

      const terminal = onTerminal(['token', 'revoke', 'TL-H'], env);
      terminals.push(terminal);
      await terminal.waitFor('[y/N]');
      expect(terminal.output()).toContain('revoke token TL-H');
      terminal.answer('y');
      expect((await terminal.exited).code).toBe(0);
      expect((await record('TL-H')).body.token.state).toBe('revoked');

      const deleted = await run(['token', 'delete', 'TL-T', '--force']);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect((await record('TL-T')).status).toBe(404);
    });
  });

  describe('a token through its life', () => {
    it('after a wipe the server record is reported; enrolling again says what to do; --replace does it', async () => {
      const enrolled = await run(['enroll', '--port', hotpToken.port, '--seed-file', '-'], { input: SEED_HEX });
      expect(enrolled.code, enrolled.stderr).toBe(0);

      const wiping = cliInBackground(['wipe', '--port', hotpToken.port, '--force'], { env });
      await wiping.stderrIncludes('hold the button');
      await debugCall(hotpToken.debug, 'hold');
      const wiped = await wiping.result;
      expect(wiped.code, wiped.stderr).toBe(0);
      expect(wiped.stdout).toContain(`the server at ${server.url} still has a record of ${hotpToken.serial} (HOTP, active)`);
      expect(wiped.stdout).toContain(`noegleviser token delete ${hotpToken.serial}`);
      expect(wiped.stdout).toContain('noegleviser enroll --replace');

      const again = await run(['enroll', '--port', hotpToken.port, '--seed-file', '-'], { input: SEED_HEX });
      expectOneLineError(again, 'NV_SERIAL_EXISTS', 1);
      expect(again.stderr).toContain(`noegleviser token delete ${hotpToken.serial}`);
      expect(again.stderr).toContain('--replace');
      expect(await enrolledOnToken(hotpToken)).toBe(false);

      const replaced = await run(['enroll', '--port', hotpToken.port, '--seed-file', '-', '--replace', '--json'], { input: SEED_HEX });
      expect(replaced.code, replaced.stderr).toBe(0);
      expect((await record(hotpToken.serial)).body.token).toMatchObject({ counter: 0, state: 'active' });
      const { display } = await debugCall(hotpToken.debug, 'press');
      await debugCall(hotpToken.debug, 'advance', { ms: 31_000 });
      expect(String(display).trim()).toBe(hotp(0));
      expect((await run(['verify', '--serial', hotpToken.serial, hotp(0)])).stdout).toContain('accepted (counter 0)');
    });

    it('a verify beyond the window says out of window and how to resync; a locked verdict says how to unlock', async () => {
      const beyond = await run(['verify', '--serial', hotpToken.serial, hotp(20)]);
      expect(beyond.code).toBe(1);
      expect(beyond.stdout).toContain(`${hotp(20)} rejected: out of window`);
      expect(beyond.stdout).toContain(`noegleviser resync --serial ${hotpToken.serial} CODE1 CODE2`);

      const wrong = ['000000', '111111', '222222', '333333', '444444', '555555'].filter((c) => !Array.from({ length: 1100 }, (_, i) => hotp(i)).includes(c));
      let locked: CliResult | undefined;
      for (const code of wrong) {
        locked = await run(['verify', '--serial', hotpToken.serial, code]);
        if (locked.stdout.includes('(token locked)')) break;
      }
      expect(locked!.stdout).toContain('(token locked)');
      const refused = await run(['verify', '--serial', hotpToken.serial, hotp(1), '--json']);
      expect(refused.code).toBe(1);
      const verdict = JSON.parse(refused.stdout);
      expect(verdict).toMatchObject({ result: 'rejected', reason: 'locked', locked: true });
      expect(verdict.hint).toContain(`noegleviser token unlock ${hotpToken.serial}`);
      expect(verdict.hint).toContain(`noegleviser resync --serial ${hotpToken.serial} CODE1 CODE2`);
    });

    it('sync on a TOTP token whose clock runs ahead is refused with how far and --force', async () => {
      const enrolled = await run(['enroll', '--port', totpToken.port, '--seed-file', '-', '--totp'], { input: SEED_HEX });
      expect(enrolled.code, enrolled.stderr).toBe(0);
      const token = await connectToken(totpToken.hid);
      try {
        await token.session.request('settime', { at: Date.now() + 5_000, force: true });
      } finally {
        await token.close();
      }
      const refused = await run(['sync', '--port', totpToken.port]);
      expectOneLineError(refused, 'NV_CLOCK_AHEAD', 1);
      expect(refused.stderr).toMatch(/clock is [45]\.\d{3} s ahead.*--force sets it back/);
      const forced = await run(['sync', '--port', totpToken.port, '--force', '--json']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(Math.abs(JSON.parse(forced.stdout).offsetAfterMs)).toBeLessThan(1000);
    });
  });
});
