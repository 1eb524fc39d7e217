/**
 * `npm start`'s lab: server, login service, emulated token and bridge in one process, across runs,
 * headless, and with its face in a terminal (a real pty). By default a press is left for logging
 * in; --verify-presses has the bridge verify it.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { startLab } from '../support/lab-process.ts';
import { cli, tempDir } from '../support/processes.ts';
import { onTerminal } from '../support/terminal.ts';

describe('the lab (npm start), headless', () => {
  const dir = tempDir('lab');
  const runtimeDir = path.join(dir, 'run');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('enrols its token, orders the lab person whose NemID it is, serves the lab page, and leaves a press for logging in', async () => {
    // Under umask 000, the widest there is: what the lab writes is no wider than its own modes say.
    const umask = process.umask(0);
    const lab = await startLab(path.join(dir, 'data'), runtimeDir).finally(() => process.umask(umask));
    // Stopped also when an expectation fails.
    onTestFinished(async () => {
      await lab.stop();
    });
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
    const mode = (...names: string[]) => (fs.statSync(path.join(dir, 'data', ...names)).mode & 0o777).toString(8);
    expect(mode()).toBe('700');
    for (const file of [['server.log'], ['api-keys.json'], ['server', 'tokens.db'], ['server', 'tokens.db-wal'], ['server', 'master.key']]) {
      expect([file.join('/'), mode(...file)]).toEqual([file.join('/'), '600']);
    }
    expect(await lab.stop()).toBe(0);
  });

  it('a second run reuses the same token, person and server record; --verify-presses verifies each press; Ctrl-C stops it cleanly', async () => {
    const lab = await startLab(path.join(dir, 'data'), runtimeDir, ['--verify-presses']);
    onTestFinished(async () => {
      await lab.stop();
    });
    expect(lab.lines.some((line) => line.startsWith('enrolled') || line.startsWith('ordered'))).toBe(false);
    const shown = await cli(['device', 'press', '--debug', lab.ready.debug], { env });
    expect(await lab.waitFor(/accepted|rejected/)).toBe(`${shown.stdout.trim()} accepted (counter 1)`);
    expect(await lab.stop()).toBe(0);
    // Nothing of the lab is left running: its emulator's announcement is gone.
    const listed = JSON.parse((await cli(['list', '--json'], { env })).stdout);
    expect(listed.ports.filter((p: { kind: string }) => p.kind === 'emulator')).toEqual([]);
  });
});

describe('the lab (npm start) with its face in a terminal', () => {
  const dir = tempDir('labtty');
  const runtimeDir = path.join(dir, 'run');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the status line shows a press's code while the display shows it, and not once the display went dark", async () => {
    const terminal = onTerminal(['lab', '--dir', path.join(dir, 'data'), '--listen', '127.0.0.1:0'], env, { cols: 220, rows: 30 });
    const output = () => terminal.output();
    /** The status line of each frame the face drew after `from`, in order: the line under the keys' help. */
    const statusLines = (from = 0) => [...output().slice(from).matchAll(/space\/enter: press {3}h: hold {3}q: quit\r?\n\r\x1b\[2K {2}(.*?)\r?\n/g)].map((match) => match[1]!);
    const drawn = async (from: number, test: (line: string) => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!statusLines(from).some(test)) {
        if (Date.now() > deadline) throw new Error(`the face drew no status line ${what}; output: ${JSON.stringify(output().slice(from).slice(-2000))}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      await drawn(0, (line) => line.includes('press space for a code'), 'inviting a press');
      const emulator = (JSON.parse((await cli(['list', '--json'], { env })).stdout) as { ports: { kind: string; debug?: string }[] }).ports.find((p) => p.kind === 'emulator')!;
      const { display } = await debugCall(emulator.debug!, 'press');
      const code = String(display).trim();
      expect(code).toMatch(/^\d{6}$/);
      await drawn(0, (line) => line.includes(`${code} shown (counter 0)`), `naming ${code}`);

      const beforeDark = output().length;
      await debugCall(emulator.debug!, 'advance', { ms: 31_000 });
      await drawn(beforeDark, (line) => line.includes('press space for a code'), 'back to idle after the display went dark');
      const after = statusLines(beforeDark);
      expect(after.at(-1)).not.toContain(code);
      expect(after.at(-1)).toContain('press space for a code');
    } finally {
      terminal.type('q');
      await Promise.race([terminal.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      await terminal.stop('SIGKILL');
    }
  });
});
