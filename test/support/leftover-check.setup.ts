/**
 * Runs before every test file (vitest `setupFiles`): the file gets a private TMPDIR, and when it
 * ends (after its own afterAll hooks) the processes and folders made through test/support are
 * stopped and removed, and anything else left in its TMPDIR fails the file, named.
 */
import fs from 'node:fs';
import os from 'node:os';
import { afterAll } from 'vitest';
import { cleanUpTestResources } from './processes.ts';
import { RUN_TMPDIR_VARIABLE, leftoversIn, makePrivateTmpdir, removePrivateTmpdir } from './private-tmpdir.ts';

const outer = process.env.TMPDIR;
const runDir = process.env[RUN_TMPDIR_VARIABLE];
const parent = runDir && fs.existsSync(runDir) ? runDir : os.tmpdir();
const fileTmpdir = makePrivateTmpdir(parent, 'f');
process.env.TMPDIR = fileTmpdir;

afterAll(async () => {
  try {
    await cleanUpTestResources();
    const left = leftoversIn(fileTmpdir);
    if (left.length > 0) {
      throw new Error(`this test file left ${left.filter((l) => !l.startsWith(' ')).length} path(s) in its temporary folder (now removed):\n${left.join('\n')}`);
    }
  } finally {
    removePrivateTmpdir(fileTmpdir);
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
  }
});

