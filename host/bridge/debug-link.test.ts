/**
 * The debug link's client against a scripted token on a real Unix socket: answers matched by id
 * in any order, every answer checked against its operation, and each way a link goes wrong (an
 * answer that is not one, a line too long, silence, nobody there) as a coded error that never
 * leaves a call waiting.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DEBUG_ANSWER_LINE, type DisplayResult } from '../../protocol/debug/messages.ts';
import { tempDir } from '../../test/support/processes.ts';
import { DebugClient, debugCall } from './debug-link.ts';

const SHOWN: DisplayResult = { display: ' 755224 ', segments: [0, 0x07, 0x6d, 0x6d, 0x5b, 0x5b, 0x66, 0], on: true };

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Request {
  readonly id: number;
  readonly op: string;
  readonly args?: Record<string, unknown>;
}

/** A token that hands every request line to `respond` and writes back whatever it returns, as it is. */
async function scriptedToken(respond: (request: Request, write: (text: string) => void) => void) {
  const address = path.join(tempDir('dbgc'), 'debug.sock');
  const received: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        received.push(line);
        respond(JSON.parse(line) as Request, (text) => socket.write(text));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(address, resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(address, { force: true });
      }),
  );
  return { address, received };
}

async function connect(address: string, options?: Parameters<typeof DebugClient.connect>[1]) {
  const client = await DebugClient.connect(address, options);
  closers.push(() => client.close());
  return client;
}

const answer = (id: number, result: unknown) => JSON.stringify({ id, ok: true, result }) + '\n';

describe('DebugClient against a scripted token', () => {
  it('matches answers to calls by id, whatever their order', async () => {
    const held: { id: number; op: string }[] = [];
    const token = await scriptedToken((request, write) => {
      held.push(request);
      if (held.length < 3) return;
      for (const { id, op } of held.reverse()) write(answer(id, op === 'battery' ? { battery: 20 } : op === 'power-on' ? { on: true } : SHOWN));
    });
    const client = await connect(token.address);
    const results = await Promise.all([client.call('display'), client.call('battery', { percent: 20 }), client.call('power-on')]);
    expect(results).toEqual([SHOWN, { battery: 20 }, { on: true }]);
    expect(token.received).toEqual(['{"id":1,"op":"display"}', '{"id":2,"op":"battery","args":{"percent":20}}', '{"id":3,"op":"power-on"}']);
  });

  it("an answer that is not its operation's result fails that call with NV_DEBUG_BAD_ANSWER; the link goes on", async () => {
    const token = await scriptedToken(({ id, op }, write) => write(answer(id, op === 'press' ? { display: 42 } : SHOWN)));
    const client = await connect(token.address);
    await expect(client.call('press')).rejects.toMatchObject({ code: 'NV_DEBUG_BAD_ANSWER' });
    expect(await client.call('display')).toEqual(SHOWN);
    expect(client.closed).toBe(false);
  });

  it("the token's coded refusal reaches the call as it was sent", async () => {
    const token = await scriptedToken(({ id }, write) => write(JSON.stringify({ id, ok: false, error: { code: 'NV_DEBUG_POWERED_OFF', message: 'the token is powered off' } }) + '\n'));
    const client = await connect(token.address);
    await expect(client.call('press')).rejects.toMatchObject({ name: 'DebugLinkError', code: 'NV_DEBUG_POWERED_OFF', message: 'the token is powered off' });
  });

  it('a line that is no answer at all fails every waiting call and closes the link', async () => {
    const token = await scriptedToken(({ id }, write) => write(id === 2 ? 'Segmentation fault\n' : ''));
    const client = await connect(token.address);
    const first = client.call('display');
    const second = client.call('press');
    await expect(first).rejects.toMatchObject({ code: 'NV_DEBUG_BAD_ANSWER' });
    await expect(second).rejects.toMatchObject({ code: 'NV_DEBUG_BAD_ANSWER' });
    expect(client.closed).toBe(true);
    await expect(client.call('display')).rejects.toMatchObject({ code: 'NV_DEBUG_LINK' });
  });

  it(`an answer longer than ${MAX_DEBUG_ANSWER_LINE} characters: NV_DEBUG_TOO_LONG, and the link is closed`, async () => {
    const token = await scriptedToken(({ id }, write) => {
      write(`{"id":${id},"ok":true,"result":{"on":true,"pad":"`);
      write('x'.repeat(MAX_DEBUG_ANSWER_LINE));
    });
    const client = await connect(token.address);
    await expect(client.call('power-on')).rejects.toMatchObject({ code: 'NV_DEBUG_TOO_LONG' });
    expect(client.closed).toBe(true);
  });

  it('a call without an answer within callTimeoutMs: NV_DEBUG_TIMEOUT, and the link is given up', async () => {
    const token = await scriptedToken(() => {});
    const client = await connect(token.address, { callTimeoutMs: 100 });
    const waiting = client.call('state');
    const other = client.call('display');
    await expect(waiting).rejects.toMatchObject({ code: 'NV_DEBUG_TIMEOUT', message: 'the token did not answer "state" within 100 ms' });
    await expect(other).rejects.toMatchObject({ code: expect.stringMatching(/^NV_DEBUG_(TIMEOUT|LINK)$/) });
    expect(client.closed).toBe(true);
  });

  it('the token closing the link fails the waiting call with NV_DEBUG_LINK', async () => {
    const address = path.join(tempDir('dbgc'), 'drop.sock');
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(address, resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = await connect(address);
    await expect(client.call('display')).rejects.toMatchObject({ code: 'NV_DEBUG_LINK' });
    expect(client.closed).toBe(true);
  });

  it('a bad argument is refused before anything is sent', async () => {
    const token = await scriptedToken(({ id }, write) => write(answer(id, { battery: 50 })));
    const client = await connect(token.address);
    await expect(client.call('battery', { percent: 150 })).rejects.toMatchObject({ code: 'NV_DEBUG_BAD_ARG' });
    expect(await client.call('battery', { percent: 50 })).toEqual({ battery: 50 });
    expect(token.received).toEqual(['{"id":2,"op":"battery","args":{"percent":50}}']);
  });

  it('nobody at the address: NV_DEBUG_UNREACHABLE, naming it', async () => {
    const address = path.join(tempDir('dbgc'), 'nobody.sock');
    await expect(DebugClient.connect(address)).rejects.toMatchObject({ code: 'NV_DEBUG_UNREACHABLE', message: expect.stringContaining(address) });
    await expect(debugCall(address, 'display')).rejects.toMatchObject({ code: 'NV_DEBUG_UNREACHABLE' });
  });
});
