/**
 * Finding tokens: serial ports the operating system lists, and emulators, which announce
 * themselves in the runtime folder (a pty is never listed by the system). A command that is not
 * told which token to use takes the one attached (an emulator or a USB HID token), or the one with
 * the serial number it is given.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, parseAnnouncement, runtimeDirectory, type EmulatorAnnouncement } from '../../protocol/discovery.ts';
import { listHidTokens, loadNodeHid, type HidBackend } from './node-hid-port.ts';
import { CodedError } from '../../protocol/coded-error.ts';

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
  /** The emulator's process, and how many tokens it runs (more than one: a rack, `device emulate --count N`). */
  readonly pid?: number;
  readonly rackSize?: number;
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
    if (!isAlive(announcement.pid, process)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    found.push(announcement);
  }
  return found.sort((a, b) => a.serial.localeCompare(b.serial) || a.pid - b.pid);
}

export async function discover(runtimeDir = hostRuntimeDir(), hid: () => HidBackend = loadNodeHid): Promise<Discovery> {
  const warnings: string[] = [];
  const emulators = listEmulators(runtimeDir);
  const perProcess = tokensPerProcess(emulators);
  const ports: FoundPort[] = emulators.map((e) => ({
    kind: 'emulator',
    port: e.port,
    ...(e.hid ? { hid: `hid+${e.hid}` } : {}),
    serial: e.serial,
    model: e.model,
    debug: e.debug,
    pid: e.pid,
    rackSize: perProcess.get(e.pid)!,
    description: `emulated ${e.model} (${processLabel(e.pid, perProcess.get(e.pid)!)}, profile ${e.profile})`,
  }));
  try {
    // Loaded here, not with the CLI: serialport's native binding is for the commands that look for tokens.
    const { SerialPort } = await import('serialport');
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

function tokensPerProcess(emulators: readonly EmulatorAnnouncement[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of emulators) counts.set(e.pid, (counts.get(e.pid) ?? 0) + 1);
  return counts;
}

function processLabel(pid: number, tokens: number): string {
  return tokens > 1 ? `pid ${pid}, one of a rack of ${tokens}` : `pid ${pid}`;
}

/** A token a command can open without being told where: a running emulator or a USB HID token. */
export interface AttachedToken {
  /** What `connectToken` takes: an emulator's HID over UDP (or its pty), `hid:PATH` for a USB token. */
  readonly port: string;
  readonly serial?: string;
  /** Another way to the same token (an emulator's pty), for when `port` is held by another program. */
  readonly alternate?: string;
  /** Where it is, for people: "emulator pid 4242" or "USB HID /dev/hidraw3". */
  readonly where: string;
}

/**
 * The tokens attached to this machine: running emulators (through their HID over UDP, which
 * costs less to open than a pty and leaves the pty to whoever holds it) and USB HID tokens. Plain
 * serial ports are not probed: any device may sit behind one; they are named with --port.
 */
export async function attachedTokens(runtimeDir = hostRuntimeDir(), hid: () => HidBackend = loadNodeHid): Promise<{ tokens: AttachedToken[]; warnings: string[] }> {
  const emulators = listEmulators(runtimeDir);
  const perProcess = tokensPerProcess(emulators);
  const tokens: AttachedToken[] = emulators.map((e) => ({
    ...(e.hid ? { port: `hid+${e.hid}`, alternate: e.port } : { port: e.port }),
    serial: e.serial,
    where: `emulator ${processLabel(e.pid, perProcess.get(e.pid)!)}`,
  }));
  const warnings: string[] = [];
  try {
    for (const device of await listHidTokens(hid())) {
      if (device.path) tokens.push({ port: `hid:${device.path}`, serial: device.serialNumber, where: `USB HID ${device.path}` });
    }
  } catch (error) {
    warnings.push(`HID tokens could not be listed: ${(error as Error).message}`);
  }
  return { tokens, warnings };
}

/**
 * The one token a command means: the one with `serial`, or the only one attached. Several and
 * none chosen is an error that lists them (NV_SEVERAL_TOKENS); none, one that says how to attach one.
 */
export function chooseToken(tokens: readonly AttachedToken[], serial?: string): AttachedToken {
  const describe = (t: AttachedToken) => `${t.serial ?? '(no serial)'} (${t.where})`;
  if (serial !== undefined) {
    const matching = tokens.filter((t) => t.serial === serial);
    if (matching.length === 1) return matching[0]!;
    if (matching.length === 0) {
      throw new CodedError('NV_NO_SUCH_TOKEN', `no attached token has serial ${serial}` + (tokens.length ? `; attached: ${tokens.map(describe).join(', ')}` : ': none is attached'));
    }
    throw new CodedError('NV_SEVERAL_TOKENS', `${matching.length} attached tokens have serial ${serial}: ${matching.map(describe).join(', ')}; choose one with --port`);
  }
  if (tokens.length === 1) return tokens[0]!;
  if (tokens.length === 0) throw new CodedError('NV_NO_TOKENS', 'no token found: start an emulator (noegleviser device emulate), plug a token in, or name its port with --port');
  throw new CodedError('NV_SEVERAL_TOKENS', `${tokens.length} tokens are attached: ${tokens.map(describe).join(', ')}; choose one with --serial SERIAL (or --port)`);
}
