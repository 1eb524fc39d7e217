/**
 * The token store on the host's SQLite database (host/store/sqlite-database.ts): the tokens, lost
 * tokens' temporary replacements, the API keys, and a copy in memory of the tokens last read or written, so that a verification reads
 * its token without a SELECT. Every write goes through the database's group-committed `write()`,
 * every change of a token through its one compare-and-set, each with its audit record.
 */
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../../store/audit.ts';
import type { Migration, SqliteDatabase } from '../../store/sqlite-database.ts';
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

/**
 * The token side's tables: tokens and API keys (1); lost tokens' temporary passwords as
 * replacements of their own, no longer as tokens of a `password` kind (2); when a token's seed
 * last left in an export file (3).
 */
export const TOKEN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS tokens (
          serial TEXT PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('hotp', 'totp', 'password')),
          algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
          digits INTEGER NOT NULL,
          period INTEGER NOT NULL,
          counter INTEGER NOT NULL,
          last_step INTEGER NOT NULL,
          drift_steps INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'disabled', 'locked', 'lost', 'revoked')),
          fail_count INTEGER NOT NULL,
          owner TEXT,
          sealed_seed BLOB NOT NULL,
          replaces TEXT,
          valid_until INTEGER,
          pending_counter INTEGER,
          pending_at INTEGER,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          last_used_at INTEGER,
          version INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS tokens_owner ON tokens (owner);
        CREATE TABLE IF NOT EXISTS api_keys (
          id TEXT PRIMARY KEY,
          role TEXT NOT NULL CHECK (role IN ('admin', 'client')),
          hash TEXT NOT NULL UNIQUE,
          created_at INTEGER NOT NULL
        ) STRICT;`),
  },
  {
    version: 2,
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS replacements (
          id TEXT PRIMARY KEY,
          replaces TEXT NOT NULL UNIQUE,
          owner TEXT,
          sealed_password BLOB NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'locked', 'revoked')),
          fail_count INTEGER NOT NULL CHECK (fail_count >= 0),
          valid_until INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          last_used_at INTEGER,
          version INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS replacements_owner ON replacements (owner);`);
      // A file whose tokens table is of the first layout (its password tokens, its columns for them) is converted once.
      const firstLayout = db.prepare<[string, string]>('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get('tokens', 'replaces') !== undefined;
      if (!firstLayout) return;
      db.exec(`
        -- A password token becomes a replacement; one an administrator had disabled or reported lost no longer verifies.
        INSERT INTO replacements (id, replaces, owner, sealed_password, state, fail_count, valid_until, created_at, updated_at, last_used_at, version)
          SELECT serial, COALESCE(replaces, substr(serial, 6)), owner, sealed_seed,
            CASE WHEN state IN ('active', 'locked', 'revoked') THEN state ELSE 'revoked' END,
            fail_count, COALESCE(valid_until, updated_at), created_at, updated_at, last_used_at, version
          FROM tokens WHERE kind = 'password';
        CREATE TABLE tokens_next (
          serial TEXT PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('hotp', 'totp')),
          algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
          digits INTEGER NOT NULL,
          period INTEGER NOT NULL,
          counter INTEGER NOT NULL,
          last_step INTEGER NOT NULL,
          drift_steps INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'disabled', 'locked', 'lost', 'revoked')),
          fail_count INTEGER NOT NULL,
          owner TEXT,
          sealed_seed BLOB NOT NULL,
          pending_counter INTEGER,
          pending_at INTEGER,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          last_used_at INTEGER,
          version INTEGER NOT NULL
        ) STRICT;
        INSERT INTO tokens_next
          SELECT serial, kind, algorithm, digits, period, counter, last_step, drift_steps, state, fail_count, owner, sealed_seed,
            pending_counter, pending_at, created_at, updated_at, last_used_at, version
          FROM tokens WHERE kind != 'password';
        DROP TABLE tokens;
        ALTER TABLE tokens_next RENAME TO tokens;
        CREATE INDEX tokens_owner ON tokens (owner);`);
    },
  },
  {
    version: 3,
    up: (db) => {
      const has = db.prepare<[string, string]>('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get('tokens', 'exported_at') !== undefined;
      if (!has) db.exec('ALTER TABLE tokens ADD COLUMN exported_at INTEGER');
    },
  },
];

/** Tokens kept in memory (see `SqliteTokenStore.tokens`): at most this many, the longest held forgotten first. */
const TOKEN_CACHE_SIZE = 10_000;

export class SqliteTokenStore implements TokenStore {
  private readonly statements;
  /**
   * The tokens as this connection last wrote or read them: a verification reads its token here,
   * not with a SELECT. This process is the file's only writer, and every token write goes through
   * this class, which keeps the copy equal to the row (a write updates it, an undone one clears it).
   * A copy that were ever stale would only fail its compare-and-set, which forgets it.
   */
  private readonly tokens = new Map<string, TokenRecord>();
  /** Settles when the last holder of `lockCluster` has released it. */
  private lockHeld: Promise<void> = Promise.resolve();

