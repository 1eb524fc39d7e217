/** The runtime folder, written by the emulator and read by the host's one reader (host/bridge/discovery.ts): running emulators only, by serial number. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorAnnouncement } from '../../../protocol/discovery.ts';
import { tempDir } from '../../../test/support/processes.ts';
import { listEmulators } from '../../../host/bridge/discovery.ts';
import { announce } from './registry.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function announcement(pid: number, serial: string): EmulatorAnnouncement {
  return { format: 1, pid, port: '/dev/pts/99', debug: `/run/debug-${pid}-${serial}.sock`, serial, model: 'NV1', profile: '/p', startedAt: new Date(0).toISOString() };
}

describe('listEmulators', () => {
  it('lists the live announcements by serial number, and neither dead processes nor other files', () => {
    const dir = tempDir('registry');
    dirs.push(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    announce(dir, announcement(process.pid, '40000002'));
    announce(dir, announcement(process.pid, '40000001'));
    announce(dir, announcement(dead, '40000003'));
    fs.writeFileSync(path.join(dir, 'emulator-1-x.json'), 'not json');
    fs.writeFileSync(path.join(dir, 'debug-1-40000004.sock'), '');
    expect(listEmulators(dir).map((e) => e.serial)).toEqual(['40000001', '40000002']);
  });

  it('an announcement taken back is gone; a folder that does not exist lists none', () => {
    const dir = tempDir('registry');
    dirs.push(dir);
    const takeBack = announce(dir, announcement(process.pid, '40000001'));
    takeBack();
    expect(listEmulators(dir)).toEqual([]);
    expect(listEmulators(path.join(dir, 'missing'))).toEqual([]);
  });
});
