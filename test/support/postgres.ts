/**
 * Throwaway PostgreSQL clusters for tests, with Debian's server binaries (`initdb`, `postgres`,
 * `pg_ctl`, `pg_basebackup`): a primary, synchronous streaming standbys made with pg_basebackup,
 * promotion and the failover step after it. Each node lives in a `tempDir` folder (its data, its
 * Unix socket, its log) and listens on a free port of 127.0.0.1; its server is tracked like every
 * process of test/support, so whatever a test leaves running is stopped when its file ends.
 *
 * `initdb` refuses to run as root, and the tests run as root here and in CI: then every cluster
 * runs as the `postgres` user, who owns its folder. Where the binaries (or that user) are missing,
 * a test file skips with a message (`reportMissingPostgres`), and fails in CI.
 *
 * Clients: the cluster's superuser `postgres` connects over the Unix socket without a password
 * (the harness's own queries); a test's role (`createDatabase`) logs in over TCP with a password
 * (SCRAM), as a server node would.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { tempDir, trackProcess } from './processes.ts';
import { RUN_TMPDIR_VARIABLE } from './private-tmpdir.ts';
import { reportMissingPackage } from './required-package.ts';

const run = promisify(execFile);

const SERVER_PROGRAMS = ['initdb', 'postgres', 'pg_ctl', 'pg_basebackup'] as const;
const SUPERUSER = 'postgres';
const LOOPBACK = '127.0.0.1';
const START_TIMEOUT_MS = 60_000;

export interface PostgresAvailability {
  readonly available: boolean;
  /** The folder holding initdb, postgres, pg_ctl and pg_basebackup. */
  readonly bin: string;
  /** The user the clusters run as: the `postgres` user when the tests run as root, else the tests' own (undefined). */
  readonly runAs: { readonly uid: number; readonly gid: number } | undefined;
  /** Why PostgreSQL cannot be used, naming the Debian package; empty when it can. */
  readonly missing: string;
}

/**
 * Where the server binaries are: `NOEGLEVISER_TEST_PG_BIN` if set, else Debian's newest
 * `/usr/lib/postgresql/VERSION/bin`, else the folder of an `initdb` on PATH.
 */
function findServerBinaries(): string | undefined {
  const complete = (dir: string) => SERVER_PROGRAMS.every((program) => isExecutable(path.join(dir, program)));
  const fromEnvironment = process.env.NOEGLEVISER_TEST_PG_BIN;
  if (fromEnvironment) return complete(fromEnvironment) ? fromEnvironment : undefined;
  const debian = '/usr/lib/postgresql';
  const versions = fs.existsSync(debian) ? fs.readdirSync(debian).filter((name) => /^\d+(\.\d+)?$/.test(name)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = path.join(debian, version, 'bin');
    if (complete(dir)) return dir;
  }
  return (process.env.PATH ?? '').split(path.delimiter).find((dir) => dir !== '' && complete(dir));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

export function postgresAvailability(): PostgresAvailability {
  const bin = findServerBinaries();
  if (!bin) {
    return { available: false, bin: '', runAs: undefined, missing: "Debian's PostgreSQL server is missing: apt-get install postgresql (no initdb, postgres, pg_ctl and pg_basebackup found)" };
  }
  if (process.geteuid?.() !== 0) return { available: true, bin, runAs: undefined, missing: '' };
  const runAs = userIds(SUPERUSER);
  if (!runAs) return { available: false, bin, runAs: undefined, missing: 'the tests run as root and there is no postgres user to run PostgreSQL as (apt-get install postgresql makes it)' };
  return { available: true, bin, runAs, missing: '' };
}

export const postgres: PostgresAvailability = postgresAvailability();

/** Call at the top level of a test file, beside `describe.skipIf(!postgres.available)`. */
export function reportMissingPostgres(availability: PostgresAvailability = postgres): void {
  reportMissingPackage(availability.missing, "Debian's PostgreSQL server is installed", 'the PostgreSQL tests are skipped');
}

/** Runs one of the server programs as the clusters' user; rejects with its output on failure. */
async function runProgram(program: (typeof SERVER_PROGRAMS)[number], args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(path.join(requireBinaries(), program), args, { ...asClusterUser(cwd), timeout: START_TIMEOUT_MS });
    return stdout + stderr;
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${program} ${args.join(' ')} failed: ${failure.message}\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
  }
}

