/**
 * An in-process bench for the firmware's HID framing: a SimToken with a HID transport whose sent
 * reports are captured here (optionally beside a line transport, the token then being one token
 * on two links), and a small reference host that cuts and reads reports by hand.
 *
 * The reference packet layout and CRC here are written out independently of
 * protocol/framing/hid.ts (and the CRC comes from node:zlib), so the firmware's HID link is
 * checked against the wire format itself, not against the code that also produced it.
 */
import * as zlib from 'node:zlib';
import { decodeMessage, encodeMessage, type Fields, type Message } from '../../protocol/message.ts';
import type { Transport } from '../../device/hal/transport.ts';
import { SimFlash } from '../../device/sim/sim-flash.ts';
import { SimToken } from '../../device/sim/sim-token.ts';
import { SimRng } from '../../device/sim/sim-parts.ts';
import { CapturingTransport, TEST_CONFIG } from './rig.ts';
import { seededBytes } from './random.ts';

export const REPORT = 64;
export const INIT_DATA = 57;
export const CONT_DATA = 59;
export const BROADCAST = 0xffffffff;

/** Command bytes and error codes as the wire format defines them (CTAPHID's numbering). */
export const CMD = { PING: 0x01, INIT: 0x06, CANCEL: 0x11, KEEPALIVE: 0x3b, ERROR: 0x3f, MESSAGE: 0x40, EVENT: 0x41 } as const;
export const ERR = {
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  INVALID_CHANNEL: 0x0b,
  OTHER: 0x7f,
} as const;
export const UPNEEDED = 2;

export function refCrc32(bytes: Uint8Array): number {
  return (zlib as unknown as { crc32: (data: Uint8Array) => number }).crc32(bytes) >>> 0;
}

/** A body followed by its CRC-32, big-endian: what MESSAGE and EVENT carry. */
export function refSeal(body: string): Uint8Array {
  const bytes = Uint8Array.from(body, (c) => c.charCodeAt(0));
  const out = new Uint8Array(bytes.length + 4);
  out.set(bytes);
  const crc = refCrc32(bytes);
  out[bytes.length] = crc >>> 24;
  out[bytes.length + 1] = (crc >>> 16) & 0xff;
  out[bytes.length + 2] = (crc >>> 8) & 0xff;
  out[bytes.length + 3] = crc & 0xff;
  return out;
}

/** The body of a sealed payload, or undefined when its CRC does not match. */
export function refOpen(payload: Uint8Array): string | undefined {
  if (payload.length < 4) return undefined;
  const end = payload.length - 4;
  const stored = ((payload[end]! << 24) | (payload[end + 1]! << 16) | (payload[end + 2]! << 8) | payload[end + 3]!) >>> 0;
  if (stored !== refCrc32(payload.subarray(0, end))) return undefined;
  return String.fromCharCode(...payload.subarray(0, end));
}

function putChannel(report: Uint8Array, channel: number): void {
  report[0] = channel >>> 24;
  report[1] = (channel >>> 16) & 0xff;
  report[2] = (channel >>> 8) & 0xff;
  report[3] = channel & 0xff;
}

/** One INIT packet by hand: channel, 0x80|command, length (big-endian, may lie), data. */
export function initReport(channel: number, command: number, length: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const report = new Uint8Array(REPORT);
  putChannel(report, channel);
  report[4] = 0x80 | command;
  report[5] = (length >>> 8) & 0xff;
  report[6] = length & 0xff;
  report.set(data.subarray(0, INIT_DATA), 7);
  return report;
}

/** One CONT packet by hand. */
export function contReport(channel: number, sequence: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const report = new Uint8Array(REPORT);
  putChannel(report, channel);
  report[4] = sequence & 0x7f;
  report.set(data.subarray(0, CONT_DATA), 5);
  return report;
}

/** A payload cut into reports by hand: INIT with the first 57 bytes, CONTs 0, 1, … with 59 each. */
export function refReports(channel: number, command: number, payload: Uint8Array): Uint8Array[] {
  const reports = [initReport(channel, command, payload.length, payload.subarray(0, INIT_DATA))];
  for (let offset = INIT_DATA, seq = 0; offset < payload.length; offset += CONT_DATA, seq++) {
    reports.push(contReport(channel, seq, payload.subarray(offset, offset + CONT_DATA)));
  }
  return reports;
}

/** How many reports a payload of `size` bytes takes. */
export function reportCount(size: number): number {
  return size <= INIT_DATA ? 1 : 1 + Math.ceil((size - INIT_DATA) / CONT_DATA);
}

export function channelOf(report: Uint8Array): number {
  return ((report[0]! << 24) | (report[1]! << 16) | (report[2]! << 8) | report[3]!) >>> 0;
}

/** A whole message the token sent, read back from its reports. */
export interface HidFrame {
  readonly channel: number;
  readonly command: number;
  readonly payload: Uint8Array;
  /** The token's clock when its first report went out. */
  readonly at: number;
}

/**
 * Reads the token's reports back into messages. The token writes each message's reports one
 * after the other, so anything else (a wrong size, a CONT out of order, a message cut short)
 * is a bug in the token and throws.
 */
