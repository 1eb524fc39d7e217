/**
 * pam_oath itself reads a users.oath this module writes: pamtester logs in with the code at the
 * exported counter, and pam_oath refuses the code before it (used on the server already) and a
 * replay, for HOTP and TOTP. PAM reads services only from /etc/pam.d: the test writes a uniquely
 * named service file there and removes it, also when it fails.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createOathKey, hotpCode, totpCode } from '../../protocol/oath/index.ts';
import { debianTool } from '../../test/support/debian-tools.ts';
import { tempDir } from '../../test/support/processes.ts';
import type { ExportToken } from './types.ts';
import { exportUsersOath } from './users-oath.ts';

const PAM_OATH = ['/lib/x86_64-linux-gnu/security/pam_oath.so', '/usr/lib/x86_64-linux-gnu/security/pam_oath.so', '/lib/security/pam_oath.so', '/usr/lib/security/pam_oath.so'].find((f) => fs.existsSync(f));
const HAVE_PAMTESTER = debianTool('pamtester', 'pamtester libpam-oath', "pam_oath reading an exported users.oath");

/** A PAM service reading `usersFile` with `digits`, removed when the test ends. */
function pamService(usersFile: string, digits: number): string {
  const name = `noegleviser-test-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const file = path.join('/etc/pam.d', name);
  fs.writeFileSync(file, `auth requisite pam_oath.so usersfile=${usersFile} window=5 digits=${digits}\n`, { mode: 0o644 });
  onTestFinished(() => fs.rmSync(file, { force: true }));
  return name;
}

function login(service: string, user: string, code: string): boolean {
  const run = spawnSync('pamtester', [service, user, 'authenticate'], { input: `${code}\n`, encoding: 'utf8' });
  return run.status === 0;
}

describe.skipIf(!HAVE_PAMTESTER)('pam_oath verifies a users.oath exported by the server', () => {
  it('pam_oath is installed beside pamtester', () => {
    expect(PAM_OATH, 'libpam-oath (pam_oath.so) is missing').toBeDefined();
  });

  it('HOTP: the code at the exported counter logs in; the one before and a replay are refused', () => {
    const dir = tempDir('pam');
    const seed = new Uint8Array(crypto.randomBytes(20));
    const token: ExportToken = { serial: 'NV-PAM-1', kind: 'hotp', algorithm: 'sha1', digits: 6, counter: 7, period: 0, seed, user: 'pamhotp', validUntil: null };
    const usersFile = path.join(dir, 'users.oath');
    fs.writeFileSync(usersFile, exportUsersOath([token]), { mode: 0o600 });
    const service = pamService(usersFile, 6);
    const key = createOathKey(seed, 'sha1');
    expect(login(service, 'pamhotp', hotpCode(key, 6, 6))).toBe(false); // accepted on the server before the export
    expect(login(service, 'pamhotp', hotpCode(key, 7, 6))).toBe(true);
    expect(login(service, 'pamhotp', hotpCode(key, 7, 6))).toBe(false); // replayed
    expect(login(service, 'pamhotp', hotpCode(key, 8, 6))).toBe(true);
  });

  it('TOTP (HOTP/T30/8): the current code logs in once, and again is refused', () => {
    const dir = tempDir('pam');
    const seed = new Uint8Array(crypto.randomBytes(20));
    const token: ExportToken = { serial: 'NV-PAM-2', kind: 'totp', algorithm: 'sha1', digits: 8, counter: 0, period: 30, seed, user: 'pamtotp', validUntil: null };
    const usersFile = path.join(dir, 'users.oath');
    fs.writeFileSync(usersFile, exportUsersOath([token]), { mode: 0o600 });
    expect(fs.readFileSync(usersFile, 'utf8')).toMatch(/^HOTP\/T30\/8\tpamtotp\t-\t[0-9a-f]{40}$/m);
    const service = pamService(usersFile, 8);
    const code = totpCode(createOathKey(seed, 'sha1'), Date.now(), 30, 8);
    expect(login(service, 'pamtotp', code)).toBe(true);
    expect(login(service, 'pamtotp', code)).toBe(false);
  });
});