function requireBinaries(): string {
  if (!postgres.available) throw new Error(postgres.missing);
  return postgres.bin;
}

function asClusterUser(cwd: string): { cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number } {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC', HOME: cwd };
  return postgres.runAs ? { cwd, env, uid: postgres.runAs.uid, gid: postgres.runAs.gid } : { cwd, env };
}

/**
 * A folder for a node, owned by the clusters' user. Running as root, the folders test support made
 * around it (the run's and the file's private TMPDIR, mode 0700) are opened for traversal (x, not
 * read) so that user can reach it; any other closed folder on the way is an error naming it.
 */
function nodeDir(name: string): string {
  const dir = tempDir(`pg-${name}`);
  const runAs = postgres.runAs;
  if (!runAs) return dir;
  fs.chownSync(dir, runAs.uid, runAs.gid);
  const ours = process.env[RUN_TMPDIR_VARIABLE];
  for (let folder = path.dirname(dir); ; folder = path.dirname(folder)) {
    const stat = fs.statSync(folder);
    const traversable = stat.uid === runAs.uid ? stat.mode & 0o100 : stat.gid === runAs.gid ? stat.mode & 0o010 : stat.mode & 0o001;
    if (!traversable) {
      if (ours && (folder === ours || folder.startsWith(ours + path.sep))) fs.chmodSync(folder, stat.mode | 0o001);
      else throw new Error(`the postgres user cannot reach ${dir}: ${folder} is closed to it (set TMPDIR to a folder it can enter)`);
    }
    if (folder === path.dirname(folder)) break;
  }
  return dir;
}

/** A port on 127.0.0.1 that was free a moment ago (a start that loses the race tries another). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Thrown by a `pollUntil` check to stop polling at once (other errors count as "not yet"). */
export class GiveUp extends Error {}

/** Polls `check` until it answers something other than undefined/false; fails after `timeoutMs`, naming `what`. */
export async function pollUntil<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = START_TIMEOUT_MS, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const answer = await check();
      if (answer !== undefined && answer !== false) return answer;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Settings every test cluster starts with. fsync stays on: the tests are about durability. Dynamic
 * shared memory in files of the data folder, not /dev/shm, so a killed server leaves nothing outside
 * its folder.
 */
const TEST_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '16MB',
  dynamic_shared_memory_type: 'mmap',
  huge_pages: 'off',
  max_connections: '100',
  wal_level: 'replica',
  max_wal_senders: '10',
  wal_keep_size: '64MB',
  log_line_prefix: "'%m [%p] %q%a '",
};

/** One initialised data folder per test file, copied for each node (initdb takes seconds here). */
let template: Promise<string> | undefined;

async function templateDataDir(): Promise<string> {
  // A clean-up between a bench's figures (cleanUpTestResources) removes it with the other folders: made again then.
  if (template && !fs.existsSync(await template.catch(() => ''))) template = undefined;
  template ??= (async () => {
    const dir = nodeDir('template');
    const dataDir = path.join(dir, 'data');
    // --no-sync: a fresh cluster's files need not reach the disk before the test (a killed server
    // loses nothing the kernel holds); the settings above keep fsync on for everything after.
    await runProgram('initdb', ['-D', dataDir, '-U', SUPERUSER, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], dir);
    return dataDir;
  })();
  return template;
}

async function copyDataDir(from: string, to: string): Promise<void> {
  // cp -a keeps the owner (the clusters' user) and the 0700 mode PostgreSQL insists on.
  await run('cp', ['-a', from, to]);
}

function settingsText(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `${name} = ${value}`)
    .join('\n');
}

