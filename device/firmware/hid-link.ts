/**
 * The HID framing's host link (a USB token, or the emulator's HID over UDP): 64-byte reports,
 * channels allocated to hosts on the broadcast channel, one message assembled at a time, a
 * keepalive while a request waits for the user, and ERROR reports for framing faults. Each
 * channel is a reply path of its own: a host's answers, keepalives and prompts go to its channel
 * only, whatever other hosts do meanwhile (their request IDs may well be the same).
 */
import {
  BROADCAST_CHANNEL,
  HID_CHANNELS_KEPT,
  HID_COMMAND,
  HID_ERROR,
  INIT_NONCE_BYTES,
  INIT_RESPONSE_BYTES,
  KEEPALIVE_STATUS,
  MessageAssembler,
  TOKEN_CAPABILITIES,
  fragment,
  openBody,
  parsePacket,
  sealBody,
  type AssemblyResult,
  type HidErrorName,
} from '../../protocol/framing/hid.ts';
import { encodeMessage, errorResponse, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Rng } from '../hal/rng.ts';
import type { Transport } from '../hal/transport.ts';
import { requestFromBody, type HostLink, type LinkHandlers, type ReplyPath } from './host-link.ts';

export interface HidLinkOptions {
  readonly rng: Rng;
  /** major, minor, build: what INIT reports as the device version. */
  readonly firmwareVersion: readonly [number, number, number];
}

export class HidLink implements HostLink {
  private readonly assembler = new MessageAssembler();
  /** Allocated channels and their reply paths, in order of last use. */
  private readonly channels = new Map<number, ReplyPath>();

  constructor(
    private readonly transport: Transport,
    private readonly handlers: LinkHandlers,
    private readonly options: HidLinkOptions,
  ) {}

  receive(report: Uint8Array, nowMs: number): void {
    this.expire(nowMs);
    const packet = parsePacket(report);
    if (!packet) return;
    const { channel } = packet;
    if (packet.kind === 'cont') return this.finish(this.assembler.continue(packet, nowMs));
    if (packet.command === HID_COMMAND.INIT) return this.init(channel, packet.data.subarray(0, Math.min(packet.length, INIT_NONCE_BYTES)), packet.length);
    if (channel === BROADCAST_CHANNEL || !this.channels.has(channel)) return this.error(channel, 'INVALID_CHANNEL');
    const busy = this.assembler.busyChannel;
    if (busy !== undefined && busy !== channel) return this.error(channel, 'CHANNEL_BUSY');
    if (busy === channel) {
      this.assembler.abort();
      return this.error(channel, 'INVALID_SEQ');
    }
    this.touch(channel);
    this.finish(this.assembler.start(packet, nowMs));
  }

  broadcast(message: Message): void {
    const payload = sealBody(encodeMessage(message));
    for (const channel of this.channels.keys()) this.write(channel, HID_COMMAND.EVENT, payload);
  }

  deadline(): number | null {
    return this.assembler.deadline();
  }

  expire(nowMs: number): void {
    const timedOut = this.assembler.expire(nowMs);
    if (timedOut !== undefined) this.error(timedOut, 'MSG_TIMEOUT');
  }

  /** INIT on the broadcast channel allocates a channel; on an allocated one it resets that channel. */
  private init(channel: number, nonce: Uint8Array, length: number): void {
    if (length !== INIT_NONCE_BYTES) return this.error(channel, 'INVALID_LEN');
    let allocated = channel;
    if (channel === BROADCAST_CHANNEL) {
      allocated = this.newChannel();
    } else if (!this.channels.has(channel)) {
      return this.error(channel, 'INVALID_CHANNEL');
    }
    if (this.assembler.busyChannel === channel) this.assembler.abort();
    this.touch(allocated);
    const response = new Uint8Array(INIT_RESPONSE_BYTES);
    response.set(nonce, 0);
    new DataView(response.buffer).setUint32(8, allocated);
    response[12] = PROTOCOL_VERSION;
    response.set(this.options.firmwareVersion, 13);
    response[16] = TOKEN_CAPABILITIES;
    this.write(channel, HID_COMMAND.INIT, response);
  }

  private finish(result: AssemblyResult): void {
    if (result.kind === 'pending') return;
    if (result.kind === 'error') return this.error(result.channel, result.error);
    const { channel, command, payload } = result;
    const path = this.channels.get(channel);
    if (!path) return this.error(channel, 'INVALID_CHANNEL');
    switch (command) {
      case HID_COMMAND.PING:
        return this.write(channel, HID_COMMAND.PING, payload);
      case HID_COMMAND.CANCEL:
        return this.handlers.onCancel(-1, path);
      case HID_COMMAND.MESSAGE: {
        const body = openBody(payload);
        if (body === undefined) return path.send(errorResponse(UNATTRIBUTED_ID, 'bad_crc'));
        const request = requestFromBody(body, 'bytes');
        if ('error' in request) return path.send(request.error);
        return this.handlers.onRequest(request.request, path);
      }
      default:
        return this.error(channel, 'INVALID_CMD');
    }
  }

  private newChannel(): number {
    const bytes = new Uint8Array(4);
    let channel = 0;
    while (channel === 0 || channel === BROADCAST_CHANNEL || this.channels.has(channel)) {
      this.options.rng.fill(bytes);
      channel = new DataView(bytes.buffer).getUint32(0);
    }
    return channel;
  }

  /** Marks a channel most recently used, allocating its reply path if it is new. */
  private touch(channel: number): void {
    const path = this.channels.get(channel) ?? this.replyPath(channel);
    this.channels.delete(channel);
    this.channels.set(channel, path);
    if (this.channels.size > HID_CHANNELS_KEPT) this.channels.delete(this.channels.keys().next().value!);
  }

  private replyPath(channel: number): ReplyPath {
    return {
      send: (message) => this.write(channel, message.kind === 'event' ? HID_COMMAND.EVENT : HID_COMMAND.MESSAGE, sealBody(encodeMessage(message))),
      waiting: () => this.write(channel, HID_COMMAND.KEEPALIVE, Uint8Array.of(KEEPALIVE_STATUS.UPNEEDED)),
    };
  }

  private error(channel: number, name: HidErrorName): void {
    this.write(channel, HID_COMMAND.ERROR, Uint8Array.of(HID_ERROR[name]));
  }

  private write(channel: number, command: number, payload: Uint8Array): void {
    for (const report of fragment(channel, command, payload)) this.transport.send(report);
  }
}
