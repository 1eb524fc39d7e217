/** `noegleviser device emulate --count N` as a real process, once it has printed its ready line. */
import type { ChildProcess } from 'node:child_process';
import { spawnUntilReady } from './processes.ts';

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
  /** SIGTERM (a clean stop) by default; resolves with the exit code (null if a signal ended it) once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startRackProcess(options: { profile: string; runtimeDir: string; count: number; args?: string[]; readyTimeoutMs?: number }): Promise<RackProcess> {
  const rack = await spawnUntilReady<RackReady>(
    'rack',
    ['device', 'emulate', '--headless', '--count', String(options.count), '--profile', options.profile, ...(options.args ?? [])],
    { NOEGLEVISER_RUNTIME_DIR: options.runtimeDir },
    { timeoutMs: options.readyTimeoutMs ?? 30_000 },
  );
  return { ...rack, tokens: rack.ready.tokens };
}
