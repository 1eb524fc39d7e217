/**
 * Reads of rows by key, gathered as the group commit gathers writes: the gets asked in one turn of
 * the event loop, and those asked while the previous statement is under way, are one statement
 * (`key = ANY($1)`, prepared once per connection), not one each; one statement in flight at a
 * time. A get is answered only by a statement sent after it was asked, never by one already under
 * way (a row may have changed since that one read it), so a gathered read is as fresh as a read of
 * its own.
 */
import type pg from 'pg';
import type { PostgresDatabase } from './postgres-database.ts';

/** Keys of one statement at most. */
const MAX_KEYS = 256;

interface Waiter<Row> {
  resolve(row: Row | undefined): void;
  reject(error: unknown): void;
}

export class KeyedReads<Row extends pg.QueryResultRow> {
  private waiting = new Map<string, Waiter<Row>[]>();
  private scheduled = false;
  private reading = false;

  /**
   * `sql` reads the rows whose key is in the text array $1; `name` names it as a prepared
   * statement (one name, one text). Name the columns rather than `*`: a prepared statement fails
   * once another node's migration changes what `*` means.
   */
  constructor(
    private readonly database: PostgresDatabase,
    private readonly name: string,
    private readonly sql: string,
    private readonly keyOf: (row: Row) => string,
  ) {}

  get(key: string): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.flush());
    });
  }

  /** Reads what is waiting, then what came meanwhile, until nothing waits. */
  private async flush(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (this.waiting.size > 0) {
        const waiting = this.waiting;
        this.waiting = new Map();
        const keys = [...waiting.keys()];
        const reads: Promise<void>[] = [];
        for (let from = 0; from < keys.length; from += MAX_KEYS) reads.push(this.read(keys.slice(from, from + MAX_KEYS), waiting));
        await Promise.all(reads);
      }
    } finally {
      this.reading = false;
      this.scheduled = false;
    }
  }

  /** One statement for `keys`; settles each of their gets (never rejects). */
  private async read(keys: string[], waiting: Map<string, Waiter<Row>[]>): Promise<void> {
    let rows: Row[];
    try {
      rows = await this.database.readPrepared<Row>(this.name, this.sql, [keys]);
    } catch (error) {
      for (const key of keys) for (const waiter of waiting.get(key)!) waiter.reject(error);
      return;
    }
    const found = new Map(rows.map((row) => [this.keyOf(row), row]));
    for (const key of keys) for (const waiter of waiting.get(key)!) waiter.resolve(found.get(key));
  }
}
