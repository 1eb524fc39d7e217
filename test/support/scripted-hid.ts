/**
 * A scripted stand-in for node-hid, for tests of the bridge's USB HID transport on a machine that
 * cannot create a virtual HID device (its kernel has no uhid and no USB): nothing here touches
 * /dev/hidraw or libusb.
 *
 * - `ScriptedHidToken` is the token at the other end of the cable: an in-process SimToken whose
 *   one transport has the 'hid' framing, so the real firmware core answers every report.
 * - `ScriptedHidDevice` is what node-hid's `HIDAsync.open(path)` gives back, with the same
 *   contract: an EventEmitter with `write(values): Promise<number>` and `close(): Promise<void>`,
 *   'data' events carrying input reports as Buffers of 64 bytes without a report ID (started once
 *   a 'data' listener is added, reports read before that kept as the kernel keeps them), and an
 *   'error' event when the device goes away. A write is treated as Linux hidapi and usbhid treat a
 *   device without numbered reports: the first byte is the report ID; a 0 there is stripped and
 *   the rest goes out; any other first byte goes out as data. The token sees only what comes out,
 *   and its firmware ignores anything that is not exactly 64 bytes.
 * - `ScriptedHidBackend` is the node-hid module: `devicesAsync()` and `open(path)`.
 *
 * Faults are scripted: a write hook can pull the cable at a chosen report, a token can pull it
 * after a number of input reports (in the middle of a reply), and a device can report short writes.
 */
import { EventEmitter } from 'node:events';
import type { Device, HIDAsync } from 'node-hid';
import { DEFAULT_TIMINGS, type FirmwareConfig, type Timings } from '../../device/firmware/token.ts';
import type { Transport } from '../../device/hal/transport.ts';
import { SimFlash } from '../../device/sim/sim-flash.ts';
import { SimClock } from '../../device/sim/sim-parts.ts';
import { SimToken } from '../../device/sim/sim-token.ts';
import { HID_REPORT_BYTES } from '../../protocol/framing/hid.ts';
import { HID_USAGE, HID_USAGE_PAGE, USB_PRODUCT_ID, USB_VENDOR_ID } from '../../protocol/usb.ts';
import type { HidBackend, HidDevice, HidDeviceInfo } from '../../host/bridge/node-hid-port.ts';

/** node-hid's own messages for these failures (src/HIDAsync.cc). */
export const NODE_HID_MESSAGES = {
  write: 'Cannot write to hid device',
  read: 'could not read data from device',
  closed: 'device has been closed',
  open: (path: string) => `cannot open device with path ${path}`,
} as const;

/**
 * What a write hook may do with one write: let it through (undefined), pull the cable during it
 * (the write fails, then the read side reports the loss), or fail only the write ('fail': hidapi's
 * write gives up, and nothing on the read side says anything yet).
 */
export type WriteFault = 'unplug' | 'fail' | undefined;

type Queued = { readonly kind: 'data'; readonly report: Uint8Array } | { readonly kind: 'error'; readonly error: Error };

/** One open handle on a HID device, as node-hid's HIDAsync is. */
export class ScriptedHidDevice extends EventEmitter implements HidDevice {
  /** Every buffer given to `write`, exactly as given (report ID included). */
  readonly writes: Uint8Array[] = [];
  /** Calls of `close`. */
  closeCalls = 0;
  closed = false;
  /** Called with the report that leaves the host on each write; 'unplug' pulls the cable during it. */
  onWrite: ((report: Uint8Array, raw: Uint8Array) => WriteFault) | undefined;
  /** What `write` resolves with instead of the byte count (a device that takes less than it was given). */
  writeReturns: ((raw: Uint8Array) => number) | undefined;
  /** What pulling the cable does beyond this handle (the token it belongs to goes away). */
  pullCable: (() => void) | undefined;
  private readonly queue: Queued[] = [];
  private flushing = false;
  private gone = false;

