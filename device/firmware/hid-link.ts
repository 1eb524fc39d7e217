/**
 * The HID framing's host link (a USB token, or the emulator's HID over UDP): 64-byte reports,
 * channels allocated to hosts on the broadcast channel, one message assembled at a time, a
 * keepalive while a request waits for the user, and ERROR reports for framing faults.
 */
import {
  BROADCAST_CHANNEL,
  HID_COMMAND,
  HID_ERROR,
  INIT_NONCE_BYTES,
  INIT_RESPONSE_BYTES,
  KEEPALIVE_STATUS,
  MessageAssembler,
  fragment,
  openBody,
  parsePacket,
  sealBody,
  type HidErrorName,
} from '../../protocol/framing/hid.ts';
import { encodeMessage, errorResponse, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Rng } from '../hal/rng.ts';
import type { Transport } from '../hal/transport.ts';
import { requestFromBody, type HostLink, type LinkHandlers } from './host-link.ts';

/** Channels a token keeps at once; the one used longest ago makes room for a new host. */
const MAX_CHANNELS = 8;

export interface HidLinkOptions {
  readonly rng: Rng;
  /** major, minor, build: what INIT reports as the device version. */
  readonly firmwareVersion: readonly [number, number, number];
}

export class HidLink implements HostLink {
  private readonly assembler = new MessageAssembler();
  /** Allocated channels, in order of last use. */
  private readonly channels: number[] = [];
  /** Which channel each request in progress came on, to send its answer back there. */
  private readonly requestChannels = new Map<number, number>();
  private lastChannel: number | undefined;

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
    if (channel === BROADCAST_CHANNEL || !this.channels.includes(channel)) return this.error(channel, 'INVALID_CHANNEL');
    const busy = this.assembler.busyChannel;
    if (busy !== undefined && busy !== channel) return this.error(channel, 'CHANNEL_BUSY');
    if (busy === channel) {
      this.assembler.abort();
      return this.error(channel, 'INVALID_SEQ');
    }
    this.touch(channel);
    this.finish(this.assembler.start(packet, nowMs));
  }

  send(message: Message): void {
    if (message.kind === 'event') {
      const payload = sealBody(encodeMessage(message));
      for (const channel of this.channels) this.write(channel, HID_COMMAND.EVENT, payload);
      return;
    }
    const channel = this.requestChannels.get(message.kind === 'response' ? message.id : -1) ?? this.lastChannel;
    if (message.kind === 'response') this.requestChannels.delete(message.id);
    if (channel !== undefined) this.write(channel, HID_COMMAND.MESSAGE, sealBody(encodeMessage(message)));
  }

  waiting(requestId: number): void {
    const channel = this.requestChannels.get(requestId);
    if (channel !== undefined) this.write(channel, HID_COMMAND.KEEPALIVE, Uint8Array.of(KEEPALIVE_STATUS.UPNEEDED));
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
    } else if (!this.channels.includes(channel)) {
      return this.error(channel, 'INVALID_CHANNEL');
    }
    if (this.assembler.busyChannel === channel) this.assembler.abort();
    this.touch(allocated);
    const response = new Uint8Array(INIT_RESPONSE_BYTES);
    response.set(nonce, 0);
    new DataView(response.buffer).setUint32(8, allocated);
    response[12] = PROTOCOL_VERSION;
    response.set(this.options.firmwareVersion, 13);
    this.write(channel, HID_COMMAND.INIT, response);
  }

  private finish(result: ReturnType<MessageAssembler['start']>): void {
    if (result.kind === 'pending') return;
    if (result.kind === 'error') return this.error(result.channel, result.error);
    const { channel, command, payload } = result;
    this.lastChannel = channel;
    switch (command) {
      case HID_COMMAND.PING:
        return this.write(channel, HID_COMMAND.PING, payload);
      case HID_COMMAND.CANCEL:
        for (const [requestId, requestChannel] of this.requestChannels) {
          if (requestChannel === channel) this.handlers.onCancel(requestId, this);
        }
        return;
      case HID_COMMAND.MESSAGE: {
        const body = openBody(payload);
        if (body === undefined) return this.write(channel, HID_COMMAND.MESSAGE, sealBody(encodeMessage(errorResponse(UNATTRIBUTED_ID, 'bad_crc'))));
        const result = requestFromBody(body, 'bytes');
        if ('error' in result) return this.write(channel, HID_COMMAND.MESSAGE, sealBody(encodeMessage(result.error)));
        this.requestChannels.set(result.request.id, channel);
        return this.handlers.onRequest(result.request, this);
      }
      default:
        return this.error(channel, 'INVALID_CMD');
    }
  }

  private newChannel(): number {
    const bytes = new Uint8Array(4);
    let channel = 0;
    while (channel === 0 || channel === BROADCAST_CHANNEL || this.channels.includes(channel)) {
      this.options.rng.fill(bytes);
      channel = new DataView(bytes.buffer).getUint32(0);
    }
    return channel;
  }

  private touch(channel: number): void {
    const index = this.channels.indexOf(channel);
    if (index >= 0) this.channels.splice(index, 1);
    this.channels.push(channel);
    if (this.channels.length > MAX_CHANNELS) this.channels.shift();
  }

  private error(channel: number, name: HidErrorName): void {
    this.write(channel, HID_COMMAND.ERROR, Uint8Array.of(HID_ERROR[name]));
  }

  private write(channel: number, command: number, payload: Uint8Array): void {
    for (const report of fragment(channel, command, payload)) this.transport.send(report);
  }
}
