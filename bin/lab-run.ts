/**
 * Running the lab (`npm start`): the validation server on its embedded SQLite, an emulated token with its
 * face, and the bridge between them relaying every press to the server, which says "accepted" or
 * "rejected" beside the code. The first run enrols the token with the server; everything stays in
 * --dir, so the next run continues with the same token, counter and server record.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hasTerminal, serveEmulator } from '../device/cli.ts';
import { startEmulator, type RunningEmulator } from '../device/targets/emulator/emulator.ts';
import { enrollWithServer } from '../host/bridge/enrolment.ts';
import { connectToken, readInfo, wipe, type ConnectedToken } from '../host/bridge/operations.ts';
import { ServerClient } from '../host/bridge/server-client.ts';
import { parseListen } from '../host/cli/server-command.ts';
import { describeOutcome } from '../host/cli/verify-commands.ts';
import { newApiKey } from '../host/server/secrets.ts';
import { LOG_REDACTIONS } from '../host/server/defaults.ts';
import { startServer, type RunningServer } from '../host/server/server.ts';

export interface LabOptions {
  dir: string;
  listen: string;
  headless?: boolean;
}

/** The lab's API keys, made on the first run and kept (mode 0600) beside its data. */
function labKeys(dir: string): { admin: string; client: string } {
  const file = path.join(dir, 'api-keys.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as { admin: string; client: string };
  const keys = { admin: newApiKey('admin'), client: newApiKey('client') };
  fs.writeFileSync(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  return keys;
}

export async function runLab(options: LabOptions): Promise<void> {
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = labKeys(dir);
  const withFace = !options.headless && hasTerminal();
  const log = (line: string) => {
    if (!withFace) process.stdout.write(line + '\n');
  };
  const { host, port } = parseListen(options.listen);
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    const server: RunningServer = await startServer({
      dbFile: path.join(dir, 'server', 'tokens.db'),
      host,
      port,
      apiKeys: keys,
      logger: { level: 'info', stream: fs.createWriteStream(path.join(dir, 'server.log'), { flags: 'a' }), redact: LOG_REDACTIONS },
    });
    closers.push(() => server.close());
    const emulator = await startEmulator({ profileDir: path.join(dir, 'token') });
    closers.push(() => emulator.close()); // a no-op once the face has stopped it
    const client = new ServerClient({ url: server.url, adminKey: keys.admin, clientKey: keys.client });
    const bridge = await connectToken(emulator.port);
    closers.push(() => bridge.close());
    const enrolled = await ensureEnrolled(bridge, client, emulator, () => connectToken(emulator.port));
    if (enrolled) log(`enrolled token ${emulator.serial} with the server (HOTP, SHA-1, 6 digits)`);
    log(JSON.stringify({ event: 'ready', server: server.url, port: emulator.port, debug: emulator.debug, serial: emulator.serial }));

    const served = serveEmulator(emulator, withFace);
    served.setStatus(`server ${server.url} · press space for a code`);
    let verdicts = Promise.resolve();
    bridge.session.onEvent((event) => {
      if (event.name !== 'press') return;
      const code = event.fields.code;
      verdicts = verdicts.then(async () => {
        const line = await client.verify(emulator.serial, code).then(
          (outcome) => describeOutcome(code, outcome),
          (error: Error) => `${code} not checked: ${error.message}`,
        );
        served.setStatus(line);
        log(line);
      });
    });
    await served.stopped;
    await verdicts;
  } finally {
    await closeAll();
  }
}

/**
 * Makes the token and the server agree: both enrolled, or enrol both. A token holding a seed the
 * server does not know is wiped first (the lab holds the button itself); a server record without
 * its token's seed is removed. Returns whether it enrolled.
 */
async function ensureEnrolled(bridge: ConnectedToken, client: ServerClient, emulator: RunningEmulator, reconnect: () => Promise<ConnectedToken>): Promise<boolean> {
  const serial = bridge.identity.serial;
  const [info, record] = await Promise.all([readInfo(bridge.session), client.getToken(serial)]);
  if (info.enrolled && record) return false;
  if (info.enrolled) await wipe(bridge.session, () => setImmediate(() => emulator.token.hold()));
  if (record) await client.deleteToken(serial);
  const secret = new Uint8Array(randomBytes(20));
  try {
    await enrollWithServer(bridge, client, { secret, mode: 'hotp', algorithm: 'sha1', digits: 6 }, { owner: 'lab', reconnect });
  } finally {
    secret.fill(0);
  }
  return true;
}
