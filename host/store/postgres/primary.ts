/**
 * The primary of several PostgreSQL hosts, and a pool of connections to it.
 *
 * node-postgres connects to one host; an operator names several (a primary and its standbys) and
 * expects libpq's behaviour: try them in order, keep the one that takes writes. The probe connects
 * to each host in turn and keeps the first where `pg_is_in_recovery()` is false (and the session is
 * not read-only); a pool of connections to that host serves the calls. Every new connection of the
 * pool checks again, and the pool is dropped, to be probed for anew by the next call, when a call
 * loses its connection or meets a read-only server (after a failover the old primary may come back
 * as a standby at the same address).
 *
 * While no host takes writes, calls fail at once with NV_STORE_UNAVAILABLE (503), and the next
 * call probes again: nothing needs a restart when a standby is promoted. A call whose connection
 * broke mid-way fails the same way; its transaction may or may not have committed. No call waits
 * for ever: a new connection has connect_timeout to be answered, a statement queryTimeoutMs, and a
 * call queued for a connection of a pool that is dropped stops waiting.
 */
import pg from 'pg';
import { StoreUnavailableError } from '../store-errors.ts';
import { parsePostgresUrl, type PostgresConnectionSettings, type PostgresEndpoint } from './connection-url.ts';

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/** No primary to be had, or the connection to it lost: the request may be tried again shortly (see StoreUnavailableError). */
export function storeUnavailable(message: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(message, cause);
}

const NO_PRIMARY = 'the store is unavailable: no PostgreSQL server takes writes just now; try again shortly';
const CONNECTION_LOST = 'the store is unavailable: the connection to PostgreSQL failed; try again shortly';
const NO_ANSWER = 'the store is unavailable: PostgreSQL did not answer in time; try again shortly';
const CLOSED = 'the store is closed';

/**
 * The warning a commit gets when its wait for the synchronous standby is cancelled (by an
 * administrator's pg_cancel_backend, say): "canceling wait for synchronous replication … The
 * transaction has already committed locally, but might not have been replicated to the standby",
 * and the commit then reports success. Told by its code, the generic warning's, since the server
 * translates the text (lc_messages); the store's statements raise no other warning.
 */
const SYNC_REP_CANCELLED = '01000';

/** What the probe found at one host. */
export interface ProbeAttempt {
  readonly host: PostgresEndpoint;
  readonly outcome: 'primary' | 'standby' | 'read-only' | 'unreachable';
  /** For an unreachable host: why (the driver's message or SQLSTATE, never a password). */
  readonly reason?: string;
}

export interface PrimaryPoolOptions {
  /** Connections to the primary at most (default 10). */
  readonly max?: number;
  /** How long an unused connection is kept (default 10 s). */
  readonly idleTimeoutMs?: number;
  /**
   * How long a statement may take before its call fails with NV_STORE_UNAVAILABLE and its connection
   * is closed (default 30 s). A commit waits for the synchronous standby, and PostgreSQL's own
   * statement_timeout does not cover that wait: without this, a call would wait for ever while the
   * primary names a standby it does not have.
   */
  readonly queryTimeoutMs?: number;
  /** Called when the primary changes: the host now used, or undefined when there is none (after a failed probe or a lost one). */
  readonly onPrimaryChange?: (primary: PostgresEndpoint | undefined, attempts: readonly ProbeAttempt[]) => void;
}

interface Target {
  readonly host: PostgresEndpoint;
  readonly pool: pg.Pool;
  /** How to stop each call waiting for one of its connections, for when the target is dropped. */
  readonly waiting: Set<(error: TargetDropped) => void>;
}

/** A connection that reached a server which does not take writes (a standby, or a read-only primary). */
class NotPrimary extends Error {}