  constructor(private readonly database: SqliteDatabase) {
    database.migrate('tokens', TOKEN_MIGRATIONS);
    database.onRollback(() => this.tokens.clear());
    this.statements = {
      insertToken: database.prepare(`INSERT INTO tokens (serial, kind, algorithm, digits, period, counter, last_step, drift_steps, state,
        fail_count, owner, sealed_seed, pending_counter, pending_at, created_at, updated_at, last_used_at, version)
        VALUES (@serial, @kind, @algorithm, @digits, @period, @counter, @lastStep, @driftSteps, @state, @failCount, @owner, @sealedSeed,
        NULL, NULL, @now, @now, NULL, 1)`),
      getToken: database.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE serial = ?'),
      deleteToken: database.prepare<[string]>('DELETE FROM tokens WHERE serial = ?'),
      markExported: database.prepare('UPDATE tokens SET exported_at = @at, version = version + 1, updated_at = @at WHERE serial = @serial'),
      recordFailure: database.prepare(`UPDATE tokens SET fail_count = fail_count + 1,
        state = CASE WHEN state = 'active' AND fail_count + 1 >= @maxFail THEN 'locked' ELSE state END,
        version = version + 1, updated_at = @now WHERE serial = @serial`),
      countTokens: database.prepare<[], { state: string; n: number }>('SELECT state, COUNT(*) AS n FROM tokens GROUP BY state'),
      insertReplacement: database.prepare(`INSERT INTO replacements (id, replaces, owner, sealed_password, state, fail_count, valid_until,
        created_at, updated_at, last_used_at, version) VALUES (@id, @replaces, @owner, @sealedPassword, 'active', 0, @validUntil, @now, @now, NULL, 1)`),
      getReplacement: database.prepare<[string], ReplacementRow>('SELECT * FROM replacements WHERE id = ?'),
      listReplacements: database.prepare<[string], ReplacementRow>('SELECT * FROM replacements WHERE owner = ? ORDER BY id'),
      recordReplacementFailure: database.prepare(`UPDATE replacements SET fail_count = fail_count + 1,
        state = CASE WHEN state = 'active' AND fail_count + 1 >= @maxFail THEN 'locked' ELSE state END,
        version = version + 1, updated_at = @now WHERE id = @id`),
      deleteReplacement: database.prepare<[string]>('DELETE FROM replacements WHERE id = ?'),
      listApiKeys: database.prepare<[], { id: string; role: string; hash: string; created_at: number }>('SELECT * FROM api_keys ORDER BY created_at'),
      insertApiKey: database.prepare('INSERT INTO api_keys (id, role, hash, created_at) VALUES (?, ?, ?, ?)'),
    };
  }

  async insertToken(token: NewToken, audit: NewAuditEntry): Promise<TokenRecord> {
    return this.database.write(() => {
      try {
        this.statements.insertToken.run({ ...token, sealedSeed: Buffer.from(token.sealedSeed), now: audit.at });
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateSerialError(token.serial);
        throw error;
      }
      this.database.insertAudit(audit);
      return this.remember(toRecord(this.statements.getToken.get(token.serial)!));
    });
  }

  async getToken(serial: string): Promise<TokenRecord | undefined> {
    const cached = this.tokens.get(serial);
    if (cached) return cached;
    const row = this.statements.getToken.get(serial);
    return row && this.remember(toRecord(row));
  }