export function reassemble(reports: readonly { report: Uint8Array; at: number }[]): HidFrame[] {
  const frames: HidFrame[] = [];
  let i = 0;
  while (i < reports.length) {
    const { report, at } = reports[i++]!;
    if (report.length !== REPORT) throw new Error(`the token sent a ${report.length}-byte report`);
    if (!(report[4]! & 0x80)) throw new Error(`the token sent a stray CONT (channel ${channelOf(report).toString(16)}, seq ${report[4]})`);
    const channel = channelOf(report);
    const command = report[4]! & 0x7f;
    const length = (report[5]! << 8) | report[6]!;
    const payload = new Uint8Array(length);
    payload.set(report.subarray(7, 7 + Math.min(length, INIT_DATA)));
    let filled = Math.min(length, INIT_DATA);
    for (let seq = 0; filled < length; seq++) {
      const next = reports[i++];
      if (!next) throw new Error(`the token's message on ${channel.toString(16)} stops after ${filled} of ${length} bytes`);
      if (channelOf(next.report) !== channel || next.report[4] !== seq) throw new Error(`the token's CONT ${seq} on ${channel.toString(16)} is out of place`);
      const take = Math.min(CONT_DATA, length - filled);
      payload.set(next.report.subarray(5, 5 + take), filled);
      filled += take;
    }
    frames.push({ channel, command, payload, at });
  }
  return frames;
}

/** Captures what the token sends on a HID link, one report a `send`, with the time it went out. */
export class CapturingHidTransport implements Transport {
  readonly framing = 'hid' as const;
  private sent: { report: Uint8Array; at: number }[] = [];

  constructor(private readonly now: () => number = () => 0) {}

  send(bytes: Uint8Array): void {
    this.sent.push({ report: bytes.slice(), at: this.now() });
  }

  /** Reports sent since the last call, raw. */
  takeReports(): { report: Uint8Array; at: number }[] {
    const sent = this.sent;
    this.sent = [];
    return sent;
  }

  /** Messages sent since the last call. */
  takeFrames(): HidFrame[] {
    return reassemble(this.takeReports());
  }
}

/** A MESSAGE or EVENT frame's protocol message; throws when its CRC or body is bad. */
export function frameMessage(frame: HidFrame): Message {
  const body = refOpen(frame.payload);
  if (body === undefined) throw new Error(`a ${frame.command.toString(16)} frame on ${frame.channel.toString(16)} failed its CRC`);
  return decodeMessage(body);
}

export interface HidRig {
  readonly token: SimToken;
  readonly hid: CapturingHidTransport;
  /** The line link, when the rig was made with one (link 0; HID is then link 1). */
  readonly line: CapturingTransport | undefined;
  readonly hidLink: number;
  /** Hands the token these reports, in order, and returns every message it sent meanwhile. */
  deliver(reports: readonly Uint8Array[]): HidFrame[];
  /** Messages the token sent on its own (timeouts, keepalives, events) since the last call. */
  frames(): HidFrame[];
  /** A broadcast INIT with `nonce`; returns the new channel, after checking the answer. */
  allocate(nonce?: Uint8Array): number;
  /** Sends a body (sealed) as MESSAGE on `channel`; returns everything sent back. */
  message(channel: number, body: string): HidFrame[];
  /** Sends a request on `channel`; returns the protocol messages sent back on that channel (responses and events). */
  request(channel: number, name: string, fields?: Fields, id?: number): Message[];
  /** A request that must succeed: its response's fields. */
  ok(channel: number, name: string, fields?: Fields): Fields;
}

export const SEED_HEX = '3132333435363738393031323334353637383930';

export function createHidRig(options: { withLine?: boolean } = {}): HidRig {
  const hid = new CapturingHidTransport(() => token.clock.now());
  const line = options.withLine ? new CapturingTransport() : undefined;
  const token: SimToken = new SimToken({
    config: TEST_CONFIG,
    flash: new SimFlash(),
    transports: line ? [line, hid] : [hid],
    rng: new SimRng(seededBytes(11)), // reproducible serial number and channel ids
  });
  const hidLink = line ? 1 : 0;
  token.powerOn();
  line?.takeLines();
  if (hid.takeReports().length !== 0) throw new Error('the token sent HID reports before any channel was allocated');
  let nextNonce = 1;
  let nextId = 1;
  const rig: HidRig = {
    token,
    hid,
    line,
    hidLink,
    deliver(reports) {
      for (const report of reports) token.receive(hidLink, report);
      return hid.takeFrames();
    },
    frames: () => hid.takeFrames(),
    allocate(nonce) {
      const n = nonce ?? Uint8Array.from({ length: 8 }, (_, i) => (nextNonce * 31 + i * 7) & 0xff);
      nextNonce++;
      const frames = rig.deliver([initReport(BROADCAST, CMD.INIT, 8, n)]);
      if (frames.length !== 1) throw new Error(`INIT got ${frames.length} answers`);
      const [frame] = frames as [HidFrame];
      if (frame.channel !== BROADCAST || frame.command !== CMD.INIT || frame.payload.length !== 17) throw new Error('a malformed INIT answer');
      if (!frame.payload.subarray(0, 8).every((b, i) => b === n[i])) throw new Error('INIT did not echo the nonce');
      return channelOf(frame.payload.subarray(8, 12));
    },
    message(channel, body) {
      return rig.deliver(refReports(channel, CMD.MESSAGE, refSeal(body)));
    },
    request(channel, name, fields = {}, id) {
      const requestId = id ?? nextId++;
      if (nextId > 0xffff) nextId = 1;
      const frames = rig.message(channel, encodeMessage({ kind: 'request', id: requestId, name, fields }));
      return frames.filter((f) => f.channel === channel && (f.command === CMD.MESSAGE || f.command === CMD.EVENT)).map(frameMessage);
    },
    ok(channel, name, fields = {}) {
      const response = rig.request(channel, name, fields).find((m) => m.kind === 'response');
      if (!response || response.kind !== 'response') throw new Error(`no response to ${name}`);
      if (!response.ok) throw new Error(`${name} failed: ${response.fields.code} ${response.fields.detail ?? ''}`);
      return response.fields;
    },
  };
  return rig;
}
