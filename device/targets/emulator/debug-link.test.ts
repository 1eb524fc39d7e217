/**
 * The emulator's debug-link server on a real Unix socket: answers through the client, coded
 * errors for what a handler throws and for every malformed line, the link still answering after
 * each, and a closed link.
 */
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DebugHandlers } from '../../../protocol/debug/codec.ts';
import { MAX_DEBUG_REQUEST_LINE, type DisplayResult } from '../../../protocol/debug/messages.ts';
import { tempDir } from '../../../test/support/processes.ts';
import { DebugClient } from '../../../host/bridge/debug-link.ts';
import { serveDebugLink } from './debug-link.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const SHOWN: DisplayResult = { display: ' 755224 ', segments: [0, 0x7d, 0x07, 0x6d, 0x5b, 0x5b, 0x66, 0], on: true };

/** A token that shows one code, and whose power cannot be cut. */
const handlers: DebugHandlers = {
  press: () => SHOWN,
  hold: () => SHOWN,
  button: () => SHOWN,
  display: () => SHOWN,
  advance: ({ ms }) => ({ clock: ms, ...SHOWN }),
  'power-cut': () => {
    throw new Error('no power to cut');
  },
  'power-on': () => ({ on: true }),
  battery: ({ percent }) => ({ battery: percent }),
  state: () => {
    throw new Error('no state');
  },
};

async function serve() {
  const socketPath = path.join(tempDir('dbg'), 'debug.sock');
  const served = await serveDebugLink(socketPath, handlers);
  closers.push(() => served.close());
  return { socketPath, served };
}

/** A raw connection: lines written as they are, answers read as they come. */
async function rawConnection(socketPath: string) {
  const socket = net.connect(socketPath);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  closers.push(async () => void socket.destroy());
  socket.setEncoding('utf8');
  let buffered = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    waiters.splice(0).forEach((wake) => wake());
  });
  const nextAnswer = async (): Promise<unknown> => {
    while (!buffered.includes('\n')) await new Promise<void>((resolve) => waiters.push(resolve));
    const line = buffered.slice(0, buffered.indexOf('\n'));
    buffered = buffered.slice(line.length + 1);
    return JSON.parse(line) as unknown;
  };
  return { write: (text: string) => socket.write(text), nextAnswer };
}

describe('DebugClient', () => {
  it('answers each call, and a failing operation as a coded error', async () => {
    const { socketPath } = await serve();
    const client = await DebugClient.connect(socketPath);
    expect(await client.call('display')).toEqual(SHOWN);
    await expect(client.call('power-cut')).rejects.toMatchObject({ code: 'NV_DEBUG_FAILED', message: 'no power to cut' });
    client.close();
  });

  it('a call on a link that has closed fails at once instead of waiting for ever', async () => {
    const { socketPath, served } = await serve();
    const client = await DebugClient.connect(socketPath);
    await served.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(client.call('display')).rejects.toMatchObject({ code: 'NV_DEBUG_LINK' });
    client.close();
    await expect(client.call('display')).rejects.toMatchObject({ code: 'NV_DEBUG_LINK' });
  });

  it('a socket path longer than a Unix socket takes is a coded error before anything is made', async () => {
    const dir = path.join(tempDir('dbg'), 'x'.repeat(120));
    await expect(serveDebugLink(path.join(dir, 'debug.sock'), handlers)).rejects.toMatchObject({ code: 'NV_DEBUG_SOCKET_PATH', message: expect.stringContaining('NOEGLEVISER_RUNTIME_DIR') });
  });
});

describe('the debug-link server, line by line', () => {
  it('answers every malformed line with its code, and the next good line as usual', async () => {
    const { socketPath } = await serve();
    const link = await rawConnection(socketPath);
    const refusals: [string, unknown, string][] = [
      ['{"id":1,"op":"press"', null, 'NV_DEBUG_BAD_JSON'],
      ['[1,2]', null, 'NV_DEBUG_BAD_REQUEST'],
      ['{"id":"x","op":"press"}', null, 'NV_DEBUG_BAD_REQUEST'],
      ['{"id":2,"op":"jump"}', 2, 'NV_DEBUG_BAD_OP'],
      ['{"id":3,"op":"advance"}', 3, 'NV_DEBUG_BAD_ARG'],
      ['{"id":4,"op":"battery","args":{"percent":101}}', 4, 'NV_DEBUG_BAD_ARG'],
      ['{"id":5,"op":"press","args":{"ms":1}}', 5, 'NV_DEBUG_BAD_ARG'],
      ['{"id":6,"op":"state"}', 6, 'NV_DEBUG_FAILED'],
    ];
    for (const [line, id, code] of refusals) {
      link.write(line + '\n');
      expect(await link.nextAnswer(), line).toEqual({ id, ok: false, error: { code, message: expect.any(String) } });
    }
    link.write('\n  \n{"id":7,"op":"battery","args":{"percent":20}}\n');
    expect(await link.nextAnswer()).toEqual({ id: 7, ok: true, result: { battery: 20 } });
  });

  it('an overlong line is answered once with NV_DEBUG_TOO_LONG and dropped up to its newline; the next line is read', async () => {
    const { socketPath } = await serve();
    const link = await rawConnection(socketPath);
    link.write(`{"id":1,"op":"press","pad":"${'x'.repeat(MAX_DEBUG_REQUEST_LINE)}`);
    expect(await link.nextAnswer()).toEqual({ id: null, ok: false, error: { code: 'NV_DEBUG_TOO_LONG', message: expect.any(String) } });
    link.write(`${'y'.repeat(3 * MAX_DEBUG_REQUEST_LINE)}"}\n{"id":2,"op":"display"}\n`);
    expect(await link.nextAnswer()).toEqual({ id: 2, ok: true, result: SHOWN });
  });
});
