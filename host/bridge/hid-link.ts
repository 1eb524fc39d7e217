/**
 * The HID framing on the host side: a channel of its own (asked for with a nonce on the broadcast
 * channel), messages cut into reports and put back together, keepalives counted, and the token's
 * framing errors turned into the protocol's coded errors for the session above.
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
import { BridgeError, type MessageLink } from './link.ts';
import type { ReportPort } from './report-port.ts';

export class HidMessageLink implements MessageLink {
  private readonly assembler = new MessageAssembler(MAX_HID_PAYLOAD_BYTES);
  private readonly messageListeners: ((message: Message) => void)[] = [];
  private readonly noiseListeners: ((error: Error) => void)[] = [];
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  /** KEEPALIVE reports seen: the token saying it waits for its user. */
  keepalives = 0;

  private constructor(
    private readonly port: ReportPort,
    readonly channel: number,
  ) {
    port.onReport((report) => this.onReport(report));
    port.onClose((error) => {
      for (const listener of this.closeListeners) listener(error);
    });
  }

  get description(): string {
    return this.port.description;
  }

  /** Asks the token for a channel; a device that does not answer INIT in time is no token. */
  static async open(port: ReportPort, timeoutMs = 1000): Promise<HidMessageLink> {
    const nonce = new Uint8Array(randomBytes(INIT_NONCE_BYTES));
    const channel = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BridgeError('NV_NOT_A_TOKEN', `${port.description} did not answer a HID INIT within ${timeoutMs} ms`)), timeoutMs);
      port.onReport((report) => {
        const packet = parsePacket(report);
        if (packet?.kind !== 'init' || packet.channel !== BROADCAST_CHANNEL || packet.command !== HID_COMMAND.INIT) return;
        if (packet.length < INIT_RESPONSE_BYTES || !packet.data.subarray(0, INIT_NONCE_BYTES).every((byte, i) => byte === nonce[i])) return;
        clearTimeout(timer);
        resolve(new DataView(packet.data.buffer, packet.data.byteOffset + INIT_NONCE_BYTES, 4).getUint32(0));
      });
      port.onClose((error) => {
        clearTimeout(timer);
        reject(new BridgeError('NV_NOT_A_TOKEN', `nothing answers like a token at ${port.description}${error ? ` (${error.message.replace(/^.*: /, '')})` : ''}`));
      });
      for (const report of fragment(BROADCAST_CHANNEL, HID_COMMAND.INIT, nonce)) port.write(report).catch(reject);
    });
    return new HidMessageLink(port, channel);
  }

  async send(message: Message): Promise<void> {
    for (const report of fragment(this.channel, HID_COMMAND.MESSAGE, sealBody(encodeMessage(message)))) await this.port.write(report);
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
    return this.port.close();
  }

  private onReport(report: Uint8Array): void {
    const packet = parsePacket(report);
    if (!packet || packet.channel !== this.channel) return;
    const result = packet.kind === 'init' ? this.assembler.start(packet, Date.now()) : this.assembler.continue(packet, Date.now());
    if (result.kind === 'pending') return;
    if (result.kind === 'error') return this.noise(new BridgeError('NV_HID_FRAMING', `a reply from ${this.description} broke off (${result.error})`));
    switch (result.command) {
      case HID_COMMAND.MESSAGE:
      case HID_COMMAND.EVENT: {
        const body = openBody(result.payload);
        if (body === undefined) return this.noise(new BridgeError('NV_HID_FRAMING', `a reply from ${this.description} failed its CRC`));
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
      for (const listener of this.closeListeners) listener(new BridgeError('NV_HID_CHANNEL_LOST', `${this.description} no longer knows this host's channel`));
      return;
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
