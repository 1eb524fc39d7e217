/**
 * The debug link: the lab's powers over an emulated token (press, hold, read the display, advance
 * the clock, cut power, set the battery). It exists only in the emulator, on a Unix socket of its
 * own, never in the token protocol. One JSON object a line each way:
 *
 *   → {"id":1,"op":"press"}
 *   ← {"id":1,"ok":true,"result":{"display":" 755224 "}}
 *   ← {"id":2,"ok":false,"error":{"code":"NV_DEBUG_BAD_OP","message":"…"}}
 */
import fs from 'node:fs';
import net from 'node:net';
import { CodedError } from '../../../protocol/coded-error.ts';

export const DEBUG_OPS = ['press', 'hold', 'button', 'display', 'advance', 'power-cut', 'power-on', 'battery', 'state'] as const;
export type DebugOp = (typeof DEBUG_OPS)[number];

export type DebugArgs = Readonly<Record<string, unknown>>;
export type DebugResult = Readonly<Record<string, unknown>>;

export class DebugLinkError extends CodedError {
  constructor(
    override readonly code: string,
    message: string,
  ) {
    super(code, message);
    this.name = 'DebugLinkError';
  }
}

export type DebugHandler = (op: DebugOp, args: DebugArgs) => DebugResult | Promise<DebugResult>;

const MAX_DEBUG_LINE = 4096;
/** A Unix socket's path on Linux: 108 bytes of sun_path, the last for its terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Serves the debug link on a Unix socket that only this user may open. */
export async function serveDebugLink(socketPath: string, handler: DebugHandler): Promise<{ close(): Promise<void> }> {
  const length = new TextEncoder().encode(socketPath).length;
  if (length > MAX_SOCKET_PATH_BYTES) {
    throw new DebugLinkError(
      'NV_DEBUG_SOCKET_PATH',
      `the debug link's socket path ${socketPath} is ${length} bytes and a Unix socket takes at most ${MAX_SOCKET_PATH_BYTES}: set NOEGLEVISER_RUNTIME_DIR to a shorter folder`,
    );
  }
  fs.rmSync(socketPath, { force: true });
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_DEBUG_LINE && !buffered.includes('\n')) {
        reply(socket, null, undefined, new DebugLinkError('NV_DEBUG_TOO_LONG', 'debug request too long'));
        buffered = '';
        return;
      }
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) void answer(socket, line, handler);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
        fs.rmSync(socketPath, { force: true });
      }),
  };
}

async function answer(socket: net.Socket, line: string, handler: DebugHandler): Promise<void> {
  let id: unknown = null;
  try {
    const request = JSON.parse(line) as { id?: unknown; op?: unknown; args?: unknown };
    id = request.id ?? null;
    if (typeof request.op !== 'string' || !(DEBUG_OPS as readonly string[]).includes(request.op)) {
      throw new DebugLinkError('NV_DEBUG_BAD_OP', `unknown debug operation ${JSON.stringify(request.op)}; known: ${DEBUG_OPS.join(', ')}`);
    }
    const args = typeof request.args === 'object' && request.args !== null ? (request.args as DebugArgs) : {};
    reply(socket, id, await handler(request.op as DebugOp, args));
  } catch (error) {
    const failure =
      error instanceof DebugLinkError
        ? error
        : error instanceof SyntaxError
          ? new DebugLinkError('NV_DEBUG_BAD_JSON', 'debug request is not JSON')
          : new DebugLinkError('NV_DEBUG_FAILED', error instanceof Error ? error.message : String(error));
    reply(socket, id, undefined, failure);
  }
}

function reply(socket: net.Socket, id: unknown, result?: DebugResult, error?: DebugLinkError): void {
  if (socket.destroyed) return;
  const message = error ? { id, ok: false, error: { code: error.code, message: error.message } } : { id, ok: true, result };
  socket.write(JSON.stringify(message) + '\n');
}

/** A connection to an emulator's debug link. */
export class DebugClient {
  private nextId = 1;
  private buffered = '';
  private readonly waiting = new Map<number, { resolve(result: DebugResult): void; reject(error: Error): void }>();

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    const fail = (error: Error) => {
      for (const pending of this.waiting.values()) pending.reject(error);
      this.waiting.clear();
    };
    socket.on('error', (error) => fail(new DebugLinkError('NV_DEBUG_LINK', `debug link failed: ${error.message}`)));
    socket.on('close', () => fail(new DebugLinkError('NV_DEBUG_LINK', 'debug link closed')));
  }

  static connect(address: string, timeoutMs = 2000): Promise<DebugClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(address);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DebugLinkError('NV_DEBUG_UNREACHABLE', `no emulator debug link answered at ${address}`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new DebugClient(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new DebugLinkError('NV_DEBUG_UNREACHABLE', `no emulator debug link at ${address} (${error.code ?? error.message})`));
      });
    });
  }

  call(op: DebugOp, args: DebugArgs = {}): Promise<DebugResult> {
    // A socket already closed emits no more 'close': the call would wait for ever.
    if (this.socket.destroyed) return Promise.reject(new DebugLinkError('NV_DEBUG_LINK', 'debug link closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const message = JSON.parse(line) as { id: number; ok: boolean; result?: DebugResult; error?: { code: string; message: string } };
      const pending = this.waiting.get(message.id);
      if (!pending) continue;
      this.waiting.delete(message.id);
      if (message.ok) pending.resolve(message.result ?? {});
      else pending.reject(new DebugLinkError(message.error?.code ?? 'NV_DEBUG_FAILED', message.error?.message ?? 'debug operation failed'));
    }
  }
}

/** Connects, runs one operation, disconnects. */
export async function debugCall(address: string, op: DebugOp, args: DebugArgs = {}): Promise<DebugResult> {
  const client = await DebugClient.connect(address);
  try {
    return await client.call(op, args);
  } finally {
    client.close();
  }
}
