/**
 * The lab page's line to an emulated token's debug link: one connection, kept open and opened
 * again when it drops. It speaks the debug link's wire format itself (one JSON object a line each
 * way, `{"id","op"}` → `{"id","ok","result"|"error"}`, as device/targets/emulator/debug-link.ts
 * serves it) because host/ imports nothing from device/ (test/architecture.test.ts).
 */
import net from 'node:net';
import { CodedError } from '../../protocol/coded-error.ts';

/** What the token's display shows: its text as a person reads it (trimmed), and the segment pattern of each position. */
export interface TokenFace {
  readonly display: string;
  /** One byte a position, leftmost first: bits 0..6 light segments a..g, bit 7 the decimal point. */
  readonly segments: readonly number[];
  readonly on: boolean;
}

type LinkOp = 'press' | 'display';

const MAX_LINE = 64 * 1024;

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** One open socket; `closed` turns true the moment it goes, failing what was waiting on it. */
class Connection {
  closed = false;
  private nextId = 1;
  private buffered = '';
  private readonly waiting = new Map<number, Pending>();

  constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
      for (const pending of this.waiting.values()) pending.reject(linkDropped());
      this.waiting.clear();
    });
  }

  call(op: LinkOp, timeoutMs: number): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        // A token that stops answering is as good as gone: the next call opens a new connection.
        this.close();
        reject(new CodedError('NV_LAB_TOKEN_TIMEOUT', `the emulated token did not answer "${op}" within ${timeoutMs} ms`, 504));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(JSON.stringify({ id, op }) + '\n');
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    if (this.buffered.length > MAX_LINE && !this.buffered.includes('\n')) {
      this.close();
      return;
    }
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      let message: { id?: unknown; ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        continue;
      }
      const pending = typeof message.id === 'number' ? this.waiting.get(message.id) : undefined;
      if (!pending || typeof message.id !== 'number') continue;
      this.waiting.delete(message.id);
      if (message.ok === true && typeof message.result === 'object' && message.result !== null) {
        pending.resolve(message.result as Record<string, unknown>);
      } else {
        const code = typeof message.error?.code === 'string' ? message.error.code : 'NV_DEBUG_FAILED';
        const text = typeof message.error?.message === 'string' ? message.error.message : 'the debug operation failed';
        pending.reject(new CodedError(code, text, code === 'NV_DEBUG_POWERED_OFF' ? 409 : 502));
      }
    }
  }
}

function linkDropped(): CodedError {
  return new CodedError('NV_LAB_TOKEN_LINK', 'the link to the emulated token dropped', 502);
}

export interface TokenLinkOptions {
  /** How long one operation may take (default 5000 ms; an emulated press takes none). */
  readonly timeoutMs?: number;
}

export class TokenLink {
  private connection: Promise<Connection> | undefined;
  private readonly timeoutMs: number;

  constructor(
    readonly address: string,
    options: TokenLinkOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Presses the button once; the display after the press. */
  press(): Promise<TokenFace> {
    return this.call('press');
  }

  /** Reads the display. */
  read(): Promise<TokenFace> {
    return this.call('display');
  }

  close(): void {
    const connection = this.connection;
    this.connection = undefined;
    void connection?.then((open) => open.close(), () => {});
  }

  /**
   * A connection can be found closed only once a request is on it (the emulator restarted in
   * between), so an operation whose link dropped is tried once more on a new one. Should the
   * token have counted a press whose answer was lost, the repeat skips one HOTP code, which the
   * server's look-ahead window absorbs; it never shows a code twice.
   */
  private async call(op: LinkOp): Promise<TokenFace> {
    try {
      return toFace(await (await this.open()).call(op, this.timeoutMs));
    } catch (error) {
      if (!(error instanceof CodedError) || error.code !== 'NV_LAB_TOKEN_LINK') throw error;
      return toFace(await (await this.open()).call(op, this.timeoutMs));
    }
  }

  private async open(): Promise<Connection> {
    const current = this.connection;
    if (current) {
      const open = await current.catch(() => undefined);
      if (open && !open.closed) return open;
      if (this.connection === current) this.connection = undefined;
    }
    this.connection ??= connect(this.address, this.timeoutMs);
    const attempt = this.connection;
    try {
      return await attempt;
    } catch (error) {
      if (this.connection === attempt) this.connection = undefined;
      throw error;
    }
  }
}

function connect(address: string, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(address);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(address, 'no answer'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new Connection(socket));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(unreachable(address, error.code ?? error.message));
    });
  });
}

function unreachable(address: string, why: string): CodedError {
  return new CodedError('NV_LAB_TOKEN_UNREACHABLE', `no emulated token answers at ${address} (${why}): is the emulator running?`, 502);
}

function toFace(result: Record<string, unknown>): TokenFace {
  const { display, segments, on } = result;
  if (typeof display !== 'string' || !Array.isArray(segments) || !segments.every((s) => Number.isInteger(s) && s >= 0 && s <= 255)) {
    throw new CodedError('NV_LAB_TOKEN_ANSWER', 'the emulated token answered without a display', 502);
  }
  return { display: display.trim(), segments: segments as number[], on: on !== false };
}
