/**
 * The OpenID Connect provider's store on the host's SQLite database (owner `oidc`, its own
 * migrations): the provider's records by model and id, the registered sites, the signing keys,
 * the sealed secrets and the logins running inside interactions. Every write goes through the
 * database's group-committed `write()`; consuming a code is one conditional UPDATE, so only one
 * caller ever consumes it.
 */
import type { NewAuditEntry } from '../../../store/audit.ts';
import type { Migration, SqliteDatabase } from '../../../store/sqlite-database.ts';
import { identifierDigest, loginKey, modelColumns, NO_ACCOUNT, sqlIdentifierDigest, toClient, toKey, toLogin, toModel, type ClientRow, type KeyRow, type LoginRow, type ModelRow } from './oidc-rows.ts';
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

/** Migration 3 of both stores: records sealed (see ../sealed-records.ts). */
export const SEALED_RECORDS = `
  DELETE FROM oidc_models;
  ALTER TABLE oidc_models ADD COLUMN client_id TEXT;`;

/**
 * Migration 4 of PostgreSQL: a login inside an interaction kept under the digest of the
 * interaction's uid (loginKey), no more under the uid. Rows kept before are converted, so a login
 * running across the upgrade goes on; SQLite's migration 4 does the same in JavaScript.
 */
export const POSTGRES_LOGIN_KEYS = `
  UPDATE oidc_interaction_logins SET uid = 'sha256:' || rtrim(translate(encode(sha256(convert_to(uid, 'UTF8')), 'base64'), '+/', '-_'), '=');`;

/**
 * Migration 5 of PostgreSQL: a provider record's `uid` (a Session's) and `user_code` kept as their
 * digests (identifierDigest), no more as they are. Rows kept before are converted, so sessions
 * (and the tokens bound to them) go on across the upgrade; SQLite's migration 5 does the same in
 * JavaScript.
 */
export const POSTGRES_MODEL_DIGESTS = `
  UPDATE oidc_models SET uid = ${sqlIdentifierDigest('uid')} WHERE uid IS NOT NULL;
  UPDATE oidc_models SET user_code = ${sqlIdentifierDigest('user_code')} WHERE user_code IS NOT NULL;`;

/**
 * Migration 6 of both stores: the keyed digest of the person a record is of (its payload's
 * accountId, under the master key; ../sealed-records.ts's accountDigest), so a person's records
 * are found by an index and only theirs are opened. The store has no master key, so rows kept
 * before stay NULL ("not known"): a person's lookup opens those too, and they go as they expire.
 */
export const ACCOUNT_DIGESTS = `
  ALTER TABLE oidc_models ADD COLUMN account TEXT;
  CREATE INDEX IF NOT EXISTS oidc_models_account ON oidc_models (model, account);`;

/**
 * Retires all but the newest of the keys that sign (a store from before the rule might hold more),
 * then lets at most one sign: a unique index on a value every signing key has alike. The same SQL
 * on PostgreSQL.
 */
export const ONE_SIGNING_KEY = `
  UPDATE oidc_signing_keys SET retired_at = created_at
    WHERE retired_at IS NULL AND kid <> (SELECT kid FROM oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1);
  CREATE UNIQUE INDEX IF NOT EXISTS oidc_signing_keys_one_signing ON oidc_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;`;

