/**
 * The rules of the cut (BRIEF.md): the firmware core and protocol/ reach nothing of Node, host/
 * talks to a token only through protocol/, never through device internals, and the lab reaches
 * its token only through the debug link's client.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { moduleGraph } from './support/module-graph.ts';

const root = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => path.join(dir, file));
}

describe('the firmware core imports nothing from Node', () => {
  it('the check itself catches a module that reaches Node', async () => {
    const graph = await moduleGraph(path.join(root, 'test/fixtures/reaches-node.ts'));
    expect(graph.nodeImports).toEqual(['fs']);
    expect(graph.nodeGlobals).toEqual(expect.arrayContaining(['process', 'Buffer', 'setTimeout']));
  });

  const firmwareEntries = [...sources('device/firmware'), ...sources('device/hal'), ...sources('device/targets/engine'), ...sources('protocol')];

  it.each(firmwareEntries)('%s, with everything it imports (packages included)', async (entry) => {
    const graph = await moduleGraph(path.join(root, entry));
    expect(graph.nodeImports).toEqual([]);
    expect(graph.nodeGlobals).toEqual([]);
  });

  it('the token firmware really is a graph that includes the OATH engine and @noble/hashes', async () => {
    const graph = await moduleGraph(path.join(root, 'device/firmware/token.ts'));
    expect(graph.inputs).toEqual(expect.arrayContaining(['protocol/oath/index.ts', 'device/firmware/flash-store.ts']));
    expect(graph.inputs.some((input) => input.includes('@noble/hashes'))).toBe(true);
  });
});

describe('host/ reaches a token only through protocol/', () => {
  it.each(sources('host'))('%s imports nothing from device/', async (entry) => {
    const graph = await moduleGraph(path.join(root, entry), { externalPackages: true });
    expect(graph.inputs.filter((input) => input.startsWith('device/'))).toEqual([]);
  });

  it('protocol/ imports neither device/ nor host/', async () => {
    for (const entry of sources('protocol')) {
      const graph = await moduleGraph(path.join(root, entry));
      expect(graph.inputs.filter((input) => input.startsWith('device/') || input.startsWith('host/'))).toEqual([]);
    }
  });
});

describe("the lab reaches a token only through the debug link's client", () => {
  const CLIENT = 'host/bridge/debug-link.ts';
  /** Code a module could reach a token with by itself: sockets, serial ports, HID, ptys. */
  const isTransport = (specifier: string) => /^(node:)?(net|dgram)$|^(serialport|@serialport\/.+|node-hid|node-pty)$/.test(specifier);

  /** Every way a module's graph reaches a token other than through the client: device code, the bridge's other modules, transports imported elsewhere. */
  async function waysAroundTheClient(entry: string): Promise<string[]> {
    const { imports } = await moduleGraph(path.join(root, entry), { externalPackages: true });
    const ways: string[] = [];
    for (const [module, specifiers] of Object.entries(imports)) {
      if (module === CLIENT) continue;
      if (module.startsWith('device/')) ways.push(`${module} is device code`);
      if (module.startsWith('host/bridge/')) ways.push(`${module} is the bridge's own`);
      ways.push(...specifiers.filter(isTransport).map((specifier) => `${module} imports ${specifier}`));
    }
    return ways.sort();
  }

  it('the check itself catches a lab module that opens a socket, uses the bridge or reads the firmware', async () => {
    expect(await waysAroundTheClient('test/fixtures/lab-around-the-debug-link.ts')).toEqual([
      'device/firmware/segments.ts is device code',
      'device/hal/display.ts is device code',
      "host/bridge/link.ts is the bridge's own",
      'test/fixtures/lab-around-the-debug-link.ts imports node:net',
    ]);
  });

  it.each(sources('host/lab'))('%s', async (entry) => {
    expect(await waysAroundTheClient(entry)).toEqual([]);
  });

  it('the lab page does reach its token, through the client', async () => {
    const graph = await moduleGraph(path.join(root, 'host/lab/lab-page.ts'), { externalPackages: true });
    expect(graph.inputs).toContain(CLIENT);
  });
});
