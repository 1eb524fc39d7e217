/**
 * Three server nodes (separate `noegleviser server` processes) on real PostgreSQL clusters, under a
 * steady load of fresh codes of many tokens spread over the nodes, while something fails: a node is
 * killed, the PostgreSQL server is restarted, the primary is killed and its synchronous standby
 * promoted. Whatever fails, no code answered "accepted" is ever accepted again, and a node answers
 * either the verification's outcome or a coded 503 (`NV_STORE_UNAVAILABLE`), never hangs.
 *
 * The load (VerificationLoad): each worker owns some tokens and sends each one's codes in order to
 * the nodes in turn. An answer that is not an outcome (a 503, a broken connection) leaves it unknown
 * whether the code was committed: the worker sends the same code again (to the next node), and a
 * "replayed" then means the first attempt was committed. A code is never answered "accepted" twice.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { referenceHotp } from '../support/oath-reference.ts';
import { connectionUrl, pollUntil, postgres, PostgresNode, reportMissingPostgres, startSynchronousPair, type PostgresDatabase } from '../support/postgres.ts';
import { startServerProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type ServerProcess } from '../support/processes.ts';

reportMissingPostgres();

const NODES = 3;
/** Tokens under load, and workers sending their codes (each worker one request in flight). */
const TOKENS = 30;
const WORKERS = 15;
/** Accepted codes each node must answer after an event before the load stops. */
const ACCEPTED_AFTER = 15;
/** A request unanswered this long is a hung node (a statement waits at most 30 s in the pool). */
const HUNG_MS = 45_000;
/** A worker's pause after an answer that is not an outcome, so a node without a store is not spun on. */
const RETRY_PAUSE_MS = 20;
const hotp = (seed: Uint8Array, counter: number) => referenceHotp(seed, counter, 6, 'sha1');

interface Node {
  readonly server: ServerProcess;
  readonly url: string;
}

/** One request of the load and its answer. */
interface Sent {
  readonly kind: 'verify' | 'enroll';
  readonly serial: string;
  readonly counter: number;
  readonly node: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** HTTP status, or 0 when there was no answer (the connection failed). */
  readonly status: number;
  readonly result?: string;
  readonly reason?: string;
  readonly errorCode?: string;
  readonly failure?: string;
}

interface LoadToken {
  readonly serial: string;
  readonly seed: Uint8Array;
  counter: number;
}

async function post(url: string, route: string, key: string, body: unknown): Promise<{ status: number; body: { result?: string; reason?: string; error?: { code?: string } } }> {
  const response = await fetch(url + route, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(HUNG_MS),
  });
  const text = await response.text();
  let parsed: { result?: string; reason?: string; error?: { code?: string } } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: kept as an empty body, the status tells
  }
  return { status: response.status, body: parsed };
}

/** An answer that is no outcome: the code may or may not have been committed. */
function unknownOutcome(sent: Sent): boolean {
  return sent.status === 0 || sent.status === 503;
}

class VerificationLoad {
  readonly sent: Sent[] = [];
  /** The codes answered "accepted" (or found committed by a retry), by serial and counter. */
  readonly accepted: { serial: string; counter: number; code: string }[] = [];
  /** Enrolments answered 201, with their seeds. */
  readonly enrolled: { serial: string; seed: Uint8Array }[] = [];
  private readonly alive: boolean[];
  private nextNode = 0;
  private running = true;
  private readonly workers: Promise<void>[];

  constructor(
    private readonly nodes: readonly Node[],
    tokens: readonly LoadToken[],
    options: { enrolWorkers?: number; enrolPrefix?: string } = {},
  ) {
    this.alive = nodes.map(() => true);
    this.workers = Array.from({ length: WORKERS }, (_, w) => this.verifyWorker(tokens.filter((_, i) => i % WORKERS === w)));
    for (let w = 0; w < (options.enrolWorkers ?? 0); w++) this.workers.push(this.enrolWorker(`${options.enrolPrefix ?? 'E'}-${w}`));
  }

