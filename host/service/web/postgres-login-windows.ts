/**
 * The login throttle's counts on PostgreSQL, shared by every node of a cluster: a hit is one
 * INSERT … ON CONFLICT DO UPDATE … RETURNING, so hits on the same key from any number of nodes
 * at once each count once (the row's lock orders them), and none is read, then written. Ended
 * windows are swept by each node about once a window. The counts are no secret and need no
 * audit; they are group-committed with the node's other writes.
 */
import type { PostgresDatabase, PostgresMigration } from '../../store/postgres/postgres-database.ts';
import type { LoginWindow, LoginWindows } from './login-windows.ts';

/** Only on PostgreSQL: the embedded store counts in memory, so `store copy` has no such table to copy. */
export const POSTGRES_LOGIN_WINDOW_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS login_windows (
        key TEXT PRIMARY KEY,
        window_start BIGINT NOT NULL,
        count INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS login_windows_start ON login_windows (window_start);`,
  },
];

/** $1 key, $2 now, $3 the window's length: a new window once the row's has ended, else one more hit in it. */
const HIT = `
  INSERT INTO login_windows AS w (key, window_start, count) VALUES ($1, $2, 1)
  ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN $2 - w.window_start >= $3 THEN $2 ELSE w.window_start END,
    count = CASE WHEN $2 - w.window_start >= $3 THEN 1 ELSE w.count + 1 END
  RETURNING window_start, count`;

export class PostgresLoginWindows implements LoginWindows {
  private lastSweep = Number.NEGATIVE_INFINITY;

  private constructor(private readonly database: PostgresDatabase) {}

  static async open(database: PostgresDatabase): Promise<PostgresLoginWindows> {
    await database.migrate('login_windows', POSTGRES_LOGIN_WINDOW_MIGRATIONS);
    return new PostgresLoginWindows(database);
  }

  async hit(key: string, now: number, windowMs: number): Promise<LoginWindow> {
    if (now - this.lastSweep >= windowMs) {
      this.lastSweep = now;
      // Not awaited: a hit does not wait for the sweep, and a failed sweep is tried again next window.
      void this.sweep(now, windowMs).catch(() => {
        this.lastSweep = Number.NEGATIVE_INFINITY;
      });
    }
    const row = await this.database.write(async (client) => (await client.query<{ window_start: string; count: number }>(HIT, [key, now, windowMs])).rows[0]!);
    return { start: Number(row.window_start), count: row.count };
  }

  /** Deletes the windows that ended before `now`; answers how many. */
  async sweep(now: number, windowMs: number): Promise<number> {
    return this.database.write(async (client) => (await client.query('DELETE FROM login_windows WHERE window_start <= $1', [now - windowMs])).rowCount ?? 0);
  }
}