/** A call waited for a connection of a pool that was dropped meanwhile: nothing ran. */
class TargetDropped extends Error {}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT']);
/** admin_shutdown, crash_shutdown, cannot_connect_now (starting, stopping, in recovery), too_many_connections. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const READ_ONLY_SQLSTATE = '25006';
/** node-postgres's own errors for a connection that ended, timed out or cannot be used. */
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|Client was closed|not queryable|Cannot use a pool after calling end/i;

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A failure of the connection or of the server as a whole, as opposed to one of the statement. */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof NotPrimary || error instanceof TargetDropped) return true;
  const code = sqlState(error);
  if (code !== undefined && (CONNECTION_ERRNOS.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}

/** node-postgres's client-side `query_timeout` ran out. */
function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

/** A write refused because the server is a standby or read-only: a primary must be found again. */
export function isReadOnlyRefusal(error: unknown): boolean {
  return sqlState(error) === READ_ONLY_SQLSTATE;
}

function describeFailure(error: unknown): string {
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

export function endpointName(host: PostgresEndpoint): string {
  return host.host.includes(':') ? `[${host.host}]:${host.port}` : `${host.host}:${host.port}`;
}

/** Stops every call waiting for a connection of `target`'s pool (see connectTo). */
function abandonWaiting(target: Target): void {
  const error = new TargetDropped(`the pool of ${endpointName(target.host)} was dropped while the call waited for a connection`);
  for (const abandon of target.waiting) abandon(error);
  target.waiting.clear();
}

const INT8_OID = 20;
/** bigint columns (times in ms, ids) as numbers: every value the stores keep is below 2^53. */
const NUMERIC_INT8: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The stores' named (prepared) statements, the hot path's, are planned once per connection rather
 * than at each execution: a plan costs PostgreSQL about as much CPU as running a batch of a few
 * verifications, and the statements look rows up by key, which one plan serves for any keys.
 * The setting holds for every statement with parameters on these connections, the unnamed ones
 * node-postgres sends included (the audit's listing, the sweeps, `store copy`'s inserts): those are
 * rare, and their generic plans (by key or range) are what a custom plan would choose here too.
 */
const SESSION_OPTIONS = '-c plan_cache_mode=force_generic_plan';

const WRITABLE_QUERY = "SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') = 'on' AS read_only";

export class PrimaryPool {
  readonly settings: PostgresConnectionSettings;
  private readonly max: number;
  private readonly idleTimeoutMs: number | undefined;
  private readonly queryTimeoutMs: number;
  private readonly onPrimaryChange: PrimaryPoolOptions['onPrimaryChange'];
  private target: Target | undefined;
  private probing: Promise<Target> | undefined;
  private closed = false;
  private lastAttempts: readonly ProbeAttempt[] = [];

  /** `url`: a postgres:// URL, several hosts allowed (see connection-url.ts); a bad one is NV_BAD_DB. */
  constructor(url: string | PostgresConnectionSettings, options: PrimaryPoolOptions = {}) {
    this.settings = typeof url === 'string' ? parsePostgresUrl(url) : url;
    this.max = options.max ?? DEFAULT_POOL_SIZE;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.onPrimaryChange = options.onPrimaryChange;
  }

  /** The host in use, if a primary has been found and not lost since. */
  get primary(): PostgresEndpoint | undefined {
    return this.target?.host;
  }

  /** What the last probe found at each host it tried. */
  get attempts(): readonly ProbeAttempt[] {
    return this.lastAttempts;
  }

  /**
   * Runs `fn` with a connection to the primary, found first if need be. A call that cannot get a
   * connection (no primary; the one known lost before `fn` ran, after one more probe) fails with
   * NV_STORE_UNAVAILABLE. When `fn` fails because the connection broke or the server refused a
   * write as read-only, the primary is dropped and the call fails with NV_STORE_UNAVAILABLE; any
   * other failure of `fn` is rethrown as it is. `fn` leaves the connection as it found it (no open
   * transaction): use `transaction` for one.
   */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.use(fn);
  }

  /** One statement on the primary. */
  async query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.use((client) => client.query<Row>(text, values));
  }

  /**
   * `fn` in a transaction on the primary (BEGIN, COMMIT; ROLLBACK when `fn` throws). Failures as
   * for `withClient`; when the connection breaks during COMMIT the transaction may have committed.
   */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.use(async (client, spoil) => {
      await client.query(begin);
      let result: T;
      try {
        result = await fn(client);
      } catch (error) {
        // A connection that cannot roll back goes, rather than back to the pool mid-transaction.
        await client.query('ROLLBACK').catch(() => spoil());
        throw error;
      }
      await client.query('COMMIT');
      return result;
    });
  }

  /** Closes the pool; later calls fail with NV_STORE_UNAVAILABLE. */
  async end(): Promise<void> {
    this.closed = true;
    const target = this.target;
    this.target = undefined;
    await this.probing?.catch(() => undefined);
    if (target) {
      abandonWaiting(target);
      await target.pool.end();
    }
  }

  private async use<T>(fn: (client: pg.PoolClient, spoil: () => void) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const target = await this.primaryTarget();
      let client: pg.PoolClient;
      try {
        client = await this.connectTo(target);
      } catch (error) {
        // Nothing ran: after a failover the known primary is gone, and one more probe may find the new one.
        if (isConnectionFailure(error)) this.drop(target);
        if (attempt < 2 && this.target !== target && !this.closed) continue;
        throw storeUnavailable(CONNECTION_LOST, new Error(`no connection to the PostgreSQL primary ${endpointName(target.host)}: ${describeFailure(error)}`, { cause: error }));
      }
      let spoilt = false;
      let unreplicated = false;
      const onNotice = (notice: { code?: string }) => {
        if (notice.code === SYNC_REP_CANCELLED) unreplicated = true;
      };
      client.on('notice', onNotice);
      try {
        const result = await fn(client, () => (spoilt = true));
        client.removeListener('notice', onNotice);
        client.release(spoilt);
        if (unreplicated) {
          throw storeUnavailable(CONNECTION_LOST, new Error(`a commit on the PostgreSQL primary ${endpointName(target.host)} stopped waiting for its synchronous standby: committed there, maybe not on the standby`));
        }
        return result;
      } catch (error) {
        client.removeListener('notice', onNotice);
        if (error instanceof StoreUnavailableError) throw error;
        if (isConnectionFailure(error) || isReadOnlyRefusal(error)) {
          client.release(true);
          this.drop(target);
          throw storeUnavailable(CONNECTION_LOST, new Error(`the connection to the PostgreSQL primary ${endpointName(target.host)} failed: ${describeFailure(error)}`, { cause: error }));
        }
        if (isQueryTimeout(error)) {
          // The statement still runs on the server (a commit waiting for a synchronous standby that
          // is gone, say): the connection cannot serve another call. The primary stays the primary.
          client.release(true);
          throw storeUnavailable(NO_ANSWER, new Error(`the PostgreSQL primary ${endpointName(target.host)} did not answer within ${this.queryTimeoutMs} ms`, { cause: error }));
        }
        client.release(spoilt);
        throw error;
      }
    }
  }

  /**
   * A connection of `target`'s pool. A call still waiting for one when the target is dropped fails
   * with TargetDropped (and may try the primary found again): node-postgres's pool.end() forgets
   * the calls waiting in its queue, and they would wait for ever.
   */
  private async connectTo(target: Target): Promise<pg.PoolClient> {
    const connecting = target.pool.connect();
    let abandon: (error: TargetDropped) => void = () => {};
    const abandoned = new Promise<never>((_, reject) => (abandon = reject));
    target.waiting.add(abandon);
    try {
      return await Promise.race([connecting, abandoned]);
    } catch (error) {
      // A connection the pool hands over after all is closed, not kept from the pool's end.
      if (error instanceof TargetDropped) void connecting.then((client) => client.release(true)).catch(() => undefined);
      throw error;
    } finally {
      target.waiting.delete(abandon);
    }
  }

  /** The known primary, or one probe (shared by every call waiting for it). */
  private primaryTarget(): Promise<Target> {
    if (this.closed) return Promise.reject(storeUnavailable(CLOSED));
    if (this.target) return Promise.resolve(this.target);
    this.probing ??= this.probe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probe(): Promise<Target> {
    const attempts: ProbeAttempt[] = [];
    let found: PostgresEndpoint | undefined;
    for (const host of this.settings.hosts) {
      const outcome = await this.probeHost(host);
      attempts.push(outcome);
      if (outcome.outcome === 'primary') {
        found = host;
        break;
      }
    }
    this.lastAttempts = attempts;
    if (!found || this.closed) {
      this.onPrimaryChange?.(undefined, attempts);
      const tried = attempts.map((a) => `${endpointName(a.host)} ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`).join(', ');
      throw this.closed ? storeUnavailable(CLOSED) : storeUnavailable(NO_PRIMARY, new Error(`no PostgreSQL primary among ${this.settings.hosts.length} host(s): ${tried}`));
    }
    const target = { host: found, pool: this.newPool(found), waiting: new Set<(error: TargetDropped) => void>() };
    this.target = target;
    this.onPrimaryChange?.(found, attempts);
    return target;
  }

  private async probeHost(host: PostgresEndpoint): Promise<ProbeAttempt> {
    const client = new pg.Client({ ...this.clientConfig(host), query_timeout: this.settings.connectTimeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ in_recovery: boolean; read_only: boolean }>(WRITABLE_QUERY);
      const row = rows[0];
      return { host, outcome: row?.in_recovery ? 'standby' : row?.read_only ? 'read-only' : 'primary' };
    } catch (error) {
      return { host, outcome: 'unreachable', reason: describeFailure(error) };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private clientConfig(host: PostgresEndpoint): pg.ClientConfig {
    const { user, password, database, applicationName, connectTimeoutMs } = this.settings;
    return { host: host.host, port: host.port, user, password, database, application_name: applicationName, connectionTimeoutMillis: connectTimeoutMs, types: NUMERIC_INT8, options: SESSION_OPTIONS };
  }

  private newPool(host: PostgresEndpoint): pg.Pool {
    const { connectTimeoutMs } = this.settings;
    const pool = new pg.Pool({
      ...this.clientConfig(host),
      // The pool applies this to a call waiting for a free connection too, and a busy pool is not a
      // lost primary: no limit here (query_timeout bounds a call)...
      connectionTimeoutMillis: 0,
      // ...but each new connection has connect_timeout to be answered: a server that takes the TCP
      // connection and then says nothing (a frozen host) would otherwise hold the call for ever.
      Client: class extends pg.Client {
        constructor(config?: pg.ClientConfig) {
          // The pool keeps the password as a property a spread does not copy.
          super({ ...config, password: config?.password, connectionTimeoutMillis: connectTimeoutMs });
        }
      },
      max: this.max,
      idleTimeoutMillis: this.idleTimeoutMs,
      query_timeout: this.queryTimeoutMs,
      // Each new connection checks that the host still takes writes: a connection made after a
      // failover to the old primary's address must not find a standby and read stale rows there.
      onConnect: async (client: pg.ClientBase) => {
        // A connection that breaks while a call has it also emits 'error' (the pool listens only
        // while it is idle): the call's query fails with it, and an unheard event would crash the process.
        client.on('error', () => undefined);
        const { rows } = await client.query<{ in_recovery: boolean; read_only: boolean }>(WRITABLE_QUERY);
        if (rows[0]?.in_recovery || rows[0]?.read_only) throw new NotPrimary(`${endpointName(host)} no longer takes writes`);
      },
    });
    // An idle connection that breaks (the server killed or restarted) is an event of the pool, not
    // of a call: the primary is dropped and found again by the next call.
    pool.on('error', () => {
      const target = this.target;
      if (target?.pool === pool) this.drop(target);
    });
    return pool;
  }

  private drop(target: Target): void {
    if (this.target !== target) return;
    this.target = undefined;
    abandonWaiting(target);
    this.onPrimaryChange?.(undefined, this.lastAttempts);
    void target.pool.end().catch(() => undefined);
  }
}
