/**
 * The server under load: accepted verifications per second over HTTP keep-alive from 64
 * connections (autocannon), each acceptance committed to disk (WAL, synchronous=FULL, group
 * commit) before its answer, against a bare fastify route answering `{}` driven the same way;
 * p99 latency; and the server's resident memory at its peak under that load.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { ROOT, startServerProcess, tempDir } from '../../test/support/processes.ts';
import { rate, type Row } from '../table.ts';

const CONNECTIONS = 64;
export const DURATION_S = 10;
export const TOKENS = 4000;

export interface Load {
  readonly requestsPerSecond: number;
  /** Responses received over the run (autocannon's total: the per-second average times the duration undercounts a run's partial seconds). */
  readonly answered: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** The load generator: `connections` keep-alive connections for DURATION_S, each request's body from `body`. */
export function load(url: string, key: string | undefined, body: () => string, connections = CONNECTIONS): Promise<Load> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration: DURATION_S,
        requests: [
          {
            method: 'POST',
            path: '/v1/verify',
            headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
            setupRequest: (request) => ({ ...request, body: body() }),
          },
        ],
      },
      (error, result) =>
        error
          ? reject(error)
          : resolve({ requestsPerSecond: result.requests.average, answered: result.requests.total, p99Ms: result.latency.p99, non2xx: result.non2xx, errors: result.errors }),
    );
  });
}

/** Peak resident memory of a process while `during` runs, from /proc. */
async function peakRss<T>(pid: number, during: Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let peak = 0;
  const sample = () => {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (match) peak = Math.max(peak, Number(match[1]) * 1024);
  };
  const timer = setInterval(sample, 100);
  try {
    const result = await during;
    sample();
    return { result, peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

/** TOKENS HOTP tokens BENCH0… enrolled through `url`; answers their seeds. */
export async function enrollBenchTokens(url: string, adminKey: string): Promise<Buffer[]> {
  const seeds: Buffer[] = [];
  for (let batch = 0; batch < TOKENS; batch += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const seed = randomBytes(20);
        seeds[batch + i] = seed;
        return fetch(`${url}/v1/tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ serial: `BENCH${batch + i}`, kind: 'hotp', seed: seed.toString('hex') }),
        });
      }),
    );
  }
  return seeds;
}

/** Request bodies `from` … `from + count - 1`, each a fresh valid code: tokens taken in turn, each one counter on. */
export function codeBodies(seeds: readonly Buffer[], from: number, count: number): string[] {
  const bodies: string[] = [];
  for (let n = from; n < from + count; n++) {
    const token = n % TOKENS;
    bodies.push(JSON.stringify({ serial: `BENCH${token}`, code: referenceHotp(seeds[token]!, Math.floor(n / TOKENS)) }));
  }
  return bodies;
}

/** Verifications the server at `url` accepted since it started, from its /metrics. */
export async function acceptedCount(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/noegleviser_verifications_total\{result="accepted",reason=""\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

export async function serverLoadRows(): Promise<Row[]> {
  const dir = tempDir('bench-server');
  const server = await startServerProcess({ dbFile: path.join(dir, 'tokens.db'), args: ['--quiet', '--rate-limit', '0'] });
  try {
    const seeds = await enrollBenchTokens(server.url, server.adminKey);
    const bodies = codeBodies(seeds, 0, 60_000 * DURATION_S);
    let next = 0;
    const { result: ours, peakBytes } = await peakRss(server.child.pid!, load(server.url, server.clientKey, () => bodies[next++]!));
    const accepted = await acceptedCount(server.url);
    const acceptedPerSecond = (ours.requestsPerSecond * accepted) / Math.max(1, next);
    const bare = await startBare();
    let theirs: Load;
    try {
      const sample = bodies[0]!;
      theirs = await load(bare.url, undefined, () => sample);
    } finally {
      bare.stop();
    }
    return [
      {
        figure: `server: accepted verifies/s, HTTP keep-alive, ${CONNECTIONS} connections, each on disk before its answer`,
        ours: rate(acceptedPerSecond, 'verifies/s'),
        reference: `${rate(theirs.requestsPerSecond, 'req/s')} bare fastify {}`,
        ratio: `${((acceptedPerSecond / theirs.requestsPerSecond) * 100).toFixed(0)}%`,
        goal: '≥ 60% of the bare route',
        met: acceptedPerSecond / theirs.requestsPerSecond >= 0.6,
      },
      {
        figure: 'server: p99 latency under that load',
        ours: `${ours.p99Ms} ms`,
        reference: `${theirs.p99Ms} ms bare fastify`,
        ratio: '—',
        goal: '≤ 10 ms',
        met: ours.p99Ms <= 10,
      },
      {
        figure: 'server: resident memory under that load',
        ours: `${(peakBytes / 2 ** 20).toFixed(0)} MB`,
        reference: '—',
        ratio: '—',
        goal: '≤ 250 MB',
        met: peakBytes <= 250 * 2 ** 20,
      },
    ];
  } finally {
    await server.stop('SIGTERM');
  }
}

/** The bare fastify route (bench/bare-server.ts) in a process of its own. */
export async function startBare(): Promise<{ url: string; pid: number; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code})`)));
  });
  return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}
