/**
 * The emulator: the firmware core on PC parts. A pty is its serial port, UDP on loopback its HID
 * interface, a profile directory its flash chip and battery-backed clock, a Unix socket its debug
 * link; it announces itself in the runtime folder so that `noegleviser list` finds it.
 *
 * A dev board (device/targets/johnny-five) runs on the same runtime with its own button and
 * display handed in as `board`: its clock and flash stay here on the host, and it serves the
 * token protocol exactly as the emulator does, so a bridge cannot tell the two apart.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DebugHandlers } from '../../../protocol/debug/codec.ts';
import { DebugLinkError, type DisplayResult, type DriverState } from '../../../protocol/debug/messages.ts';
import type { EmulatorAnnouncement } from '../../../protocol/discovery.ts';
import type { Timings } from '../../firmware/token.ts';
import { segmentsToText } from '../../firmware/segments.ts';
import type { Button, SegmentDisplay } from '../../hal/index.ts';
import { SimClock, SimPower, SimRtc } from '../../sim/sim-parts.ts';
import { SimToken } from '../../sim/sim-token.ts';
import { loadEngine, type EngineName, type FirmwareEngine } from '../engines.ts';
import { serveDebugLink } from './debug-link.ts';
import { Profile } from './profile.ts';
import { announce, defaultRuntimeDir } from './registry.ts';
import { PtyTransport } from './pty-transport.ts';
import { UdpHidTransport } from './udp-hid-transport.ts';

export const EMULATOR_MODEL = 'NV1';

export interface EmulatorOptions {
  readonly profileDir: string;
  /** Serial number for a new profile; a profile keeps the one it was first given. */
  readonly serial?: string;
  readonly driftPpm?: number;
  readonly battery?: number;
  readonly timings?: Partial<Timings>;
  /** The UDP port of the HID interface (default: any free one). */
  readonly hidPort?: number;
  /** Where to announce the emulator and put its debug socket (default: the per-user runtime folder). */
  readonly runtimeDir?: string;
  /** A board's own parts; without them the token's button and display are simulated. The runtime closes them. */
  readonly board?: BoardParts;
  /** Where the firmware core runs (default `v8`, in this process). */
  readonly engine?: EngineName;
}

/** The lab's finger on the button: the emulator's is simulated; a virtual board's presses a pin. */
export interface Finger {
  press(): Promise<void>;
  /** Holds for `ms`, or just past the hold time. */
  hold(ms?: number): Promise<void>;
  set(pressed: boolean): Promise<void>;
}

/** What a dev board brings to the runtime. */
export interface BoardParts {
  /** `johnny-five`, as the token reports it. */
  readonly hardware: string;
  readonly button: Button;
  /** The runtime hands the board's button edges to the firmware through this. */
  onButtonEdge(listener: (pressed: boolean) => void): void;
  readonly displays: readonly SegmentDisplay[];
  /** None on a real board: its button is pressed by hand. */
  readonly finger?: Finger;
  /** More for the debug link's `display` and `state`: what the display driver was sent, decoded. */
  describe?(): { readonly driver?: DriverState };
  close(): Promise<void>;
}

