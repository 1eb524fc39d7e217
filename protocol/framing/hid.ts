/**
 * HID framing, for USB tokens: messages travel in 64-byte reports, after FIDO's CTAPHID. A message
 * starts with an INIT packet and goes on in CONT packets, all on one channel:
 *
 *   INIT  channel id (4, big-endian) | command | 0x80 (1) | length (2, big-endian) | data (57)
 *   CONT  channel id (4)             | sequence 0..127 (1)  | data (59)
 *
 * A host first asks for a channel on the broadcast channel with an 8-byte nonce (INIT). Protocol
 * messages (the same bodies the line framing carries) go in MESSAGE and EVENT commands, each
 * followed by the CRC-32 of the body in 4 bytes. Errors of the framing itself (a lost packet, a
 * busy token, a message that stops half way) come back as ERROR with one of HID_ERROR's codes.
 */
import { crc32 } from '../crc32.ts';

export const HID_REPORT_BYTES = 64;
export const INIT_DATA_BYTES = HID_REPORT_BYTES - 7;
export const CONT_DATA_BYTES = HID_REPORT_BYTES - 5;
export const MAX_SEQUENCE = 0x7f;
/** The longest payload a token takes (its receive buffer); CTAPHID's own ceiling is 7609. */
export const MAX_HID_PAYLOAD_BYTES = 1024;
export const BROADCAST_CHANNEL = 0xffffffff;
/** Channels a token keeps at once; the one used longest ago makes room for a new host. */
export const HID_CHANNELS_KEPT = 8;
/** A message must be complete this long after its last packet, or it is dropped with MSG_TIMEOUT. */
export const HID_TRANSACTION_TIMEOUT_MS = 500;
/** While a request waits for the user, the token says so this often. */
export const HID_KEEPALIVE_INTERVAL_MS = 100;
export const INIT_NONCE_BYTES = 8;
/** nonce (8) | channel (4) | protocol version (1) | firmware major, minor, build (3) | capabilities (1) */
export const INIT_RESPONSE_BYTES = 17;

/** CTAPHID's capability flags, the last byte of the INIT answer. */
export const HID_CAPABILITY = {
  /** Answers WINK (0x08). */
  WINK: 0x01,
  /** Answers CBOR (0x10). */
  CBOR: 0x04,
  /** Does NOT answer MSG (0x03): set by every device that has no CTAP1/U2F. */
  NMSG: 0x08,
} as const;

/** What a token says it can do: no WINK, no CBOR, and no MSG (its messages go in MESSAGE instead). */
export const TOKEN_CAPABILITIES = HID_CAPABILITY.NMSG;

export const HID_COMMAND = {
  PING: 0x01,
  INIT: 0x06,
  CANCEL: 0x11,
  KEEPALIVE: 0x3b,
  ERROR: 0x3f,
  /** A protocol message, host to token or token to host: body then CRC-32. */
  MESSAGE: 0x40,
  /** An event the token pushes: body then CRC-32. */
  EVENT: 0x41,
} as const;

export const HID_ERROR = {
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  INVALID_CHANNEL: 0x0b,
  OTHER: 0x7f,
} as const;

export type HidErrorName = keyof typeof HID_ERROR;

export function hidErrorName(code: number): HidErrorName | undefined {
  return (Object.keys(HID_ERROR) as HidErrorName[]).find((name) => HID_ERROR[name] === code);
}

export const KEEPALIVE_STATUS = { PROCESSING: 1, UPNEEDED: 2 } as const;

export type HidPacket =
  | { readonly kind: 'init'; readonly channel: number; readonly command: number; readonly length: number; readonly data: Uint8Array }
  | { readonly kind: 'cont'; readonly channel: number; readonly sequence: number; readonly data: Uint8Array };

/** Reads a report; undefined when it is not 64 bytes (no USB HID endpoint would deliver it). */
export function parsePacket(report: Uint8Array): HidPacket | undefined {
  if (report.length !== HID_REPORT_BYTES) return undefined;
  const view = new DataView(report.buffer, report.byteOffset, report.byteLength);
  const channel = view.getUint32(0);
  const byte = report[4]!;
  if (byte & 0x80) {
    return { kind: 'init', channel, command: byte & 0x7f, length: view.getUint16(5), data: report.subarray(7) };
  }
  return { kind: 'cont', channel, sequence: byte, data: report.subarray(5) };
}

