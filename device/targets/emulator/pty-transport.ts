/**
 * The emulator's serial port: a pseudo-terminal. The token owns the master side; the slave side
 * (`/dev/pts/N`) is what a host opens with `serialport`, `screen` or `minicom`, as it would a USB
 * serial token. The slave is kept open here and set raw, so the line stays up between hosts and
 * no echo or newline translation touches the bytes.
 *
 * Output never waits for the host. libuv cannot reopen a pty master, so a tty stream on it falls
 * back to "blocking writes" on an fd that node-pty made non-blocking: once the pty's buffer is
 * full (nobody reading), every write spins on EAGAIN inside libuv and the whole process freezes,
 * signals included. So the master is only read through a stream and written with plain
 * non-blocking write(2) calls: what the pty cannot take is dropped and counted, as a UART whose
 * FIFO is full drops it.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
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

/** How soon a half-written message is tried again while the host does not read, and the longest wait between tries. */
const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 500;

/**
 * A pty whose slave (`path`, what a host opens) is held open and raw, and whose master is ours:
 * `input` carries what the host writes, `write` sends to the host without ever blocking.
 */
export class RawPty {
  readonly path: string;
  /** What the host writes. Read only: writing through a tty stream on a pty master can freeze the process (above). */
  readonly input: Readable;
  private readonly master: tty.ReadStream;
  private readonly slave: tty.ReadStream;
  private readonly fd: number;
  /** The rest of a message the pty took only part of: sent before anything else, so lines stay whole. */
  private tail: Uint8Array | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;
  /** Bytes dropped because the host did not read them. */
  droppedBytes = 0;

  constructor() {
    const pair = openPtyPair();
    this.path = pair.pty;
    this.fd = pair.master;
    this.slave = new tty.ReadStream(pair.slave);
    this.slave.setRawMode(true);
    this.slave.pause();
    this.master = new tty.ReadStream(pair.master);
    // EIO on the master only means no host holds the slave open; the port itself lives on.
    this.master.on('error', () => {});
    this.input = this.master;
  }

  /** Sends a whole message, or drops all of it if the host is not reading. */
  write(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    if (this.tail && !this.flushTail()) {
      this.droppedBytes += bytes.length;
      return;
    }
    const written = this.writeSome(bytes);
    if (written === 0) this.droppedBytes += bytes.length;
    else if (written < bytes.length) this.keepTail(bytes.subarray(written));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.tail = undefined;
    this.master.destroy();
    this.slave.destroy();
  }

  /** write(2) on the non-blocking master: how many bytes the pty took (0 when it is full). */
  private writeSome(bytes: Uint8Array): number {
    try {
      return fs.writeSync(this.fd, bytes);
    } catch {
      // EAGAIN: the pty's buffer is full; anything else (EIO) is a line nobody can read either.
      return 0;
    }
  }

  private keepTail(rest: Uint8Array): void {
    this.tail = rest.slice();
    this.retryMs = RETRY_FIRST_MS;
    this.scheduleRetry();
  }

  /** Whether the tail went out completely. */
  private flushTail(): boolean {
    const tail = this.tail!;
    const written = this.writeSome(tail);
    if (written === tail.length) {
      this.tail = undefined;
      clearTimeout(this.retryTimer);
      return true;
    }
    this.tail = tail.subarray(written);
    return false;
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.closed || !this.tail || this.flushTail()) return;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.scheduleRetry();
    }, this.retryMs);
    // A host that never reads must not keep the process alive.
    this.retryTimer.unref();
  }
}

export class PtyTransport implements Transport {
  readonly framing = 'line' as const;
  private readonly pty: RawPty;

  constructor(onReceive: (bytes: Uint8Array) => void) {
    this.pty = new RawPty();
    this.pty.input.on('data', (chunk: Buffer) => onReceive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }

  get path(): string {
    return this.pty.path;
  }

  /** Bytes dropped because no host was reading. */
  get dropped(): number {
    return this.pty.droppedBytes;
  }

  send(bytes: Uint8Array): void {
    this.pty.write(bytes);
  }

  close(): void {
    this.pty.close();
  }
}
