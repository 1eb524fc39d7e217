/**
 * The server's files that hold secrets or say who did what (the database with its WAL and
 * shared-memory files, a request log) are their owner's alone, mode 0600, whatever the umask and
 * whatever folder they are in. SQLite gives the -wal and -shm files it makes the mode of the
 * database file, so a database created 0600 keeps its companions 0600 too.
 */
import fs from 'node:fs';
import path from 'node:path';

const OWNER_ONLY = 0o600;

/** Creates `file` empty if it is missing; a regular file, new or old, is then made mode 0600. */
export function ensurePrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, OWNER_ONLY));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  makePrivate(file);
}

/** Mode 0600 for a regular file that exists (the umask may have left it wider); nothing else is touched. */
export function makePrivate(file: string): void {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (stats.isFile() && (stats.mode & 0o777) !== OWNER_ONLY) fs.chmodSync(file, OWNER_ONLY);
}

/**
 * Makes `dir` and any missing parents; those it made are mode 0700 (the umask may have taken more
 * or less). A folder that was already there keeps its mode: it is the operator's.
 */
export function ensurePrivateDir(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let made = path.resolve(dir); ; made = path.dirname(made)) {
    fs.chmodSync(made, 0o700);
    if (made === path.resolve(first) || made === path.dirname(made)) break;
  }
}
