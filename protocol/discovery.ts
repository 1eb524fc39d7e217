/**
 * How a running emulator announces itself to hosts on the same machine (a pty is never listed by
 * the operating system): one JSON file per emulator in a per-user runtime folder. This module
 * holds the file's format, the folder's name and how a dead writer is told; the emulator writes
 * the file (device/targets/emulator/registry.ts) and the host reads it (host/bridge/discovery.ts).
 */

export interface EmulatorAnnouncement {
  readonly format: 1;
  readonly pid: number;
  /** The serial port a host opens: the pty's slave side. */
  readonly port: string;
  /** Its HID interface over UDP, `udp://127.0.0.1:PORT`. */
  readonly hid?: string;
  /** The emulator's debug link (a Unix socket path). */
  readonly debug: string;
  readonly serial: string;
  readonly model: string;
  readonly profile: string;
  readonly startedAt: string;
}

/** Whether `text` is an emulator's serial number as it makes one and as `--serial` names one: 8 digits, the first not 0. */
export function isEmulatorSerial(text: string): boolean {
  return /^[1-9][0-9]{7}$/.test(text);
}

export interface RuntimeEnvironment {
  readonly NOEGLEVISER_RUNTIME_DIR?: string;
  readonly XDG_RUNTIME_DIR?: string;
}

/** The per-user folder for announcements and debug sockets. */
export function runtimeDirectory(env: RuntimeEnvironment, tmpdir: string, uid: number): string {
  if (env.NOEGLEVISER_RUNTIME_DIR) return env.NOEGLEVISER_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/noegleviser`;
  return `${tmpdir}/noegleviser-${uid}`;
}

export function announcementFileName(pid: number, serial: string): string {
  return `emulator-${pid}-${serial}.json`;
}

export function parseAnnouncement(text: string): EmulatorAnnouncement | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Record<string, unknown>;
  const strings = ['port', 'debug', 'serial', 'model', 'profile', 'startedAt'] as const;
  if (a.format !== 1 || !Number.isInteger(a.pid) || !strings.every((key) => typeof a[key] === 'string')) return undefined;
  return a as unknown as EmulatorAnnouncement;
}

/** How a side asks the operating system about a process: `process`, whose `kill(pid, 0)` sends no signal, only checks. */
export interface ProcessSignals {
  kill(pid: number, signal: 0): unknown;
}

/**
 * Whether the process `pid` still runs: signal 0 reaches it, or is refused because it is another
 * user's. A killed emulator leaves its announcement (and its profile's lock) behind; this is how
 * either is told stale.
 */
export function isAlive(pid: number, signals: ProcessSignals): boolean {
  try {
    signals.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}
