/**
 * RADIUS: accepted PAP logins per second of password followed by the token's code, through the
 * host's RADIUS front (the login service checks the password with scrypt, the token service the
 * code, each acceptance on disk before its answer), beside FreeRADIUS itself (Debian's
 * `freeradius`, started in the foreground on a free port with a config of its own in a temp dir,
 * never the system service) answering plain PAP from a users file: the ceiling of a RADIUS server
 * with no OTP and no password hashing at all. Both driven the same way: 32 requests in flight
 * (a login waits for its scrypt) from a load generator of the `radius` package, each with a
 * Message-Authenticator.
 */
import { startTestHost } from '../../test/support/in-process-host.ts';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import radius from 'radius';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { tempDir, toolAvailable } from '../../test/support/processes.ts';
import { rate, type Row } from '../table.ts';

const SECRET = 'bench-radius-shared-secret';
const IN_FLIGHT = Number(process.env.BENCH_RADIUS_IN_FLIGHT ?? 32);
const DURATION_MS = 8_000;
const PEOPLE = 60;
const PASSWORD = 'Bench-Pass-2026!';

/** Sends Access-Requests with `IN_FLIGHT` outstanding for `DURATION_MS`; answers the Access-Accepts a second. */
async function drive(port: number, next: () => { user: string; password: string }): Promise<{ acceptsPerSecond: number; rejects: number; lost: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const waiting = new Map<number, { resolve(code: string | undefined): void }>();
  socket.on('message', (message) => {
    const identifier = message[1]!;
    const entry = waiting.get(identifier);
    if (!entry) return;
    waiting.delete(identifier);
    entry.resolve(radius.decode({ packet: message, secret: SECRET }).code);
  });
  let accepts = 0;
  let rejects = 0;
  let lost = 0;
  let identifier = 0;
  const end = performance.now() + DURATION_MS;
  const worker = async () => {
    while (performance.now() < end) {
      while (waiting.has(identifier)) identifier = (identifier + 1) % 256;
      const id = identifier;
      identifier = (identifier + 1) % 256;
      const { user, password } = next();
      const packet = radius.encode({ code: 'Access-Request', identifier: id, secret: SECRET, attributes: [['User-Name', user], ['User-Password', password]], add_message_authenticator: true });
      const code = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, 30_000);
        waiting.set(id, { resolve: (c) => (clearTimeout(timer), resolve(c)) });
        socket.send(packet, port, '127.0.0.1');
      });
      if (code === 'Access-Accept') accepts++;
      else if (code === undefined) lost++;
      else rejects++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  return { acceptsPerSecond: accepts / seconds, rejects, lost };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** FreeRADIUS on `port` with a config of its own: PAP from a users file, one client, no other module. */
async function startFreeradius(dir: string, port: number): Promise<() => Promise<void>> {
  const confdir = path.join(dir, 'raddb');
  fs.cpSync('/etc/freeradius/3.0', confdir, { recursive: true, dereference: true });
  for (const sub of ['sites-enabled', 'mods-enabled']) fs.rmSync(path.join(confdir, sub), { recursive: true, force: true });
  fs.mkdirSync(path.join(confdir, 'sites-enabled'));
  fs.mkdirSync(path.join(confdir, 'mods-enabled'));
  for (const module of ['pap', 'files', 'always']) fs.copyFileSync(path.join(confdir, 'mods-available', module), path.join(confdir, 'mods-enabled', module));
  fs.writeFileSync(
    path.join(confdir, 'sites-enabled', 'bench'),
    `server bench {\nlisten {\n type = auth\n ipaddr = 127.0.0.1\n port = ${port}\n}\nauthorize {\n files\n pap\n}\nauthenticate {\n Auth-Type PAP {\n  pap\n }\n}\n}\n`,
  );
  fs.writeFileSync(path.join(confdir, 'clients.conf'), `client bench {\n ipaddr = 127.0.0.1\n secret = ${SECRET}\n require_message_authenticator = yes\n}\n`);
  fs.writeFileSync(path.join(confdir, 'mods-config', 'files', 'authorize'), `bench Cleartext-Password := "${PASSWORD}123456"\n`);
  const run = path.join(dir, 'run');
  fs.mkdirSync(run);
  let conf = fs.readFileSync(path.join(confdir, 'radiusd.conf'), 'utf8');
  conf = conf
    .replace(/^(\s*)(user|group)\s*=.*$/gm, '$1# $2 (the bench runs it as the caller)')
    .replace(/^run_dir\s*=.*$/m, `run_dir = ${run}`)
    .replace(/^logdir\s*=.*$/m, `logdir = ${run}`)
    .replace(/^(\s*)max_requests\s*=.*$/m, '$1max_requests = 65536');
  fs.writeFileSync(path.join(confdir, 'radiusd.conf'), conf);
  const child = spawn('freeradius', ['-f', '-d', confdir, '-l', 'stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`freeradius did not start: ${output.slice(-2000)}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to process requests/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`freeradius exited (${code}): ${output.slice(-2000)}`));
    });
  });
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

export async function radiusRows(): Promise<Row[]> {
  const dir = tempDir('bench-radius');
  const host = await startTestHost(dir, {
    radius: { port: 0, clients: [{ name: 'bench', address: '127.0.0.1', secret: SECRET }] },
  });
  let ours: Awaited<ReturnType<typeof drive>>;
  try {
    const actor = { name: 'bench' };
    const seeds: Buffer[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const { person } = await host.service.people.order({ name: 'Bench Person', birthDate: '1980-02-03', credential: { kind: 'card' } }, actor);
      await host.service.login.chooseCredentials(person.id, { userId: `bench${i}`, password: PASSWORD, passwordAgain: PASSWORD }, actor);
      seeds[i] = Buffer.alloc(20, i + 1);
      await host.tokens.enroll({ serial: `RB${i}`, kind: 'hotp', algorithm: 'sha1', digits: 6, seed: new Uint8Array(seeds[i]!), owner: person.id }, actor);
    }
    const counters = new Array<number>(PEOPLE).fill(0);
    let n = 0;
    ours = await drive(host.radius!.port, () => {
      const i = n++ % PEOPLE;
      return { user: `bench${i}`, password: `${PASSWORD}${referenceHotp(seeds[i]!, counters[i]!++)}` };
    });
  } finally {
    await host.close();
  }
  const row = (reference: string, ratio: string, met: boolean | undefined): Row => ({
    figure: `RADIUS: accepted PAP logins/s (password + code), ${IN_FLIGHT} in flight`,
    ours: `${rate(ours.acceptsPerSecond, 'logins/s')}${ours.rejects + ours.lost > 0 ? ` (${ours.rejects} rejected, ${ours.lost} unanswered)` : ''}`,
    reference,
    ratio,
    goal: 'measured: scrypt per password is the cost (NetworkRADIUS: ~2,000/s with SQL, 40–50k/s minimal)',
    met,
  });
  if (!toolAvailable('freeradius')) return [row('FreeRADIUS not installed (apt-get install freeradius)', '—', undefined)];
  const port = await freePort();
  const stop = await startFreeradius(path.join(dir, 'freeradius'), port);
  let theirs: Awaited<ReturnType<typeof drive>>;
  try {
    theirs = await drive(port, () => ({ user: 'bench', password: `${PASSWORD}123456` }));
  } finally {
    await stop();
  }
  return [row(`${rate(theirs.acceptsPerSecond, 'accepts/s')} FreeRADIUS, plain PAP from a users file`, `${((ours.acceptsPerSecond / Math.max(1, theirs.acceptsPerSecond)) * 100).toFixed(1)}%`, undefined)];
}
