/**
 * The HID framing on the host side: a channel of its own (asked for with a nonce on the broadcast
 * channel), messages cut into reports and put back together, keepalives counted, and the token's
 * framing errors turned into the protocol's coded errors for the session above.
 *
 * A USB token that loses power vanishes from the bus, which node-hid reports; over UDP nothing
 * would say so. So the link pings its channel every second: a token that restarted no longer knows
 * the channel (INVALID_CHANNEL), one that is gone stops answering, and either ends the link.
 */
import { randomBytes } from 'node:crypto';
import {
  BROADCAST_CHANNEL,
  HID_COMMAND,
  HID_ERROR,
  INIT_NONCE_BYTES,
  INIT_RESPONSE_BYTES,
  MAX_HID_PAYLOAD_BYTES,
  MessageAssembler,
  fragment,
  hidErrorName,
  openBody,
  parsePacket,
  sealBody,
} from '../../protocol/framing/hid.ts';
import { decodeMessageText, encodeMessage, errorResponse, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';
import type { MessageLink } from './link.ts';
import type { ReportPort } from './report-port.ts';
import { CodedError } from '../../protocol/coded-error.ts';

const LIVENESS_INTERVAL_MS = 1000;
const UNANSWERED_PINGS_LIMIT = 3;

export class HidMessageLink implements MessageLink {
  private readonly assembler = new MessageAssembler(MAX_HID_PAYLOAD_BYTES);
  private readonly messageListeners: ((message: Message) => void)[] = [];
  private readonly noiseListeners: ((error: Error) => void)[] = [];
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  /** KEEPALIVE reports seen: the token saying it waits for its user. */
  keepalives = 0;
  /** Reports go out one message at a time: a ping never lands between the packets of a message. */
  private writing: Promise<void> = Promise.resolve();
  private unansweredPings = 0;
  private readonly liveness: NodeJS.Timeout;
  private ended = false;

  private constructor(
    private readonly port: ReportPort,
    readonly channel: number,
  ) {
    port.onReport((report) => this.onReport(report));
    port.onClose((error) => this.end(error));
    this.liveness = setInterval(() => this.ping(), LIVENESS_INTERVAL_MS);
    this.liveness.unref();
  }

  get description(): string {
    return this.port.description;
  }

  /** Asks the token for a channel; a device that does not answer INIT in time is no token. */
  static async open(port: ReportPort, timeoutMs = 1000): Promise<HidMessageLink> {
    const nonce = new Uint8Array(randomBytes(INIT_NONCE_BYTES));
    const channel = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CodedError('NV_NOT_A_TOKEN', `${port.description} did not answer a HID INIT within ${timeoutMs} ms`)), timeoutMs);
      port.onReport((report) => {
        const packet = parsePacket(report);
        if (packet?.kind !== 'init' || packet.channel !== BROADCAST_CHANNEL || packet.command !== HID_COMMAND.INIT) return;
        if (packet.length < INIT_RESPONSE_BYTES || !packet.data.subarray(0, INIT_NONCE_BYTES).every((byte, i) => byte === nonce[i])) return;
        clearTimeout(timer);
        resolve(new DataView(packet.data.buffer, packet.data.byteOffset + INIT_NONCE_BYTES, 4).getUint32(0));
      });
      port.onClose((error) => {
        clearTimeout(timer);
        reject(new CodedError('NV_NOT_A_TOKEN', `nothing answers like a token at ${port.description}${error ? ` (${error.message.replace(/^.*: /, '')})` : ''}`));
      });
      for (const report of fragment(BROADCAST_CHANNEL, HID_COMMAND.INIT, nonce)) port.write(report).catch(reject);
    });
    return new HidMessageLink(port, channel);
  }

  send(message: Message): Promise<void> {
    return this.write(HID_COMMAND.MESSAGE, sealBody(encodeMessage(message)));
  }

  onMessage(listener: (message: Message) => void): void {
    this.messageListeners.push(listener);
  }

  onNoise(listener: (error: Error) => void): void {
    this.noiseListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  close(): Promise<void> {
    this.ended = true;
    clearInterval(this.liveness);
    return this.port.close();
  }

  private write(command: number, payload: Uint8Array): Promise<void> {
    const reports = fragment(this.channel, command, payload);
    const written = this.writing.then(async () => {
      for (const report of reports) await this.port.write(report);
    });
    this.writing = written.catch(() => undefined);
    return written;
  }

  private ping(): void {
    if (this.unansweredPings >= UNANSWERED_PINGS_LIMIT) {
      return this.end(new CodedError('NV_LINK_CLOSED', `${this.description} stopped answering`));
    }
    this.unansweredPings++;
    this.write(HID_COMMAND.PING, new Uint8Array(0)).catch(() => undefined);
  }

  /** The link is over: listeners hear why once, and the port is closed. */
  private end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.liveness);
    void this.port.close().catch(() => undefined);
    for (const listener of this.closeListeners) listener(error);
  }

  private onReport(report: Uint8Array): void {
    const packet = parsePacket(report);
    if (!packet || packet.channel !== this.channel) return;
    this.unansweredPings = 0;
    const result = this.assembler.add(packet, Date.now());
    if (result.kind === 'pending') return;
    if (result.kind === 'error') return this.noise(new CodedError('NV_HID_FRAMING', `a reply from ${this.description} broke off (${hidErrorName(result.error) ?? result.error})`));
    switch (result.command) {
      case HID_COMMAND.MESSAGE:
      case HID_COMMAND.EVENT: {
        const body = openBody(result.payload);
        if (body === undefined) return this.noise(new CodedError('NV_HID_FRAMING', `a reply from ${this.description} failed its CRC`));
        let message: Message;
        try {
          message = decodeMessageText(body);
        } catch (error) {
          return this.noise(error as Error);
        }
        return this.deliver(message);
      }
      case HID_COMMAND.KEEPALIVE:
        this.keepalives++;
        return;
      case HID_COMMAND.PING:
        return;
      case HID_COMMAND.ERROR:
        return this.onFramingError(result.payload[0] ?? HID_ERROR.OTHER);
      default:
        return;
    }
  }

  /**
   * The token's framing errors mean it did not take our message: the session resends what it
   * safely can (a damaged frame) or reports the token busy. A lost channel ends the link.
   */
  private onFramingError(code: number): void {
    const name = hidErrorName(code) ?? 'OTHER';
    if (name === 'INVALID_CHANNEL') {
      return this.end(new CodedError('NV_TOKEN_RESTARTED', `${this.description} no longer knows this host's channel: it restarted, and a request in flight may or may not have been carried out`));
    }
    this.deliver(errorResponse(UNATTRIBUTED_ID, name === 'CHANNEL_BUSY' ? 'busy' : 'bad_frame', name.toLowerCase()));
  }

  private deliver(message: Message): void {
    for (const listener of this.messageListeners) listener(message);
  }

  private noise(error: Error): void {
    for (const listener of this.noiseListeners) listener(error);
  }
}
