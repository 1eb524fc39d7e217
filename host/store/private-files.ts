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

/** A folder on the way to a data directory that cannot be one: a file, or one that cannot be made. */
export class FolderError extends Error {
  constructor(
    readonly folder: string,
    readonly reason: string,
  ) {
    super(`${folder} ${reason}`);
    this.name = 'FolderError';
  }
}

/**
 * Makes `dir` and any missing parents, one at a time from the top (Node's recursive mkdir loops for
 * ever where a file system refuses new folders, as /proc does); those it made are mode 0700, whatever
 * the umask. A folder that was already there keeps its mode: it is the operator's.
 */
export function ensurePrivateDir(dir: string): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    const stats = statIfThere(at);
    if (stats) {
      if (!stats.isDirectory()) throw new FolderError(at, 'is a file, not a folder');
      break;
    }
    missing.unshift(at);
    if (at === path.dirname(at)) break;
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder, { mode: 0o700 });
    } catch (error) {
      throw new FolderError(folder, `cannot be made (${whyNot(error as NodeJS.ErrnoException)})`);
    }
    fs.chmodSync(folder, 0o700);
  }
}

/** A path's stats, or undefined where nothing is (a missing name, or a file where a folder should be on the way). */
function statIfThere(at: string): fs.Stats | undefined {
  try {
    return fs.statSync(at);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new FolderError(at, `cannot be looked at (${whyNot(error as NodeJS.ErrnoException)})`);
  }
}

/** A file-system error in words a person can act on. */
export function whyNot(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENOENT':
      return 'the file system there takes no new files or folders';
    default:
      return error.code ?? error.message;
  }
}
