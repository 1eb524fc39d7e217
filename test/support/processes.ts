/** Real processes for end-to-end tests: the `noegleviser` CLI and emulators, as a user runs them. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'noegleviser.mjs');

/** Temporary folders and processes made through this module that are still to be cleaned up. */
const madeDirs = new Set<string>();
const liveProcesses = new Set<LiveProcess>();

/** A process some test support started, as the end-of-file clean-up sees it: a child process or one on a pty. */
export interface LiveProcess {
  /** Its command line, to name it when it had to be stopped. */
  readonly label: string;
  running(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** Resolves once it has ended. */
  readonly ended: Promise<unknown>;
}

/**
 * A fresh temporary folder `nv-PREFIX-XXXXXX`. It removes itself: the test setup
 * (leftover-check.setup.ts) removes every such folder when the test file ends, after the file's
 * own afterAll hooks have stopped what used it.
 */
export function tempDir(prefix: string): string {
  // Short paths: Unix socket paths are limited to about 100 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nv-${prefix}-`));
  madeDirs.add(dir);
  return dir;
}

/** Tracks a process until it ends: one still running when its test file ends is stopped then. */
export function trackProcess(process: LiveProcess): void {
  liveProcesses.add(process);
  void process.ended.finally(() => liveProcesses.delete(process));
}

/**
 * Tracks a child process until it exits (see trackProcess). Every process this module starts is
 * tracked; a test that spawns one itself can pass it here.
 */
export function tracked<C extends ChildProcess>(child: C): C {
  const running = () => child.exitCode === null && child.signalCode === null;
  trackProcess({
    label: child.spawnargs.slice(2).join(' '),
    running,
    signal: (signal) => child.kill(signal),
    ended: new Promise<void>((resolve) => {
      if (!running()) resolve();
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    }),
  });
  return child;
}

/** SIGTERM, then SIGKILL once `graceMs` have passed; resolves when it is gone. */
async function endProcess(process: LiveProcess, graceMs: number): Promise<void> {
  if (!process.running()) return;
  process.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  if ((await Promise.race([process.ended, graceOver])) === 'late' && process.running()) {
    process.signal('SIGKILL');
    await process.ended;
  }
  clearTimeout(timer);
}

/**
 * Ends the processes this module started that are still running (SIGTERM, then SIGKILL after
 * `graceMs`), waits until they are gone, then removes every folder `tempDir` made. Returns what
 * it had to stop. The test setup calls it when a test file ends.
 */
export async function cleanUpTestResources(graceMs = 5000): Promise<{ stoppedProcesses: string[] }> {
  const processes = [...liveProcesses];
  liveProcesses.clear();
  const stoppedProcesses = processes.filter((process) => process.running()).map((process) => process.label);
  await Promise.all(processes.map((process) => endProcess(process, graceMs)));
  for (const dir of madeDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  madeDirs.clear();
  return { stoppedProcesses };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs `noegleviser ARGS` to completion. */
export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = tracked(spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`noegleviser ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms; stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A CLI process left running (e.g. `code`, waiting for a press). */
export function cliInBackground(args: string[], options: CliOptions = {}): { child: ChildProcess; result: Promise<CliResult>; stderrIncludes(text: string): Promise<void> } {
  const child = tracked(spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve(): void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of waiters.filter((w) => stderr.includes(w.text))) waiter.resolve();
  });
  const result = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    result,
    stderrIncludes: (text) =>
      stderr.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve });
            result.then((r) => reject(new Error(`process ended (exit ${r.code}) before printing "${text}": ${r.stderr}`)));
          }),
  };
}

export interface EmulatorProcess {
  readonly port: string;
  /** Its HID interface as the bridge takes it: hid+udp://127.0.0.1:PORT. */
  readonly hid: string;
  readonly debug: string;
  readonly serial: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (a clean stop), or SIGKILL; resolves with the exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A long-running `noegleviser` process, once it has printed its JSON ready line. */
export interface ReadyProcess<Ready> {
  readonly ready: Ready;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnUntilReady<Ready>(name: string, args: string[], env: NodeJS.ProcessEnv, options: { timeoutMs?: number } = {}): Promise<ReadyProcess<Ready>> {
  const child = tracked(spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timeoutMs = options.timeoutMs ?? 20_000;
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Only whole lines: a long ready line (a rack's) may come in several chunks.
      const line = stdout
        .slice(0, stdout.lastIndexOf('\n') + 1)
        .split('\n')
        .find((l) => l.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Ready);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before ready; stderr: ${stderr}`));
    });
  });
  return {
    ready,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function startEmulatorProcess(options: { profile: string; runtimeDir: string; args?: string[] }): Promise<EmulatorProcess> {
  const emulator = await spawnUntilReady<{ port: string; hid: string; debug: string; serial: string; pid: number }>(
    'emulator',
    ['device', 'emulate', '--headless', '--profile', options.profile, ...(options.args ?? [])],
    { NOEGLEVISER_RUNTIME_DIR: options.runtimeDir },
  );
  return { ...emulator.ready, hid: `hid+${emulator.ready.hid}`, child: emulator.child, stderr: emulator.stderr, stop: emulator.stop };
}

/** `noegleviser device board --io virtual`: the johnny-five target on a board that is not there. */
export async function startVirtualBoardProcess(options: { profile: string; runtimeDir: string; display: 'max7219' | 'lcd'; lcd?: 'parallel' | 'i2c' }): Promise<EmulatorProcess> {
  const board = await spawnUntilReady<{ port: string; hid: string; debug: string; serial: string; pid: number }>(
    'board',
    ['device', 'board', '--io', 'virtual', '--headless', '--display', options.display, '--lcd', options.lcd ?? 'parallel', '--profile', options.profile],
    { NOEGLEVISER_RUNTIME_DIR: options.runtimeDir },
  );
  return { ...board.ready, hid: `hid+${board.ready.hid}`, child: board.child, stderr: board.stderr, stop: board.stop };
}

/** Debian tools the interop tests use: skipped with a message locally, a failure in CI. */
export function toolAvailable(tool: string): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  return dirs.some((dir) => fs.existsSync(path.join(dir, tool)));
}

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export interface ServerProcess {
  readonly url: string;
  readonly adminKey: string;
  readonly clientKey: string;
  readonly dbFile: string;
  readonly child: ChildProcess;
  /** Everything it wrote so far (request logs go to stderr). */
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const TEST_ADMIN_KEY = 'nv_admin_test_key_0123456789abcdef';
export const TEST_CLIENT_KEY = 'nv_client_test_key_0123456789abcdef';

/** `noegleviser server` on a free loopback port, with known API keys (as an operator sets them). */
export async function startServerProcess(options: {
  dbFile: string;
  /** A postgres:// URL several servers share (a cluster's nodes); `dbFile`'s folder is then the node's own. */
  postgresUrl?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  port?: number;
  /** How long it may take to print its ready line (default 20 s). */
  readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  // Imported here: the PostgreSQL test support imports this module.
  const { databaseArguments } = await import('./test-store.ts');
  const database = options.postgresUrl ? ['--db', options.postgresUrl, '--data-dir', path.dirname(options.dbFile)] : await databaseArguments(options.dbFile);
  const server = await spawnUntilReady<{ url: string; db: string }>(
    'server',
    ['server', ...database, '--listen', `127.0.0.1:${options.port ?? 0}`, ...(options.args ?? [])],
    { NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY: TEST_CLIENT_KEY, ...options.env },
    { timeoutMs: options.readyTimeoutMs },
  );
  return {
    url: server.ready.url,
    adminKey: TEST_ADMIN_KEY,
    clientKey: TEST_CLIENT_KEY,
    dbFile: server.ready.db,
    child: server.child,
    stdout: server.stdout,
    stderr: server.stderr,
    stop: server.stop,
  };
}

/** A JSON request to a test server; answers status and parsed body. */
export async function api(
  server: Pick<ServerProcess, 'url'>,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(server.url + path, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}
