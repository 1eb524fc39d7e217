/**
 * The OpenID Connect provider's store on PostgreSQL (host/store/postgres/postgres-database.ts),
 * shared by every node of a cluster: the same tables and columns as the SQLite store (owner
 * `oidc`), so that a lab's file copies over table by table. Nothing is cached on a node. A code or
 * refresh token is consumed by one conditional UPDATE, which a second node's UPDATE of the same row
 * waits for and then finds consumed: true for exactly one caller across the cluster. A sealed
 * secret is inserted if absent and then read, so every node ends with the first one stored; at
 * most one signing key signs, a rule of the database. Every write is group-committed, an audit
 * record in the same transaction as its change.
 */
import type { NewAuditEntry } from '../../../store/audit.ts';
import type { PostgresDatabase, PostgresMigration } from '../../../store/postgres/postgres-database.ts';
import { identifierDigest, loginKey, modelColumns, NO_ACCOUNT, toClient, toKey, toLogin, toModel, type ClientRow, type KeyRow, type LoginRow, type ModelRow } from './oidc-rows.ts';
import { ACCOUNT_DIGESTS, ONE_SIGNING_KEY, POSTGRES_LOGIN_KEYS, POSTGRES_MODEL_DIGESTS, SEALED_RECORDS } from './sqlite-oidc-store.ts';
import {
  DuplicateClientError,
  type ClientRecord,
  type InteractionLoginChanges,
  type InteractionLoginRecord,
  type ModelRecord,
  type OidcStore,
  type SigningKeyRecord,
  type SigningKeyStamp,
} from './types.ts';