  constructor(
    readonly path: string,
    /** Where reports that leave the host go: a token's USB endpoint, or nowhere (a device that never answers). */
    private readonly sink: ((report: Uint8Array) => void) | undefined,
    private readonly onClosed: (device: ScriptedHidDevice) => void = () => {},
  ) {
    super();
    // As HIDAsync: reading starts once someone listens for 'data'.
    this.on('newListener', (event: string) => {
      if (event === 'data') process.nextTick(() => this.scheduleFlush());
    });
  }

  async write(values: number[] | Buffer): Promise<number> {
    const raw = Uint8Array.from(values);
    this.writes.push(raw);
    if (this.closed) throw new Error(NODE_HID_MESSAGES.closed);
    if (this.gone || raw.length === 0) throw new Error(NODE_HID_MESSAGES.write);
    // usbhid: a report ID of 0 means "no report ID" and is not sent; any other first byte is data.
    const report = raw[0] === 0 ? raw.subarray(1) : raw;
    const fault = this.onWrite?.(report, raw);
    if (fault === 'unplug') (this.pullCable ?? (() => this.unplugged()))();
    if (fault) throw new Error(NODE_HID_MESSAGES.write);
    if (this.writeReturns) return this.writeReturns(raw);
    this.sink?.(report.slice());
    return raw.length;
  }

  async close(): Promise<void> {
    this.closeCalls++;
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.removeAllListeners(); // as HIDAsync.close does
    this.onClosed(this);
  }

  /** An input report from the device, read by the host in its own time (never inside the write that caused it). */
  input(report: Uint8Array): void {
    if (this.closed || this.gone) return;
    this.queue.push({ kind: 'data', report: report.slice() });
    this.scheduleFlush();
  }

  /** The device went away: reports already read are delivered, then 'error', and every write after fails. */
  unplugged(): void {
    if (this.closed || this.gone) return;
    this.gone = true;
    this.queue.push({ kind: 'error', error: new Error(NODE_HID_MESSAGES.read) });
    this.scheduleFlush();
  }

  get isGone(): boolean {
    return this.gone;
  }

  /** The 64-byte reports that left the host, without their report ID byte. */
  reportsSent(): Uint8Array[] {
    return this.writes.filter((raw) => raw[0] === 0).map((raw) => raw.subarray(1));
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      while (!this.closed && this.queue.length > 0 && this.listenerCount('data') > 0) {
        const next = this.queue.shift()!;
        if (next.kind === 'data') this.emit('data', Buffer.from(next.report));
        else this.emit('error', next.error);
      }
    });
  }
}

// The scripted device must keep node-hid's signatures for what the bridge uses (checked by tsc).
type HidAsyncContract = Pick<HIDAsync, 'write' | 'close'> & EventEmitter;
const contract = (device: ScriptedHidDevice): HidAsyncContract => device;
void contract;

export interface ScriptedHidTokenOptions {
  readonly path?: string;
  readonly serial?: string;
  readonly timings?: Partial<Timings>;
  /** Changes to what `devicesAsync` says about the device. */
  readonly info?: Partial<Device>;
}

export const FAKE_HID_PATH = '/dev/hidraw-fake';

/**
 * The token on the other end of the cable: real firmware on simulated parts, its clock running on
 * real time (as the emulator's does), its one host link a USB HID endpoint.
 */
export class ScriptedHidToken {
  readonly token: SimToken;
  readonly info: Device;
  /** Handles open on it now. */
  readonly handles = new Set<ScriptedHidDevice>();
  /** Every handle ever opened on it. */
  readonly opened: ScriptedHidDevice[] = [];
  /** Input reports the token sent. */
  reportsOut = 0;
  private plugged = true;
  private unplugAfter: number | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;