export interface RunningEmulator {
  readonly serial: string;
  readonly port: string;
  /** The HID interface, `udp://127.0.0.1:PORT` (the bridge reaches it as `hid+udp://…`). */
  readonly hid: string;
  readonly debug: string;
  readonly profile: string;
  readonly token: SimToken;
  /** The lab's finger on the button (the debug link's and the face's); none on a real board, pressed by hand. */
  readonly finger?: Finger;
  /** Called with every change of the display, and of power. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const profile = new Profile(path.resolve(options.profileDir));
  profile.lock();
  const cleanups: (() => void | Promise<void>)[] = [() => profile.unlock()];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
    cleanups.length = 0;
  };
  try {
    return await assemble(options, profile, cleanups, cleanup);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function assemble(
  options: EmulatorOptions,
  profile: Profile,
  cleanups: (() => void | Promise<void>)[],
  cleanup: () => Promise<void>,
): Promise<RunningEmulator> {
  const engine = await loadEngine(options.engine ?? 'v8');
  let hardware = profile.loadHardware({ driftPpm: options.driftPpm, battery: options.battery }, Date.now());
  const { flash, close: closeFlash } = profile.openFlash(hardware);
  cleanups.push(closeFlash);

  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((listener) => listener());

  let wakeTimer: NodeJS.Timeout | undefined;
  const started = performance.now();
  const clock = new SimClock(
    () => performance.now() - started,
    (atMs) => {
      clearTimeout(wakeTimer);
      wakeTimer = atMs === null ? undefined : setTimeout(() => token.input({ type: 'tick' }), Math.max(0, atMs - clock.now()));
    },
  );
  cleanups.push(() => clearTimeout(wakeTimer));

  const saveHardware = () => {
    hardware = { ...hardware, battery: power.percent, rtc: { unixMs: rtc.read(), hostMs: Date.now() } };
    profile.saveHardware(hardware);
  };
  const rtcNow = hardware.rtc.unixMs + (Date.now() - hardware.rtc.hostMs) * (1 + hardware.driftPpm / 1e6);
  const rtc = new SimRtc(clock, rtcNow, hardware.driftPpm, () => saveHardware());
  const power = new SimPower(hardware.battery);

  const pty = new PtyTransport((bytes) => token.receive(0, bytes));
  cleanups.push(() => pty.close());
  const hid = await UdpHidTransport.open((report) => token.receive(1, report), options.hidPort);
  cleanups.push(() => hid.close());

  const board = options.board;
  if (board) cleanups.push(() => board.close());
  const token: SimToken = new SimToken({
    config: { model: EMULATOR_MODEL, hardware: board?.hardware ?? 'emulator', factorySerial: options.serial, timings: options.timings },
    core: engine.createCore,
    flash,
    transports: [pty, hid],
    clock,
    rtc,
    power,
    button: board?.button,
    displays: board?.displays,
  });
  token.display.onChange(changed);
  board?.onButtonEdge((pressed) => token.input({ type: 'button', pressed }));
  const finger: Finger | undefined = board ? board.finger : simulatedFinger(token);

  let restoreDelayMs = 0;
  let restoreTimer: NodeJS.Timeout | undefined;
  token.onPowerChange((on) => {
    changed();
    if (!on) restoreTimer = setTimeout(() => token.powerOn(), restoreDelayMs);
  });
  cleanups.push(() => clearTimeout(restoreTimer));

  token.powerOn();
  const serial = token.serial;
  if (!serial) throw new Error('the token did not boot');

  const runtimeDir = options.runtimeDir ?? defaultRuntimeDir();
  fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  const debug = path.join(runtimeDir, `debug-${process.pid}-${serial}.sock`);
  const debugServer = await serveDebugLink(
    debug,
    debugHandlers({
      token,
      finger,
      engine,
      describe: board?.describe,
      port: pty.path,
      setRestoreDelay: (ms) => (restoreDelayMs = ms),
      saveHardware,
      dropped: () => pty.dropped,
    }),
  );
  cleanups.push(() => debugServer.close());

  const announcement: EmulatorAnnouncement = {
    format: 1,
    pid: process.pid,
    port: pty.path,
    hid: hid.address,
    debug,
    serial,
    model: EMULATOR_MODEL,
    profile: profile.dir,
    startedAt: new Date().toISOString(),
  };
  cleanups.push(announce(runtimeDir, announcement));
  cleanups.push(() => saveHardware());

  return {
    serial,
    port: pty.path,
    hid: hid.address,
    debug,
    profile: profile.dir,
    token,
    finger,
    onChange: (listener) => listeners.push(listener),
    close: cleanup,
  };
}

/** The emulator's finger works in the token's own time: a press takes no wall-clock time at all. */
function simulatedFinger(token: SimToken): Finger {
  return {
    press: async () => token.press(),
    hold: async (ms) => token.hold(ms),
    set: async (pressed) => token.setButton(pressed),
  };
}

interface DebugContext {
  readonly token: SimToken;
  readonly finger: Finger | undefined;
  readonly engine: FirmwareEngine;
  readonly describe: BoardParts['describe'];
  readonly port: string;
  setRestoreDelay(ms: number): void;
  saveHardware(): void;
  dropped(): number;
}

function debugHandlers(context: DebugContext): DebugHandlers {
  const { token } = context;
  const display = (): DisplayResult => ({
    display: segmentsToText(token.display.segments),
    segments: [...token.display.segments],
    on: token.poweredOn,
    ...context.describe?.(),
  });
  const finger = () => {
    if (!token.poweredOn) throw new DebugLinkError('NV_DEBUG_POWERED_OFF', 'the token is powered off');
    if (!context.finger) throw new DebugLinkError('NV_DEBUG_NO_FINGER', "a real board's button is pressed by hand");
    return context.finger;
  };
  return {
    press: async () => {
      await finger().press();
      return display();
    },
    hold: async ({ ms }) => {
      await finger().hold(ms);
      return display();
    },
    button: async ({ pressed }) => {
      await finger().set(pressed);
      return display();
    },
    display,
    advance: ({ ms }) => {
      token.advance(ms);
      context.saveHardware();
      return { clock: Math.floor(token.rtc.read()), ...display() };
    },
    'power-cut': ({ offMs = 0, atOperation, fraction = 0.5 }) => {
      context.setRestoreDelay(offMs);
      if (atOperation !== undefined) {
        token.armPowerCut({ atOperation, fraction });
        return { armed: true, atOperation, fraction, offMs };
      }
      token.powerOff();
      return { cut: true, offMs };
    },
    'power-on': () => {
      token.powerOn();
      return { on: token.poweredOn };
    },
    battery: ({ percent }) => {
      token.power.percent = percent;
      context.saveHardware();
      return { battery: token.power.percent };
    },
    state: () => ({
      serial: token.serial ?? null,
      port: context.port,
      powered: token.poweredOn,
      boots: token.boots,
      battery: Math.round(token.power.percent * 1000) / 1000,
      clock: Math.floor(token.rtc.read()),
      driftPpm: token.rtc.driftPpm,
      flash: {
        operations: token.flash.operations,
        endurance: token.flash.endurance,
        maxPageErases: Math.max(...token.flash.eraseCounts),
        pageErases: [...token.flash.eraseCounts],
      },
      droppedOutputBytes: context.dropped(),
      engine: context.engine.describe(),
      ...display(),
    }),
  };
}