  /** No more requests to node `index` (it was killed). */
  markDead(index: number): void {
    this.alive[index] = false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Resolves once every node in `nodes` has answered `count` verifications "accepted" that started after `since`. */
  async acceptedOnEachNode(nodes: readonly number[], since: number, count = ACCEPTED_AFTER, what = 'the nodes to accept codes'): Promise<void> {
    await pollUntil(async () => {
      if (!this.running) throw new Error('the load stopped');
      return nodes.every((node) => this.sent.filter((s) => s.node === node && s.startedAt > since && s.result === 'accepted').length >= count);
    }, what, 90_000);
  }

  /** Resolves once every node in `nodes` has answered 503 to a request that started after `since`. */
  async unavailableOnEachNode(nodes: readonly number[], since: number): Promise<void> {
    await pollUntil(async () => nodes.every((node) => this.sent.some((s) => s.node === node && s.startedAt > since && s.status === 503)), 'every node to answer 503', 90_000);
  }

  private pickNode(): number {
    for (let tries = 0; tries < this.nodes.length; tries++) {
      const node = this.nextNode++ % this.nodes.length;
      if (this.alive[node]) return node;
    }
    throw new Error('no node alive');
  }

  private async send(kind: Sent['kind'], serial: string, counter: number, route: string, key: string, body: unknown): Promise<Sent> {
    const node = this.pickNode();
    const startedAt = performance.now();
    let sent: Sent;
    try {
      const answer = await post(this.nodes[node]!.url, route, key, body);
      sent = { kind, serial, counter, node, startedAt, endedAt: performance.now(), status: answer.status, result: answer.body.result, reason: answer.body.reason, errorCode: answer.body.error?.code };
    } catch (error) {
      sent = { kind, serial, counter, node, startedAt, endedAt: performance.now(), status: 0, failure: String((error as Error).cause ?? error) };
    }
    this.sent.push(sent);
    return sent;
  }

  private async verifyWorker(tokens: LoadToken[]): Promise<void> {
    for (let turn = 0; this.running && tokens.length > 0; turn++) {
      const token = tokens[turn % tokens.length]!;
      const code = hotp(token.seed, token.counter);
      let uncertain = false;
      // The same code until its outcome is known (or the load stops).
      while (this.running) {
        const sent = await this.send('verify', token.serial, token.counter, '/v1/verify', TEST_CLIENT_KEY, { serial: token.serial, code });
        if (unknownOutcome(sent)) {
          uncertain = true;
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
          continue;
        }
        const committedBefore = uncertain && sent.result === 'rejected' && sent.reason === 'replayed';
        if (sent.result === 'accepted' || committedBefore) this.accepted.push({ serial: token.serial, counter: token.counter, code });
        token.counter++;
        break;
      }
    }
  }

  private async enrolWorker(prefix: string): Promise<void> {
    for (let n = 0; this.running; n++) {
      const serial = `${prefix}-${n}`;
      const seed = new Uint8Array(randomBytes(20));
      const sent = await this.send('enroll', serial, 0, '/v1/tokens', TEST_ADMIN_KEY, { serial, kind: 'hotp', seed: Buffer.from(seed).toString('hex') });
      if (sent.status === 201) this.enrolled.push({ serial, seed });
      else if (unknownOutcome(sent)) await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }
}

/** A fresh database on `primary` and `NODES` server processes on `hosts` (the URL names them in order); stopped when the test ends. */
async function startCluster(primary: PostgresNode, hosts: readonly PostgresNode[]): Promise<{ nodes: Node[]; database: PostgresDatabase; restart(index: number): Promise<void> }> {
  const database = await primary.createDatabase();
  const url = connectionUrl(database, hosts);
  const masterKey = randomBytes(32).toString('hex');
  const dir = tempDir('nv-failure');
  // Replays count toward the lockout: the replays of the end must not lock the tokens.
  const start = (i: number) =>
    startServerProcess({ dbFile: path.join(dir, `node-${i}`, 'tokens.db'), postgresUrl: url, args: ['--quiet', '--rate-limit', '0', '--max-fail', '1000'], env: { NOEGLEVISER_MASTER_KEY: masterKey }, readyTimeoutMs: 90_000 });
  const servers = await Promise.all(Array.from({ length: NODES }, (_, i) => start(i)));
  const nodes = servers.map((server) => ({ server, url: server.url }));
  onTestFinished(async () => {
    await Promise.all(nodes.map((node) => node.server.stop('SIGKILL')));
  });
  return {
    nodes,
    database,
    restart: async (index) => {
      const server = await start(index);
      nodes[index] = { server, url: server.url };
    },
  };
}

async function enrolTokens(node: Node, prefix: string): Promise<LoadToken[]> {
  return Promise.all(
    Array.from({ length: TOKENS }, async (_, i) => {
      const serial = `${prefix}-${i}`;
      const seed = new Uint8Array(randomBytes(20));
      const answer = await post(node.url, '/v1/tokens', TEST_ADMIN_KEY, { serial, kind: 'hotp', seed: Buffer.from(seed).toString('hex') });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      return { serial, seed, counter: 0 };
    }),
  );
}

/** Every code in `codes` sent to every node, a few at a time: answers those not refused ("rejected"). */
async function replayToEveryNode(nodes: readonly Node[], codes: readonly { serial: string; code: string }[]): Promise<string[]> {
  const notRefused: string[] = [];
  const queue = codes.flatMap((code) => nodes.map((node) => ({ node, ...code })));
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const answer = await post(next.node.url, '/v1/verify', TEST_CLIENT_KEY, { serial: next.serial, code: next.code });
        if (answer.status !== 200 || answer.body.result !== 'rejected') notRefused.push(`${next.serial} ${next.code} on ${next.node.url}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }),
  );
  return notRefused;
}

/** No (serial, counter) answered "accepted" twice. */
function doubleAcceptances(load: VerificationLoad): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const sent of load.sent) {
    if (sent.kind !== 'verify' || sent.result !== 'accepted') continue;
    const key = `${sent.serial}#${sent.counter}`;
    if (seen.has(key)) twice.push(key);
    seen.add(key);
  }
  return twice;
}

/** `sent` answered "replayed", and an earlier request with the same code had no outcome (it may have been committed). */
function retriedAfterNoAnswer(load: VerificationLoad, sent: Sent): boolean {
  return sent.reason === 'replayed' && load.sent.some((s) => s.serial === sent.serial && s.counter === sent.counter && unknownOutcome(s) && s.endedAt <= sent.startedAt);
}

function describeSent(sent: Sent): string {
  return `${sent.kind} ${sent.serial}#${sent.counter} on node ${sent.node}: ${sent.status} ${sent.errorCode ?? sent.result ?? ''} ${sent.reason ?? ''} ${sent.failure ?? ''}`.trim();
}

describe.skipIf(!postgres.available)('server nodes on PostgreSQL when something fails under load', () => {
  it(`kill -9 one of ${NODES} nodes under verification load: the others answer every request, and after its restart no code accepted before the kill is accepted again on any node`, async () => {
    const primary = await PostgresNode.startPrimary();
    onTestFinished(() => primary.kill());
    const cluster = await startCluster(primary, [primary]);
    const tokens = await enrolTokens(cluster.nodes[0]!, 'K');
    const load = new VerificationLoad(cluster.nodes, tokens);
    onTestFinished(() => load.stop());
    await load.acceptedOnEachNode([0, 1, 2], 0, 5, 'the load to reach every node');

    const killedAt = performance.now();
    await cluster.nodes[2]!.server.stop('SIGKILL');
    load.markDead(2);
    await load.acceptedOnEachNode([0, 1], killedAt);
    await load.stop();

    // A code whose request the killed node never answered may have been committed there: its retry
    // on a survivor is then answered "replayed".
    const survivorsFailed = load.sent.filter((s) => s.node !== 2 && !(s.status === 200 && (s.result === 'accepted' || retriedAfterNoAnswer(load, s))));
    expect(survivorsFailed.map(describeSent), 'every request to a surviving node is answered with its outcome').toEqual([]);
    expect(load.sent.some((s) => s.node === 2 && s.startedAt < killedAt && s.result === 'accepted')).toBe(true);

    await cluster.restart(2);
    const acceptedBeforeKill = load.accepted.filter((a) => load.sent.some((s) => s.serial === a.serial && s.counter === a.counter && s.result === 'accepted' && s.endedAt < killedAt));
    expect(acceptedBeforeKill.length).toBeGreaterThan(0);
    expect(await replayToEveryNode(cluster.nodes, load.accepted), 'replays answered other than rejected').toEqual([]);
    expect(doubleAcceptances(load)).toEqual([]);
  }, 240_000);

  it(`the PostgreSQL server stopped (fast) and started again under load: coded 503s while it is down, accepted codes after without a node restart, and no code accepted twice`, async () => {
    const primary = await PostgresNode.startPrimary();
    onTestFinished(() => primary.kill());
    const cluster = await startCluster(primary, [primary]);
    const pids = cluster.nodes.map((node) => node.server.child.pid);
    const tokens = await enrolTokens(cluster.nodes[0]!, 'R');
    const load = new VerificationLoad(cluster.nodes, tokens);
    onTestFinished(() => load.stop());
    await load.acceptedOnEachNode([0, 1, 2], 0, 5, 'the load to reach every node');

    const stoppedAt = performance.now();
    await primary.stop();
    await load.unavailableOnEachNode([0, 1, 2], stoppedAt);
    const startedAt = performance.now();
    await primary.start();
    await load.acceptedOnEachNode([0, 1, 2], performance.now());
    await load.stop();

    const down = load.sent.filter((s) => s.status === 503);
    expect(down.length).toBeGreaterThan(0);
    expect(down.filter((s) => s.errorCode !== 'NV_STORE_UNAVAILABLE').map(describeSent), 'every 503 is coded NV_STORE_UNAVAILABLE').toEqual([]);
    const other = load.sent.filter((s) => s.status !== 503 && !(s.status === 200 && (s.result === 'accepted' || s.reason === 'replayed')));
    expect(other.map(describeSent), 'answers other than an outcome or a coded 503').toEqual([]);
    expect(load.sent.filter((s) => s.reason === 'replayed' && !retriedAfterNoAnswer(load, s)).map(describeSent), 'a code answered "replayed" not sent before').toEqual([]);
    expect(cluster.nodes.map((node) => node.server.child.pid), 'the same node processes').toEqual(pids);
    expect(cluster.nodes.every((node) => node.server.child.exitCode === null)).toBe(true);

    expect(await replayToEveryNode(cluster.nodes, load.accepted), 'replays answered other than rejected').toEqual([]);
    expect(doubleAcceptances(load)).toEqual([]);
    const last503 = Math.max(...down.map((s) => s.endedAt));
    console.log(`PostgreSQL restart: stopped for ${Math.round(startedAt - stoppedAt)} ms; the nodes answered 503 ${down.length} times, the last ${Math.round(last503 - stoppedAt)} ms after the stop`);
  }, 240_000);

  it('failover under verifications and enrolments: kill -9 the primary, promote the synchronous standby and clear its synchronous_standby_names; every code accepted before is refused, every enrolment answered 201 is there, and the 503 window is reported', async () => {
    const { primary, standby } = await startSynchronousPair({ primaryName: 'fo-primary', standbyName: 'fo-standby' });
    onTestFinished(() => primary.kill());
    onTestFinished(() => standby.kill());
    const cluster = await startCluster(primary, [primary, standby]);
    const tokens = await enrolTokens(cluster.nodes[0]!, 'F');
    const load = new VerificationLoad(cluster.nodes, tokens, { enrolWorkers: 3, enrolPrefix: 'FE' });
    onTestFinished(() => load.stop());
    await load.acceptedOnEachNode([0, 1, 2], 0, 5, 'the load to reach every node');
    await pollUntil(async () => load.enrolled.length >= 5, 'enrolments to succeed', 60_000);

    const killedAt = performance.now();
    await primary.kill();
    // The README's failover step: promote the standby, then clear synchronous_standby_names on it
    // (it names the standby it was, which no longer exists: every commit would wait for ever).
    const promoteMs = await standby.promote();
    await standby.setSynchronousStandbys('');
    const promotedAt = performance.now();
    await load.acceptedOnEachNode([0, 1, 2], promotedAt, ACCEPTED_AFTER, 'the nodes to accept codes on the promoted standby');
    const enrolledBeforeStop = load.enrolled.length;
    await pollUntil(async () => load.enrolled.length > enrolledBeforeStop, 'an enrolment on the promoted standby', 60_000);
    await load.stop();

    const down = load.sent.filter((s) => s.status === 503);
    expect(down.length).toBeGreaterThan(0);
    expect(down.filter((s) => s.errorCode !== 'NV_STORE_UNAVAILABLE').map(describeSent), 'every 503 is coded NV_STORE_UNAVAILABLE').toEqual([]);
    const other = load.sent.filter((s) => s.status !== 503 && !(s.kind === 'enroll' ? s.status === 201 : s.status === 200 && (s.result === 'accepted' || retriedAfterNoAnswer(load, s))));
    expect(other.map(describeSent), 'answers other than an outcome or a coded 503').toEqual([]);
    expect(doubleAcceptances(load)).toEqual([]);

    const acceptedBeforeKill = load.accepted.filter((a) => load.sent.some((s) => s.serial === a.serial && s.counter === a.counter && s.result === 'accepted' && s.endedAt < killedAt));
    expect(acceptedBeforeKill.length).toBeGreaterThan(0);
    expect(await replayToEveryNode(cluster.nodes, load.accepted), 'replays answered other than rejected').toEqual([]);

    const enrolledBeforeKill = load.sent.filter((s) => s.kind === 'enroll' && s.status === 201 && s.endedAt < killedAt).length;
    expect(enrolledBeforeKill).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const [i, { serial, seed }] of load.enrolled.entries()) {
      const answer = await post(cluster.nodes[i % NODES]!.url, '/v1/verify', TEST_CLIENT_KEY, { serial, code: hotp(seed, 0) });
      if (answer.body.result !== 'accepted') missing.push(`${serial}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    expect(missing, 'enrolments answered 201 whose first code does not verify').toEqual([]);

    const first503 = Math.min(...down.map((s) => s.startedAt));
    const last503 = Math.max(...down.map((s) => s.endedAt));
    const firstBack = cluster.nodes.map((_, node) => Math.min(...load.sent.filter((s) => s.node === node && s.startedAt > killedAt && s.status !== 503 && s.status !== 0).map((s) => s.endedAt)));
    console.log(
      `failover: the nodes answered 503 ${down.length} times over ${Math.round(last503 - first503)} ms (the last ${Math.round(last503 - killedAt)} ms after kill -9 of the primary; ` +
        `pg_ctl promote took ${Math.round(promoteMs)} ms, promoted with synchronous_standby_names cleared ${Math.round(promotedAt - killedAt)} ms after the kill); ` +
        `each node answered again ${firstBack.map((at) => `${Math.round(at - killedAt)} ms`).join(', ')} after the kill; ` +
        `${load.enrolled.length} enrolments (${enrolledBeforeKill} before the kill), ${load.accepted.length} codes accepted (${acceptedBeforeKill.length} before the kill)`,
    );
  }, 300_000);
});
