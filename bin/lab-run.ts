/**
 * Running the lab (`npm start`): the validation server on its embedded SQLite with the login
 * service, an emulated token with its face (in the terminal and on the lab page at /lab), and the
 * bridge between them relaying every press. The first run enrols the token with the server and
 * orders a lab person whose NemID is that token (the welcome letter, with the temporary password,
 * is in the outbox on the lab page); everything stays in --dir, so the next run continues with the
 * same token, counter, person and server record.
 *
 * By default a press is for logging in: the bridge reports it and leaves the code unused, so it
 * can be typed at /login. With --verify-presses the bridge has the server verify each press at
 * once ("accepted"/"rejected" beside the code), as a relying party would.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hasTerminal, serveEmulator } from '../device/cli.ts';
import { segmentsToText } from '../device/firmware/segments.ts';
import { startEmulator, type RunningEmulator } from '../device/targets/emulator/emulator.ts';
import { enrollWithServer } from '../host/bridge/enrolment.ts';
import { connectToken, readInfo, wipe, type ConnectedToken } from '../host/bridge/operations.ts';
import { ServerClient } from '../host/bridge/server-client.ts';
import { parseListen } from '../host/cli/server-command.ts';
import { describeOutcome } from '../host/cli/verify-commands.ts';
import { newApiKey } from '../host/server/secrets.ts';
import { LOG_REDACTIONS } from '../host/server/defaults.ts';
import { ensurePrivateDir, ensurePrivateFile } from '../host/store/private-files.ts';
import { startHost, type RunningHost } from '../host/start.ts';
import { registerLabPage } from '../host/lab/lab-page.ts';
import { registerLabSitesPage, startLabSites } from '../host/lab/sites/lab-sites.ts';
import type { RunningSite } from '../host/lab/sites/relying-party.ts';

export interface LabOptions {
  dir: string;
  listen: string;
  headless?: boolean;
  verifyPresses?: boolean;
}

/** The lab person's made-up CPR number (a date that exists, a form that parses): born 1 January 1990. */
const LAB_PERSON = { name: 'Lab Person', cpr: '010190-1234' } as const;

