/**
 * The rules of the cut (BRIEF.md): the firmware core and protocol/ reach nothing of Node, and host/
 * talks to a token only through protocol/, never through device internals.
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
