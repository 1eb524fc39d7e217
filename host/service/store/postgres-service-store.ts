/**
 * The login service's store on PostgreSQL (host/store/postgres/postgres-database.ts), shared by
 * every server node of a cluster: organisations, people, code cards, key files and the browser
 * sessions, so that a person may take step 1 of a login on one node and step 2 on another. The
 * tables are the SQLite store's (same names, same columns; booleans as 0/1 integers), their rows
 * mapped by service-rows.ts. As on SQLite, every versioned change is the database's one
 * compare-and-set with its audit record, a failure and a session's refusal are counted by one
 * conditional UPDATE, never read-then-write, and nothing is cached (another node may have changed
 * any row since). `user_id` is unique by `lower(user_id)`: user-ids are ASCII (passwords.ts), where
 * that is what SQLite's NOCASE compares.
 */
import type { NewAuditEntry } from '../../store/audit.ts';
import { pgValue, type PostgresDatabase, type PostgresMigration, type Queryable } from '../../store/postgres/postgres-database.ts';
import {
  ALIVE_EXTRA_STATES,
  CARDS,
  KEY_FILES,
  PEOPLE,
  SESSIONS,
  toCard,
  toKeyFile,
  toOrganisation,
  toPerson,
  toSession,
  withIntegerFlags,
  type CardRow,
  type KeyFileRow,
  type OrganisationRow,
  type PersonRow,
  type SessionRow,
} from './service-rows.ts';
import {
  DuplicateOrganisationError,
  DuplicatePersonError,
  type CodeCardChanges,
  type CodeCardRecord,
  type ExtraCardsOutcome,
  type KeyFileChanges,
  type KeyFileRecord,
  type NewCodeCard,
  type NewKeyFile,
  type NewPerson,
  type OrganisationRecord,
  type PersonChanges,
  type PersonRecord,
  type ServiceStore,
  type SessionChanges,
  type SessionRecord,
} from './types.ts';

