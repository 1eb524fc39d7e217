/**
 * Private temporary folders for a test run, so that whatever a test leaves behind is found.
 *
 * The run gets one folder (test/support/leftover-check.global.ts) and each test file one inside
 * it (test/support/leftover-check.setup.ts): TMPDIR points there, so `os.tmpdir()`, the processes
 * the tests start, their default runtime folder (`$TMPDIR/noegleviser-UID`) and Chromium's
 * profiles all land where the check looks. A test that leaves something there fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where the run's private folder is recorded for the workers and the reporter. */
export const RUN_TMPDIR_VARIABLE = 'NOEGLEVISER_TEST_RUN_TMPDIR';
/** Set by the summary reporter once it has listed the run's leftovers, so the teardown does not list them again. */
export const LEFTOVERS_REPORTED_VARIABLE = 'NOEGLEVISER_TEST_LEFTOVERS_REPORTED';

/**
 * tsx keeps its compile cache in `$TMPDIR/tsx-EUID`. A private TMPDIR would make every CLI
 * process compile from scratch (a second more per start), so this name links to the shared
 * cache; it is tsx's cache, not something a test made.
 */
function tsxCacheName(): string {
  return `tsx-${process.geteuid?.() ?? os.userInfo().username}`;
}

/** Makes a fresh folder `PREFIX-XXXXXX` under `parent` that serves as a TMPDIR. */
export function makePrivateTmpdir(parent: string, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(parent, `${prefix}-`));
  const sharedCache = path.join(parent, tsxCacheName());
  fs.mkdirSync(sharedCache, { recursive: true, mode: 0o700 });
  fs.symlinkSync(sharedCache, path.join(dir, tsxCacheName()));
  return dir;
}

/** What is in a private TMPDIR besides the link to tsx's cache: each entry with the files under it. */
export function leftoversIn(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    const full = path.join(dir, name);
    if (name === tsxCacheName() && fs.lstatSync(full).isSymbolicLink()) continue;
    found.push(full);
    if (fs.lstatSync(full).isDirectory()) {
      const inside = fs.readdirSync(full, { recursive: true, encoding: 'utf8' }).sort();
      for (const entry of inside.slice(0, 20)) found.push(`  ${path.join(full, entry)}`);
      if (inside.length > 20) found.push(`  … and ${inside.length - 20} more`);
    }
  }
  return found;
}

/** The entries (not their contents) left in a private TMPDIR. */
export function leftoverCount(dir: string): number {
  return leftoversIn(dir).filter((line) => !line.startsWith(' ')).length;
}

/** Removes a private TMPDIR and all in it (the link to tsx's cache, not the cache). */
export function removePrivateTmpdir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
