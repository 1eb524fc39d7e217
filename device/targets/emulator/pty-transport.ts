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

/** A pty whose slave (`path`, what a host opens) is held open and raw, and whose master is ours to read and write. */
export interface RawPty {
  readonly path: string;
  readonly master: tty.ReadStream;
  readonly slave: tty.ReadStream;
}

export function openRawPty(): RawPty {
  const pair = openPtyPair();
  const slave = new tty.ReadStream(pair.slave);
  slave.setRawMode(true);
  slave.pause();
  const master = new tty.ReadStream(pair.master);
  // EIO on the master only means no host holds the slave open; the port itself lives on.
  master.on('error', () => {});
  return { path: pair.pty, master, slave };
}

/** A host that stops reading must not make the emulator hoard its output: past this, output is dropped, as a UART FIFO would. */
const MAX_PENDING_OUTPUT = 64 * 1024;

export class PtyTransport implements Transport {
  readonly framing = 'line' as const;
  readonly path: string;
  private readonly master: tty.ReadStream;
  private readonly slave: tty.ReadStream;
  private closed = false;
  /** Bytes dropped because no host was reading. */
  dropped = 0;

  constructor(onReceive: (bytes: Uint8Array) => void) {
    ({ path: this.path, master: this.master, slave: this.slave } = openRawPty());
    this.master.on('data', (chunk: Buffer) => onReceive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
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
