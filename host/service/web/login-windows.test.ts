/**
 * The login throttle's counts on each store: in this process's memory (the embedded store) and on
 * a real throwaway PostgreSQL (test/support/postgres.ts), where several nodes (database objects,
 * each with its own pool) count the same address's hits together, every hit once.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../../../test/support/postgres.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { PostgresDatabase } from '../../store/postgres/postgres-database.ts';
import { LoginThrottle } from './login-throttle.ts';
import { MemoryLoginWindows, type LoginWindows } from './login-windows.ts';
import { PostgresLoginWindows } from './postgres-login-windows.ts';

reportMissingPostgres();

const MINUTE = 60_000;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

let primary: Promise<PostgresNode> | undefined;
afterAll(async () => {
  await (await primary)?.kill();
});

/** `count` nodes' windows on one store (memory: one process, so one). */
type Nodes = (count: number) => Promise<LoginWindows[]>;

const STORES: { name: string; available: boolean; nodes: Nodes; cluster: boolean }[] = [
  {
    name: 'memory (the embedded store)',
    available: true,
    cluster: false,
    nodes: async () => [new MemoryLoginWindows()],
  },
  {
    name: 'PostgreSQL',
    available: postgres.available,
    cluster: true,
    nodes: async (count) => {
      primary ??= PostgresNode.startPrimary({ name: 'throttle' });
      const node = await primary;
      const url = connectionUrl(await node.createDatabase(), [node]);
      const windows: LoginWindows[] = [];
      for (let i = 0; i < count; i++) {
        const database = await PostgresDatabase.open(url);
        closers.push(() => database.close());
        windows.push(await PostgresLoginWindows.open(database));
      }
      return windows;
    },
  },
];

/** A request from `ip` through a throttle's hook: true if let through, false if refused 429 NV_RATE_LIMITED. */
async function attempt(throttle: LoginThrottle, ip: string): Promise<boolean> {
  const headers: Record<string, string> = {};
  const reply = { header: (name: string, value: string) => void (headers[name] = value) } as unknown as FastifyReply;
  try {
    await throttle.hook({ ip } as FastifyRequest, reply);
    return true;
  } catch (error) {
    if (!(error instanceof CodedError) || error.code !== 'NV_RATE_LIMITED' || error.status !== 429) throw error;
    expect(Number(headers['retry-after'])).toBeGreaterThanOrEqual(1);
    return false;
  }
}

describe.each(STORES)('the login windows in $name', ({ available, nodes, cluster }) => {
  it.skipIf(!available)('counts hits in a fixed window from the first hit, per key, and starts a new window once it has ended', async () => {
    const [windows] = await nodes(1);
    const t0 = 1_800_000_000_000;
    expect(await windows!.hit('10.0.0.1', t0, MINUTE)).toEqual({ start: t0, count: 1 });
    expect(await windows!.hit('10.0.0.1', t0 + 1000, MINUTE)).toEqual({ start: t0, count: 2 });
    expect(await windows!.hit('10.0.0.2', t0 + 2000, MINUTE)).toEqual({ start: t0 + 2000, count: 1 });
    expect(await windows!.hit('10.0.0.1', t0 + MINUTE - 1, MINUTE)).toEqual({ start: t0, count: 3 });
    expect(await windows!.hit('10.0.0.1', t0 + MINUTE, MINUTE)).toEqual({ start: t0 + MINUTE, count: 1 });
    expect(await windows!.hit('10.0.0.2', t0 + MINUTE, MINUTE)).toEqual({ start: t0 + 2000, count: 2 });
  });

  it.skipIf(!available)(`40 concurrent attempts from one address with a limit of 10${cluster ? ', spread over two nodes' : ''}: every hit is counted, exactly 10 are let through`, async () => {
    const windows = await nodes(2);
    const now = () => 1_800_000_000_000;
    const throttles = windows.map((w) => new LoginThrottle(10, now, w));
    for (let round = 0; round < 3; round++) {
      const ip = `192.0.2.${round + 1}`;
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(throttles[i % throttles.length]!, ip)));
      expect(outcomes.filter(Boolean)).toHaveLength(10);
      // Every hit counted once: the next hit is the 41st, on either node.
      expect(await windows[round % windows.length]!.hit(ip, now(), MINUTE)).toEqual({ start: now(), count: 41 });
    }
  });
});

describe.skipIf(!postgres.available)('the login windows in PostgreSQL, swept', () => {
  it('a node sweeps the windows that have ended, and keeps the current ones', async () => {
    const [windows, other] = (await STORES[1]!.nodes(2)) as [PostgresLoginWindows, PostgresLoginWindows];
    const t0 = 1_800_000_000_000;
    await windows.hit('198.51.100.1', t0, MINUTE);
    await windows.hit('198.51.100.2', t0 + 30_000, MINUTE);
    expect(await other.sweep(t0 + MINUTE, MINUTE)).toBe(1);
    expect(await other.sweep(t0 + MINUTE, MINUTE)).toBe(0);
    // The kept window still counts; the swept one starts afresh.
    expect(await windows.hit('198.51.100.2', t0 + MINUTE, MINUTE)).toEqual({ start: t0 + 30_000, count: 2 });
    expect(await windows.hit('198.51.100.1', t0 + MINUTE, MINUTE)).toEqual({ start: t0 + MINUTE, count: 1 });
  });
});