  constructor(options: ScriptedHidTokenOptions = {}) {
    const serial = options.serial ?? '40000077';
    const started = performance.now();
    const clock: SimClock = new SimClock(
      () => performance.now() - started,
      (atMs) => {
        clearTimeout(this.wakeTimer);
        this.wakeTimer = atMs === null ? undefined : setTimeout(() => this.token.input({ type: 'tick' }), Math.max(0, atMs - clock.now()));
        this.wakeTimer?.unref();
      },
    );
    const usb: Transport = { framing: 'hid', send: (report) => this.fromToken(report) };
    const config: FirmwareConfig = { model: 'NV1', hardware: 'test', factorySerial: serial, timings: { ...DEFAULT_TIMINGS, ...options.timings } };
    this.token = new SimToken({ config, flash: new SimFlash(), transports: [usb], clock });
    this.token.powerOn();
    this.info = {
      vendorId: USB_VENDOR_ID,
      productId: USB_PRODUCT_ID,
      path: options.path ?? FAKE_HID_PATH,
      serialNumber: serial,
      manufacturer: 'noegleviser',
      product: 'noegleviser NV1',
      release: 0x0100,
      interface: 0,
      usagePage: HID_USAGE_PAGE,
      usage: HID_USAGE,
      ...options.info,
    };
  }

  get isPlugged(): boolean {
    return this.plugged;
  }

  /** A new handle, as `HIDAsync.open(path)` gives one. */
  open(): ScriptedHidDevice {
    const device = new ScriptedHidDevice(this.info.path!, (report) => this.token.receive(0, report), (d) => this.handles.delete(d));
    device.pullCable = () => this.unplug();
    this.handles.add(device);
    this.opened.push(device);
    return device;
  }

  /** Pulls the cable: every open handle reports the loss, and the token is no longer listed. */
  unplug(): void {
    this.plugged = false;
    for (const device of this.handles) device.unplugged();
  }

  /** Pulls the cable once `count` more input reports have left the token: the rest of a reply is lost. */
  unplugAfterReports(count: number): void {
    this.unplugAfter = this.reportsOut + count;
  }

  /** Stops the token's timer (call after each test). */
  dispose(): void {
    clearTimeout(this.wakeTimer);
    this.token.powerOff();
  }

  private fromToken(report: Uint8Array): void {
    if (report.length !== HID_REPORT_BYTES) throw new Error(`the firmware sent a ${report.length}-byte report`);
    this.reportsOut++;
    if (!this.plugged) return;
    for (const device of this.handles) device.input(report);
    if (this.unplugAfter !== undefined && this.reportsOut >= this.unplugAfter) {
      this.unplugAfter = undefined;
      this.unplug();
    }
  }
}

/** The node-hid module, with these tokens (and any other HID devices) plugged in. */
export class ScriptedHidBackend implements HidBackend {
  /** Paths passed to `open`, in order. */
  readonly opens: string[] = [];
  /** Every handle `open` gave out. */
  readonly handles: ScriptedHidDevice[] = [];
  devicesAsyncCalls = 0;

  constructor(
    readonly tokens: ScriptedHidToken[] = [],
    /** Other HID devices on the bus: listed, and opened as devices that never answer. */
    readonly others: Device[] = [],
  ) {}

  async devicesAsync(): Promise<HidDeviceInfo[]> {
    this.devicesAsyncCalls++;
    return [...this.others, ...this.tokens.filter((t) => t.isPlugged).map((t) => t.info)].map((info) => ({ ...info }));
  }

  async open(path: string): Promise<ScriptedHidDevice> {
    this.opens.push(path);
    const token = this.tokens.find((t) => t.isPlugged && t.info.path === path);
    const device = token ? token.open() : this.others.some((d) => d.path === path) ? new ScriptedHidDevice(path, undefined) : undefined;
    if (!device) throw new Error(NODE_HID_MESSAGES.open(path));
    this.handles.push(device);
    return device;
  }
}

/** A HID device that is not a noegleviser token, as `devicesAsync` lists it. */
export function otherHidDevice(overrides: Partial<Device>): Device {
  return { vendorId: 0x046d, productId: 0xc52b, path: '/dev/hidraw9', release: 0x1201, interface: 2, usagePage: 0xff00, usage: 1, ...overrides };
}
