/**
 * Finding tokens: serial ports the operating system lists, and emulators, which announce
 * themselves in the runtime folder (a pty is never listed by the system).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { parseAnnouncement, runtimeDirectory, type EmulatorAnnouncement } from '../../protocol/discovery.ts';
import { listHidTokens, loadNodeHid, type HidBackend } from './node-hid-port.ts';

export interface FoundPort {
  readonly kind: 'serial' | 'hid' | 'emulator';
  /** What `--port` takes to reach it. */
  readonly port: string;
  /** An emulator's HID interface, as `--port` takes it. */
  readonly hid?: string;
  readonly serial?: string;
  readonly model?: string;
  /** The emulator's debug link. */
  readonly debug?: string;
  readonly description: string;
}

export interface Discovery {
  readonly ports: FoundPort[];
  /** Why part of the search could not run (e.g. no udevadm to list serial ports). */
  readonly warnings: string[];
}

export function hostRuntimeDir(): string {
  const { NOEGLEVISER_RUNTIME_DIR, XDG_RUNTIME_DIR } = process.env;
  return runtimeDirectory({ NOEGLEVISER_RUNTIME_DIR, XDG_RUNTIME_DIR }, os.tmpdir(), process.getuid?.() ?? 0);
}

/** Emulators that announced themselves and whose process still runs; stale announcements are removed. */
export function listEmulators(runtimeDir = hostRuntimeDir()): EmulatorAnnouncement[] {
  let names: string[];
  try {
    names = fs.readdirSync(runtimeDir);
  } catch {
    return [];
  }
  const found: EmulatorAnnouncement[] = [];
  for (const name of names.filter((n) => n.startsWith('emulator-') && n.endsWith('.json'))) {
    const file = path.join(runtimeDir, name);
    let announcement: EmulatorAnnouncement | undefined;
    try {
      announcement = parseAnnouncement(fs.readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (!announcement) continue;
    if (!isAlive(announcement.pid)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    found.push(announcement);
  }
  return found.sort((a, b) => a.serial.localeCompare(b.serial));
}

export async function discover(runtimeDir = hostRuntimeDir(), hid: () => HidBackend = loadNodeHid): Promise<Discovery> {
  const warnings: string[] = [];
  const ports: FoundPort[] = listEmulators(runtimeDir).map((e) => ({
    kind: 'emulator',
    port: e.port,
    ...(e.hid ? { hid: `hid+${e.hid}` } : {}),
    serial: e.serial,
    model: e.model,
    debug: e.debug,
    description: `emulated ${e.model} (pid ${e.pid}, profile ${e.profile})`,
  }));
  try {
    for (const info of await SerialPort.list()) {
      const vendor = info.vendorId ? ` ${info.vendorId}:${info.productId ?? '????'}` : '';
      ports.push({
        kind: 'serial',
        port: info.path,
        serial: info.serialNumber,
        description: `${info.manufacturer ?? 'serial port'}${vendor}`.trim(),
      });
    }
  } catch (error) {
    warnings.push(`serial ports could not be listed: ${(error as Error).message.split('\n')[0]} (is udev installed?)`);
  }
  try {
    for (const device of await listHidTokens(hid())) {
      ports.push({ kind: 'hid', port: `hid:${device.path}`, serial: device.serialNumber, description: device.product ?? 'noegleviser HID token' });
    }
  } catch (error) {
    warnings.push(`HID tokens could not be listed: ${(error as Error).message}`);
  }
  return { ports, warnings };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
