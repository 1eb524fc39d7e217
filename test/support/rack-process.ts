/** `noegleviser device emulate --count N` as a real process, once it has printed its ready line. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './processes.ts';

const BIN = path.join(ROOT, 'bin', 'noegleviser.mjs');

export interface RackToken {
  readonly port: string;
  /** As the ready line prints it: udp://127.0.0.1:PORT. */
  readonly hid: string;
  readonly debug: string;
  readonly serial: string;
  readonly profile: string;
}

export interface RackReady {
  readonly event: 'ready';
  readonly count: number;
  readonly tokens: RackToken[];
  readonly pid: number;
}

export interface RackProcess {
  readonly ready: RackReady;
  readonly tokens: RackToken[];
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (a clean stop) by default; resolves with the exit code (or the signal's name) once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

export async function startRackProcess(options: { profile: string; runtimeDir: string; count: number; args?: string[]; readyTimeoutMs?: number }): Promise<RackProcess> {
  const child = spawn(process.execPath, [BIN, 'device', 'emulate', '--headless', '--count', String(options.count), '--profile', options.profile, ...(options.args ?? [])], {
    env: { ...process.env, NOEGLEVISER_RUNTIME_DIR: options.runtimeDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const ready = await new Promise<RackReady>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rack not ready within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Only whole lines: a rack's ready line is long and may come in several chunks.
      const line = stdout
        .slice(0, stdout.lastIndexOf('\n') + 1)
        .split('\n')
        .find((l) => l.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as RackReady);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`rack exited (${code}) before ready; stderr: ${stderr}`));
    });
  });
  return {
    ready,
    tokens: ready.tokens,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
