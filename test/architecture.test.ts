/**
 * The rules of the cut (BRIEF.md): the firmware core and protocol/ reach nothing of Node, host/
 * talks to a token only through protocol/, never through device internals, the lab reaches its
 * token only through the debug link's client, the validation server never reaches the login
 * service (the start module composes them), the bridge and the CLI reach the server and the
 * service only through their contract (host/api) or, for a command that starts the host, its start
 * module, and a store keeps to its data: a module that reaches a database driver reaches neither
 * fastify nor the HTTP error layer.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { importGraph, moduleGraph, type ImportGraph } from './support/module-graph.ts';

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
      "host/bridge/session.ts is the bridge's own",
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

describe('host/server never reaches host/service', () => {
  /** The service's modules a graph reaches, by any import (a type too). */
  const serviceIn = (graph: ImportGraph) => graph.files.filter((file) => file.startsWith('host/service/'));

  it('the check itself catches a type taken from the service', () => {
    expect(serviceIn(importGraph('test/fixtures/server-reaches-service.ts', root))).toContain('host/service/service.ts');
  });

  it.each(sources('host/server'))('%s reaches nothing of host/service', (entry) => {
    expect(serviceIn(importGraph(entry, root))).toEqual([]);
  });
});

describe('host/bridge and host/cli reach the server and the service only through host/api', () => {
  /** What the host keeps behind its contract: the token server, the login service, their stores. */
  const isBehindTheContract = (file: string) => /^host\/(server|service|store)\//.test(file);
  const isContract = (file: string) => file.startsWith('host/api/');
  /** The start and its defaults: the way in for a command that starts (or opens) the host, and nothing deeper. */
  const START = ['host/start.ts', 'host/start-defaults.ts'];
  /** The commands that start a server (or, to come, open a store); only these may import the start. */
  const STARTING_COMMANDS = ['host/cli/server-command.ts', 'host/cli/store-commands.ts'];

  /** Every import of an entry's graph that goes past the contract: into the server, the service or their stores, or into the start from a module that starts nothing. */
  function waysPastTheContract(entry: string): string[] {
    const graph = importGraph(entry, root);
    const ways: string[] = [];
    const seen = new Set<string>();
    const visit = (module: string) => {
      if (seen.has(module)) return;
      seen.add(module);
      for (const target of graph.imports.get(module)?.files ?? []) {
        if (START.includes(target)) {
          if (!STARTING_COMMANDS.includes(module)) ways.push(`${module} imports ${target}`);
        } else if (isBehindTheContract(target)) ways.push(`${module} imports ${target}`);
        else if (!isContract(target)) visit(target);
      }
    };
    visit(entry);
    return ways.sort();
  }

  it('the check itself catches a type taken from the server, and the start opened by a module that starts nothing', () => {
    expect(waysPastTheContract('test/fixtures/cli-reaches-server.ts')).toEqual([
      'test/fixtures/cli-reaches-server.ts imports host/server/token-service.ts',
      'test/fixtures/cli-reaches-server.ts imports host/start.ts',
    ]);
  });

  it.each([...sources('host/bridge'), ...sources('host/cli')])('%s', (entry) => {
    expect(waysPastTheContract(entry)).toEqual([]);
  });

  it('the server command reaches the host through its start, and the start reaches the server', () => {
    const graph = importGraph('host/cli/server-command.ts', root);
    expect(graph.imports.get('host/cli/server-command.ts')?.files).toEqual(expect.arrayContaining(['host/start.ts', 'host/start-defaults.ts']));
    expect(graph.files).toContain('host/server/server.ts');
  });

  it.each(sources('host/api'))('%s, the contract, reaches no fastify and nothing behind the contract', (entry) => {
    const graph = importGraph(entry, root);
    expect(graph.files.filter(isBehindTheContract)).toEqual([]);
    expect(graph.packages.filter((name) => name === 'fastify' || name.startsWith('@fastify/'))).toEqual([]);
  });

  it("the start's defaults reach only the defaults, not the server", () => {
    const graph = importGraph('host/start-defaults.ts', root);
    expect(graph.files.filter(isBehindTheContract).sort()).toEqual(['host/server/defaults.ts', 'host/server/policy.ts', 'host/service/service-policy.ts']);
    expect(graph.packages).toEqual([]);
  });
});

describe('a module that reaches a database driver reaches neither fastify nor the HTTP error layer', () => {
  const DRIVERS = new Set(['better-sqlite3', 'pg', 'postgres']);
  /** The composition: it opens the database and starts the HTTP server, and so may reach both (as may a command that starts it). */
  const COMPOSITION = 'host/start.ts';
  const isHttpPackage = (name: string) => name === 'fastify' || name.startsWith('@fastify/');
  /** The API's contract and error envelope, the server's HTTP layer, and the coded error that carries an HTTP status. */
  const isHttpLayer = (file: string) => file.startsWith('host/api/') || file.startsWith('host/server/http/') || file === 'protocol/coded-error.ts';
  const reachesDriver = (graph: ImportGraph) => graph.packages.some((name) => DRIVERS.has(name)) && !graph.files.includes(COMPOSITION);
  /** What of HTTP a module that reaches a driver reaches (nothing for one that reaches no driver). */
  const httpIn = (graph: ImportGraph) => (reachesDriver(graph) ? [...graph.packages.filter(isHttpPackage), ...graph.files.filter(isHttpLayer)] : []);

  it('the check itself catches a store that throws the coded error, and one that reaches fastify through another module', () => {
    expect(httpIn(importGraph('test/fixtures/store-reaches-http.ts', root))).toEqual(['protocol/coded-error.ts']);
    expect(httpIn(importGraph('test/fixtures/store-reaches-fastify.ts', root))).toEqual(['fastify']);
  });

  it('the stores are what it is about: the database object and both SQLite stores reach a driver', () => {
    const hosts = sources('host').filter((entry) => reachesDriver(importGraph(entry, root)));
    expect(hosts).toEqual(expect.arrayContaining(['host/store/sqlite-database.ts', 'host/server/store/sqlite-token-store.ts', 'host/service/store/sqlite-service-store.ts']));
  });

  it.each(sources('host'))('%s', (entry) => {
    expect(httpIn(importGraph(entry, root))).toEqual([]);
  });
});

describe('nothing in device/ or host/ reaches simulation/', () => {
  /** The simulation's modules a graph reaches, by any import (a type too). */
  const simulationIn = (graph: ImportGraph) => graph.files.filter((file) => file.startsWith('simulation/'));

  it('the check itself catches a module that takes something from the simulation', () => {
    expect(simulationIn(importGraph('test/fixtures/lab-reaches-simulation.ts', root))).toContain('simulation/model.ts');
  });

  it.each([...sources('device'), ...sources('host')])('%s reaches nothing of simulation/', (entry) => {
    expect(simulationIn(importGraph(entry, root))).toEqual([]);
  });

  it('the simulation reaches both sides, as the one place allowed to', () => {
    const files = importGraph('simulation/run.ts', root).files;
    expect(files).toEqual(expect.arrayContaining(['device/firmware/token.ts', 'host/start.ts']));
  });
});
