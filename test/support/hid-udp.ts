/**
 * A raw host for an emulator's HID interface over UDP (one 64-byte report a datagram): finds the
 * address the emulator announced, sends datagrams from one socket and keeps every reply. Tests
 * use it to talk to the token report by report, below the bridge.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import {
  BROADCAST_CHANNEL,
  HID_COMMAND,
  INIT_NONCE_BYTES,
  INIT_RESPONSE_BYTES,
  MessageAssembler,
  fragment,
  parsePacket,
  sealBody,
} from '../../protocol/framing/hid.ts';
import { announcementFileName } from '../../protocol/discovery.ts';

/**
 * The `udp://HOST:PORT` an emulator process announced for its HID interface (the ready line
 * carries the same; the announcement file is read so the shared process helper stays as it is).
 */
export function emulatorHidAddress(runtimeDir: string, emulator: { pid: number; serial: string }): { host: string; port: number } {
  const file = path.join(runtimeDir, announcementFileName(emulator.pid, emulator.serial));
  const announcement = JSON.parse(fs.readFileSync(file, 'utf8')) as { hid?: string };
  const match = /^udp:\/\/([0-9.]+):(\d+)$/.exec(announcement.hid ?? '');
  if (!match) throw new Error(`the emulator announced no udp:// HID address in ${file}: ${JSON.stringify(announcement)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

export interface ReceivedFrame {
  readonly channel: number;
  readonly command: number;
  readonly payload: Uint8Array;
}

export class UdpHidClient {
  /** Every datagram that came back, in order. */
  readonly received: Uint8Array[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly host: string,
    private readonly port: number,
  ) {
    socket.on('message', (message: Buffer) => {
      this.received.push(new Uint8Array(message));
      for (const wake of [...this.waiters]) wake();
    });
  }

  static async open(address: { host: string; port: number }): Promise<UdpHidClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new UdpHidClient(socket, address.host, address.port);
  }

  /** Sends one datagram (any length: the fuzz sends what no USB endpoint would). */
  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, this.port, this.host, (error) => (error ? reject(error) : resolve())));
  }

  /** Waits until `pick` returns something for the datagrams received from index `from` on. */
  async waitFor<T>(pick: (received: readonly Uint8Array[], from: number) => T | undefined, from: number, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = pick(this.received, from);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.waiters;
        waiters.add(done);
      });
    }
  }

  /** The first whole message on `channel` among the datagrams from index `from` on (read with the protocol's assembler). */
  static frameOn(received: readonly Uint8Array[], from: number, channel: number, command?: number): ReceivedFrame | undefined {
    const assembler = new MessageAssembler();
    for (let i = from; i < received.length; i++) {
      const packet = parsePacket(received[i]!);
      if (!packet || packet.channel !== channel) continue;
      const result = assembler.add(packet, 0);
      if (result.kind === 'complete' && (command === undefined || result.command === command)) return result;
    }
    return undefined;
  }

  /** A broadcast INIT with `nonce`: the channel the token gives this host. */
  async allocate(nonce: Uint8Array, timeoutMs = 2000): Promise<number> {
    const from = this.received.length;
    for (const report of fragment(BROADCAST_CHANNEL, HID_COMMAND.INIT, nonce)) await this.send(report);
    return this.waitFor(
      (received, start) => {
        for (let i = start; i < received.length; i++) {
          const packet = parsePacket(received[i]!);
          if (packet?.kind !== 'init' || packet.channel !== BROADCAST_CHANNEL || packet.command !== HID_COMMAND.INIT) continue;
          if (packet.length !== INIT_RESPONSE_BYTES || !nonce.every((byte, j) => packet.data[j] === byte)) continue;
          return new DataView(packet.data.buffer, packet.data.byteOffset + INIT_NONCE_BYTES, 4).getUint32(0);
        }
        return undefined;
      },
      from,
      timeoutMs,
      'answer to a broadcast INIT',
    );
  }

  /** Sends `body` sealed in MESSAGE on `channel`; resolves with the first whole MESSAGE or ERROR there. */
  async message(channel: number, body: string, timeoutMs = 2000): Promise<ReceivedFrame> {
    const from = this.received.length;
    for (const report of fragment(channel, HID_COMMAND.MESSAGE, sealBody(body))) await this.send(report);
    return this.waitFor((received, start) => UdpHidClient.frameOn(received, start, channel), from, timeoutMs, `answer to "${body}" on channel ${channel.toString(16)}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
