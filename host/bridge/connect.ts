/**
 * Where a token is, and how to reach it: a serial port path (`/dev/ttyACM0`, an emulator's
 * `/dev/pts/N`), `hid+udp://HOST:PORT` (an emulator's HID; its ready line says `udp://…`), or
 * `hid:PATH` / `hid:SERIAL` (a USB HID token through node-hid). Every transport ends in a message
 * link, and every command works the same over each.
 */
import { HidMessageLink } from './hid-link.ts';
import type { MessageLink } from './link.ts';
import { NodeHidReportPort, loadNodeHid, type HidBackend } from './node-hid-port.ts';
import { SerialLineLink } from './serial-link.ts';
import { UdpReportPort } from './udp-report-port.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export type TokenAddress =
  | { readonly kind: 'serial'; readonly path: string }
  | { readonly kind: 'hid-udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'hid'; readonly selector: string };

export function parseAddress(text: string): TokenAddress {
  const udp = /^(?:hid\+)?udp:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+):(\d{1,5})\/?$/.exec(text);
  if (udp) {
    const port = Number(udp[2]);
    if (port < 1 || port > 65535) throw new CodedError('NV_BAD_ADDRESS', `${text}: a UDP port is 1..65535`);
    return { kind: 'hid-udp', host: udp[1]!.replace(/^\[|\]$/g, ''), port };
  }
  if (text.startsWith('hid:')) {
    const selector = text.slice(4);
    if (!selector) throw new CodedError('NV_BAD_ADDRESS', 'hid: needs a device path or a serial number, e.g. hid:/dev/hidraw3');
    return { kind: 'hid', selector };
  }
  if (/^[a-z+]+:\/\//i.test(text)) throw new CodedError('NV_BAD_ADDRESS', `${text}: a token is a serial port path, hid+udp://HOST:PORT or hid:PATH`);
  return { kind: 'serial', path: text };
}

export interface LinkOptions {
  readonly baudRate?: number;
  readonly timeoutMs?: number;
  /** node-hid, or a stand-in (tests: this machine cannot create a virtual HID device). */
  readonly hid?: () => HidBackend;
}

export async function openLink(address: TokenAddress, options: LinkOptions = {}): Promise<MessageLink> {
  switch (address.kind) {
    case 'serial': {
      const link = await SerialLineLink.open(address.path, options.baudRate);
      await link.clearLine();
      return link;
    }
    case 'hid-udp':
      return openHid(await UdpReportPort.open(address.host, address.port), options.timeoutMs);
    case 'hid': {
      const backend = (options.hid ?? loadNodeHid)();
      return openHid(await NodeHidReportPort.open(address.selector, backend), options.timeoutMs);
    }
  }
}

async function openHid(port: NodeHidReportPort | UdpReportPort, timeoutMs: number | undefined): Promise<MessageLink> {
  try {
    return await HidMessageLink.open(port, timeoutMs);
  } catch (error) {
    await port.close();
    throw error;
  }
}