/** The service's tables, in the layout the SQLite store reached with its second migration. */
export const POSTGRES_SERVICE_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS organisations (
        id TEXT PRIMARY KEY,
        cvr TEXT NOT NULL CONSTRAINT organisations_cvr UNIQUE,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS people (
        id TEXT PRIMARY KEY,
        user_id TEXT,
        name TEXT NOT NULL,
        cpr_digest TEXT CONSTRAINT people_cpr_digest UNIQUE,
        birth_date TEXT,
        scope TEXT NOT NULL CHECK (scope IN ('full', 'view-only', 'bank-only')),
        organisation_id TEXT REFERENCES organisations (id),
        role TEXT CHECK (role IN ('employee', 'administrator')),
        password_hash TEXT,
        password_temporary INTEGER NOT NULL CHECK (password_temporary IN (0, 1)),
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'locked', 'blocked')),
        fail_count INTEGER NOT NULL CHECK (fail_count >= 0),
        card_threshold INTEGER NOT NULL CHECK (card_threshold >= 0),
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_login_at BIGINT,
        version INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS people_user_id ON people (lower(user_id));
      CREATE INDEX IF NOT EXISTS people_organisation ON people (organisation_id);
      CREATE TABLE IF NOT EXISTS code_cards (
        serial TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id),
        sealed_secret BYTEA NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('issued', 'active', 'used-up', 'replaced', 'blocked')),
        used_keys BYTEA NOT NULL CHECK (length(used_keys) = 19),
        keys_left INTEGER NOT NULL CHECK (keys_left BETWEEN 0 AND 148),
        pending_index INTEGER CHECK (pending_index BETWEEN 0 AND 147),
        extra INTEGER NOT NULL CHECK (extra IN (0, 1)),
        successor_issued INTEGER NOT NULL CHECK (successor_issued IN (0, 1)),
        created_at BIGINT NOT NULL,
        activated_at BIGINT,
        updated_at BIGINT NOT NULL,
        version INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS code_cards_person ON code_cards (person_id);
      CREATE TABLE IF NOT EXISTS key_files (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id),
        state TEXT NOT NULL CHECK (state IN ('awaiting-activation', 'active', 'blocked')),
        activation_digest TEXT CONSTRAINT key_files_activation_digest UNIQUE,
        activation_expires_at BIGINT,
        public_key BYTEA,
        created_at BIGINT NOT NULL,
        activated_at BIGINT,
        updated_at BIGINT NOT NULL,
        version INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS key_files_person ON key_files (person_id);
      CREATE TABLE IF NOT EXISTS sessions (
        digest TEXT PRIMARY KEY,
        stage TEXT NOT NULL CHECK (stage IN ('anonymous', 'second-step', 'choose-credentials', 'authenticated')),
        person_id TEXT,
        csrf_token TEXT NOT NULL,
        challenge TEXT,
        card_serial TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        refusals INTEGER NOT NULL DEFAULT 0 CHECK (refusals >= 0)
      );
      CREATE INDEX IF NOT EXISTS sessions_person ON sessions (person_id);
      CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);`,
  },
];

/** The unique constraint (or index) a unique violation names; undefined for any other error. */
function uniqueViolation(error: unknown): string | undefined {
  const { code, constraint } = error as { code?: string; constraint?: string };
  return code === '23505' ? constraint : undefined;
}

function rethrowDuplicatePerson(error: unknown): never {
  const constraint = uniqueViolation(error);
  if (constraint === 'people_cpr_digest') throw new DuplicatePersonError('cpr');
  if (constraint === 'people_user_id') throw new DuplicatePersonError('userId');
  throw error;
}

const ALIVE_EXTRA = `extra = 1 AND state IN (${ALIVE_EXTRA_STATES.map((state) => `'${state}'`).join(', ')})`;

export class PostgresServiceStore implements ServiceStore {
  private constructor(private readonly database: PostgresDatabase) {}

  /** The store on `database`, its tables brought up to date (under the migration lock). */
  static async open(database: PostgresDatabase): Promise<PostgresServiceStore> {
    await database.migrate('service', POSTGRES_SERVICE_MIGRATIONS);
    return new PostgresServiceStore(database);
  }

  // Writes: each in the database's group-committed write(), its audit record in the same transaction.

  /** Whichever unique key the insert meets first (the id or the CVR number), a CVR number already registered is a DuplicateOrganisationError. */
  async insertOrganisation(organisation: OrganisationRecord, audit: NewAuditEntry): Promise<void> {
    return this.database.write(async (client) => {
      const { rowCount } = await client.query('INSERT INTO organisations (id, cvr, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        organisation.id,
        organisation.cvr,
        organisation.name,
        organisation.createdAt,
      ]);
      if (rowCount !== 1) {
        const taken = await client.query('SELECT 1 FROM organisations WHERE cvr = $1', [organisation.cvr]);
        if (taken.rowCount === 1) throw new DuplicateOrganisationError(organisation.cvr);
        throw new Error(`an organisation with the id ${organisation.id} is already registered`);
      }
      await this.database.insertAudit(client, audit);
    });
  }

  async insertPerson(person: NewPerson, audit: NewAuditEntry): Promise<PersonRecord> {
    return this.database.write(async (client) => {
      let row: PersonRow;
      try {
        [row] = (
          await client.query<PersonRow>(
            `INSERT INTO people (id, user_id, name, cpr_digest, birth_date, scope, organisation_id, role, password_hash,
              password_temporary, state, fail_count, card_threshold, created_at, updated_at, last_login_at, version)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $13, NULL, 1) RETURNING *`,
            [
              person.id,
              person.userId,
              person.name,
              person.cprDigest,
              person.birthDate,
              person.scope,
              person.organisationId,
              person.role,
              person.passwordHash,
              person.passwordTemporary ? 1 : 0,
              person.state,
              person.cardThreshold,
              audit.at,
            ],
          )
        ).rows as [PersonRow];
      } catch (error) {
        rethrowDuplicatePerson(error);
      }
      await this.database.insertAudit(client, audit);
      return toPerson(row);
    });
  }

  async updatePerson(id: string, expectedVersion: number, changes: PersonChanges, audit: NewAuditEntry | null): Promise<boolean> {
    const updatedAt = audit?.at ?? Date.now();
    return this.database.write(async (client) => {
      try {
        return await this.database.compareAndSet(client, PEOPLE, id, expectedVersion, withIntegerFlags(changes), audit, updatedAt);
      } catch (error) {
        rethrowDuplicatePerson(error);
      }
    });
  }

  async recordPersonFailure(id: string, maxFail: number, audit: (counted: PersonRecord) => NewAuditEntry): Promise<PersonRecord | undefined> {
    const now = Date.now();
    return this.database.write(async (client) => {
      const [row] = (
        await client.query<PersonRow>(
          `UPDATE people SET fail_count = fail_count + 1,
            state = CASE WHEN state IN ('pending', 'active') AND fail_count + 1 >= $2 THEN 'locked' ELSE state END,
            version = version + 1, updated_at = $3 WHERE id = $1 RETURNING *`,
          [id, maxFail, now],
        )
      ).rows;
      if (!row) return undefined;
      const counted = toPerson(row);
      await this.database.insertAudit(client, audit(counted));
      return counted;
    });
  }

  async insertCard(card: NewCodeCard, audit: NewAuditEntry): Promise<CodeCardRecord> {
    return this.database.write(async (client) => {
      const record = await this.insertCardRow(client, card, audit.at);
      await this.database.insertAudit(client, audit);
      return record;
    });
  }

  /**
   * The person's row is locked first (`FOR UPDATE`, to the commit): orders for the same person on
   * any node take turns, and each counts the cards the one before it inserted.
   */
  async insertExtraCards(personId: string, expectedVersion: number, cards: readonly { readonly card: NewCodeCard; readonly audit: NewAuditEntry }[], max: number, refused: (alive: number) => NewAuditEntry): Promise<ExtraCardsOutcome> {
    return this.database.write(async (client): Promise<ExtraCardsOutcome> => {
      const held = await client.query<{ version: number }>('SELECT version FROM people WHERE id = $1 FOR UPDATE', [personId]);
      if (held.rowCount !== 1) throw new Error(`no person ${personId} to order extra cards for`);
      const [{ alive }] = (await client.query<{ alive: number }>(`SELECT count(*)::int AS alive FROM code_cards WHERE person_id = $1 AND ${ALIVE_EXTRA}`, [personId])).rows as [{ alive: number }];
      if (Number(held.rows[0]!.version) !== expectedVersion) return { inserted: [], alive, changed: true };
      if (alive + cards.length > max) {
        await this.database.insertAudit(client, refused(alive));
        return { inserted: [], alive };
      }
      const inserted: CodeCardRecord[] = [];
      for (const { card, audit } of cards) {
        inserted.push(await this.insertCardRow(client, { ...card, personId, extra: true }, audit.at));
        await this.database.insertAudit(client, audit);
      }
      return { inserted, alive: alive + inserted.length };
    });
  }

  private async insertCardRow(client: Queryable, card: NewCodeCard, at: number): Promise<CodeCardRecord> {
    const { rows } = await client.query<CardRow>(
      `INSERT INTO code_cards (serial, person_id, sealed_secret, state, used_keys, keys_left, pending_index, extra,
        successor_issued, created_at, activated_at, updated_at, version)
        VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, 0, $8, NULL, $8, 1) RETURNING *`,
      [card.serial, card.personId, pgValue(card.sealedSecret), card.state, pgValue(card.usedKeys), card.keysLeft, card.extra ? 1 : 0, at],
    );
    return toCard(rows[0]!);
  }

  async updateCard(serial: string, expectedVersion: number, changes: CodeCardChanges, audit: NewAuditEntry | null): Promise<boolean> {
    const updatedAt = audit?.at ?? Date.now();
    return this.database.write((client) => this.database.compareAndSet(client, CARDS, serial, expectedVersion, withIntegerFlags(changes), audit, updatedAt));
  }

  async insertKeyFile(keyFile: NewKeyFile, audit: NewAuditEntry): Promise<KeyFileRecord> {
    return this.database.write(async (client) => {
      const { rows } = await client.query<KeyFileRow>(
        `INSERT INTO key_files (id, person_id, state, activation_digest, activation_expires_at, public_key, created_at, activated_at, updated_at, version)
          VALUES ($1, $2, 'awaiting-activation', $3, $4, NULL, $5, NULL, $5, 1) RETURNING *`,
        [keyFile.id, keyFile.personId, keyFile.activationDigest, keyFile.activationExpiresAt, audit.at],
      );
      await this.database.insertAudit(client, audit);
      return toKeyFile(rows[0]!);
    });
  }

  async updateKeyFile(id: string, expectedVersion: number, changes: KeyFileChanges, audit: NewAuditEntry | null): Promise<boolean> {
    const updatedAt = audit?.at ?? Date.now();
    return this.database.write((client) => this.database.compareAndSet(client, KEY_FILES, id, expectedVersion, changes, audit, updatedAt));
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.database.write((client) => this.database.insertAudit(client, entry));
  }

  /**
   * Also deletes the sessions expired by the new one's `createdAt` (the service's clock, as on
   * SQLite), but only those no other transaction holds: nodes sweeping together never wait for
   * each other, and whatever one skips the next sweep takes.
   */
  async insertSession(session: SessionRecord): Promise<void> {
    return this.database.write(async (client) => {
      await client.query('DELETE FROM sessions WHERE digest IN (SELECT digest FROM sessions WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)', [session.createdAt]);
      await client.query(
        `INSERT INTO sessions (digest, stage, person_id, csrf_token, challenge, card_serial, refusals, created_at, expires_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [session.digest, session.stage, session.personId, session.csrfToken, session.challenge, session.cardSerial, session.refusals, session.createdAt, session.expiresAt],
      );
    });
  }

  async takeSessionRefusal(digest: string, max: number): Promise<number | undefined> {
    return this.database.write(async (client) => {
      const { rows } = await client.query<{ refusals: number }>('UPDATE sessions SET refusals = refusals + 1 WHERE digest = $1 AND refusals < $2 RETURNING refusals', [digest, max]);
      return rows[0]?.refusals;
    });
  }

  async returnSessionRefusal(digest: string): Promise<void> {
    await this.database.write((client) => client.query('UPDATE sessions SET refusals = refusals - 1 WHERE digest = $1 AND refusals > 0', [digest]));
  }

  async updateSession(digest: string, changes: SessionChanges): Promise<void> {
    return this.database.write((client) => this.database.update(client, SESSIONS, digest, changes));
  }

  async deleteSession(digest: string): Promise<void> {
    await this.database.write((client) => client.query('DELETE FROM sessions WHERE digest = $1', [digest]));
  }

  async deleteSessionsOf(personId: string, except = ''): Promise<void> {
    await this.database.write((client) => client.query('DELETE FROM sessions WHERE person_id = $1 AND digest <> $2', [personId, except]));
  }

  // Reads: on the primary, after every write they follow has committed.

  async getOrganisation(id: string): Promise<OrganisationRecord | undefined> {
    const [row] = await this.database.read<OrganisationRow>('SELECT * FROM organisations WHERE id = $1', [id]);
    return row && toOrganisation(row);
  }

  async getOrganisationByCvr(cvr: string): Promise<OrganisationRecord | undefined> {
    const [row] = await this.database.read<OrganisationRow>('SELECT * FROM organisations WHERE cvr = $1', [cvr]);
    return row && toOrganisation(row);
  }

  async getPerson(id: string): Promise<PersonRecord | undefined> {
    const [row] = await this.database.read<PersonRow>('SELECT * FROM people WHERE id = $1', [id]);
    return row && toPerson(row);
  }

  async getPersonByUserId(userId: string): Promise<PersonRecord | undefined> {
    const [row] = await this.database.read<PersonRow>('SELECT * FROM people WHERE lower(user_id) = lower($1)', [userId]);
    return row && toPerson(row);
  }

  /** In order of creation (then id, bytewise as on SQLite), so that pages of `limit`/`offset` are stable. */
  async listPeople(filter: { readonly organisationId?: string; readonly limit?: number; readonly offset?: number }): Promise<PersonRecord[]> {
    const page = [filter.limit ?? 1000, filter.offset ?? 0];
    const rows =
      filter.organisationId === undefined
        ? await this.database.read<PersonRow>('SELECT * FROM people ORDER BY created_at, id COLLATE "C" LIMIT $1 OFFSET $2', page)
        : await this.database.read<PersonRow>('SELECT * FROM people WHERE organisation_id = $3 ORDER BY created_at, id COLLATE "C" LIMIT $1 OFFSET $2', [...page, filter.organisationId]);
    return rows.map(toPerson);
  }

  async getCard(serial: string): Promise<CodeCardRecord | undefined> {
    const [row] = await this.database.read<CardRow>('SELECT * FROM code_cards WHERE serial = $1', [serial]);
    return row && toCard(row);
  }

  async listCards(personId: string): Promise<CodeCardRecord[]> {
    return (await this.database.read<CardRow>('SELECT * FROM code_cards WHERE person_id = $1 ORDER BY created_at DESC, serial COLLATE "C"', [personId])).map(toCard);
  }

  async getKeyFile(id: string): Promise<KeyFileRecord | undefined> {
    const [row] = await this.database.read<KeyFileRow>('SELECT * FROM key_files WHERE id = $1', [id]);
    return row && toKeyFile(row);
  }

  async getKeyFileByActivation(activationDigest: string): Promise<KeyFileRecord | undefined> {
    const [row] = await this.database.read<KeyFileRow>('SELECT * FROM key_files WHERE activation_digest = $1', [activationDigest]);
    return row && toKeyFile(row);
  }

  async listKeyFiles(personId: string): Promise<KeyFileRecord[]> {
    return (await this.database.read<KeyFileRow>('SELECT * FROM key_files WHERE person_id = $1 ORDER BY created_at DESC, id COLLATE "C"', [personId])).map(toKeyFile);
  }

  async getSession(digest: string, now: number): Promise<SessionRecord | undefined> {
    const [row] = await this.database.read<SessionRow>('SELECT * FROM sessions WHERE digest = $1 AND expires_at > $2', [digest, now]);
    return row && toSession(row);
  }
}