export const OIDC_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS oidc_models (
          model TEXT NOT NULL,
          id TEXT NOT NULL,
          payload TEXT NOT NULL,
          grant_id TEXT,
          uid TEXT,
          user_code TEXT,
          expires_at INTEGER,
          consumed_at INTEGER,
          PRIMARY KEY (model, id)
        ) STRICT;
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
          sealed_secret BLOB NOT NULL,
          accepted_scopes TEXT NOT NULL,
          acr_values TEXT NOT NULL,
          first_party INTEGER NOT NULL CHECK (first_party IN (0, 1)),
          created_at INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE IF NOT EXISTS oidc_signing_keys (
          kid TEXT PRIMARY KEY,
          sealed_jwk BLOB NOT NULL,
          public_jwk TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          retired_at INTEGER
        ) STRICT;
        CREATE TABLE IF NOT EXISTS oidc_secrets (
          name TEXT PRIMARY KEY,
          sealed BLOB NOT NULL
        ) STRICT;
        CREATE TABLE IF NOT EXISTS oidc_interaction_logins (
          uid TEXT PRIMARY KEY,
          stage TEXT NOT NULL CHECK (stage IN ('password', 'second-step')),
          person_id TEXT,
          card_serial TEXT,
          challenge TEXT,
          csrf_token TEXT NOT NULL,
          expires_at INTEGER NOT NULL
        ) STRICT;`),
  },
  {
    version: 2,
    // At most one key signs at a time (a rule of the database: two first starts cannot both add one).
    up: (db) => db.exec(ONE_SIGNING_KEY),
  },
  {
    version: 3,
    // The site of each record in a column of its own (the payload is sealed now); records made before were kept with their ids and payloads in the clear: they are ended once (every provider session and token; people log in again).
    up: (db) => db.exec(SEALED_RECORDS),
  },
  {
    version: 4,
    // A login inside an interaction under the digest of the interaction's uid (see loginKey); the rows kept before are converted, so a login running across the upgrade goes on.
    up: (db) => {
      const rekey = db.prepare<[string, string]>('UPDATE oidc_interaction_logins SET uid = ? WHERE uid = ?');
      for (const { uid } of db.prepare<[], { uid: string }>('SELECT uid FROM oidc_interaction_logins').all()) rekey.run(loginKey(uid), uid);
    },
  },
  {
    version: 5,
    // A record's uid (a Session's) and user code as their digests (see modelColumns); the rows kept before are converted, so sessions go on across the upgrade.
    up: (db) => {
      const digest = (value: string | null) => (value === null ? null : identifierDigest(value));
      const rekey = db.prepare<[string | null, string | null, string, string]>('UPDATE oidc_models SET uid = ?, user_code = ? WHERE model = ? AND id = ?');
      const kept = db.prepare<[], Pick<ModelRow, 'model' | 'id' | 'uid' | 'user_code'>>('SELECT model, id, uid, user_code FROM oidc_models WHERE uid IS NOT NULL OR user_code IS NOT NULL');
      for (const row of kept.all()) rekey.run(digest(row.uid), digest(row.user_code), row.model, row.id);
    },
  },
  {
    version: 6,
    // The keyed digest of a record's person (see ACCOUNT_DIGESTS); rows kept before are not known (NULL) and are opened by a person's lookup until they expire.
    up: (db) => db.exec(ACCOUNT_DIGESTS),
  },
];


const LIVE = '(expires_at IS NULL OR expires_at > ?)';


const LOGIN_COLUMNS: Readonly<Record<keyof InteractionLoginChanges, string>> = { stage: 'stage', personId: 'person_id', cardSerial: 'card_serial', challenge: 'challenge' };

export class SqliteOidcStore implements OidcStore {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    database.migrate('oidc', OIDC_MIGRATIONS);
    const db = database;
    this.statements = {
      upsertModel: db.prepare(
        `INSERT INTO oidc_models (model, id, payload, grant_id, client_id, uid, user_code, account, expires_at, consumed_at)
         VALUES (@model, @id, @payload, @grantId, @clientId, @uid, @userCode, @account, @expiresAt, @consumedAt)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, client_id = excluded.client_id, uid = excluded.uid,
           user_code = excluded.user_code, account = excluded.account, expires_at = excluded.expires_at`,
      ),
      findModel: db.prepare<[string, string, number], ModelRow>(`SELECT * FROM oidc_models WHERE model = ? AND id = ? AND ${LIVE}`),
      findByUid: db.prepare<[string, string, number], ModelRow>(`SELECT * FROM oidc_models WHERE model = ? AND uid = ? AND ${LIVE}`),
      findByUserCode: db.prepare<[string, string, number], ModelRow>(`SELECT * FROM oidc_models WHERE model = ? AND user_code = ? AND ${LIVE}`),
      consume: db.prepare<[number, string, string]>('UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL'),
      destroy: db.prepare<[string, string]>('DELETE FROM oidc_models WHERE model = ? AND id = ?'),
      revokeGrant: db.prepare<[string, string]>("DELETE FROM oidc_models WHERE grant_id = ? OR (model = 'Grant' AND id = ?)"),
      listModels: db.prepare<[string, number], ModelRow>(`SELECT * FROM oidc_models WHERE model = ? AND ${LIVE}`),
      // Two index lookups on (model, account): the person's rows, and the rows whose person is not known.
      listOfAccount: db.prepare<[string, string, number, string, number], ModelRow>(
        `SELECT * FROM oidc_models WHERE model = ? AND account = ? AND ${LIVE} UNION ALL SELECT * FROM oidc_models WHERE model = ? AND account IS NULL AND ${LIVE}`,
      ),
      listOfUnknownAccount: db.prepare<[string, number, number], ModelRow>(`SELECT * FROM oidc_models WHERE model = ? AND account IS NULL AND ${LIVE} LIMIT ?`),
      setAccount: db.prepare<[string, string, string, string]>('UPDATE oidc_models SET account = ? WHERE model = ? AND id = ? AND account IS NULL AND payload = ?'),
      sweep: db.prepare<[number]>('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      insertClient: db.prepare(
        `INSERT INTO oidc_clients (id, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, sealed_secret, accepted_scopes, acr_values, first_party, created_at)
         VALUES (@id, @name, @redirectUris, @postLogoutRedirectUris, @backchannelLogoutUri, @sealedSecret, @acceptedScopes, @acrValues, @firstParty, @createdAt)`,
      ),
      getClient: db.prepare<[string], ClientRow>('SELECT * FROM oidc_clients WHERE id = ?'),
      listClients: db.prepare<[], ClientRow>('SELECT * FROM oidc_clients ORDER BY created_at, id'),
      deleteClient: db.prepare<[string]>('DELETE FROM oidc_clients WHERE id = ?'),
      deleteClientModels: db.prepare<[string, string]>("DELETE FROM oidc_models WHERE client_id = ? OR (model = 'Client' AND id = ?)"),
      listKeys: db.prepare<[], KeyRow>('SELECT * FROM oidc_signing_keys ORDER BY created_at DESC, kid'),
      keyStamps: db.prepare<[], { kid: string; retired_at: number | null }>('SELECT kid, retired_at FROM oidc_signing_keys'),
      retireKeys: db.prepare<[number]>('UPDATE oidc_signing_keys SET retired_at = ? WHERE retired_at IS NULL'),
      insertKey: db.prepare<[string, Buffer, string, number]>('INSERT INTO oidc_signing_keys (kid, sealed_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)'),
      insertFirstKey: db.prepare<[string, Buffer, string, number]>('INSERT INTO oidc_signing_keys (kid, sealed_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      dropRetired: db.prepare<[number]>('DELETE FROM oidc_signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?'),
      getSecret: db.prepare<[string], { sealed: Buffer }>('SELECT sealed FROM oidc_secrets WHERE name = ?'),
      putSecret: db.prepare<[string, Buffer]>('INSERT INTO oidc_secrets (name, sealed) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      insertLogin: db.prepare(
        'INSERT INTO oidc_interaction_logins (uid, stage, person_id, card_serial, challenge, csrf_token, expires_at) VALUES (@uid, @stage, @personId, @cardSerial, @challenge, @csrfToken, @expiresAt)',
      ),
      getLogin: db.prepare<[string, number], LoginRow>('SELECT * FROM oidc_interaction_logins WHERE uid = ? AND expires_at > ?'),
      deleteLogin: db.prepare<[string]>('DELETE FROM oidc_interaction_logins WHERE uid = ?'),
      sweepLogins: db.prepare<[number]>('DELETE FROM oidc_interaction_logins WHERE expires_at <= ?'),
    };
  }

  async upsertModel(record: ModelRecord): Promise<void> {
    return this.database.write(() => {
      this.statements.upsertModel.run(modelColumns(record));
    });
  }

  async findModel(model: string, id: string, nowSeconds: number): Promise<ModelRecord | undefined> {
    const row = this.statements.findModel.get(model, id, nowSeconds);
    return row && toModel(row);
  }

  async findModelByUid(model: string, uid: string, nowSeconds: number): Promise<ModelRecord | undefined> {
    const row = this.statements.findByUid.get(model, identifierDigest(uid), nowSeconds);
    return row && toModel(row, { uid });
  }

  async findModelByUserCode(model: string, userCode: string, nowSeconds: number): Promise<ModelRecord | undefined> {
    const row = this.statements.findByUserCode.get(model, identifierDigest(userCode), nowSeconds);
    return row && toModel(row, { userCode });
  }

  async consumeModel(model: string, id: string, nowSeconds: number): Promise<boolean> {
    return this.database.write(() => this.statements.consume.run(nowSeconds, model, id).changes === 1);
  }

  async destroyModel(model: string, id: string): Promise<void> {
    return this.database.write(() => {
      this.statements.destroy.run(model, id);
    });
  }

  async revokeGrant(grantId: string): Promise<void> {
    return this.database.write(() => {
      this.statements.revokeGrant.run(grantId, grantId);
    });
  }

  async listModels(model: string, nowSeconds: number): Promise<ModelRecord[]> {
    return this.statements.listModels.all(model, nowSeconds).map((row) => toModel(row));
  }

  async listModelsOfAccount(model: string, account: string, nowSeconds: number): Promise<ModelRecord[]> {
    return this.statements.listOfAccount.all(model, account, nowSeconds, model, nowSeconds).map((row) => toModel(row));
  }

  async listModelsOfUnknownAccount(model: string, limit: number, nowSeconds: number): Promise<ModelRecord[]> {
    return this.statements.listOfUnknownAccount.all(model, nowSeconds, limit).map((row) => toModel(row));
  }

  async setModelAccounts(records: readonly Pick<ModelRecord, 'model' | 'id' | 'payload' | 'account'>[]): Promise<number> {
    return this.database.write(() => records.reduce((set, record) => set + this.statements.setAccount.run(record.account ?? NO_ACCOUNT, record.model, record.id, record.payload).changes, 0));
  }

  async sweepModels(nowSeconds: number): Promise<number> {
    return this.database.write(() => {
      this.statements.sweepLogins.run(nowSeconds * 1000);
      return this.statements.sweep.run(nowSeconds).changes;
    });
  }

  async insertClient(client: ClientRecord, audit: NewAuditEntry): Promise<void> {
    return this.database.write(() => {
      try {
        this.statements.insertClient.run({
          ...client,
          redirectUris: JSON.stringify(client.redirectUris),
          postLogoutRedirectUris: JSON.stringify(client.postLogoutRedirectUris),
          sealedSecret: Buffer.from(client.sealedSecret),
          acceptedScopes: JSON.stringify(client.acceptedScopes),
          acrValues: JSON.stringify(client.acrValues),
          firstParty: client.firstParty ? 1 : 0,
        });
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateClientError(client.id);
        throw error;
      }
      this.database.insertAudit(audit);
    });
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    const row = this.statements.getClient.get(id);
    return row && toClient(row);
  }

  async listClients(): Promise<ClientRecord[]> {
    return this.statements.listClients.all().map(toClient);
  }

  async deleteClient(id: string, audit: NewAuditEntry): Promise<boolean> {
    return this.database.write(() => {
      if (this.statements.deleteClient.run(id).changes === 0) return false;
      this.statements.deleteClientModels.run(id, id);
      this.database.insertAudit(audit);
      return true;
    });
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.statements.listKeys.all().map(toKey);
  }

  async signingKeyStamps(): Promise<SigningKeyStamp[]> {
    return this.statements.keyStamps.all().map((row) => ({ kid: row.kid, retiredAt: row.retired_at }));
  }

  async addFirstSigningKey(key: SigningKeyRecord): Promise<boolean> {
    return this.database.write(() => this.statements.insertFirstKey.run(key.kid, Buffer.from(key.sealedJwk), key.publicJwk, key.createdAt).changes === 1);
  }

  async addSigningKey(key: SigningKeyRecord, retiredAt: number, audit: NewAuditEntry | null): Promise<void> {
    return this.database.write(() => {
      this.statements.retireKeys.run(retiredAt);
      this.statements.insertKey.run(key.kid, Buffer.from(key.sealedJwk), key.publicJwk, key.createdAt);
      if (audit) this.database.insertAudit(audit);
    });
  }

  async dropRetiredKeys(before: number): Promise<number> {
    return this.database.write(() => this.statements.dropRetired.run(before).changes);
  }

  async getSecret(name: string): Promise<Uint8Array | undefined> {
    const row = this.statements.getSecret.get(name);
    return row && new Uint8Array(row.sealed);
  }

  async putSecretIfAbsent(name: string, sealed: Uint8Array): Promise<Uint8Array> {
    return this.database.write(() => {
      this.statements.putSecret.run(name, Buffer.from(sealed));
      return new Uint8Array(this.statements.getSecret.get(name)!.sealed);
    });
  }

  async insertInteractionLogin(record: InteractionLoginRecord): Promise<void> {
    return this.database.write(() => {
      this.statements.insertLogin.run({ ...record, uid: loginKey(record.uid) });
    });
  }

  async getInteractionLogin(uid: string, nowMs: number): Promise<InteractionLoginRecord | undefined> {
    const row = this.statements.getLogin.get(loginKey(uid), nowMs);
    return row && toLogin(row, uid);
  }

  async updateInteractionLogin(uid: string, changes: InteractionLoginChanges): Promise<void> {
    return this.database.write(() => this.database.update({ table: 'oidc_interaction_logins', key: 'uid', columns: LOGIN_COLUMNS }, loginKey(uid), changes));
  }

  async deleteInteractionLogin(uid: string): Promise<void> {
    return this.database.write(() => {
      this.statements.deleteLogin.run(loginKey(uid));
    });
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.database.write(() => this.database.insertAudit(entry));
  }
}
