/**
 * FreeRADIUS's radclient (Debian freeradius-utils) against the front on loopback, with a stub
 * verifier: Accept, Reject, Challenge then Accept, and a request without a
 * Message-Authenticator refused. radclient checks each answer's authenticators itself.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { debianTool } from '../../test/support/debian-tools.ts';
import { tracked } from '../../test/support/processes.ts';
import { RadiusFront } from './front.ts';
import type { RadiusVerifier } from './verifier.ts';

const SECRET = 'radclient-test-secret';
const HAVE_RADCLIENT = debianTool('radclient', 'freeradius-utils', 'the RADIUS front against FreeRADIUS\'s radclient');

/** Stub decisions: alice's password is "pw"; "pw" + 755224 is accepted at once, "pw" alone asks for the code. */
const verifier: RadiusVerifier = {
  async authenticate({ user, password }) {
    if (user !== 'alice') return { kind: 'reject', reason: 'unknown_user' };
    if (password === 'pw755224') return { kind: 'accept', message: 'Welcome' };
    if (password === 'pw') return { kind: 'challenge', message: 'Enter the key for number 4711', state: Buffer.from('txn-4711') };
    return { kind: 'reject', reason: 'wrong_code' };
  },
  async answerChallenge({ state, response }) {
    return state.toString() === 'txn-4711' && response === '118215' ? { kind: 'accept' } : { kind: 'reject', reason: 'wrong_code' };
  },
};

interface Radclient {
  readonly status: number | null;
  readonly stdout: string;
}

function radclient(port: number, attributes: string[], options: { tries?: number } = {}): Promise<Radclient> {
  const child = tracked(spawn('radclient', ['-x', '-r', String(options.tries ?? 3), '-t', '2', `127.0.0.1:${port}`, 'auth', SECRET], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdin!.end(attributes.join('\n') + '\n');
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout })));
}

describe.skipIf(!HAVE_RADCLIENT)('radclient against the RADIUS front', () => {
  let front: RadiusFront | undefined;
  afterEach(async () => {
    await front?.close();
    front = undefined;
  });

  async function port(): Promise<number> {
    front = await RadiusFront.start({ port: 0, clients: [{ name: 'radclient', address: '127.0.0.1', secret: SECRET }], verifier });
    return front.address().port;
  }

  it('password and code in one PAP request: Access-Accept', async () => {
    const run = await radclient(await port(), ['User-Name = "alice"', 'User-Password = "pw755224"', 'Message-Authenticator = 0x00']);
    expect(run.stdout).toMatch(/Received Access-Accept/);
    expect(run.stdout).toMatch(/Reply-Message = "Welcome"/);
    expect(run.status).toBe(0);
  });

  it('a wrong code: Access-Reject', async () => {
    const run = await radclient(await port(), ['User-Name = "alice"', 'User-Password = "pw000000"', 'Message-Authenticator = 0x00']);
    expect(run.stdout).toMatch(/Received Access-Reject/);
    expect(front!.stats()).toMatchObject({ rejects: 1, accepts: 0 });
  });

  it('the password alone: Access-Challenge with State and the question; the code with that State: Access-Accept', async () => {
    const p = await port();
    const first = await radclient(p, ['User-Name = "alice"', 'User-Password = "pw"', 'Message-Authenticator = 0x00']);
    expect(first.stdout).toMatch(/Received Access-Challenge/);
    expect(first.stdout).toMatch(/Reply-Message = "Enter the key for number 4711"/);
    const state = /State = (0x[0-9a-f]+)/.exec(first.stdout)?.[1];
    expect(state).toBe(`0x${Buffer.from('txn-4711').toString('hex')}`);
    const second = await radclient(p, ['User-Name = "alice"', 'User-Password = "118215"', `State = ${state}`, 'Message-Authenticator = 0x00']);
    expect(second.stdout).toMatch(/Received Access-Accept/);
    expect(second.status).toBe(0);
  });

  it('a request without a Message-Authenticator gets no answer, and is counted', async () => {
    const run = await radclient(await port(), ['User-Name = "alice"', 'User-Password = "pw755224"'], { tries: 1 });
    expect(run.stdout).toMatch(/No reply from server/);
    expect(run.status).not.toBe(0);
    expect(front!.stats()).toMatchObject({ requests: 0, accepts: 0 });
    expect(front!.stats().dropped.no_message_authenticator).toBe(1);
  });
});