/** The SQLite store's tables, step by step as its migrations made them. */
export const POSTGRES_OIDC_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS oidc_models (
        model TEXT NOT NULL,
        id TEXT NOT NULL,
        payload TEXT NOT NULL,
        grant_id TEXT,
        uid TEXT,
        user_code TEXT,
        expires_at BIGINT,
        consumed_at BIGINT,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX IF NOT EXISTS oidc_models_grant ON oidc_models (grant_id);
      CREATE INDEX IF NOT EXISTS oidc_models_uid ON oidc_models (model, uid);
      CREATE INDEX IF NOT EXISTS oidc_models_user_code ON oidc_models (model, user_code);
      CREATE INDEX IF NOT EXISTS oidc_models_expiry ON oidc_models (expires_at);
      CREATE TABLE IF NOT EXISTS oidc_clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        post_logout_redirect_uris TEXT NOT NULL,
        backchannel_logout_uri TEXT,
        sealed_secret BYTEA NOT NULL,
        accepted_scopes TEXT NOT NULL,
        acr_values TEXT NOT NULL,
        first_party INTEGER NOT NULL CHECK (first_party IN (0, 1)),
        created_at BIGINT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS oidc_signing_keys (
        kid TEXT PRIMARY KEY,
        sealed_jwk BYTEA NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      );
      CREATE TABLE IF NOT EXISTS oidc_secrets (
        name TEXT PRIMARY KEY,
        sealed BYTEA NOT NULL
      );
      CREATE TABLE IF NOT EXISTS oidc_interaction_logins (
        uid TEXT PRIMARY KEY,
        stage TEXT NOT NULL CHECK (stage IN ('password', 'second-step')),
        person_id TEXT,
        card_serial TEXT,
        challenge TEXT,
        csrf_token TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );`,
  },
  { version: 2, sql: ONE_SIGNING_KEY },
  // The site of each record in a column of its own (the payload is sealed now); records made before were kept with their ids and payloads in the clear: they are ended once (every provider session and token; people log in again).
  { version: 3, sql: SEALED_RECORDS },
  // A login inside an interaction under the digest of the interaction's uid (see loginKey); the rows kept before are converted, so a login running across the upgrade goes on.
  { version: 4, sql: POSTGRES_LOGIN_KEYS },
  // A record's uid (a Session's) and user code as their digests (see modelColumns); the rows kept before are converted, so sessions go on across the upgrade.
  { version: 5, sql: POSTGRES_MODEL_DIGESTS },
  // The keyed digest of a record's person (see ACCOUNT_DIGESTS); rows kept before are not known (NULL) and are opened by a person's lookup until they expire.
  { version: 6, sql: ACCOUNT_DIGESTS },
];


/** Live at the parameter `$n`: not expired then. */
const live = (n: number) => `(expires_at IS NULL OR expires_at > $${n})`;


const LOGIN_SHAPE = { table: 'oidc_interaction_logins', key: 'uid', columns: { stage: 'stage', personId: 'person_id', cardSerial: 'card_serial', challenge: 'challenge' } satisfies Record<keyof InteractionLoginChanges, string> };

export class PostgresOidcStore implements OidcStore {
  private constructor(private readonly database: PostgresDatabase) {}

  /** The store on `database`, its tables brought up to date (under the migration lock). */
  static async open(database: PostgresDatabase): Promise<PostgresOidcStore> {
    await database.migrate('oidc', POSTGRES_OIDC_MIGRATIONS);
    return new PostgresOidcStore(database);
  }

  async upsertModel(given: ModelRecord): Promise<void> {
    const record = modelColumns(given);
    await this.database.write((client) =>
      client.query(
        `INSERT INTO oidc_models (model, id, payload, grant_id, client_id, uid, user_code, account, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, client_id = excluded.client_id, uid = excluded.uid,
           user_code = excluded.user_code, account = excluded.account, expires_at = excluded.expires_at`,
        [record.model, record.id, record.payload, record.grantId, record.clientId, record.uid, record.userCode, record.account, record.expiresAt, record.consumedAt],
      ),
    );
  }

  async findModel(model: string, id: string, nowSeconds: number): Promise<ModelRecord | undefined> {
    const [row] = await this.database.read<ModelRow>(`SELECT * FROM oidc_models WHERE model = $1 AND id = $2 AND ${live(3)}`, [model, id, nowSeconds]);
    return row && toModel(row);
  }

  async findModelByUid(model: string, uid: string, nowSeconds: number): Promise<ModelRecord | undefined> {
    const [row] = await this.database.read<ModelRow>(`SELECT * FROM oidc_models WHERE model = $1 AND uid = $2 AND ${live(3)}`, [model, identifierDigest(uid), nowSeconds]);
    return row && toModel(row, { uid });
  }

  async findModelByUserCode(model: string, userCode: string, nowSeconds: number): Promise<ModelRecord | undefined> {
    const [row] = await this.database.read<ModelRow>(`SELECT * FROM oidc_models WHERE model = $1 AND user_code = $2 AND ${live(3)}`, [model, identifierDigest(userCode), nowSeconds]);
    return row && toModel(row, { userCode });
  }

  async consumeModel(model: string, id: string, nowSeconds: number): Promise<boolean> {
    return this.database.write(
      async (client) => (await client.query('UPDATE oidc_models SET consumed_at = $1 WHERE model = $2 AND id = $3 AND consumed_at IS NULL RETURNING 1', [nowSeconds, model, id])).rowCount === 1,
    );
  }

  async destroyModel(model: string, id: string): Promise<void> {
    await this.database.write((client) => client.query('DELETE FROM oidc_models WHERE model = $1 AND id = $2', [model, id]));
  }

  async revokeGrant(grantId: string): Promise<void> {
    await this.database.write((client) => client.query("DELETE FROM oidc_models WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)", [grantId]));
  }

  async listModels(model: string, nowSeconds: number): Promise<ModelRecord[]> {
    return (await this.database.read<ModelRow>(`SELECT * FROM oidc_models WHERE model = $1 AND ${live(2)}`, [model, nowSeconds])).map((row) => toModel(row));
  }

  async listModelsOfAccount(model: string, account: string, nowSeconds: number): Promise<ModelRecord[]> {
    // Two index lookups on (model, account): the person's rows, and the rows whose person is not known.
    const rows = await this.database.read<ModelRow>(
      `SELECT * FROM oidc_models WHERE model = $1 AND account = $2 AND ${live(3)} UNION ALL SELECT * FROM oidc_models WHERE model = $1 AND account IS NULL AND ${live(3)}`,
      [model, account, nowSeconds],
    );
    return rows.map((row) => toModel(row));
  }

  async listModelsOfUnknownAccount(model: string, limit: number, nowSeconds: number): Promise<ModelRecord[]> {
    const rows = await this.database.read<ModelRow>(`SELECT * FROM oidc_models WHERE model = $1 AND account IS NULL AND ${live(2)} LIMIT $3`, [model, nowSeconds, limit]);
    return rows.map((row) => toModel(row));
  }

  async setModelAccounts(records: readonly Pick<ModelRecord, 'model' | 'id' | 'payload' | 'account'>[]): Promise<number> {
    if (records.length === 0) return 0;
    return this.database.write(async (client) => {
      const { rowCount } = await client.query(
        `UPDATE oidc_models SET account = given.account FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS given (model, id, payload, account)
         WHERE oidc_models.model = given.model AND oidc_models.id = given.id AND oidc_models.account IS NULL AND oidc_models.payload = given.payload`,
        [records.map((record) => record.model), records.map((record) => record.id), records.map((record) => record.payload), records.map((record) => record.account ?? NO_ACCOUNT)],
      );
      return rowCount ?? 0;
    });
  }

  async sweepModels(nowSeconds: number): Promise<number> {
    return this.database.write(async (client) => {
      await client.query('DELETE FROM oidc_interaction_logins WHERE expires_at <= $1', [nowSeconds * 1000]);
      return (await client.query('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= $1', [nowSeconds])).rowCount ?? 0;
    });
  }

  async insertClient(client: ClientRecord, audit: NewAuditEntry): Promise<void> {
    await this.database.write(async (connection) => {
      const { rowCount } = await connection.query(
        `INSERT INTO oidc_clients (id, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, sealed_secret, accepted_scopes, acr_values, first_party, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
        [
          client.id,
          client.name,
          JSON.stringify(client.redirectUris),
          JSON.stringify(client.postLogoutRedirectUris),
          client.backchannelLogoutUri,
          Buffer.from(client.sealedSecret),
          JSON.stringify(client.acceptedScopes),
          JSON.stringify(client.acrValues),
          client.firstParty ? 1 : 0,
          client.createdAt,
        ],
      );
      if (rowCount !== 1) throw new DuplicateClientError(client.id);
      await this.database.insertAudit(connection, audit);
    });
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    const [row] = await this.database.read<ClientRow>('SELECT * FROM oidc_clients WHERE id = $1', [id]);
    return row && toClient(row);
  }

  async listClients(): Promise<ClientRecord[]> {
    return (await this.database.read<ClientRow>('SELECT * FROM oidc_clients ORDER BY created_at, id COLLATE "C"')).map(toClient);
  }

  async deleteClient(id: string, audit: NewAuditEntry): Promise<boolean> {
    return this.database.write(async (client) => {
      if ((await client.query('DELETE FROM oidc_clients WHERE id = $1', [id])).rowCount !== 1) return false;
      await client.query("DELETE FROM oidc_models WHERE client_id = $1 OR (model = 'Client' AND id = $1)", [id]);
      await this.database.insertAudit(client, audit);
      return true;
    });
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (await this.database.read<KeyRow>('SELECT * FROM oidc_signing_keys ORDER BY created_at DESC, kid COLLATE "C"')).map(toKey);
  }

  async signingKeyStamps(): Promise<SigningKeyStamp[]> {
    const rows = await this.database.read<{ kid: string; retired_at: number | null }>('SELECT kid, retired_at FROM oidc_signing_keys');
    return rows.map((row) => ({ kid: row.kid, retiredAt: row.retired_at }));
  }

  async addFirstSigningKey(key: SigningKeyRecord): Promise<boolean> {
    // A key of another node's first start, committed or not, makes this one conflict (it waits for that commit).
    return this.database.write(
      async (client) =>
        (
          await client.query('INSERT INTO oidc_signing_keys (kid, sealed_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
            key.kid,
            Buffer.from(key.sealedJwk),
            key.publicJwk,
            key.createdAt,
          ])
        ).rowCount === 1,
    );
  }

  async addSigningKey(key: SigningKeyRecord, retiredAt: number, audit: NewAuditEntry | null): Promise<void> {
    await this.database.write(async (client) => {
      // Rotations one at a time: a second one's UPDATE then sees the key the first added, and retires it too.
      await client.query('LOCK TABLE oidc_signing_keys IN SHARE ROW EXCLUSIVE MODE');
      await client.query('UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [retiredAt]);
      await client.query('INSERT INTO oidc_signing_keys (kid, sealed_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4)', [key.kid, Buffer.from(key.sealedJwk), key.publicJwk, key.createdAt]);
      if (audit) await this.database.insertAudit(client, audit);
    });
  }

  async dropRetiredKeys(before: number): Promise<number> {
    return this.database.write(async (client) => (await client.query('DELETE FROM oidc_signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1', [before])).rowCount ?? 0);
  }

  async getSecret(name: string): Promise<Uint8Array | undefined> {
    const [row] = await this.database.read<{ sealed: Buffer }>('SELECT sealed FROM oidc_secrets WHERE name = $1', [name]);
    return row && new Uint8Array(row.sealed);
  }

  async putSecretIfAbsent(name: string, sealed: Uint8Array): Promise<Uint8Array> {
    return this.database.write(async (client) => {
      // A concurrent insert of the same name makes this one wait for its commit, then do nothing; the read then sees it.
      await client.query('INSERT INTO oidc_secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, Buffer.from(sealed)]);
      const { rows } = await client.query<{ sealed: Buffer }>('SELECT sealed FROM oidc_secrets WHERE name = $1', [name]);
      return new Uint8Array(rows[0]!.sealed);
    });
  }

  async insertInteractionLogin(record: InteractionLoginRecord): Promise<void> {
    await this.database.write((client) =>
      client.query('INSERT INTO oidc_interaction_logins (uid, stage, person_id, card_serial, challenge, csrf_token, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        loginKey(record.uid),
        record.stage,
        record.personId,
        record.cardSerial,
        record.challenge,
        record.csrfToken,
        record.expiresAt,
      ]),
    );
  }

  async getInteractionLogin(uid: string, nowMs: number): Promise<InteractionLoginRecord | undefined> {
    const [row] = await this.database.read<LoginRow>('SELECT * FROM oidc_interaction_logins WHERE uid = $1 AND expires_at > $2', [loginKey(uid), nowMs]);
    return row && toLogin(row, uid);
  }

  async updateInteractionLogin(uid: string, changes: InteractionLoginChanges): Promise<void> {
    await this.database.write((client) => this.database.update(client, LOGIN_SHAPE, loginKey(uid), changes));
  }

  async deleteInteractionLogin(uid: string): Promise<void> {
    await this.database.write((client) => client.query('DELETE FROM oidc_interaction_logins WHERE uid = $1', [loginKey(uid)]));
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    await this.database.write((client) => this.database.insertAudit(client, entry));
  }
}
