/**
 * The RADIUS front as the host starts it (host/start.ts), over the login service, asked by
 * FreeRADIUS's radclient (Debian freeradius-utils) on loopback: PAP password+code → Access-Accept;
 * a wrong or replayed code → Access-Reject; the password alone → Access-Challenge with State and the
 * question, then the code (a token) or the key (a code card) with that State → Access-Accept; a
 * request without Message-Authenticator gets no answer. Every decision is in the audit log. And
 * `noegleviser server --radius-port --radius-clients` starts it, refusing a bad clients file.
 */
import { startTestHost } from '../support/in-process-host.ts';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../host/start.ts';
import { debianTool } from '../support/debian-tools.ts';
import { referenceHotp } from '../support/oath-reference.ts';
import { cli, startServerProcess, tempDir } from '../support/processes.ts';
import { radclient } from '../support/radclient.ts';

const SECRET = 'radius-e2e-shared-secret';
const SEED = Buffer.alloc(20, 0x3c);
const PASSWORD = 'Rugbr0d-og-smør!';
const code = (counter: number) => referenceHotp(SEED, counter);
const HAVE_RADCLIENT = debianTool('radclient', 'freeradius-utils', 'the RADIUS front against radclient');

const request = (user: string, password: string, extra: string[] = []) => [`User-Name = "${user}"`, `User-Password = "${password}"`, ...extra, 'Message-Authenticator = 0x00'];
const stateOf = (stdout: string) => /State = (0x[0-9a-f]+)/.exec(stdout)?.[1];

