/**
 * The emulator's side of the runtime folder: each running emulator (or virtual board, or each
 * token of a rack) announces itself there in the format of protocol/discovery.ts. Hosts read it
 * (host/bridge/discovery.ts); the emulator only writes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { announcementFileName, runtimeDirectory, type EmulatorAnnouncement } from '../../../protocol/discovery.ts';

export function defaultRuntimeDir(): string {
  const { NOEGLEVISER_RUNTIME_DIR, XDG_RUNTIME_DIR } = process.env;
  return runtimeDirectory({ NOEGLEVISER_RUNTIME_DIR, XDG_RUNTIME_DIR }, os.tmpdir(), process.getuid?.() ?? 0);
}

/** Announces an emulator; the returned function takes the announcement back. */
export function announce(runtimeDir: string, announcement: EmulatorAnnouncement): () => void {
  const file = path.join(runtimeDir, announcementFileName(announcement.pid, announcement.serial));
  fs.writeFileSync(file, JSON.stringify(announcement) + '\n', { mode: 0o600 });
  return () => fs.rmSync(file, { force: true });
}
