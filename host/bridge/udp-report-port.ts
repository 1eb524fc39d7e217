/** HID reports over UDP, one datagram per report: how an emulator offers its HID interface (as Trezor's and SoloKeys' do). */
import dgram from 'node:dgram';
import type { ReportPort } from './report-port.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export class UdpReportPort implements ReportPort {
  readonly description: string;
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    host: string,
    port: number,
  ) {
    this.description = `hid+udp://${host}:${port}`;
    socket.on('error', (error) => this.finish(new CodedError('NV_LINK_FAILED', `${this.description}: ${error.message}`)));
  }

  static async open(host: string, port: number): Promise<UdpReportPort> {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error) => reject(new CodedError('NV_PORT_OPEN', `cannot reach hid+udp://${host}:${port}: ${error.message}`)));
      socket.connect(port, host, () => resolve());
    });
    socket.removeAllListeners('error');
    return new UdpReportPort(socket, host, port);
  }

  write(report: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new CodedError('NV_LINK_CLOSED', `${this.description} is closed`));
      this.socket.send(report, (error) => (error ? reject(new CodedError('NV_LINK_FAILED', `${this.description}: ${error.message}`)) : resolve()));
    });
  }

  onReport(listener: (report: Uint8Array) => void): void {
    this.socket.on('message', (message: Buffer) => listener(new Uint8Array(message.buffer, message.byteOffset, message.byteLength)));
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private finish(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    for (const listener of this.closeListeners) listener(error);
  }
}
