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
 *
 * The numbers are in ./hid-constants.ts (re-exported here); the tables of names below are for
 * the host's messages and the tests, the firmware uses the numbers.
 */
import { crc32 } from '../crc32.ts';
import {
  CAPABILITY_CBOR,
  CAPABILITY_NMSG,
  CAPABILITY_WINK,
  CMD_CANCEL,
  CMD_ERROR,
  CMD_EVENT,
  CMD_INIT,
  CMD_KEEPALIVE,
  CMD_MESSAGE,
  CMD_PING,
  CONT_DATA_BYTES,
  ERR_CHANNEL_BUSY,
  ERR_INVALID_CHANNEL,
  ERR_INVALID_CMD,
  ERR_INVALID_LEN,
  ERR_INVALID_PAR,
  ERR_INVALID_SEQ,
  ERR_MSG_TIMEOUT,
  ERR_OTHER,
  HID_REPORT_BYTES,
  INIT_DATA_BYTES,
  KEEPALIVE_PROCESSING,
  KEEPALIVE_UPNEEDED,
  MAX_HID_PAYLOAD_BYTES,
  MAX_SEQUENCE,
} from './hid-constants.ts';

export * from './hid-constants.ts';

export const HID_CAPABILITY = { WINK: CAPABILITY_WINK, CBOR: CAPABILITY_CBOR, NMSG: CAPABILITY_NMSG } as const;

export const HID_COMMAND = {
  PING: CMD_PING,
  INIT: CMD_INIT,
  CANCEL: CMD_CANCEL,
  KEEPALIVE: CMD_KEEPALIVE,
  ERROR: CMD_ERROR,
  MESSAGE: CMD_MESSAGE,
  EVENT: CMD_EVENT,
} as const;

export const HID_ERROR = {
  INVALID_CMD: ERR_INVALID_CMD,
  INVALID_PAR: ERR_INVALID_PAR,
  INVALID_LEN: ERR_INVALID_LEN,
  INVALID_SEQ: ERR_INVALID_SEQ,
  MSG_TIMEOUT: ERR_MSG_TIMEOUT,
  CHANNEL_BUSY: ERR_CHANNEL_BUSY,
  INVALID_CHANNEL: ERR_INVALID_CHANNEL,
  OTHER: ERR_OTHER,
} as const;

export type HidErrorName = keyof typeof HID_ERROR;

export function hidErrorName(code: number): HidErrorName | undefined {
  return (Object.keys(HID_ERROR) as HidErrorName[]).find((name) => HID_ERROR[name] === code);
}

export const KEEPALIVE_STATUS = { PROCESSING: KEEPALIVE_PROCESSING, UPNEEDED: KEEPALIVE_UPNEEDED } as const;

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

/**
 * Cuts a payload into the reports that carry it. Each also goes to `out` as it is cut, when given
 * (the firmware's transport: one call where each caller would otherwise loop over the reports).
 */
export function fragment(channel: number, command: number, payload: Uint8Array, out?: { send(report: Uint8Array): void }): Uint8Array[] {
  if (payload.length > INIT_DATA_BYTES + (MAX_SEQUENCE + 1) * CONT_DATA_BYTES) throw new RangeError('payload too long for HID framing');
  const reports: Uint8Array[] = [];
  const first = new Uint8Array(HID_REPORT_BYTES);
  const view = new DataView(first.buffer);
  view.setUint32(0, channel >>> 0);
  first[4] = 0x80 | command;
  view.setUint16(5, payload.length);
  first.set(payload.subarray(0, INIT_DATA_BYTES), 7);
  reports.push(first);
  out?.send(first);
  for (let offset = INIT_DATA_BYTES, sequence = 0; offset < payload.length; offset += CONT_DATA_BYTES, sequence++) {
    const report = new Uint8Array(HID_REPORT_BYTES);
    new DataView(report.buffer).setUint32(0, channel >>> 0);
    report[4] = sequence;
    report.set(payload.subarray(offset, offset + CONT_DATA_BYTES), 5);
    reports.push(report);
    out?.send(report);
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
  /** `error` is one of HID_ERROR's codes: INVALID_SEQ, or INVALID_LEN. */
  | { readonly kind: 'error'; readonly channel: number; readonly error: number };

/**
 * What `assemble` keeps between the packets of a message: a MessageAssembler on the host; the
 * token's HID link keeps it in its own fields (an object and a class fewer in the firmware).
 */
export interface Assembly {
  /** The channel a message is half way through on, or undefined; set undefined, it drops that message. */
  busyChannel: number | undefined;
  /** When its last packet came: it times out HID_TRANSACTION_TIMEOUT_MS later. */
  lastPacketAt: number;
  command: number;
  length: number;
  nextSequence: number;
  /** Where the message is put together; its size is the longest payload taken. */
  readonly buffer: Uint8Array;
}

/**
 * Puts one message back together from its packets, in a fixed buffer, for one channel at a time.
 * The caller decides which channel may start a message (busy, allocated); this checks sequence,
 * length and timing. A CONT of no message in progress, or of another channel, is ignored.
 */
export function assemble(state: Assembly, packet: HidPacket, nowMs: number): AssemblyResult {
  const { channel, data } = packet;
  // Where this packet's data goes: CONT n carries the bytes after the INIT's and n earlier CONTs'.
  let offset = 0;
  if (packet.kind === 'init') {
    if (packet.length > state.buffer.length) return { kind: 'error', channel, error: ERR_INVALID_LEN };
    state.busyChannel = channel;
    state.command = packet.command;
    state.length = packet.length;
    state.nextSequence = 0;
  } else {
    if (channel !== state.busyChannel) return { kind: 'pending' };
    if (packet.sequence !== state.nextSequence) {
      state.busyChannel = undefined;
      return { kind: 'error', channel, error: ERR_INVALID_SEQ };
    }
    offset = INIT_DATA_BYTES + state.nextSequence++ * CONT_DATA_BYTES;
  }
  // A message completes in the packet that reaches its length, so `offset` is always short of it.
  state.buffer.set(data.subarray(0, state.length - offset), offset);
  state.lastPacketAt = nowMs;
  if (offset + data.length < state.length) {
    if (state.nextSequence <= MAX_SEQUENCE) return { kind: 'pending' };
    state.busyChannel = undefined;
    return { kind: 'error', channel, error: ERR_INVALID_LEN };
  }
  state.busyChannel = undefined;
  return { kind: 'complete', channel, command: state.command, payload: state.buffer.slice(0, state.length) };
}

/** An Assembly of its own, for a host reading a token's replies (and for the tests). */
export class MessageAssembler implements Assembly {
  busyChannel: number | undefined = undefined;
  lastPacketAt = 0;
  command = 0;
  length = 0;
  nextSequence = 0;
  readonly buffer: Uint8Array;

  constructor(maxPayload = MAX_HID_PAYLOAD_BYTES) {
    this.buffer = new Uint8Array(maxPayload);
  }

  add(packet: HidPacket, nowMs: number): AssemblyResult {
    return assemble(this, packet, nowMs);
  }
}
