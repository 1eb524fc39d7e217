/**
 * Server nodes on one PostgreSQL beside SQLite on one node and the bare fastify route, in one run
 * with server-load.ts's load generator: accepted verifications per second with 1, 2 and 3 nodes
 * (the generator's connections spread over the nodes), p99 latency, and the CPU time each accepted
 * verification costs, read from the OS (/proc/PID/stat: utime + stime of the server processes, and
 * with PostgreSQL also of the postmaster and every backend, those that ended included through the
 * postmaster's cutime + cstime). On a 2-core machine the rate is bounded by the generator sharing
 * the cores; the CPU per verification is what predicts how a cluster scales on a bigger one.
 * Skipped (a row saying so) where PostgreSQL is missing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { connectionUrl, postgres, PostgresNode } from '../../test/support/postgres.ts';
import { cleanUpTestResources, startServerProcess, tempDir, type ServerProcess } from '../../test/support/processes.ts';
import { rate, times, type Row } from '../table.ts';
import { acceptedCount, codeBodies, DURATION_S, enrollBenchTokens, load, startBare, type Load } from './server-load.ts';

const CONNECTIONS = 64;
const NODE_COUNTS = [1, 2, 3] as const;
/** Bodies made ahead for one run: more than a run can send here. */
const BODIES_PER_RUN = 30_000 * DURATION_S;

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A process's CPU time in clock ticks: its own (utime + stime), and with `children` that of its ended children too (cutime + cstime). */
function cpuTicks(pid: number, children: boolean): number {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0; // ended meanwhile: its time is in its parent's cutime
  }
  // The fields after the command name (which may hold spaces), from field 3 (state) on.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return utime! + stime! + (children ? cutime! + cstime! : 0);
}

