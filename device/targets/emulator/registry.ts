/**
 * The emulator's side of the runtime folder: each running emulator (or virtual board, or each
 * token of a rack) announces itself there in the format of protocol/discovery.ts, and the
 * device's own commands find a running one there by its serial number.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { announcementFileName, parseAnnouncement, runtimeDirectory, type EmulatorAnnouncement } from '../../../protocol/discovery.ts';

export function defaultRuntimeDir(): string {
  const { NOEGLEVISER_RUNTIME_DIR, XDG_RUNTIME_DIR } = process.env;
  return runtimeDirectory({ NOEGLEVISER_RUNTIME_DIR, XDG_RUNTIME_DIR }, os.tmpdir(), process.getuid?.() ?? 0);
}

/** Whether a process with this pid runs (one of another user's counts too). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Announces an emulator; the returned function takes the announcement back. */
export function announce(runtimeDir: string, announcement: EmulatorAnnouncement): () => void {
  const file = path.join(runtimeDir, announcementFileName(announcement.pid, announcement.serial));
  fs.writeFileSync(file, JSON.stringify(announcement) + '\n', { mode: 0o600 });
  return () => fs.rmSync(file, { force: true });
}

/** The emulators whose announcement is there and whose process still runs, by serial number. */
export function runningEmulators(runtimeDir = defaultRuntimeDir()): EmulatorAnnouncement[] {
  let names: string[];
  try {
    names = fs.readdirSync(runtimeDir);
  } catch {
    return [];
  }
  const found: EmulatorAnnouncement[] = [];
  for (const name of names.filter((n) => n.startsWith('emulator-') && n.endsWith('.json'))) {
    let announcement: EmulatorAnnouncement | undefined;
    try {
      announcement = parseAnnouncement(fs.readFileSync(path.join(runtimeDir, name), 'utf8'));
    } catch {
      continue;
    }
    // A killed emulator's announcement stays until a host tidies it up: it is not running.
    if (announcement && isAlive(announcement.pid)) found.push(announcement);
  }
  return found.sort((a, b) => a.serial.localeCompare(b.serial) || a.pid - b.pid);
}
