/**
 * The token store on PostgreSQL (host/store/postgres/postgres-database.ts), shared by every server
 * node of a cluster: the tokens, lost tokens' replacements, the API keys. As the SQLite store, but
 * with no copy of the tokens in memory (another node may have changed one since): a verification
 * reads its token, and its acceptance is the database's compare-and-set, which a second node's
 * acceptance of the same code finds moved. Every write is group-committed with its audit record.
 */
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../../store/audit.ts';
import { KeyedReads } from '../../store/postgres/keyed-reads.ts';
import { pgValue, type PostgresDatabase, type PostgresMigration, type Queryable } from '../../store/postgres/postgres-database.ts';
import {
  DuplicateSerialError,
  TOKEN_STATES,
  type ApiKeyRecord,
  type ClusterLock,
  type NewReplacement,
  type NewToken,
  type ReplacementChanges,
  type ReplacementRecord,
  type TokenChanges,
  type TokenFilter,
  type TokenRecord,
  type TokenState,
  type TokenStore,
} from './types.ts';
import { REPLACEMENTS, TOKENS, toRecord, toReplacement, type ReplacementRow, type TokenRow } from './token-rows.ts';

/** The token side's tables, in the layout the SQLite store reached with its second migration. */
export const POSTGRES_TOKEN_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS tokens (
        serial TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('hotp', 'totp')),
        algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
        digits INTEGER NOT NULL,
        period INTEGER NOT NULL,
        counter BIGINT NOT NULL,
        last_step BIGINT NOT NULL,
        drift_steps INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'disabled', 'locked', 'lost', 'revoked')),
        fail_count INTEGER NOT NULL,
        owner TEXT,
        sealed_seed BYTEA NOT NULL,
        pending_counter BIGINT,
        pending_at BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_used_at BIGINT,
        version INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS tokens_owner ON tokens (owner);
      CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('admin', 'client')),
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS replacements (
        id TEXT PRIMARY KEY,
        replaces TEXT NOT NULL UNIQUE,
        owner TEXT,
        sealed_password BYTEA NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'locked', 'revoked')),
        fail_count INTEGER NOT NULL CHECK (fail_count >= 0),
        valid_until BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_used_at BIGINT,
        version INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS replacements_owner ON replacements (owner);`,
  },
  {
    version: 2,
    // When a token's seed last left in an export file (SQLite's token migration 3).
    sql: `ALTER TABLE tokens ADD COLUMN IF NOT EXISTS exported_at BIGINT;`,
  },
];

const COUNT_FAILURE = `fail_count = fail_count + 1,
  state = CASE WHEN state = 'active' AND fail_count + 1 >= $2 THEN 'locked' ELSE state END,
  version = version + 1, updated_at = $3`;

const TOKEN_COLUMNS =
  'serial, kind, algorithm, digits, period, counter, last_step, drift_steps, state, fail_count, owner, sealed_seed, pending_counter, pending_at, created_at, updated_at, last_used_at, exported_at, version';
const REPLACEMENT_COLUMNS = 'id, replaces, owner, sealed_password, state, fail_count, valid_until, created_at, updated_at, last_used_at, version';

export class PostgresTokenStore implements TokenStore {
  /** A verification's read of its token, gathered with the others of its turn into one statement. */
  private readonly tokenReads: KeyedReads<TokenRow>;
  private readonly replacementReads: KeyedReads<ReplacementRow>;

  private constructor(private readonly database: PostgresDatabase) {
    this.tokenReads = new KeyedReads(database, 'nv_get_tokens', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE serial = ANY($1::text[])`, (row) => row.serial);
    this.replacementReads = new KeyedReads(database, 'nv_get_replacements', `SELECT ${REPLACEMENT_COLUMNS} FROM replacements WHERE id = ANY($1::text[])`, (row) => row.id);
  }

  /** The store on `database`, its tables brought up to date (under the migration lock). */
  static async open(database: PostgresDatabase): Promise<PostgresTokenStore> {
    await database.migrate('tokens', POSTGRES_TOKEN_MIGRATIONS);
    return new PostgresTokenStore(database);
  }

  async insertToken(token: NewToken, audit: NewAuditEntry): Promise<TokenRecord> {
    return this.database.write(async (client) => {
      const record = await this.insertTokenRow(client, token, audit.at);
      await this.database.insertAudit(client, audit);
      return record;
    });
  }

  async importTokens(tokens: readonly NewToken[], audits: readonly NewAuditEntry[], options: { readonly replace: boolean }): Promise<TokenRecord[]> {
    const now = audits[0]?.at ?? Date.now();
    return this.database.write(async (client) => {
      const records: TokenRecord[] = [];
      for (const token of tokens) {
        if (options.replace) await client.query('DELETE FROM tokens WHERE serial = $1', [token.serial]);
        records.push(await this.insertTokenRow(client, token, now));
      }
      for (const audit of audits) await this.database.insertAudit(client, audit);
      return records;
    });
  }

  async markExported(serials: readonly string[], at: number, audits: readonly NewAuditEntry[]): Promise<void> {
    return this.database.write(async (client) => {
      await client.query('UPDATE tokens SET exported_at = $2, version = version + 1, updated_at = $2 WHERE serial = ANY($1::text[])', [serials, at]);
      for (const audit of audits) await this.database.insertAudit(client, audit);
    });
  }

  /** Inserts one token in a write's transaction; a serial already stored is a DuplicateSerialError. */
  private async insertTokenRow(client: Queryable, token: NewToken, at: number): Promise<TokenRecord> {
      const { rows } = await client.query<TokenRow>(
        `INSERT INTO tokens (serial, kind, algorithm, digits, period, counter, last_step, drift_steps, state, fail_count, owner, sealed_seed,
          pending_counter, pending_at, created_at, updated_at, last_used_at, version)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $13, NULL, 1)
          ON CONFLICT (serial) DO NOTHING RETURNING *`,
        [token.serial, token.kind, token.algorithm, token.digits, token.period, token.counter, token.lastStep, token.driftSteps, token.state, token.failCount, token.owner, pgValue(token.sealedSeed), at],
      );
      if (rows.length === 0) throw new DuplicateSerialError(token.serial);
      return toRecord(rows[0]!);
  }

  async getToken(serial: string): Promise<TokenRecord | undefined> {
    const row = await this.tokenReads.get(serial);
    return row && toRecord(row);
  }

  async listTokens(filter: TokenFilter): Promise<TokenRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.owner !== undefined) {
      values.push(filter.owner);
      where.push(`owner = $${values.length}`);
    }
    if (filter.state !== undefined) {
      values.push(filter.state);
      where.push(`state = $${values.length}`);
    }
    values.push(filter.limit ?? 1000, filter.offset ?? 0);
    const sql = `SELECT * FROM tokens ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY serial COLLATE "C" LIMIT $${values.length - 1} OFFSET $${values.length}`;
    return (await this.database.read<TokenRow>(sql, values)).map(toRecord);
  }

  async countTokens(): Promise<Record<TokenState, number>> {
    const counts = Object.fromEntries(TOKEN_STATES.map((state) => [state, 0])) as Record<TokenState, number>;
    for (const row of await this.database.read<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM tokens GROUP BY state')) counts[row.state as TokenState] = row.n;
    return counts;
  }

  async updateToken(serial: string, expectedVersion: number, changes: TokenChanges, audit: NewAuditEntry | null): Promise<boolean> {
    const updatedAt = audit?.at ?? Date.now();
    return this.database.writeCompareAndSet(TOKENS, serial, expectedVersion, changes, audit, updatedAt);
  }

  async recordFailure(serial: string, maxFail: number, audit: (counted: TokenRecord) => NewAuditEntry): Promise<TokenRecord | undefined> {
    return this.database.write(async (client) => {
      const [row] = (await client.query<TokenRow>(`UPDATE tokens SET ${COUNT_FAILURE} WHERE serial = $1 RETURNING *`, [serial, maxFail, Date.now()])).rows;
      if (!row) return undefined;
      const counted = toRecord(row);
      await this.database.insertAudit(client, audit(counted));
      return counted;
    });
  }

  async deleteToken(serial: string, audit: NewAuditEntry): Promise<boolean> {
    return this.database.write(async (client) => this.deleteAudited(client, 'DELETE FROM tokens WHERE serial = $1', serial, audit));
  }

  async insertReplacement(replacement: NewReplacement, audit: NewAuditEntry): Promise<ReplacementRecord> {
    return this.database.write(async (client) => {
      const { rows } = await client.query<ReplacementRow>(
        `INSERT INTO replacements (id, replaces, owner, sealed_password, state, fail_count, valid_until, created_at, updated_at, last_used_at, version)
          VALUES ($1, $2, $3, $4, 'active', 0, $5, $6, $6, NULL, 1) RETURNING *`,
        [replacement.id, replacement.replaces, replacement.owner, pgValue(replacement.sealedPassword), replacement.validUntil, audit.at],
      );
      await this.database.insertAudit(client, audit);
      return toReplacement(rows[0]!);
    });
  }

  async getReplacement(id: string): Promise<ReplacementRecord | undefined> {
    const row = await this.replacementReads.get(id);
    return row && toReplacement(row);
  }

  async listReplacements(owner: string): Promise<ReplacementRecord[]> {
    return (await this.database.read<ReplacementRow>('SELECT * FROM replacements WHERE owner = $1 ORDER BY id COLLATE "C"', [owner])).map(toReplacement);
  }

  async updateReplacement(id: string, expectedVersion: number, changes: ReplacementChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.database.writeCompareAndSet(REPLACEMENTS, id, expectedVersion, changes, audit);
  }

  async recordReplacementFailure(id: string, maxFail: number, audit: (counted: ReplacementRecord) => NewAuditEntry): Promise<ReplacementRecord | undefined> {
    return this.database.write(async (client) => {
      const [row] = (await client.query<ReplacementRow>(`UPDATE replacements SET ${COUNT_FAILURE} WHERE id = $1 RETURNING *`, [id, maxFail, Date.now()])).rows;
      if (!row) return undefined;
      const counted = toReplacement(row);
      await this.database.insertAudit(client, audit(counted));
      return counted;
    });
  }

  async deleteReplacement(id: string, audit: NewAuditEntry): Promise<boolean> {
    return this.database.write(async (client) => this.deleteAudited(client, 'DELETE FROM replacements WHERE id = $1', id, audit));
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.database.write((client) => this.database.insertAudit(client, entry));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.database.listAudit(filter);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.database.read<{ id: string; role: string; hash: string; created_at: number }>('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map((row) => ({ id: row.id, role: row.role as ApiKeyRecord['role'], hash: row.hash, createdAt: row.created_at }));
  }

  /** A key already stored (the same key given to every node of a cluster) is left as it is. */
  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    await this.database.write((client) => client.query('INSERT INTO api_keys (id, role, hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [key.id, key.role, key.hash, key.createdAt]));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.database.getMeta(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    return this.database.setMeta(key, value);
  }

  async setMetaOnce(key: string, value: string): Promise<string> {
    return this.database.setMetaOnce(key, value);
  }

  async lockCluster(): Promise<ClusterLock> {
    return this.database.lockCluster();
  }

  async ping(): Promise<void> {
    return this.database.ping();
  }

  private async deleteAudited(client: Queryable, sql: string, key: string, audit: NewAuditEntry): Promise<boolean> {
    const deleted = (await client.query(sql, [key])).rowCount === 1;
    if (deleted) await this.database.insertAudit(client, audit);
    return deleted;
  }
}