function parentOf(pid: number): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** CPU ticks of a PostgreSQL server: the postmaster with its ended children, and every live child (a backend, a WAL writer…) with its own. */
function postgresTicks(node: PostgresNode): number {
  const postmaster = Number(fs.readFileSync(path.join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => parentOf(pid) === postmaster);
  return cpuTicks(postmaster, true) + children.reduce((sum, pid) => sum + cpuTicks(pid, true), 0);
}

interface Measured {
  readonly acceptedPerSecond: number;
  readonly p99Ms: number;
  /** CPU seconds of the servers (nodes, or the bare route) and of PostgreSQL during the run. */
  readonly serverCpuS: number;
  readonly databaseCpuS: number;
  /** Accepted verifications (the bare route: requests answered). */
  readonly count: number;
  /** Requests answered, and of them not 2xx (a 503 while the store is slow, say). */
  readonly answered: number;
  readonly non2xx: number;
}

/** The load generator's connections spread over `urls`, one generator per URL, all at once; CPU read before and after. */
async function measure(urls: readonly string[], key: string | undefined, body: () => string, serverPids: readonly number[], database: PostgresNode | undefined, accepted: () => Promise<number>): Promise<Measured> {
  const serverTicks = () => serverPids.reduce((sum, pid) => sum + cpuTicks(pid, false), 0);
  const acceptedBefore = await accepted();
  const [server0, database0] = [serverTicks(), database ? postgresTicks(database) : 0];
  const loads: Load[] = await Promise.all(urls.map((url) => load(url, key, body, Math.floor(CONNECTIONS / urls.length))));
  const [server1, database1] = [serverTicks(), database ? postgresTicks(database) : 0];
  const count = (await accepted()) - acceptedBefore;
  return {
    acceptedPerSecond: count / DURATION_S,
    p99Ms: Math.max(...loads.map((l) => l.p99Ms)),
    serverCpuS: (server1 - server0) / TICKS_PER_SECOND,
    databaseCpuS: (database1 - database0) / TICKS_PER_SECOND,
    count,
    answered: loads.reduce((sum, l) => sum + l.answered, 0),
    non2xx: loads.reduce((sum, l) => sum + l.non2xx, 0),
  };
}

const micros = (seconds: number, count: number) => (seconds / Math.max(1, count)) * 1e6;

export async function clusterLoadRows(): Promise<Row[]> {
  const figure = 'PostgreSQL cluster: accepted verifies/s';
  if (!postgres.available) return [{ figure, ours: `skipped: ${postgres.missing}`, reference: '—', ratio: '—', goal: '—', met: undefined }];
  const dir = tempDir('bench-cluster');
  const running: ServerProcess[] = [];
  try {
    // The references: the bare route, and SQLite on one node.
    const bare = await startBare();
    let bareRun: Measured;
    try {
      const sample = JSON.stringify({ serial: 'BENCH0', code: '123456' });
      let answered = 0;
      bareRun = await measure([bare.url], undefined, () => (answered++, sample), [bare.pid], undefined, async () => answered);
    } finally {
      bare.stop();
    }
    const sqlite = await startServerProcess({ dbFile: path.join(dir, 'sqlite', 'tokens.db'), args: ['--quiet', '--rate-limit', '0'] });
    running.push(sqlite);
    const sqliteSeeds = await enrollBenchTokens(sqlite.url, sqlite.adminKey);
    const sqliteBodies = codeBodies(sqliteSeeds, 0, BODIES_PER_RUN);
    let nextSqlite = 0;
    const sqliteRun = await measure([sqlite.url], sqlite.clientKey, () => sqliteBodies[nextSqlite++]!, [sqlite.child.pid!], undefined, () => acceptedCount(sqlite.url));
    await sqlite.stop();

    // Three nodes on one primary; the runs use the first 1, 2, then 3, each continuing the tokens' counters.
    const primary = await PostgresNode.startPrimary({ name: 'bench' });
    const database = await primary.createDatabase();
    const url = connectionUrl(database, [primary]);
    const masterKey = randomBytes(32).toString('hex');
    const nodes = await Promise.all(
      [0, 1, 2].map((i) => startServerProcess({ dbFile: path.join(dir, `node-${i}`, 'tokens.db'), postgresUrl: url, args: ['--quiet', '--rate-limit', '0'], env: { NOEGLEVISER_MASTER_KEY: masterKey }, readyTimeoutMs: 90_000 })),
    );
    running.push(...nodes);
    const seeds = await enrollBenchTokens(nodes[0]!.url, nodes[0]!.adminKey);
    let sent = 0;
    const clusterRuns = new Map<number, Measured>();
    for (const count of NODE_COUNTS) {
      const using = nodes.slice(0, count);
      const bodies = codeBodies(seeds, sent, BODIES_PER_RUN);
      let next = 0;
      const sum = async () => (await Promise.all(using.map((node) => acceptedCount(node.url)))).reduce((a, b) => a + b, 0);
      clusterRuns.set(count, await measure(using.map((node) => node.url), nodes[0]!.clientKey, () => bodies[next++]!, using.map((node) => node.child.pid!), primary, sum));
      sent += next;
    }

    const bareCpu = micros(bareRun.serverCpuS, bareRun.count);
    const sqliteCpu = micros(sqliteRun.serverCpuS, sqliteRun.count);
    const rows: Row[] = [];
    for (const [count, run] of clusterRuns) {
      rows.push({
        figure: `${figure}, ${count} node${count === 1 ? '' : 's'} (${CONNECTIONS} connections over them, one synchronous commit each)`,
        ours: `${rate(run.acceptedPerSecond, 'verifies/s')} (${run.count} accepted of ${run.answered} answered, ${run.non2xx} not 2xx)`,
        reference: `SQLite 1 node ${rate(sqliteRun.acceptedPerSecond, 'verifies/s')}; bare fastify ${rate(bareRun.acceptedPerSecond, 'req/s')}`,
        ratio: `${((run.acceptedPerSecond / sqliteRun.acceptedPerSecond) * 100).toFixed(0)}% of SQLite`,
        goal: '—',
        met: undefined,
      });
    }
    rows.push({
      figure: 'SQLite, 1 node: CPU per accepted verification (the server process, from /proc)',
      ours: `${sqliteCpu.toFixed(0)} µs`,
      reference: `${bareCpu.toFixed(0)} µs per request, bare fastify`,
      ratio: times(sqliteCpu / bareCpu),
      goal: '≤ 2× the bare route',
      met: sqliteCpu <= 2 * bareCpu,
    });
    for (const [count, run] of clusterRuns) {
      const nodesCpu = micros(run.serverCpuS, run.count);
      const databaseCpu = micros(run.databaseCpuS, run.count);
      const total = nodesCpu + databaseCpu;
      rows.push({
        figure: `PostgreSQL, ${count} node${count === 1 ? '' : 's'}: CPU per accepted verification (nodes + PostgreSQL's processes, from /proc)`,
        ours: `${total.toFixed(0)} µs (nodes ${nodesCpu.toFixed(0)} + PostgreSQL ${databaseCpu.toFixed(0)})`,
        reference: `SQLite ${sqliteCpu.toFixed(0)} µs; bare ${bareCpu.toFixed(0)} µs`,
        ratio: times(total / sqliteCpu),
        goal: '≤ 1.5× SQLite',
        met: total <= 1.5 * sqliteCpu,
      });
    }
    rows.push({
      figure: 'p99 latency under that load: PostgreSQL with 1, 2, 3 nodes',
      ours: [...clusterRuns.values()].map((run) => `${run.p99Ms} ms`).join(', '),
      reference: `SQLite ${sqliteRun.p99Ms} ms; bare ${bareRun.p99Ms} ms`,
      ratio: '—',
      goal: '—',
      met: undefined,
    });
    return rows;
  } finally {
    await Promise.all(running.map((server) => server.stop()));
    await cleanUpTestResources();
  }
}
