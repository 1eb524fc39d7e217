/**
 * The emulator's side of the debug link (protocol/debug: its messages and codec): a Unix socket of
 * its own that only this user may open, each request line answered by the emulator's handlers.
 */
import fs from 'node:fs';
import net from 'node:net';
import { answerDebugLine, DebugLineReader, overlongRequestAnswer, type DebugHandlers } from '../../../protocol/debug/codec.ts';
import { DebugLinkError, MAX_DEBUG_REQUEST_LINE } from '../../../protocol/debug/messages.ts';

/** A Unix socket's path on Linux: 108 bytes of sun_path, the last for its terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Serves the debug link on a Unix socket that only this user may open. */
export async function serveDebugLink(socketPath: string, handlers: DebugHandlers): Promise<{ close(): Promise<void> }> {
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
    const write = (answer: string | undefined) => {
      if (answer !== undefined && !socket.destroyed) socket.write(answer);
    };
    const lines = new DebugLineReader(
      MAX_DEBUG_REQUEST_LINE,
      (line) => void answerDebugLine(line, handlers).then(write),
      () => write(overlongRequestAnswer()),
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => lines.push(chunk));
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
