/**
 * Bursts of requests for the concurrency tests: every request on a connection of its own, all of
 * them written (connection open, whole body sent) before the first answer is read.
 */
import net from 'node:net';
import { TEST_CLIENT_KEY } from './processes.ts';

export interface BurstAnswer {
  readonly status: number;
  readonly body: { result?: string; reason?: string; error?: { code: string } };
}

/**
 * Sends every request on a connection of its own, waits until all are written, then reads the
 * answers. Answers each status and JSON body, in the order given.
 */
export async function burst(requests: readonly { url: string; path: string; body: unknown }[]): Promise<BurstAnswer[]> {
  const answers = await rawBurst(
    requests.map(({ url, path, body }) => ({
      url,
      method: 'POST',
      path,
      headers: { Authorization: `Bearer ${TEST_CLIENT_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })),
  );
  return answers.map((answer) => ({ status: answer.status, body: JSON.parse(answer.body) as BurstAnswer['body'] }));
}

export interface RawAnswer {
  readonly status: number;
  /** The header block, as sent. */
  readonly head: string;
  readonly body: string;
}

/**
 * The same for any request (a browser's form post with its cookie, say): each written whole, on a
 * connection of its own, before any answer is read. Answers each status, header block and body.
 */
export async function rawBurst(requests: readonly { url: string; method: string; path: string; headers: Readonly<Record<string, string>>; body: string }[]): Promise<RawAnswer[]> {
  const sockets = await Promise.all(
    requests.map(
      ({ url, method, path: route, headers, body }) =>
        new Promise<net.Socket>((resolve, reject) => {
          const { hostname, port } = new URL(url);
          const socket = net.connect({ host: hostname, port: Number(port) });
          socket.pause();
          socket.once('error', reject);
          socket.once('connect', () => {
            const lines = Object.entries({ Host: `${hostname}:${port}`, ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' }).map(([name, value]) => `${name}: ${value}`);
            socket.write(`${method} ${route} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`, () => resolve(socket));
          });
        }),
    ),
  );
  return Promise.all(
    sockets.map(
      (socket) =>
        new Promise<RawAnswer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.once('error', reject);
          socket.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const split = text.indexOf('\r\n\r\n');
            resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), head: text.slice(0, split), body: text.slice(split + 4) });
          });
          socket.resume();
        }),
    ),
  );
}
