/**
 * The API's own answers where fastify would give its own, on a real server on loopback with a
 * real SQLite file: here, a request that arrives on a kept-alive connection while the server is
 * stopping (the rest are in test/e2e/server-api.test.ts, against the server process).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/processes.ts';
import { startHost } from '../../start.ts';

const CLIENT_KEY = 'nv_client_app_test_0123456789';

describe('a server that is stopping', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers a request that still reaches it 503 NV_CLOSING, in the envelope', async () => {
    const dir = tempDir('closing');
    dirs.push(dir);
    const server = await startHost({ dbFile: path.join(dir, 'tokens.db'), port: 0, env: {}, apiKeys: { admin: 'nv_admin_app_test_0123456789', client: CLIENT_KEY } });
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    let closing: Promise<void> | undefined;
    try {
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      await new Promise((resolve) => socket.once('connect', resolve));
      // A request in progress (its body not yet whole) keeps the connection from being closed as idle.
      const body = JSON.stringify({ serial: 'NONE-1', code: '123456' });
      const started = new Promise((resolve) => server.app.server.once('request', resolve));
      socket.write(`POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 4)}`);
      await started;
      closing = server.close();
      for (const deadline = Date.now() + 5_000; server.app.server.listening; ) {
        if (Date.now() > deadline) throw new Error('the server did not begin to close');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // The rest of the first request, and a second one behind it on the same connection.
      socket.write(`${body.slice(4)}GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await new Promise((resolve) => socket.once('close', resolve));
      const answers = received.split(/(?=HTTP\/1\.1 )/);
      expect(answers).toHaveLength(2);
      expect(answers[0]).toMatch(/^HTTP\/1\.1 404 /);
      expect(answers[1]).toMatch(/^HTTP\/1\.1 503 /);
      expect(answers[1]).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
      expect(JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'NV_CLOSING', message: expect.any(String) } });
    } finally {
      socket.destroy();
      await (closing ?? server.close());
    }
  });
});
