/** FreeRADIUS's radclient (Debian freeradius-utils) sending one Access-Request: its exit status and everything it printed. */
import { spawn } from 'node:child_process';
import { tracked } from './processes.ts';

export interface Radclient {
  readonly status: number | null;
  readonly stdout: string;
}

/** `attributes` one a line (`User-Name = "alice"`); `tries` 1 for a request that should get no answer. */
export function radclient(port: number, secret: string, attributes: string[], options: { tries?: number } = {}): Promise<Radclient> {
  const child = tracked(spawn('radclient', ['-x', '-r', String(options.tries ?? 3), '-t', '2', `127.0.0.1:${port}`, 'auth', secret], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdin!.end(attributes.join('\n') + '\n');
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout })));
}