describe.skipIf(!HAVE_RADCLIENT)('RADIUS through the login service, asked by radclient', () => {
  const dir = tempDir('radius-e2e');
  let host: RunningHost;
  let port: number;
  /** The card holder's card, number → key, read from their welcome letter. */
  let card: Map<string, string>;
  const ask = (attributes: string[], tries?: number) => radclient(port, SECRET, attributes, { tries });

  beforeAll(async () => {
    host = await startTestHost(dir, {
      radius: { port: 0, clients: [{ name: 'radclient', address: '127.0.0.1', secret: SECRET }] },
    });
    port = host.radius!.port;
    const actor = { name: 'test' };
    const tokenHolder = await host.service.people.order({ name: 'Jens Hansen', birthDate: '1980-02-03', credential: { kind: 'card' } }, actor);
    await host.service.login.chooseCredentials(tokenHolder.person.id, { userId: 'jenshansen', password: PASSWORD, passwordAgain: PASSWORD }, actor);
    await host.tokens.enroll({ serial: 'RAD-HOTP-1', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: new Uint8Array(SEED), owner: tokenHolder.person.id }, actor);
    const cardHolder = await host.service.people.order({ name: 'Karen Madsen', birthDate: '1975-06-07', credential: { kind: 'card' } }, actor);
    await host.service.login.chooseCredentials(cardHolder.person.id, { userId: 'karenmadsen', password: PASSWORD, passwordAgain: PASSWORD }, actor);
    const letter = await host.service.outbox.open(cardHolder.letterId);
    card = new Map([...letter.html.matchAll(/data-number="(\d{4})">(\d{6})</g)].map((m) => [m[1]!, m[2]!]));
    expect(card.size).toBe(148);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('PAP with the password followed by the code: Access-Accept', async () => {
    const run = await ask(request('jenshansen', `${PASSWORD}${code(0)}`));
    expect(run.stdout).toMatch(/Received Access-Accept/);
    expect(run.status).toBe(0);
  });

  it('the same code again (a replay): Access-Reject, saying it was used', async () => {
    const run = await ask(request('jenshansen', `${PASSWORD}${code(0)}`));
    expect(run.stdout).toMatch(/Received Access-Reject/);
    expect(run.stdout).toMatch(/Reply-Message = "This code has been used already/);
  });

  it('a wrong code: Access-Reject; a wrong password before the right code: Access-Reject, and that code still works', async () => {
    const wrong = ['000000', '111111'].find((c) => ![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].some((n) => code(n) === c))!;
    expect((await ask(request('jenshansen', `${PASSWORD}${wrong}`))).stdout).toMatch(/Received Access-Reject/);
    expect((await ask(request('jenshansen', `not-the-password${code(1)}`))).stdout).toMatch(/Received Access-Reject/);
    expect((await ask(request('jenshansen', `${PASSWORD}${code(1)}`))).stdout).toMatch(/Received Access-Accept/);
  });

  it('two steps with a token: the password alone gets Access-Challenge with State; the code with that State, Access-Accept', async () => {
    const first = await ask(request('jenshansen', PASSWORD));
    expect(first.stdout).toMatch(/Received Access-Challenge/);
    expect(first.stdout).toMatch(/Reply-Message = "Press your token's button and enter the code it shows"/);
    const state = stateOf(first.stdout);
    expect(state).toMatch(/^0x[0-9a-f]{32}$/);
    const second = await ask(request('jenshansen', code(2), [`State = ${state}`]));
    expect(second.stdout).toMatch(/Received Access-Accept/);
    // The State is used up: the next code with it is refused.
    expect((await ask(request('jenshansen', code(3), [`State = ${state}`]))).stdout).toMatch(/Received Access-Reject/);
  });

  it('two steps with a code card: "Enter the key for number NNNN", then that number\'s key with the State: Access-Accept', async () => {
    const first = await ask(request('karenmadsen', PASSWORD));
    expect(first.stdout).toMatch(/Received Access-Challenge/);
    const number = /Reply-Message = "Enter the key for number (\d{4})"/.exec(first.stdout)?.[1];
    expect(number).toBeDefined();
    const second = await ask(request('karenmadsen', card.get(number!)!, [`State = ${stateOf(first.stdout)}`]));
    expect(second.stdout).toMatch(/Received Access-Accept/);
  });

  it('a card holder\'s wrong key: Access-Reject with the web login\'s words', async () => {
    const first = await ask(request('karenmadsen', PASSWORD));
    const number = /for number (\d{4})/.exec(first.stdout)![1]!;
    const wrong = String((Number(card.get(number)) + 1) % 1_000_000).padStart(6, '0');
    const second = await ask(request('karenmadsen', wrong, [`State = ${stateOf(first.stdout)}`]));
    expect(second.stdout).toMatch(/Received Access-Reject/);
    expect(second.stdout).toMatch(/Reply-Message = "The key is wrong/);
  });

  it('a request without Message-Authenticator gets no answer, and the drop is audited', async () => {
    const run = await ask([`User-Name = "jenshansen"`, `User-Password = "${PASSWORD}${code(4)}"`], 1);
    expect(run.stdout).toMatch(/No reply from server/);
    expect(run.status).not.toBe(0);
    const entries = await host.tokens.audit({ action: 'radius.access' });
    expect(entries.map((e) => [e.result, e.detail.reason ?? null])).toContainEqual(['dropped', 'no_message_authenticator']);
    // The code it carried was never judged: it still logs in.
    expect((await ask(request('jenshansen', `${PASSWORD}${code(4)}`))).stdout).toMatch(/Received Access-Accept/);
  });

  it('every decision is audited as radius.access, by the client, with no password or code in it', async () => {
    const entries = await host.tokens.audit({ action: 'radius.access' });
    expect(new Set(entries.map((e) => e.result))).toEqual(new Set(['accept', 'reject', 'challenge', 'dropped']));
    expect(entries.every((e) => e.actor === 'radius:radclient' || e.actor === 'radius:unknown')).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(PASSWORD);
    // The login's own records say who logged in and how (login.password, verify).
    expect((await host.tokens.audit({ serial: 'RAD-HOTP-1', action: 'verify' })).some((e) => e.actor === 'radius:radclient' && e.result === 'accepted')).toBe(true);
  });
});

describe('noegleviser server --radius-port --radius-clients', () => {
  const dir = tempDir('radius-cli');

  it.skipIf(!HAVE_RADCLIENT)('starts the front beside the HTTP API: the ready line names its port, and radclient is answered', async () => {
    const clients = path.join(dir, 'clients.json');
    fs.writeFileSync(clients, JSON.stringify([{ name: 'radclient', address: '127.0.0.1/32', secret: SECRET }]), { mode: 0o600 });
    const server = await startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet', '--radius-port', '0', '--radius-clients', clients] });
    try {
      const ready = JSON.parse(server.stdout().split('\n').find((l) => l.includes('"event":"ready"'))!) as { radius: { port: number } };
      expect(ready.radius.port).toBeGreaterThan(0);
      // Nobody is known on a fresh server: a reject, but an answer signed with the client's secret.
      const run = await radclient(ready.radius.port, SECRET, request('nobody', 'whatever123456'));
      expect(run.stdout).toMatch(/Received Access-Reject/);
      expect(server.stdout() + server.stderr()).not.toContain(SECRET);
    } finally {
      await server.stop();
    }
  });

  it('a clients file with a short secret is refused in one coded line (exit 1), its secret not shown', async () => {
    const clients = path.join(dir, 'short.json');
    fs.writeFileSync(clients, JSON.stringify([{ name: 'vpn', address: '10.0.0.0/24', secret: 'tooshort' }]), { mode: 0o600 });
    const result = await cli(['server', '--db', path.join(dir, 'short', 'tokens.db'), '--listen', '127.0.0.1:0', '--radius-port', '0', '--radius-clients', clients]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^noegleviser: .+at least 16 octets \[NV_BAD_RADIUS_CLIENTS\]\n$/);
    expect(result.stderr).not.toContain('tooshort');
  });
});
