/**
 * pam_oath logs in with a users.oath the server exported: two emulated tokens (HOTP and TOTP)
 * enrolled with the real CLI, their codes made by pressing the button over the debug link, the
 * users.oath written by `noegleviser token export --format users.oath --plain`, and `pamtester`
 * asking pam_oath (Debian's libpam-oath). The code the server accepted before the export, and a
 * replay, are refused. PAM reads services only from /etc/pam.d: the test writes a uniquely named
 * service file there and removes it, also when it fails.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { startHost, type RunningHost } from '../../host/start.ts';
import { debianTool } from '../support/debian-tools.ts';
import { api, cli, startEmulatorProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type EmulatorProcess } from '../support/processes.ts';

const HAVE_PAMTESTER = debianTool('pamtester', 'pamtester libpam-oath', 'pam_oath reading a users.oath the server exported');

/** A PAM service reading `usersFile`, removed when the test ends (passed or failed). */
function pamService(usersFile: string): string {
  const name = `noegleviser-e2e-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const file = path.join('/etc/pam.d', name);
  onTestFinished(() => fs.rmSync(file, { force: true }));
  fs.writeFileSync(file, `auth requisite pam_oath.so usersfile=${usersFile} window=5 digits=6\n`, { mode: 0o644 });
  return name;
}

function pamLogin(service: string, user: string, code: string): boolean {
  return spawnSync('pamtester', [service, user, 'authenticate'], { input: `${code}\n`, encoding: 'utf8' }).status === 0;
}

/** The code the token shows after a press; `fresh` first lets the shown code time out, so the press makes a new one. */
async function press(token: EmulatorProcess, fresh: boolean): Promise<string> {
  if (fresh) await debugCall(token.debug, 'advance', { ms: 31_000 });
  const { display } = await debugCall(token.debug, 'press');
  return String(display).trim();
}

describe.skipIf(!HAVE_PAMTESTER)('pamtester through pam_oath, with a users.oath exported by the server', () => {
  const dir = tempDir('pam-export');
  const runtimeDir = path.join(dir, 'run');
  let host: RunningHost;
  let hotp: EmulatorProcess;
  let totp: EmulatorProcess;
  let usersFile: string;
  let serverCode: string;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], input?: string) => cli(args, { env, input });

  beforeAll(async () => {
    [host, hotp, totp] = await Promise.all([
      startHost({ dbFile: path.join(dir, 'server', 'tokens.db'), port: 0, apiKeys: { admin: TEST_ADMIN_KEY, client: TEST_CLIENT_KEY }, rateLimitPerSecond: 0, secureCookies: false, env: {}, allowExport: true }),
      startEmulatorProcess({ profile: path.join(dir, 'hotp'), runtimeDir }),
      startEmulatorProcess({ profile: path.join(dir, 'totp'), runtimeDir }),
    ]);
    env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir, NOEGLEVISER_SERVER: host.url, NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY: TEST_CLIENT_KEY, XDG_CONFIG_HOME: path.join(dir, 'config') };
    for (const [token, extra] of [[hotp, []], [totp, ['--totp']]] as const) {
      const enrolled = await run(['enroll', '--port', token.port, '--generate', ...extra, '--json']);
      expect(enrolled.code, enrolled.stderr).toBe(0);
    }
    // The HOTP token's first code is used on the server before the export.
    serverCode = await press(hotp, false);
    expect((await api(host, 'POST', '/v1/verify', { key: TEST_CLIENT_KEY, body: { serial: hotp.serial, code: serverCode } })).body).toMatchObject({ result: 'accepted', counter: 0 });
    usersFile = path.join(dir, 'users.oath');
    const exported = await run(['token', 'export', hotp.serial, totp.serial, '--format', 'users.oath', '--plain', '--out', usersFile, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/in the clear/);
  });
  afterAll(async () => {
    await Promise.all([hotp?.stop(), totp?.stop(), host?.close()]);
  });

  it('the file is pam_oath\'s: HOTP at the server\'s next counter, HOTP/T30/6 for the TOTP token, mode 0600', () => {
    const lines = fs.readFileSync(usersFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.map((l) => l.split('\t').filter((_, i) => i !== 3))).toEqual([
      ['HOTP', hotp.serial, '-', '1'],
      ['HOTP/T30/6', totp.serial, '-'],
    ]);
    expect(fs.statSync(usersFile).mode & 0o777).toBe(0o600);
  });

  it('HOTP: the next press logs in; the code the server accepted before, and a replay, are refused', async () => {
    const service = pamService(usersFile);
    expect(pamLogin(service, hotp.serial, serverCode)).toBe(false);
    const next = await press(hotp, true);
    expect(pamLogin(service, hotp.serial, next)).toBe(true);
    expect(pamLogin(service, hotp.serial, next)).toBe(false);
    expect(pamLogin(service, hotp.serial, await press(hotp, true))).toBe(true);
  });

  it('TOTP: the code the token shows now logs in once; again it is refused', async () => {
    const service = pamService(usersFile);
    const code = await press(totp, false);
    expect(pamLogin(service, totp.serial, code)).toBe(true);
    expect(pamLogin(service, totp.serial, code)).toBe(false);
  });
});
