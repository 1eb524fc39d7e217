/**
 * The emulator's serial port: a pseudo-terminal. The token owns the master side; the slave side
 * (`/dev/pts/N`) is what a host opens with `serialport`, `screen` or `minicom`, as it would a USB
 * serial token. The slave is kept open here and set raw, so the line stays up between hosts and
 * no echo or newline translation touches the bytes.
 */
import { createRequire } from 'node:module';
import tty from 'node:tty';
import type { Transport } from '../../hal/transport.ts';

interface PtyPair {
  master: number;
  slave: number;
  pty: string;
}

interface NodePtyNative {
  open(cols: number, rows: number): PtyPair;
}

const require = createRequire(import.meta.url);

function openPtyPair(): PtyPair {
  const nodePty = require('node-pty') as { native?: NodePtyNative };
  if (!nodePty.native) throw new Error('node-pty does not expose native.open() on this platform');
  return nodePty.native.open(80, 24);
}

/** A host that stops reading must not make the emulator hoard its output: past this, output is dropped, as a UART FIFO would. */
const MAX_PENDING_OUTPUT = 64 * 1024;

export class PtyTransport implements Transport {
  readonly framing = 'line' as const;
  readonly path: string;
  private readonly pair: PtyPair;
  private readonly master: tty.ReadStream;
  private readonly slave: tty.ReadStream;
  private closed = false;
  /** Bytes dropped because no host was reading. */
  dropped = 0;

  constructor(onReceive: (bytes: Uint8Array) => void) {
    this.pair = openPtyPair();
    this.path = this.pair.pty;
    this.slave = new tty.ReadStream(this.pair.slave);
    this.slave.setRawMode(true);
    this.slave.pause();
    this.master = new tty.ReadStream(this.pair.master);
    this.master.on('data', (chunk: Buffer) => onReceive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    // EIO on the master only means no host holds the slave open; the port itself lives on.
    this.master.on('error', () => {});
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    // tty.ReadStream is a duplex socket: writing through it keeps the bytes in order.
    if (this.master.writableLength + bytes.length > MAX_PENDING_OUTPUT) {
      this.dropped += bytes.length;
      return;
    }
    this.master.write(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.master.destroy();
    this.slave.destroy();
  }
}
