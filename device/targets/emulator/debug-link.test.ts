/** The debug link's client against a real Unix socket server: answers, coded errors, and a closed link. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/processes.ts';
import { DebugClient, serveDebugLink } from './debug-link.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve() {
  const socketPath = path.join(tempDir('dbg'), 'debug.sock');
  const served = await serveDebugLink(socketPath, async (op) => {
    if (op === 'power-cut') throw new Error('no power to cut');
    return { op };
  });
  closers.push(() => served.close());
  return { socketPath, served };
}

describe('DebugClient', () => {
  it('answers each call, and a failing operation as a coded error', async () => {
    const { socketPath } = await serve();
    const client = await DebugClient.connect(socketPath);
    expect(await client.call('display')).toEqual({ op: 'display' });
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
    await expect(serveDebugLink(path.join(dir, 'debug.sock'), async () => ({}))).rejects.toMatchObject({ code: 'NV_DEBUG_SOCKET_PATH', message: expect.stringContaining('NOEGLEVISER_RUNTIME_DIR') });
  });
});