/** The lab's API keys, made on the first run and kept (mode 0600) beside its data. */
function labKeys(dir: string): { admin: string; client: string } {
  const file = path.join(dir, 'api-keys.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as { admin: string; client: string };
  const keys = { admin: newApiKey('admin'), client: newApiKey('client') };
  fs.writeFileSync(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  return keys;
}

/** The server's request log, appended to; its owner's alone (mode 0600). */
function privateLog(file: string): fs.WriteStream {
  ensurePrivateFile(file);
  return fs.createWriteStream(file, { flags: 'a' });
}

export async function runLab(options: LabOptions): Promise<void> {
  const dir = path.resolve(options.dir);
  ensurePrivateDir(dir);
  const keys = labKeys(dir);
  const withFace = !options.headless && hasTerminal();
  const log = (line: string) => {
    if (!withFace) process.stdout.write(line + '\n');
  };
  const { host, port } = parseListen(options.listen);
  const closers: (() => Promise<void>)[] = [];
  let sites: RunningSite[] = [];
  let settings: RunningHost['settings'] | undefined;
  /** The last code the bridge saw the token show, and its HOTP counter. */
  let lastPress: { code: string; counter: number } | undefined;
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    const emulator = await startEmulator({ profileDir: path.join(dir, 'token') });
    closers.push(() => emulator.close()); // a no-op once the face has stopped it
    const server: RunningHost = await startHost({
      dbFile: path.join(dir, 'server', 'tokens.db'),
      host,
      port,
      apiKeys: keys,
      logger: { level: 'info', stream: privateLog(path.join(dir, 'server.log')), redact: LOG_REDACTIONS },
      extend: (app, { tokens, oidc, service }) => {
        registerLabSitesPage(app, { sites: () => sites, oidc, person: async () => (await settings?.getMeta('lab_person')) ?? undefined });
        return registerLabPage(app, {
          debugAddress: emulator.debug,
          tokenSerial: emulator.serial,
          outbox: service.outbox,
          // `noegleviser simulate` writes beside the lab's folder by default (.noegleviser/simulation).
          simulationReportDir: path.join(path.dirname(dir), 'simulation'),
          // Used once the server's counter is past the press that showed it (a login, or --verify-presses).
          codeUsed: async (display) => {
            const press = lastPress;
            if (press === undefined || press.code !== display) return false;
            const { counter } = await tokens.get(emulator.serial);
            return counter !== undefined && counter > press.counter;
          },
        });
      },
    });
    closers.push(() => server.close());
    for (const warning of server.warnings) log(`warning: ${warning.message} [${warning.code}]`);
    settings = server.settings;
    // The seed's sites, each on a loopback address of its own on the lab's port, registered once.
    sites = await startLabSites({ dir, port: Number(new URL(server.url).port), oidc: server.oidc });
    closers.push(async () => {
      for (const site of sites) await site.close();
    });
    const client = new ServerClient({ url: server.url, adminKey: keys.admin, clientKey: keys.client });
    const bridge = await connectToken(emulator.port);
    closers.push(() => bridge.close());
    const enrolled = await ensureEnrolled(bridge, client, emulator, () => connectToken(emulator.port));
    if (enrolled) log(`enrolled token ${emulator.serial} with the server (HOTP, SHA-1, 6 digits)`);
    const person = await ensureLabPerson(server, emulator.serial);
    if (person.ordered) log(`ordered NemID ${person.nemIdNumber} for ${LAB_PERSON.name} with token ${emulator.serial}; the welcome letter is in the outbox`);
    const page = `${server.url}/lab`;
    log(JSON.stringify({ event: 'ready', server: server.url, lab: page, port: emulator.port, debug: emulator.debug, serial: emulator.serial, person: person.nemIdNumber, sites: Object.fromEntries(sites.map((site) => [site.kind, site.url])) }));

    const served = serveEmulator(emulator, withFace);
    const idle = `lab page ${page} · press space for a code`;
    served.setStatus(idle);
    // The status line names a code only while the token shows it: once the display goes dark it is idle again.
    let statusCode: string | undefined;
    const shows = (code: string) => emulator.token.poweredOn && segmentsToText(emulator.token.display.segments).trim() === code;
    emulator.onChange(() => {
      if (statusCode !== undefined && !shows(statusCode)) {
        statusCode = undefined;
        served.setStatus(idle);
      }
    });
    let verdicts = Promise.resolve();
    bridge.session.onEvent((event) => {
      if (event.name !== 'press') return;
      const code = event.fields.code;
      if (event.fields.counter !== undefined) lastPress = { code, counter: Number(event.fields.counter) };
      verdicts = verdicts.then(async () => {
        const line = options.verifyPresses
          ? await client.verify(emulator.serial, code).then(
              (outcome) => describeOutcome(code, outcome),
              (error: Error) => `${code} not checked: ${error.message}`,
            )
          : `${code} shown (counter ${event.fields.counter ?? '?'}): type it at ${page}`;
        if (shows(code)) {
          statusCode = code;
          served.setStatus(line);
        }
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
 * The lab person owns the lab token: ordered once (their welcome letter goes to the outbox), found
 * again on later runs. A token re-enrolled after a wipe is handed to the same person.
 */
async function ensureLabPerson(server: RunningHost, serial: string): Promise<{ nemIdNumber: string; ordered: boolean }> {
  const { tokens, service, settings } = server;
  const actor = { name: 'lab' };
  const token = await tokens.get(serial);
  if (token.owner && /^\d{10}$/.test(token.owner) && (await service.people.find(token.owner))) return { nemIdNumber: token.owner, ordered: false };
  const known = await settings.getMeta('lab_person');
  if (known && (await service.people.find(known))) {
    await tokens.assign(serial, known, actor);
    return { nemIdNumber: known, ordered: false };
  }
  if (token.owner !== null) await tokens.assign(serial, null, actor); // a lab from before the service named its token's owner "lab"
  const issued = await service.people.order({ ...LAB_PERSON, credential: { kind: 'token', serial } }, actor);
  await settings.setMeta('lab_person', issued.person.id);
  return { nemIdNumber: issued.person.id, ordered: true };
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
    await enrollWithServer(bridge, client, { secret, mode: 'hotp', algorithm: 'sha1', digits: 6 }, { reconnect });
  } finally {
    secret.fill(0);
  }
  return true;
}
