/**
 * The debug link's client (protocol/debug: its messages and codec): one connection to an
 * emulator's debug socket, each call numbered and matched with its answer, the answer checked
 * against what its operation returns. The `device press|hold|…` commands, the lab page and the
 * tests reach an emulated token's debug link through this module and no other.
 */
import net from 'node:net';
import { DebugLineReader, decodeAnswer, decodeResult, encodeRequest } from '../../protocol/debug/codec.ts';
import { DebugLinkError, MAX_DEBUG_ANSWER_LINE, type DebugArgs, type DebugOp, type DebugResult } from '../../protocol/debug/messages.ts';

export interface DebugClientOptions {
  /** How long the socket may take to accept (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** How long a call may wait for its answer; after that the call fails and the link is closed (default: as long as it takes). */
  readonly callTimeoutMs?: number;
}

/** A call's arguments: optional for an operation that needs none. */
export type DebugCallArgs<Op extends DebugOp> = Record<never, never> extends DebugArgs<Op> ? [args?: DebugArgs<Op>] : [args: DebugArgs<Op>];

interface Pending {
  readonly op: DebugOp;
  resolve(result: DebugResult): void;
  reject(error: Error): void;
}

/** A connection to an emulator's debug link. */
export class DebugClient {
  private nextId = 1;
  private isClosed = false;
  private readonly waiting = new Map<number, Pending>();

  private constructor(
    private readonly socket: net.Socket,
    private readonly callTimeoutMs: number | undefined,
  ) {
    const lines = new DebugLineReader(
      MAX_DEBUG_ANSWER_LINE,
      (line) => this.onLine(line),
      () => this.fail(new DebugLinkError('NV_DEBUG_TOO_LONG', `an answer on the debug link is longer than ${MAX_DEBUG_ANSWER_LINE} characters`)),
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => lines.push(chunk));
    socket.on('error', (error) => this.fail(new DebugLinkError('NV_DEBUG_LINK', `debug link failed: ${error.message}`)));
    socket.on('close', () => this.fail(new DebugLinkError('NV_DEBUG_LINK', 'debug link closed')));
  }

  static connect(address: string, options: DebugClientOptions = {}): Promise<DebugClient> {
    const timeoutMs = options.connectTimeoutMs ?? 2000;
    return new Promise((resolve, reject) => {
      const socket = net.connect(address);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DebugLinkError('NV_DEBUG_UNREACHABLE', `no emulator debug link answered at ${address} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new DebugClient(socket, options.callTimeoutMs));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new DebugLinkError('NV_DEBUG_UNREACHABLE', `no emulator debug link at ${address} (${error.code ?? error.message})`));
      });
    });
  }

  /** Whether the link has gone (closed by either side, failed, or given up after a call timed out). */
  get closed(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  call<Op extends DebugOp>(op: Op, ...[args]: DebugCallArgs<Op>): Promise<DebugResult<Op>> {
    // A socket already closed emits no more 'close': the call would wait for ever.
    if (this.closed) return Promise.reject(new DebugLinkError('NV_DEBUG_LINK', 'debug link closed'));
    const id = this.nextId++;
    let line: string;
    try {
      line = encodeRequest(id, op, (args ?? {}) as DebugArgs<Op>);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      const timeoutMs = this.callTimeoutMs;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.waiting.delete(id);
              reject(new DebugLinkError('NV_DEBUG_TIMEOUT', `the token did not answer "${op}" within ${timeoutMs} ms`));
              // A token that stops answering is as good as gone.
              this.close();
            }, timeoutMs);
      this.waiting.set(id, {
        op,
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result as DebugResult<Op>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(line);
    });
  }

  close(): void {
    this.isClosed = true;
    this.socket.end();
    this.socket.destroy();
  }

  private onLine(line: string): void {
    let answer: ReturnType<typeof decodeAnswer>;
    try {
      answer = decodeAnswer(line);
    } catch (error) {
      // A line that is no answer at all cannot be matched with its call: the link is broken.
      this.fail(error as DebugLinkError);
      return;
    }
    const pending = answer.id === null ? undefined : this.waiting.get(answer.id);
    if (!pending || answer.id === null) return;
    this.waiting.delete(answer.id);
    if (answer.error) return pending.reject(answer.error);
    try {
      pending.resolve(decodeResult(pending.op, answer.result));
    } catch (error) {
      pending.reject(error as DebugLinkError);
    }
  }

  /** Fails every call still waiting, and gives the link up. */
  private fail(error: DebugLinkError): void {
    this.isClosed = true;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const pending of waiting) pending.reject(error);
    this.socket.destroy();
  }
}

/** Connects, runs one operation, disconnects. */
export async function debugCall<Op extends DebugOp>(address: string, op: Op, ...args: DebugCallArgs<Op>): Promise<DebugResult<Op>> {
  const client = await DebugClient.connect(address);
  try {
    return await client.call(op, ...args);
  } finally {
    client.close();
  }
}