/** Cuts a payload into the reports that carry it. */
export function fragment(channel: number, command: number, payload: Uint8Array): Uint8Array[] {
  if (payload.length > INIT_DATA_BYTES + (MAX_SEQUENCE + 1) * CONT_DATA_BYTES) throw new RangeError('payload too long for HID framing');
  const reports: Uint8Array[] = [];
  const first = new Uint8Array(HID_REPORT_BYTES);
  const view = new DataView(first.buffer);
  view.setUint32(0, channel >>> 0);
  first[4] = 0x80 | command;
  view.setUint16(5, payload.length);
  first.set(payload.subarray(0, INIT_DATA_BYTES), 7);
  reports.push(first);
  for (let offset = INIT_DATA_BYTES, sequence = 0; offset < payload.length; offset += CONT_DATA_BYTES, sequence++) {
    const report = new Uint8Array(HID_REPORT_BYTES);
    new DataView(report.buffer).setUint32(0, channel >>> 0);
    report[4] = sequence;
    report.set(payload.subarray(offset, offset + CONT_DATA_BYTES), 5);
    reports.push(report);
  }
  return reports;
}

/** A message body with its CRC-32, as MESSAGE and EVENT carry it. */
export function sealBody(body: string): Uint8Array {
  const payload = new Uint8Array(body.length + 4);
  for (let i = 0; i < body.length; i++) payload[i] = body.charCodeAt(i) & 0xff;
  new DataView(payload.buffer).setUint32(body.length, crc32(payload, 0, body.length));
  return payload;
}

/** The body of a MESSAGE or EVENT payload, or undefined when its CRC-32 does not match. */
export function openBody(payload: Uint8Array): string | undefined {
  if (payload.length < 4) return undefined;
  const end = payload.length - 4;
  if (new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(end) !== crc32(payload, 0, end)) return undefined;
  let body = '';
  for (let i = 0; i < end; i++) body += String.fromCharCode(payload[i]!);
  return body;
}

export type AssemblyResult =
  | { readonly kind: 'complete'; readonly channel: number; readonly command: number; readonly payload: Uint8Array }
  | { readonly kind: 'pending' }
  | { readonly kind: 'error'; readonly channel: number; readonly error: HidErrorName };

/**
 * Puts one message back together from its packets, in a fixed buffer, for one channel at a time.
 * The caller decides which channel may start a message (busy, allocated); this checks sequence,
 * length and timing.
 */
export class MessageAssembler {
  private readonly buffer: Uint8Array;
  private channel = 0;
  private command = 0;
  private length = 0;
  private received = 0;
  private nextSequence = 0;
  private lastPacketAt = 0;
  private active = false;

  constructor(private readonly maxPayload = MAX_HID_PAYLOAD_BYTES) {
    this.buffer = new Uint8Array(maxPayload);
  }

  /** The channel a message is half way through on, if any. */
  get busyChannel(): number | undefined {
    return this.active ? this.channel : undefined;
  }

  /** When the half-received message times out (null: nothing pending). */
  deadline(): number | null {
    return this.active ? this.lastPacketAt + HID_TRANSACTION_TIMEOUT_MS : null;
  }

  /** Drops the pending message if it has timed out; returns its channel then. */
  expire(nowMs: number): number | undefined {
    if (!this.active || nowMs < this.lastPacketAt + HID_TRANSACTION_TIMEOUT_MS) return undefined;
    this.active = false;
    return this.channel;
  }

  abort(): void {
    this.active = false;
  }

  start(packet: Extract<HidPacket, { kind: 'init' }>, nowMs: number): AssemblyResult {
    if (packet.length > this.maxPayload) return { kind: 'error', channel: packet.channel, error: 'INVALID_LEN' };
    this.channel = packet.channel;
    this.command = packet.command;
    this.length = packet.length;
    this.received = 0;
    this.nextSequence = 0;
    this.active = true;
    return this.take(packet.data, nowMs);
  }

  continue(packet: Extract<HidPacket, { kind: 'cont' }>, nowMs: number): AssemblyResult {
    if (!this.active || packet.channel !== this.channel) return { kind: 'pending' };
    if (packet.sequence !== this.nextSequence) {
      this.active = false;
      return { kind: 'error', channel: packet.channel, error: 'INVALID_SEQ' };
    }
    this.nextSequence++;
    return this.take(packet.data, nowMs);
  }

  private take(data: Uint8Array, nowMs: number): AssemblyResult {
    const count = Math.min(data.length, this.length - this.received);
    this.buffer.set(data.subarray(0, count), this.received);
    this.received += count;
    this.lastPacketAt = nowMs;
    if (this.received < this.length) {
      if (this.nextSequence > MAX_SEQUENCE) {
        this.active = false;
        return { kind: 'error', channel: this.channel, error: 'INVALID_LEN' };
      }
      return { kind: 'pending' };
    }
    this.active = false;
    return { kind: 'complete', channel: this.channel, command: this.command, payload: this.buffer.slice(0, this.length) };
  }
}
