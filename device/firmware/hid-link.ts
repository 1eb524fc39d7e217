/**
 * The HID framing's host link (a USB token, or the emulator's HID over UDP): 64-byte reports,
 * channels allocated to hosts on the broadcast channel, one message assembled at a time, a
 * keepalive while a request waits for the user, and ERROR reports for framing faults. Each
 * channel is a reply path of its own: a host's answers, keepalives and prompts go to its channel
 * only, whatever other hosts do meanwhile (their request IDs may well be the same).
 */
import {
  BROADCAST_CHANNEL,
  CMD_CANCEL,
  CMD_ERROR,
  CMD_EVENT,
  CMD_INIT,
  CMD_KEEPALIVE,
  CMD_MESSAGE,
  CMD_PING,
  ERR_CHANNEL_BUSY,
  ERR_INVALID_CHANNEL,
  ERR_INVALID_CMD,
  ERR_INVALID_LEN,
  ERR_INVALID_SEQ,
  ERR_MSG_TIMEOUT,
  HID_CHANNELS_KEPT,
  HID_TRANSACTION_TIMEOUT_MS,
  INIT_NONCE_BYTES,
  INIT_RESPONSE_BYTES,
  KEEPALIVE_UPNEEDED,
  MAX_HID_PAYLOAD_BYTES,
  TOKEN_CAPABILITIES,
  assemble,
  fragment,
  openBody,
  parsePacket,
  sealBody,
  type Assembly,
  type AssemblyResult,
} from '../../protocol/framing/hid.ts';
import { encodeMessage, type Message } from '../../protocol/message.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Rng } from '../hal/rng.ts';
import type { Transport } from '../hal/transport.ts';
import { deliverRequest, type HostLink, type LinkHandlers, type ReplyPath } from './host-link.ts';

/**
 * The link is one class of four methods and the reply paths' two arrows: each function costs
 * QuickJS about 200 bytes of memory whatever its size, so the steps of a report are not split
 * into helpers. Its fields are assigned in the constructor (`declare`d, not initialised in the
 * class body, which would make QuickJS compile one more function), and the message being put
 * together is kept in them too (the link is the Assembly that `assemble` fills).
 */
export class HidLink implements HostLink, Assembly {
  private declare readonly transport: Transport;
  private declare readonly handlers: LinkHandlers;
  private declare readonly rng: Rng;
  /** major, minor, build: what INIT reports as the device version. */
  private declare readonly firmwareVersion: readonly [number, number, number];
  /** Allocated channels and their reply paths, in order of last use. */
  private declare readonly channels: Map<number, ReplyPath>;
  declare busyChannel: number | undefined;
  declare lastPacketAt: number;
  declare command: number;
  declare length: number;
  declare nextSequence: number;
  /** Taken at the link's first message, not at boot: a token only ever used over its serial line never holds it. */
  declare buffer: Uint8Array;

  /** The random number generator and the version are arguments, not an options object: one object fewer at boot. */
  constructor(transport: Transport, handlers: LinkHandlers, rng: Rng, firmwareVersion: readonly [number, number, number]) {
    this.transport = transport;
    this.handlers = handlers;
    this.rng = rng;
    this.firmwareVersion = firmwareVersion;
    this.channels = new Map();
    this.busyChannel = undefined;
    this.lastPacketAt = this.command = this.length = this.nextSequence = 0;
  }

