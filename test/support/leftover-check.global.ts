/**
 * vitest `globalSetup`: the run gets its own TMPDIR (each test file then one inside it, see
 * leftover-check.setup.ts), so nothing a test makes lands in the system's temporary folder. At the
 * end anything still in it fails the run (exit status 1, the paths listed) and is removed.
 * XDG_RUNTIME_DIR is unset so that an emulator started without NOEGLEVISER_RUNTIME_DIR announces
 * itself under TMPDIR too, never in the user's own runtime folder.
 */
import os from 'node:os';
import { LEFTOVERS_REPORTED_VARIABLE, RUN_TMPDIR_VARIABLE, leftoversIn, makePrivateTmpdir, removePrivateTmpdir } from './private-tmpdir.ts';

/**
 * With several projects (vitest.config.ts) this setup runs for the root and for each project, each
 * a module of its own, in the one main process: the first makes the run's folder, the others find
 * it in the environment and leave it to the first, whose teardown comes once every file has run.
 */
export default function setup(): () => void {
  if (process.env[RUN_TMPDIR_VARIABLE]) return () => undefined;
  return startRun();
}

/** Makes the run's folder and points TMPDIR there; answers what checks, removes it and restores the environment. */
function startRun(): () => void {
  const runDir = makePrivateTmpdir(os.tmpdir(), 'nvt');
  const saved = { TMPDIR: process.env.TMPDIR, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
  process.env.TMPDIR = runDir;
  process.env[RUN_TMPDIR_VARIABLE] = runDir;
  delete process.env.XDG_RUNTIME_DIR;
  return () => {
    const left = leftoversIn(runDir);
    removePrivateTmpdir(runDir);
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    delete process.env[RUN_TMPDIR_VARIABLE];
    if (left.length === 0) return;
    process.exitCode = 1;
    if (process.env[LEFTOVERS_REPORTED_VARIABLE] !== '1') {
      process.stderr.write(`\nThe tests left these in their temporary folder (now removed):\n${left.join('\n')}\n`);
    }
    delete process.env[LEFTOVERS_REPORTED_VARIABLE];
  };
}
