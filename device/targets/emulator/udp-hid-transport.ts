/**
 * The emulator's HID interface: 64-byte reports as UDP datagrams on loopback, as the Trezor and
 * SoloKeys emulators offer theirs. A report goes back to the host that last used its channel
 * (or, for a reply on the broadcast channel, to the host that just wrote).
 */
import dgram from 'node:dgram';
import { HID_REPORT_BYTES } from '../../../protocol/framing/hid.ts';
import type { Transport } from '../../hal/transport.ts';

interface Peer {
  readonly address: string;
  readonly port: number;
}

export class UdpHidTransport implements Transport {
  readonly framing = 'hid' as const;
  private readonly peers = new Map<number, Peer>();
  private lastPeer: Peer | undefined;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
  ) {}

  static async open(onReport: (report: Uint8Array) => void, port = 0): Promise<UdpHidTransport> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    const { port: bound } = socket.address();
    const transport = new UdpHidTransport(socket, `udp://127.0.0.1:${bound}`);
    socket.on('message', (message: Buffer, from) => {
      const peer = { address: from.address, port: from.port };
      // Only a well-formed report may say where its channel's replies go: junk cannot redirect them.
      if (message.length === HID_REPORT_BYTES) {
        transport.lastPeer = peer;
        transport.peers.set(message.readUInt32BE(0), peer);
      }
      onReport(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
    });
    // A host that went away makes sends fail; the token carries on regardless.
    socket.on('error', () => {});
    return transport;
  }

  send(report: Uint8Array): void {
    if (this.closed || report.length < 4) return;
    const channel = new DataView(report.buffer, report.byteOffset, 4).getUint32(0);
    const peer = this.peers.get(channel) ?? this.lastPeer;
    if (peer) this.socket.send(report, peer.port, peer.address, () => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
