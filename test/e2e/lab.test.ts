/**
 * `npm start`'s lab, headless: server, login service, emulated token and bridge in one process,
 * across runs. By default a press is left for logging in; --verify-presses has the bridge verify it.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { cli, ROOT, tempDir, tracked } from '../support/processes.ts';

interface LabRun {
  ready: { server: string; lab: string; port: string; debug: string; serial: string; person: string };
  lines: string[];
  waitFor(pattern: RegExp): Promise<string>;
  stop(): Promise<number | null>;
}

async function startLab(dir: string, runtimeDir: string, extra: string[] = []): Promise<LabRun> {
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
  const waitFor = (pattern: RegExp) => {
    const seen = lines.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lab printed no ${pattern} in 20 s; stdout: ${lines.join('\n')}; stderr: ${stderr}`)), 20_000);
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  };
  const ready = JSON.parse(await waitFor(/"event":"ready"/));
  return {
    ready,
    lines,
    waitFor,
    stop: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('the lab (npm start), headless', () => {
  const dir = tempDir('lab');
  const runtimeDir = path.join(dir, 'run');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };

  it('enrols its token, orders the lab person whose NemID it is, serves the lab page, and leaves a press for logging in', async () => {
    const lab = await startLab(path.join(dir, 'data'), runtimeDir);
    expect(lab.lines.some((line) => line.startsWith(`enrolled token ${lab.ready.serial} with the server`))).toBe(true);
    expect(lab.ready.person).toMatch(/^\d{10}$/);
    expect(lab.lines.some((line) => line.startsWith(`ordered NemID ${lab.ready.person} for Lab Person with token ${lab.ready.serial}`))).toBe(true);
    const page = await fetch(lab.ready.lab);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="token-button"');
    const letters = (await (await fetch(`${lab.ready.server}/lab/outbox`)).json()) as { letters: { kind: string; personId: string }[] };
    expect(letters.letters).toEqual([expect.objectContaining({ kind: 'welcome', personId: lab.ready.person })]);
    const shown = await cli(['device', 'press', '--debug', lab.ready.debug], { env });
    const line = await lab.waitFor(/shown/);
    expect(line).toBe(`${shown.stdout.trim()} shown (counter 0): type it at ${lab.ready.lab}`);
    expect(await lab.stop()).toBe(0);
  });

  it('a second run reuses the same token, person and server record; --verify-presses verifies each press; Ctrl-C stops it cleanly', async () => {
    const lab = await startLab(path.join(dir, 'data'), runtimeDir, ['--verify-presses']);
    expect(lab.lines.some((line) => line.startsWith('enrolled') || line.startsWith('ordered'))).toBe(false);
    const shown = await cli(['device', 'press', '--debug', lab.ready.debug], { env });
    expect(await lab.waitFor(/accepted|rejected/)).toBe(`${shown.stdout.trim()} accepted (counter 1)`);
    expect(await lab.stop()).toBe(0);
    // Nothing of the lab is left running: its emulator's announcement is gone.
    const listed = JSON.parse((await cli(['list', '--json'], { env })).stdout);
    expect(listed.ports.filter((p: { kind: string }) => p.kind === 'emulator')).toEqual([]);
  });
});