/** A quoted configuration value: `'text'`. */
export function configValue(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export interface PostgresDatabase {
  /** The database's name; its owner, `user`, logs in with `password` over TCP. */
  readonly name: string;
  readonly user: string;
  readonly password: string;
}

/**
 * A connection URL naming every node in `nodes` (or host and port: a Unix socket folder for one), in
 * order, in libpq's multi-host form: `postgres://USER:PASSWORD@127.0.0.1:P1,127.0.0.1:P2/DATABASE`.
 */
export function connectionUrl(database: PostgresDatabase, nodes: readonly { readonly host: string; readonly port: number }[]): string {
  // A Unix socket folder is percent-encoded, an IPv6 address bracketed.
  const hostPart = (host: string) => (host.startsWith('/') ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host);
  const hosts = nodes.map((node) => `${hostPart(node.host)}:${node.port}`).join(',');
  return `postgres://${encodeURIComponent(database.user)}:${encodeURIComponent(database.password)}@${hosts}/${encodeURIComponent(database.name)}`;
}

export interface StartOptions {
  /** Names the node in its folder, its log and (for a standby) its `application_name`. */
  readonly name?: string;
  /** postgresql.conf settings beside the test defaults, values as the file writes them (quote text with `configValue`). */
  readonly settings?: Readonly<Record<string, string>>;
}

/** A PostgreSQL server (primary or standby) of a throwaway cluster. */
export class PostgresNode {
  readonly host = LOOPBACK;
  /** Its folder: `data/`, the Unix socket, `server.log`. */
  readonly dataDir: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private ended: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    readonly dir: string,
    private portNumber: number,
  ) {
    this.dataDir = path.join(dir, 'data');
    this.logFile = path.join(dir, 'server.log');
  }

  get port(): number {
    return this.portNumber;
  }

  /** The folder of its Unix socket (`.s.PGSQL.PORT`), for the superuser's connections. */
  get socketDir(): string {
    return this.dir;
  }

  /** A new primary (initdb, the test settings and `settings`), started. */
  static async startPrimary(options: StartOptions = {}): Promise<PostgresNode> {
    const name = options.name ?? 'primary';
    const node = new PostgresNode(name, nodeDir(name), 0);
    await copyDataDir(await templateDataDir(), node.dataDir);
    fs.appendFileSync(path.join(node.dataDir, 'postgresql.conf'), `\n# noegleviser test cluster\n${settingsText({ ...TEST_SETTINGS, ...options.settings })}\n`);
    await node.startOnFreePort();
    return node;
  }

  /**
   * A streaming standby of this node: a pg_basebackup (-R: standby.signal and primary_conninfo
   * with `application_name` = its name), started on a port of its own; resolves once this node
   * sees it streaming. It inherits this node's configuration, `synchronous_standby_names` included.
   */
  async startStandby(options: { name?: string } = {}): Promise<PostgresNode> {
    const name = options.name ?? 'standby';
    const standby = new PostgresNode(name, nodeDir(name), 0);
    await standby.cloneFrom(this);
    await standby.startOnFreePort();
    await this.waitForStandby(name);
    return standby;
  }

  /**
   * Makes this stopped node (a crashed primary, say) a fresh streaming standby of `primary`, on its
   * old port: its data folder is replaced by a pg_basebackup of `primary`. Resolves once `primary`
   * sees it streaming.
   */
  async rejoinAsStandbyOf(primary: PostgresNode): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is running: stop or kill it first`);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    await this.cloneFrom(primary);
    await this.start();
    await primary.waitForStandby(this.name);
  }

  private async cloneFrom(primary: PostgresNode): Promise<void> {
    const conninfo = `host=${primary.socketDir} port=${primary.port} user=${SUPERUSER} application_name=${this.name}`;
    await runProgram('pg_basebackup', ['-D', this.dataDir, '-d', conninfo, '-R', '--checkpoint=fast', '-X', 'stream', '--no-sync'], this.dir);
  }

  /** Resolves once this node has a standby named `name` streaming to it. */
  async waitForStandby(name: string): Promise<void> {
    await pollUntil(async () => {
      const rows = await this.query<{ state: string }>('SELECT state FROM pg_stat_replication WHERE application_name = $1', [name]);
      return rows.some((row) => row.state === 'streaming');
    }, `${name} streaming from ${this.name}`);
  }

  /** What this node says of its standbys: name, state and sync_state ('sync', 'async', 'potential'…). */
  async standbys(): Promise<{ name: string; state: string; syncState: string }[]> {
    const rows = await this.query<{ application_name: string; state: string; sync_state: string }>('SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY application_name');
    return rows.map((row) => ({ name: row.application_name, state: row.state, syncState: row.sync_state }));
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async startOnFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.portNumber = await freePort();
      try {
        await this.start();
        return;
      } catch (error) {
        const lostTheRace = /could not bind|could not create any TCP\/IP sockets/.test(this.log());
        if (!lostTheRace || attempt >= 5) throw error;
      }
    }
  }

  /** Starts the server (again, after stop or kill) on its port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is already running`);
    const log = fs.openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // Its own process group, so that kill() takes the server and all its backends at once.
      child = spawn(path.join(requireBinaries(), 'postgres'), ['-D', this.dataDir, '-c', `port=${this.port}`, '-c', `listen_addresses=${LOOPBACK}`, '-c', `unix_socket_directories=${this.socketDir}`], {
        ...asClusterUser(this.dir),
        stdio: ['ignore', log, log],
        detached: true,
      });
    } finally {
      fs.closeSync(log);
    }
    this.child = child;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    this.ended = exited.then(() => this.removeLeftSharedMemory());
    trackProcess({
      label: `postgres ${this.name} -D ${this.dataDir}`,
      running: () => child.exitCode === null && child.signalCode === null,
      // The end-of-file clean-up's SIGTERM becomes an immediate shutdown (SIGQUIT): the data is thrown away.
      signal: (signal) => this.signalServer(child, signal === 'SIGKILL' ? 'SIGKILL' : 'SIGQUIT'),
      ended: this.ended,
    });
    let gone = false;
    void exited.then(() => (gone = true));
    await pollUntil(
      async () => {
        if (gone) throw new GiveUp(`${this.name} exited while starting:\n${this.log().slice(-2000)}`);
        await this.query('SELECT 1');
        return true;
      },
      `${this.name} to accept connections`,
    ).catch((error: unknown) => {
      throw error instanceof GiveUp ? error : new Error(`${String(error)}\n${this.log().slice(-2000)}`);
    });
  }

  private signalServer(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      if (signal === 'SIGKILL') process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** A fast shutdown (`pg_ctl stop -m fast`: SIGINT): clients disconnected, a checkpoint, a clean exit. */
  async stop(): Promise<void> {
    if (this.child) this.signalServer(this.child, 'SIGINT');
    await this.ended;
  }

  /** `kill -9` of the server and every backend at once, as when its machine dies; resolves once they are gone. */
  async kill(): Promise<void> {
    if (this.child) this.signalServer(this.child, 'SIGKILL');
    await this.ended;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * A killed postmaster leaves its small System V shared memory segment behind (its id is in
   * postmaster.pid). A restart would reuse it; a folder thrown away would leak it, so it goes now.
   */
  private async removeLeftSharedMemory(): Promise<void> {
    let pidFile: string;
    try {
      pidFile = fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8');
    } catch {
      return;
    }
    const shmid = pidFile.split('\n')[6]?.trim().split(/\s+/)[1];
    if (shmid && /^\d+$/.test(shmid)) await run('ipcrm', ['-m', shmid]).catch(() => undefined);
  }

  /** Everything the server logged so far. */
  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** A connection as the superuser over the Unix socket. The caller ends it; its errors are kept, never thrown. */
  async connect(database = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client({ host: this.socketDir, port: this.port, user: SUPERUSER, database });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** One statement as the superuser on a connection of its own. */
  async query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], database = 'postgres'): Promise<Row[]> {
    const client = await this.connect(database);
    try {
      return (await client.query<Row>(text, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async inRecovery(): Promise<boolean> {
    const [row] = await this.query<{ in_recovery: boolean }>('SELECT pg_is_in_recovery() AS in_recovery');
    return row!.in_recovery;
  }

  /** `pg_ctl promote -w`: ends recovery; resolves once the node takes writes. Answers how long pg_ctl took, in ms. */
  async promote(): Promise<number> {
    const started = performance.now();
    await runProgram('pg_ctl', ['promote', '-D', this.dataDir, '-w', '-t', '60'], this.dir);
    const took = performance.now() - started;
    await pollUntil(async () => !(await this.inRecovery()), `${this.name} out of recovery`);
    return took;
  }

  /**
   * Sets `synchronous_standby_names` (ALTER SYSTEM and a reload): '' for none, or the standbys whose
   * flush a commit waits for. A promoted standby inherits its old primary's setting, which names
   * a standby it no longer has: until this is done, its commits wait for ever.
   */
  async setSynchronousStandbys(names: string): Promise<void> {
    await this.query(`ALTER SYSTEM SET synchronous_standby_names = ${configValue(names)}`);
    await this.query('SELECT pg_reload_conf()');
  }

  /**
   * The failover step: promote this standby, then name the standbys its commits wait for from now
   * on (none by default: the old primary is gone and no other standby exists yet).
   */
  async takeOver(options: { synchronousStandbys?: string } = {}): Promise<void> {
    await this.promote();
    await this.setSynchronousStandbys(options.synchronousStandbys ?? '');
  }

  /**
   * A new database owned by a new role with a password, on a primary; resolves once every standby
   * streaming from it has replayed them, so a test may connect to a standby at once.
   */
  async createDatabase(): Promise<PostgresDatabase> {
    const id = randomBytes(6).toString('hex');
    const database = { name: `nv_${id}`, user: `nv_${id}`, password: randomBytes(18).toString('base64url') };
    await this.query(`CREATE ROLE ${database.user} LOGIN PASSWORD ${configValue(database.password)}`);
    await this.query(`CREATE DATABASE ${database.name} OWNER ${database.user}`);
    await this.waitForReplay();
    return database;
  }

  /**
   * Resolves once every standby streaming from this primary has replayed all it has written so far.
   * With synchronous_commit=on a commit returns once its record is on the standby's disk, not yet
   * replayed: a query on the standby just after may not see it.
   */
  async waitForReplay(): Promise<void> {
    const [written] = await this.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await pollUntil(async () => {
      const [row] = await this.query<{ behind: number }>('SELECT count(*)::int AS behind FROM pg_stat_replication WHERE replay_lsn IS NULL OR replay_lsn < $1::pg_lsn', [written!.lsn]);
      return row!.behind === 0;
    }, `the standbys of ${this.name} to replay`);
  }
}

export interface SynchronousPair {
  readonly primary: PostgresNode;
  readonly standby: PostgresNode;
}

/**
 * A primary and a synchronous streaming standby: the primary's `synchronous_standby_names` names
 * the standby and `synchronous_commit` (default 'on': the commit record flushed to the standby's
 * disk) decides what a commit waits for, so a commit the primary acknowledges is on the standby.
 * Resolves once the primary counts the standby as synchronous.
 */
export async function startSynchronousPair(
  options: { primaryName?: string; standbyName?: string; synchronousCommit?: 'on' | 'remote_apply' | 'remote_write'; settings?: Readonly<Record<string, string>> } = {},
): Promise<SynchronousPair> {
  const standbyName = options.standbyName ?? 'standby';
  const primary = await PostgresNode.startPrimary({
    name: options.primaryName ?? 'primary',
    settings: { ...options.settings, synchronous_standby_names: configValue(`"${standbyName}"`), synchronous_commit: options.synchronousCommit ?? 'on' },
  });
  const standby = await primary.startStandby({ name: standbyName });
  await pollUntil(async () => (await primary.standbys()).some((s) => s.name === standbyName && s.syncState === 'sync'), `${standbyName} synchronous`);
  return { primary, standby };
}
