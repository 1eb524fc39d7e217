/**
 * Real HID tokens through node-hid. node-hid is loaded only when a HID token is asked for; where
 * its native library cannot load (no libusb on the machine), the error names the package to
 * install. Writes carry the report ID (0, the token uses none) before the 64 bytes, as hidapi asks.
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { HID_USAGE_PAGE, USB_PRODUCT_ID, USB_VENDOR_ID } from '../../protocol/usb.ts';
import { HID_REPORT_BYTES } from '../../protocol/framing/hid.ts';
import type { ReportPort } from './report-port.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/** What the bridge uses of node-hid's HIDAsync device. */
export interface HidDevice extends EventEmitter {
  write(values: number[] | Buffer): Promise<number>;
  close(): Promise<void>;
}

export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string;
  serialNumber?: string;
  product?: string;
  usagePage?: number;
}

/** What the bridge uses of the node-hid module. */
export interface HidBackend {
  devicesAsync(): Promise<HidDeviceInfo[]>;
  open(path: string): Promise<HidDevice>;
}

const require = createRequire(import.meta.url);

/** What the bridge uses of the node-hid module itself. */
interface NodeHidModule {
  devicesAsync(): Promise<HidDeviceInfo[]>;
  HIDAsync: { open(path: string): Promise<HidDevice> };
  /** Loads node-hid's native library (libusb and all) if it is not loaded yet. */
  getHidapiVersion?(): string;
}

/** node-hid, or a one-line error saying what the machine lacks. */
export function loadNodeHid(load: () => unknown = () => require('node-hid')): HidBackend {
  let nodeHid: NodeHidModule;
  try {
    nodeHid = load() as NodeHidModule;
    // `require('node-hid')` does not load its native library: its first call does. Load it here,
    // so a missing libusb is this one error, not a raw dlopen failure from listing or opening.
    nodeHid.getHidapiVersion?.();
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0]!;
    const hint = /libusb/i.test(reason)
      ? 'install the Debian package libusb-1.0-0'
      : /cannot find module/i.test(reason)
        ? 'install the npm package node-hid'
        : 'reinstall node-hid (npm rebuild node-hid)';
    throw new CodedError('NV_HID_UNAVAILABLE', `node-hid cannot be loaded (${reason}): ${hint}`);
  }
  return { devicesAsync: () => nodeHid.devicesAsync(), open: (path) => nodeHid.HIDAsync.open(path) };
}

/** noegleviser tokens among the HID devices. */
export async function listHidTokens(backend: HidBackend): Promise<HidDeviceInfo[]> {
  const devices = await backend.devicesAsync();
  return devices.filter(
    (d) => d.vendorId === USB_VENDOR_ID && d.productId === USB_PRODUCT_ID && (d.usagePage === undefined || d.usagePage === HID_USAGE_PAGE),
  );
}

export class NodeHidReportPort implements ReportPort {
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  private closed = false;

  private constructor(
    private readonly device: HidDevice,
    readonly description: string,
  ) {
    device.on('error', (error: Error) => this.finish(new CodedError('NV_LINK_CLOSED', `${description} went away (${error.message})`)));
  }

  /** Opens a token by its HID path, or by its serial number among the noegleviser tokens present. */
  static async open(selector: string, backend: HidBackend): Promise<NodeHidReportPort> {
    let path = selector;
    if (!selector.startsWith('/')) {
      const match = (await listHidTokens(backend)).find((d) => d.serialNumber === selector || d.path === selector);
      if (!match?.path) throw new CodedError('NV_PORT_OPEN', `no HID token with serial number ${selector} is plugged in`);
      path = match.path;
    }
    let device: HidDevice;
    try {
      device = await backend.open(path);
    } catch (error) {
      throw new CodedError('NV_PORT_OPEN', `cannot open HID device ${path}: ${(error as Error).message} (see hardware-notes.md for the udev rule)`);
    }
    return new NodeHidReportPort(device, `hid:${path}`);
  }

  async write(report: Uint8Array): Promise<void> {
    if (this.closed) throw new CodedError('NV_LINK_CLOSED', `${this.description} is closed`);
    const withReportId = Buffer.alloc(HID_REPORT_BYTES + 1);
    withReportId.set(report, 1);
    let written: number;
    try {
      written = await this.device.write(withReportId);
    } catch (error) {
      this.finish(new CodedError('NV_LINK_CLOSED', `${this.description} went away (${(error as Error).message})`));
      throw new CodedError('NV_LINK_CLOSED', `${this.description} went away`);
    }
    if (written !== withReportId.length) throw new CodedError('NV_LINK_FAILED', `${this.description} took ${written} of ${withReportId.length} bytes`);
  }

  onReport(listener: (report: Uint8Array) => void): void {
    this.device.on('data', (data: Buffer) => listener(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.device.close().catch(() => {});
  }

  private finish(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    void this.device.close().catch(() => {});
    for (const listener of this.closeListeners) listener(error);
  }
}