  async listTokens(filter: TokenFilter): Promise<TokenRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.owner !== undefined) {
      where.push('owner = ?');
      params.push(filter.owner);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      params.push(filter.state);
    }
    const sql = `SELECT * FROM tokens ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY serial LIMIT ? OFFSET ?`;
    const rows = this.database.prepare<(string | number)[], TokenRow>(sql).all(...params, filter.limit ?? 1000, filter.offset ?? 0);
    return rows.map(toRecord);
  }

  async countTokens(): Promise<Record<TokenState, number>> {
    const counts = Object.fromEntries(TOKEN_STATES.map((state) => [state, 0])) as Record<TokenState, number>;
    for (const row of this.statements.countTokens.all()) counts[row.state as TokenState] = row.n;
    return counts;
  }

  async updateToken(serial: string, expectedVersion: number, changes: TokenChanges, audit: NewAuditEntry | null): Promise<boolean> {
    const updatedAt = audit?.at ?? Date.now();
    return this.database.write(() => {
      const cached = this.tokens.get(serial);
      if (!this.database.compareAndSet(TOKENS, serial, expectedVersion, changes, audit, updatedAt)) {
        if (cached?.version === expectedVersion) this.tokens.delete(serial); // stale: read it again
        return false;
      }
      if (cached?.version === expectedVersion) this.tokens.set(serial, { ...cached, ...changes, version: expectedVersion + 1, updatedAt });
      else this.tokens.delete(serial);
      return true;
    });
  }

  async recordFailure(serial: string, maxFail: number, audit: (counted: TokenRecord) => NewAuditEntry): Promise<TokenRecord | undefined> {
    return this.database.write(() => {
      if (this.statements.recordFailure.run({ serial, maxFail, now: Date.now() }).changes !== 1) {
        this.tokens.delete(serial);
        return undefined;
      }
      const counted = this.remember(toRecord(this.statements.getToken.get(serial)!));
      this.database.insertAudit(audit(counted));
      return counted;
    });
  }

  async deleteToken(serial: string, audit: NewAuditEntry): Promise<boolean> {
    return this.database.write(() => {
      this.tokens.delete(serial);
      const deleted = this.statements.deleteToken.run(serial).changes === 1;
      if (deleted) this.database.insertAudit(audit);
      return deleted;
    });
  }

  async importTokens(tokens: readonly NewToken[], audits: readonly NewAuditEntry[], options: { readonly replace: boolean }): Promise<TokenRecord[]> {
    const now = audits[0]?.at ?? Date.now();
    return this.database.write(() => {
      for (const token of tokens) {
        if (options.replace) {
          this.tokens.delete(token.serial);
          this.statements.deleteToken.run(token.serial);
        }
        try {
          this.statements.insertToken.run({ ...token, sealedSeed: Buffer.from(token.sealedSeed), now });
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateSerialError(token.serial);
          throw error;
        }
      }
      for (const audit of audits) this.database.insertAudit(audit);
      return tokens.map((token) => this.remember(toRecord(this.statements.getToken.get(token.serial)!)));
    });
  }

  async markExported(serials: readonly string[], at: number, audits: readonly NewAuditEntry[]): Promise<void> {
    return this.database.write(() => {
      for (const serial of serials) {
        this.tokens.delete(serial);
        this.statements.markExported.run({ serial, at });
      }
      for (const audit of audits) this.database.insertAudit(audit);
    });
  }

  async insertReplacement(replacement: NewReplacement, audit: NewAuditEntry): Promise<ReplacementRecord> {
    return this.database.write(() => {
      this.statements.insertReplacement.run({ ...replacement, sealedPassword: Buffer.from(replacement.sealedPassword), now: audit.at });
      this.database.insertAudit(audit);
      return toReplacement(this.statements.getReplacement.get(replacement.id)!);
    });
  }

  async getReplacement(id: string): Promise<ReplacementRecord | undefined> {
    const row = this.statements.getReplacement.get(id);
    return row && toReplacement(row);
  }

  async listReplacements(owner: string): Promise<ReplacementRecord[]> {
    return this.statements.listReplacements.all(owner).map(toReplacement);
  }

  async updateReplacement(id: string, expectedVersion: number, changes: ReplacementChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.database.write(() => this.database.compareAndSet(REPLACEMENTS, id, expectedVersion, changes, audit));
  }

  async recordReplacementFailure(id: string, maxFail: number, audit: (counted: ReplacementRecord) => NewAuditEntry): Promise<ReplacementRecord | undefined> {
    return this.database.write(() => {
      if (this.statements.recordReplacementFailure.run({ id, maxFail, now: Date.now() }).changes !== 1) return undefined;
      const counted = toReplacement(this.statements.getReplacement.get(id)!);
      this.database.insertAudit(audit(counted));
      return counted;
    });
  }

  async deleteReplacement(id: string, audit: NewAuditEntry): Promise<boolean> {
    return this.database.write(() => {
      const deleted = this.statements.deleteReplacement.run(id).changes === 1;
      if (deleted) this.database.insertAudit(audit);
      return deleted;
    });
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.database.write(() => this.database.insertAudit(entry));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.database.listAudit(filter);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.statements.listApiKeys.all().map((row) => ({ id: row.id, role: row.role as ApiKeyRecord['role'], hash: row.hash, createdAt: row.created_at }));
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    return this.database.write(() => {
      this.statements.insertApiKey.run(key.id, key.role, key.hash, key.createdAt);
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.database.getMeta(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    return this.database.setMeta(key, value);
  }

  async setMetaOnce(key: string, value: string): Promise<string> {
    const kept = await this.database.getMeta(key);
    if (kept !== undefined) return kept;
    await this.database.setMeta(key, value);
    return value;
  }

  /** The file has one process: the lock is this store's own, taken in turn. */
  async lockCluster(): Promise<ClusterLock> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.lockHeld;
    this.lockHeld = previous.then(() => mine);
    await previous;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  async ping(): Promise<void> {
    return this.database.ping();
  }

  private remember(token: TokenRecord): TokenRecord {
    this.tokens.delete(token.serial);
    this.tokens.set(token.serial, token);
    if (this.tokens.size > TOKEN_CACHE_SIZE) this.tokens.delete(this.tokens.keys().next().value!);
    return token;
  }
}
