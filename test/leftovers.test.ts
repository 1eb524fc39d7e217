/**
 * Tests leave nothing behind: the folders test/support makes and the processes it starts are
 * removed and stopped when a test file ends, even when the file itself cleans up nothing, and a
 * file that leaves anything else in its temporary folder fails the run, naming what it left.
 * Each case runs the project's vitest configuration on a fixture in a child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/processes.ts';

const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const CONFIG = path.join(ROOT, 'test', 'fixtures', 'leftovers', 'vitest.config.ts');

interface Run {
  readonly code: number | null;
  readonly output: string;
  /** What is left in the TMPDIR the run was given, besides the link to tsx's compile cache. */
  readonly left: string[];
}

/**
 * `vitest run` on one fixture. Its TMPDIR is this file's own, which holds nothing else (a folder
 * of its own would lengthen the fixture's paths past what a Unix socket path can be).
 */
function runFixture(fixture: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const tmpdir = os.tmpdir();
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmpdir, NV_LEFTOVER_FIXTURE: fixture, NO_COLOR: '1', ...extraEnv };
  for (const name of Object.keys(env)) if (name.startsWith('VITEST') || name === 'NOEGLEVISER_TEST_RUN_TMPDIR') delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, left: fs.readdirSync(tmpdir).filter((name) => !name.startsWith('tsx-')) }));
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('what tests leave behind', () => {
  it('folders made with tempDir (at collection, in beforeAll, in a test) are removed and a process left running is stopped, though the file cleans up nothing', async () => {
    const run = await runFixture('tidy');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('1 passed, 0 failed, 0 skipped');
    const pid = Number(/fixture emulator pid=(\d+)/.exec(run.output)?.[1]);
    expect(pid, run.output).toBeGreaterThan(0);
    expect(isRunning(pid)).toBe(false);
    expect(run.left).toEqual([]);
  });

  it('a folder nobody removes fails its file and the run (exit 1), named in the output and counted in the summary line', async () => {
    const run = await runFixture('leaky');
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/this test file left 1 path\(s\) in its temporary folder[^\n]*\n[^\n]*nv-forgotten-\w+\n[^\n]*flash\.bin/);
    expect(run.output).toContain('1 passed, 1 failed, 0 skipped');
    expect(run.left).toEqual([]);
  });

  it('a file skipped for a missing Debian package (outside CI) says so, passes, and leaves nothing, though every test is skipped', async () => {
    const run = await runFixture('missing-package', { CI: 'false' });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('SKIPPED: the fixture package is missing (apt-get install fixture): the fixture is skipped');
    expect(run.output).toContain('0 passed, 0 failed, 2 skipped');
    expect(run.left).toEqual([]);
  });

  it('in CI the same file fails, naming the missing package', async () => {
    const run = await runFixture('missing-package', { CI: 'true' });
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain('the fixture package is installed (CI requires it)');
    expect(run.output).toContain('0 passed, 1 failed, 1 skipped');
    expect(run.left).toEqual([]);
  });
});