  receive(report: Uint8Array, nowMs: number): void {
    this.expire(nowMs);
    const packet = parsePacket(report);
    if (!packet) return;
    const { channel } = packet;
    /** The channel's reply path. */
    let path: ReplyPath | undefined;
    const init = packet.kind === 'init' && packet.command === CMD_INIT;
    /** A framing fault to answer on the channel with ERROR, or 0. */
    let error = 0;
    let result: AssemblyResult | undefined;
    if (packet.kind === 'cont') {
      result = assemble(this, packet, nowMs);
    } else if (init && packet.length !== INIT_NONCE_BYTES) {
      error = ERR_INVALID_LEN;
    } else if (!this.channels.has(channel) && !(init && channel === BROADCAST_CHANNEL)) {
      error = ERR_INVALID_CHANNEL;
    } else if (!init && this.busyChannel !== undefined) {
      // One message at a time: another channel's keeps this one waiting; a new one on the same
      // channel breaks off its own unfinished message (both are dropped).
      if (this.busyChannel === channel) {
        this.busyChannel = undefined;
        error = ERR_INVALID_SEQ;
      } else {
        error = ERR_CHANNEL_BUSY;
      }
    } else {
      // INIT on the broadcast channel allocates a channel; on an allocated one it resets that
      // channel. Either, or a message's first packet, makes the channel the most recently used.
      let id = channel;
      if (init && channel === BROADCAST_CHANNEL) {
        const bytes = new Uint8Array(4);
        while (id === 0 || id === BROADCAST_CHANNEL || this.channels.has(id)) {
          this.rng.fill(bytes);
          id = new DataView(bytes.buffer).getUint32(0);
        }
      }
      path = this.channels.get(id) ?? {
        send: (message: Message) => fragment(id, message.kind === 'event' ? CMD_EVENT : CMD_MESSAGE, sealBody(encodeMessage(message)), this.transport),
        waiting: () => fragment(id, CMD_KEEPALIVE, Uint8Array.of(KEEPALIVE_UPNEEDED), this.transport),
      };
      this.channels.delete(id);
      this.channels.set(id, path);
      if (this.channels.size > HID_CHANNELS_KEPT) this.channels.delete(this.channels.keys().next().value!);
      if (init) {
        if (this.busyChannel === channel) this.busyChannel = undefined;
        const response = new Uint8Array(INIT_RESPONSE_BYTES);
        response.set(packet.data.subarray(0, INIT_NONCE_BYTES), 0);
        new DataView(response.buffer).setUint32(8, id);
        response[12] = PROTOCOL_VERSION;
        response.set(this.firmwareVersion, 13);
        response[16] = TOKEN_CAPABILITIES;
        fragment(channel, CMD_INIT, response, this.transport);
      } else {
        this.buffer ??= new Uint8Array(MAX_HID_PAYLOAD_BYTES);
        result = assemble(this, packet, nowMs);
      }
    }

    if (result?.kind === 'error') error = result.error;
    if (result?.kind === 'complete') {
      // The channel may have made room for newer hosts while its message came in.
      path = this.channels.get(channel);
      if (!path) {
        error = ERR_INVALID_CHANNEL;
      } else if (result.command === CMD_PING) {
        fragment(channel, CMD_PING, result.payload, this.transport);
      } else if (result.command === CMD_CANCEL) {
        this.handlers.endConfirm('cancelled', path);
      } else if (result.command !== CMD_MESSAGE) {
        error = ERR_INVALID_CMD;
      } else {
        deliverRequest(openBody(result.payload), 'hid', this.handlers, path);
      }
    }
    if (error) fragment(channel, CMD_ERROR, Uint8Array.of(error), this.transport);
  }

  broadcast(message: Message): void {
    const payload = sealBody(encodeMessage(message));
    for (const channel of this.channels.keys()) fragment(channel, CMD_EVENT, payload, this.transport);
  }

  /** The deadline and the timing out are one method, not two: each function costs an engine like QuickJS ~200 B of RAM. */
  expire(nowMs: number): number | null {
    if (this.busyChannel !== undefined && nowMs >= this.lastPacketAt + HID_TRANSACTION_TIMEOUT_MS) {
      fragment(this.busyChannel, CMD_ERROR, Uint8Array.of(ERR_MSG_TIMEOUT), this.transport);
      this.busyChannel = undefined;
    }
    return this.busyChannel === undefined ? null : this.lastPacketAt + HID_TRANSACTION_TIMEOUT_MS;
  }
}
