/** The line framing over a serial port (a USB CDC token, a board, or an emulator's pty). */
import { ReadlineParser } from '@serialport/parser-readline';
import type { SerialPort } from 'serialport';
import { decodeLine, encodeLine } from '../../protocol/framing/line.ts';
import type { Message } from '../../protocol/message.ts';
import type { MessageLink } from './link.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export const DEFAULT_BAUD_RATE = 115_200;
/** A device that sends this much without a newline is not speaking the line protocol. */
const MAX_UNTERMINATED_BYTES = 64 * 1024;

export class SerialLineLink implements MessageLink {
  private readonly messageListeners: ((message: Message) => void)[] = [];
  private readonly noiseListeners: ((error: Error) => void)[] = [];
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  private closing = false;
  private failure: CodedError | undefined;

  private constructor(
    private readonly port: SerialPort,
    readonly description: string,
  ) {
    const parser = port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
    parser.on('data', (line: string) => this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line));
    let unterminated = 0;
    port.on('data', (chunk: Buffer) => {
      const newline = chunk.lastIndexOf(0x0a);
      unterminated = newline >= 0 ? chunk.length - newline - 1 : unterminated + chunk.length;
      if (unterminated > MAX_UNTERMINATED_BYTES) {
        this.fail(new CodedError('NV_NOT_A_TOKEN', `${description} sends data that is not protocol lines`));
      }
    });
    port.on('close', (error?: Error & { disconnected?: boolean }) => {
      const reason = this.closing
        ? undefined
        : (this.failure ?? new CodedError('NV_LINK_CLOSED', `${description} closed${error ? `: ${error.message}` : ''}`));
      for (const listener of this.closeListeners) listener(reason);
    });
    port.on('error', (error: Error) => this.fail(new CodedError('NV_LINK_FAILED', `${description}: ${error.message}`)));
  }

  /** Opens the port, drops whatever the token said while nobody listened, and returns the link. */
  static async open(path: string, baudRate = DEFAULT_BAUD_RATE): Promise<SerialLineLink> {
    // Loaded here, not with the CLI: serialport's native binding is for the commands that open a port.
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((error) => {
        if (!error) return resolve();
        if (/cannot lock port/i.test(error.message)) {
          return reject(new CodedError('NV_PORT_BUSY', `${path} is open in another program (a \`noegleviser watch\`, a terminal?); a serial port has one host at a time`));
        }
        reject(new CodedError('NV_PORT_OPEN', `cannot open ${path}: ${error.message.replace(/^Error:? /, '').replace(/, cannot open .*$/, '')}`));
      }),
    );
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    return new SerialLineLink(port, path);
  }

  send(message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.port.isOpen) return reject(new CodedError('NV_LINK_CLOSED', `${this.description} is closed`));
      this.port.write(encodeLine(message), 'latin1', (error) =>
        error ? reject(new CodedError('NV_LINK_FAILED', `${this.description}: ${error.message}`)) : resolve(),
      );
    });
  }

  /** Sends a bare newline, which makes the token drop any half line it holds. */
  clearLine(): Promise<void> {
    return new Promise((resolve) => this.port.write('\n', () => resolve()));
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

  async close(): Promise<void> {
    if (this.closing || !this.port.isOpen) return;
    this.closing = true;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  private onLine(line: string): void {
    if (line.length === 0) return;
    let message: Message;
    try {
      message = decodeLine(line);
    } catch (error) {
      for (const listener of this.noiseListeners) listener(error as Error);
      return;
    }
    for (const listener of this.messageListeners) listener(message);
  }

  private fail(error: CodedError): void {
    if (this.closing || this.failure) return;
    this.failure = error;
    if (this.port.isOpen) this.port.close(() => {});
  }
}
