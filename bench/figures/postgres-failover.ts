/**
 * A PostgreSQL failover as the store's primary probe sees it: a writer inserting one row per call
 * through a PrimaryPool naming the primary and its synchronous standby; the primary killed (-9),
 * the standby promoted and its synchronous_standby_names cleared at once (README's failover
 * procedure); the window is the time from the writer's last acknowledged write before the kill to
 * its first after, median of three rounds. Skipped (a row saying so) where PostgreSQL is missing.
 */
import { PrimaryPool } from '../../host/store/postgres/primary.ts';
import { connectionUrl, postgres, startSynchronousPair } from '../../test/support/postgres.ts';
import { cleanUpTestResources } from '../../test/support/processes.ts';
import { median, type Row } from '../table.ts';

const ROUNDS = 3;

interface Round {
  /** Last acknowledged write before the kill → first acknowledged write after it, ms. */
  readonly windowMs: number;
  /** `pg_ctl promote -w`, ms. */
  readonly promoteMs: number;
}

async function failoverRound(): Promise<Round> {
  const { primary, standby } = await startSynchronousPair();
  const database = await primary.createDatabase();
  await primary.query('CREATE TABLE t (n serial PRIMARY KEY)', [], database.name);
  await primary.query(`ALTER TABLE t OWNER TO ${database.user}`, [], database.name);
  const pool = new PrimaryPool(connectionUrl(database, [primary, standby]));
  const writes: { start: number; end: number; ok: boolean }[] = [];
  let writing = true;
  const writer = (async () => {
    while (writing) {
      const start = performance.now();
      try {
        await pool.query('INSERT INTO t DEFAULT VALUES');
        writes.push({ start, end: performance.now(), ok: true });
      } catch {
        writes.push({ start, end: performance.now(), ok: false });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  })();
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await primary.kill();
    const killedAt = performance.now();
    const started = performance.now();
    await standby.takeOver();
    const promoteMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    writing = false;
    await writer;
    const lastBefore = Math.max(...writes.filter((w) => w.ok && w.end <= killedAt).map((w) => w.end));
    const firstAfter = Math.min(...writes.filter((w) => w.ok && w.start > killedAt).map((w) => w.end));
    return { windowMs: firstAfter - lastBefore, promoteMs };
  } finally {
    writing = false;
    await writer;
    await pool.end();
    await Promise.all([primary.kill(), standby.kill()]);
  }
}

export async function postgresFailoverRows(): Promise<Row[]> {
  const figure = 'PostgreSQL failover (kill -9 primary, promote the synchronous standby, clear synchronous_standby_names): writes unavailable';
  if (!postgres.available) return [{ figure, ours: `skipped: ${postgres.missing}`, reference: '—', ratio: '—', goal: '—', met: undefined }];
  const rounds: Round[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) rounds.push(await failoverRound());
  } finally {
    await cleanUpTestResources();
  }
  const windowMs = median(rounds.map((r) => r.windowMs));
  const promoteMs = median(rounds.map((r) => r.promoteMs));
  return [{ figure, ours: `${windowMs.toFixed(0)} ms (median of ${ROUNDS})`, reference: `pg_ctl promote -w alone: ${promoteMs.toFixed(0)} ms`, ratio: '—', goal: '—', met: undefined }];
}
