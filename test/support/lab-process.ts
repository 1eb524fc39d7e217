/** `npm start`'s lab as a real process (`noegleviser lab --headless`), its stdout read line by line. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, tracked } from './processes.ts';

export interface LabReady {
  readonly server: string;
  readonly lab: string;
  readonly port: string;
  readonly debug: string;
  readonly serial: string;
  readonly person: string;
}

export interface LabRun {
  readonly ready: LabReady;
  readonly lines: string[];
  /** The first line (printed so far or later) that matches; fails after 20 s. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startLab(dir: string, runtimeDir: string, extra: string[] = []): Promise<LabRun> {
  const child = tracked(
    spawn(process.execPath, [path.join(ROOT, 'bin', 'noegleviser.mjs'), 'lab', '--headless', '--dir', dir, '--listen', '127.0.0.1:0', ...extra], {
      env: { ...process.env, NOEGLEVISER_RUNTIME_DIR: runtimeDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lines: string[] = [];
  let stderr = '';
  let buffered = '';
  const waiters: { pattern: RegExp; resolve(line: string): void }[] = [];
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    return exited;
  };
  const waitFor = (pattern: RegExp) => {
    const seen = lines.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lab printed no ${pattern} in 20 s; stdout: ${lines.join('\n')}; stderr: ${stderr}`)), 20_000);
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  };
  try {
    const ready = JSON.parse(await waitFor(/"event":"ready"/)) as LabReady;
    return { ready, lines, waitFor, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
