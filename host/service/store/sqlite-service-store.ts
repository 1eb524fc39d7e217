/**
 * The login service's store on the host's SQLite database (host/store/sqlite-database.ts):
 * organisations, people, code cards, key files and browser sessions, their rows and the mapping to
 * the records of types.ts. Every write goes through the database's group-committed `write()`, in a
 * savepoint of its own, every versioned change through its one compare-and-set, each with its
 * audit record. `user_id` compares with NOCASE, which folds ASCII letters only.
 */
import type { NewAuditEntry } from '../../store/audit.ts';
import { sqlValue, type Migration, type SqliteDatabase } from '../../store/sqlite-database.ts';
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
  type CardRow,
  type KeyFileRow,
  type OrganisationRow,
  type PersonRow,
  type SessionRow,
} from './service-rows.ts';

/** The service's tables (1); the sessions' refusals (2), which a file made before them gains in place. */
export const SERVICE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS organisations (
          id TEXT PRIMARY KEY,
          cvr TEXT NOT NULL UNIQUE,
          name TEXT NOT NULL,
          created_at INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE IF NOT EXISTS people (
          id TEXT PRIMARY KEY,
          user_id TEXT COLLATE NOCASE UNIQUE,
          name TEXT NOT NULL,
          cpr_digest TEXT UNIQUE,
          birth_date TEXT,
          scope TEXT NOT NULL CHECK (scope IN ('full', 'view-only', 'bank-only')),
          organisation_id TEXT REFERENCES organisations (id),
          role TEXT CHECK (role IN ('employee', 'administrator')),
          password_hash TEXT,
          password_temporary INTEGER NOT NULL CHECK (password_temporary IN (0, 1)),
          state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'locked', 'blocked')),
          fail_count INTEGER NOT NULL CHECK (fail_count >= 0),
          card_threshold INTEGER NOT NULL CHECK (card_threshold >= 0),
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          last_login_at INTEGER,
          version INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS people_organisation ON people (organisation_id);
        CREATE TABLE IF NOT EXISTS code_cards (
          serial TEXT PRIMARY KEY,
          person_id TEXT NOT NULL REFERENCES people (id),
          sealed_secret BLOB NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('issued', 'active', 'used-up', 'replaced', 'blocked')),
          used_keys BLOB NOT NULL CHECK (length(used_keys) = 19),
          keys_left INTEGER NOT NULL CHECK (keys_left BETWEEN 0 AND 148),
          pending_index INTEGER CHECK (pending_index BETWEEN 0 AND 147),
          extra INTEGER NOT NULL CHECK (extra IN (0, 1)),
          successor_issued INTEGER NOT NULL CHECK (successor_issued IN (0, 1)),
          created_at INTEGER NOT NULL,
          activated_at INTEGER,
          updated_at INTEGER NOT NULL,
          version INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS code_cards_person ON code_cards (person_id);
        CREATE TABLE IF NOT EXISTS key_files (
          id TEXT PRIMARY KEY,
          person_id TEXT NOT NULL REFERENCES people (id),
          state TEXT NOT NULL CHECK (state IN ('awaiting-activation', 'active', 'blocked')),
          activation_digest TEXT UNIQUE,
          activation_expires_at INTEGER,
          public_key BLOB,
          created_at INTEGER NOT NULL,
          activated_at INTEGER,
          updated_at INTEGER NOT NULL,
          version INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS key_files_person ON key_files (person_id);
        CREATE TABLE IF NOT EXISTS sessions (
          digest TEXT PRIMARY KEY,
          stage TEXT NOT NULL CHECK (stage IN ('anonymous', 'second-step', 'choose-credentials', 'authenticated')),
          person_id TEXT,
          csrf_token TEXT NOT NULL,
          challenge TEXT,
          card_serial TEXT,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          refusals INTEGER NOT NULL DEFAULT 0 CHECK (refusals >= 0)
        ) STRICT;
        CREATE INDEX IF NOT EXISTS sessions_person ON sessions (person_id);
        CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);`),
  },
  {
    version: 2,
    up: (db) => {
      const has = db.prepare<[string, string]>('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get('sessions', 'refusals') !== undefined;
      if (!has) db.exec('ALTER TABLE sessions ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0 CHECK (refusals >= 0)');
    },
  },
];

/** The column a UNIQUE constraint failure names (`UNIQUE constraint failed: people.user_id` → `user_id`). */
function uniqueViolation(error: unknown): string | undefined {
  if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
  return /UNIQUE constraint failed: \w+\.(\w+)/.exec((error as Error).message)?.[1];
}

function rethrowDuplicatePerson(error: unknown): never {
  const column = uniqueViolation(error);
  if (column === 'cpr_digest') throw new DuplicatePersonError('cpr');
  if (column === 'user_id') throw new DuplicatePersonError('userId');
  throw error;
}

export class SqliteServiceStore implements ServiceStore {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    database.migrate('service', SERVICE_MIGRATIONS);
    const db = database;
    this.statements = {
      insertOrganisation: db.prepare('INSERT INTO organisations (id, cvr, name, created_at) VALUES (@id, @cvr, @name, @createdAt)'),
      getOrganisation: db.prepare<[string], OrganisationRow>('SELECT * FROM organisations WHERE id = ?'),
      getOrganisationByCvr: db.prepare<[string], OrganisationRow>('SELECT * FROM organisations WHERE cvr = ?'),
      insertPerson: db.prepare(`INSERT INTO people (id, user_id, name, cpr_digest, birth_date, scope, organisation_id, role, password_hash,
        password_temporary, state, fail_count, card_threshold, created_at, updated_at, last_login_at, version)
        VALUES (@id, @userId, @name, @cprDigest, @birthDate, @scope, @organisationId, @role, @passwordHash,
        @passwordTemporary, @state, 0, @cardThreshold, @now, @now, NULL, 1)`),
      getPerson: db.prepare<[string], PersonRow>('SELECT * FROM people WHERE id = ?'),
      getPersonByUserId: db.prepare<[string], PersonRow>('SELECT * FROM people WHERE user_id = ?'),
      listPeople: db.prepare<[Record<string, string | number>], PersonRow>('SELECT * FROM people ORDER BY created_at, id LIMIT @limit OFFSET @offset'),
      listPeopleOf: db.prepare<[Record<string, string | number>], PersonRow>(
        'SELECT * FROM people WHERE organisation_id = @organisationId ORDER BY created_at, id LIMIT @limit OFFSET @offset',
      ),
      recordPersonFailure: db.prepare(`UPDATE people SET fail_count = fail_count + 1,
        state = CASE WHEN state IN ('pending', 'active') AND fail_count + 1 >= @maxFail THEN 'locked' ELSE state END,
        version = version + 1, updated_at = @now WHERE id = @id`),
      insertCard: db.prepare(`INSERT INTO code_cards (serial, person_id, sealed_secret, state, used_keys, keys_left, pending_index, extra,
        successor_issued, created_at, activated_at, updated_at, version)
        VALUES (@serial, @personId, @sealedSecret, @state, @usedKeys, @keysLeft, NULL, @extra, 0, @now, NULL, @now, 1)`),
      getCard: db.prepare<[string], CardRow>('SELECT * FROM code_cards WHERE serial = ?'),
      countExtraAlive: db.prepare<[string], { alive: number }>(
        `SELECT count(*) AS alive FROM code_cards WHERE person_id = ? AND extra = 1 AND state IN (${ALIVE_EXTRA_STATES.map((state) => `'${state}'`).join(', ')})`,
      ),
      listCards: db.prepare<[string], CardRow>('SELECT * FROM code_cards WHERE person_id = ? ORDER BY created_at DESC, serial'),
      insertKeyFile: db.prepare(`INSERT INTO key_files (id, person_id, state, activation_digest, activation_expires_at, public_key,
        created_at, activated_at, updated_at, version)
        VALUES (@id, @personId, 'awaiting-activation', @activationDigest, @activationExpiresAt, NULL, @now, NULL, @now, 1)`),
      getKeyFile: db.prepare<[string], KeyFileRow>('SELECT * FROM key_files WHERE id = ?'),
      getKeyFileByActivation: db.prepare<[string], KeyFileRow>('SELECT * FROM key_files WHERE activation_digest = ?'),
      listKeyFiles: db.prepare<[string], KeyFileRow>('SELECT * FROM key_files WHERE person_id = ? ORDER BY created_at DESC, id'),
      sweepSessions: db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?'),
      insertSession: db.prepare(`INSERT INTO sessions (digest, stage, person_id, csrf_token, challenge, card_serial, refusals, created_at, expires_at)
        VALUES (@digest, @stage, @personId, @csrfToken, @challenge, @cardSerial, @refusals, @createdAt, @expiresAt)`),
      takeSessionRefusal: db.prepare<[string, number], { refusals: number }>('UPDATE sessions SET refusals = refusals + 1 WHERE digest = ? AND refusals < ? RETURNING refusals'),
      returnSessionRefusal: db.prepare<[string]>('UPDATE sessions SET refusals = refusals - 1 WHERE digest = ? AND refusals > 0'),
      getSession: db.prepare<[string, number], SessionRow>('SELECT * FROM sessions WHERE digest = ? AND expires_at > ?'),
      deleteSession: db.prepare<[string]>('DELETE FROM sessions WHERE digest = ?'),
      deleteSessionsOf: db.prepare<[string, string]>('DELETE FROM sessions WHERE person_id = ? AND digest != ?'),
    };
  }

  // Writes: each in the database's write(), its audit record in the same savepoint.

  async insertOrganisation(organisation: OrganisationRecord, audit: NewAuditEntry): Promise<void> {
    return this.database.write(() => {
      try {
        this.statements.insertOrganisation.run({ id: organisation.id, cvr: organisation.cvr, name: organisation.name, createdAt: organisation.createdAt });
      } catch (error) {
        if (uniqueViolation(error) === 'cvr') throw new DuplicateOrganisationError(organisation.cvr);
        throw error;
      }
      this.database.insertAudit(audit);
    });
  }

  async insertPerson(person: NewPerson, audit: NewAuditEntry): Promise<PersonRecord> {
    return this.database.write(() => {
      try {
        this.statements.insertPerson.run({
          id: person.id,
          userId: person.userId,
          name: person.name,
          cprDigest: person.cprDigest,
          birthDate: person.birthDate,
          scope: person.scope,
          organisationId: person.organisationId,
          role: person.role,
          passwordHash: person.passwordHash,
          passwordTemporary: sqlValue(person.passwordTemporary),
          state: person.state,
          cardThreshold: person.cardThreshold,
          now: audit.at,
        });
      } catch (error) {
        rethrowDuplicatePerson(error);
      }
      this.database.insertAudit(audit);
      return toPerson(this.statements.getPerson.get(person.id)!);
    });
  }

  async updatePerson(id: string, expectedVersion: number, changes: PersonChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.database.write(() => {
      try {
        return this.database.compareAndSet(PEOPLE, id, expectedVersion, changes, audit);
      } catch (error) {
        rethrowDuplicatePerson(error);
      }
    });
  }

  async recordPersonFailure(id: string, maxFail: number, audit: (counted: PersonRecord) => NewAuditEntry): Promise<PersonRecord | undefined> {
    return this.database.write(() => {
      if (this.statements.recordPersonFailure.run({ id, maxFail, now: Date.now() }).changes !== 1) return undefined;
      const counted = toPerson(this.statements.getPerson.get(id)!);
      this.database.insertAudit(audit(counted));
      return counted;
    });
  }

  async insertCard(card: NewCodeCard, audit: NewAuditEntry): Promise<CodeCardRecord> {
    return this.database.write(() => {
      this.insertCardRow(card, audit.at);
      this.database.insertAudit(audit);
      return toCard(this.statements.getCard.get(card.serial)!);
    });
  }

  /** One write (a savepoint of the batch's IMMEDIATE transaction, on this process's one connection): the count and the inserts are never split. */
  async insertExtraCards(personId: string, expectedVersion: number, cards: readonly { readonly card: NewCodeCard; readonly audit: NewAuditEntry }[], max: number, refused: (alive: number) => NewAuditEntry): Promise<ExtraCardsOutcome> {
    return this.database.write((): ExtraCardsOutcome => {
      const person = this.statements.getPerson.get(personId);
      if (!person) throw new Error(`no person ${personId} to order extra cards for`);
      const alive = this.statements.countExtraAlive.get(personId)!.alive;
      if (person.version !== expectedVersion) return { inserted: [], alive, changed: true };
      if (alive + cards.length > max) {
        this.database.insertAudit(refused(alive));
        return { inserted: [], alive };
      }
      const inserted = cards.map(({ card, audit }) => {
        this.insertCardRow({ ...card, personId, extra: true }, audit.at);
        this.database.insertAudit(audit);
        return toCard(this.statements.getCard.get(card.serial)!);
      });
      return { inserted, alive: alive + inserted.length };
    });
  }

  private insertCardRow(card: NewCodeCard, at: number): void {
    this.statements.insertCard.run({
      serial: card.serial,
      personId: card.personId,
      sealedSecret: sqlValue(card.sealedSecret),
      state: card.state,
      usedKeys: sqlValue(card.usedKeys),
      keysLeft: card.keysLeft,
      extra: sqlValue(card.extra),
      now: at,
    });
  }

  async updateCard(serial: string, expectedVersion: number, changes: CodeCardChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.database.write(() => this.database.compareAndSet(CARDS, serial, expectedVersion, changes, audit));
  }

  async insertKeyFile(keyFile: NewKeyFile, audit: NewAuditEntry): Promise<KeyFileRecord> {
    return this.database.write(() => {
      this.statements.insertKeyFile.run({
        id: keyFile.id,
        personId: keyFile.personId,
        activationDigest: keyFile.activationDigest,
        activationExpiresAt: keyFile.activationExpiresAt,
        now: audit.at,
      });
      this.database.insertAudit(audit);
      return toKeyFile(this.statements.getKeyFile.get(keyFile.id)!);
    });
  }

  async updateKeyFile(id: string, expectedVersion: number, changes: KeyFileChanges, audit: NewAuditEntry | null): Promise<boolean> {
    return this.database.write(() => this.database.compareAndSet(KEY_FILES, id, expectedVersion, changes, audit));
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.database.write(() => this.database.insertAudit(entry));
  }

  /**
   * Also deletes the sessions expired by the new one's `createdAt` (the service's clock, which
   * tests move; the wall clock could sweep sessions the service still counts as live).
   */
  async insertSession(session: SessionRecord): Promise<void> {
    return this.database.write(() => {
      this.statements.sweepSessions.run(session.createdAt);
      this.statements.insertSession.run({
        digest: session.digest,
        stage: session.stage,
        personId: session.personId,
        csrfToken: session.csrfToken,
        challenge: session.challenge,
        cardSerial: session.cardSerial,
        refusals: session.refusals,
        createdAt: session.createdAt,
        expiresAt: session.expiresAt,
      });
    });
  }

  async takeSessionRefusal(digest: string, max: number): Promise<number | undefined> {
    return this.database.write(() => this.statements.takeSessionRefusal.get(digest, max)?.refusals);
  }

  async returnSessionRefusal(digest: string): Promise<void> {
    return this.database.write(() => {
      this.statements.returnSessionRefusal.run(digest);
    });
  }

  async updateSession(digest: string, changes: SessionChanges): Promise<void> {
    return this.database.write(() => this.database.update(SESSIONS, digest, changes));
  }

  async deleteSession(digest: string): Promise<void> {
    return this.database.write(() => {
      this.statements.deleteSession.run(digest);
    });
  }

  async deleteSessionsOf(personId: string, except = ''): Promise<void> {
    return this.database.write(() => {
      this.statements.deleteSessionsOf.run(personId, except);
    });
  }

  // Reads: immediate, and they see the writes of the batch not yet committed (one connection).

  async getOrganisation(id: string): Promise<OrganisationRecord | undefined> {
    const row = this.statements.getOrganisation.get(id);
    return row && toOrganisation(row);
  }

  async getOrganisationByCvr(cvr: string): Promise<OrganisationRecord | undefined> {
    const row = this.statements.getOrganisationByCvr.get(cvr);
    return row && toOrganisation(row);
  }

  async getPerson(id: string): Promise<PersonRecord | undefined> {
    const row = this.statements.getPerson.get(id);
    return row && toPerson(row);
  }

  async getPersonByUserId(userId: string): Promise<PersonRecord | undefined> {
    const row = this.statements.getPersonByUserId.get(userId);
    return row && toPerson(row);
  }

  /** In order of creation (then id), so that pages of `limit`/`offset` are stable. */
  async listPeople(filter: { readonly organisationId?: string; readonly limit?: number; readonly offset?: number }): Promise<PersonRecord[]> {
    const page = { limit: filter.limit ?? 1000, offset: filter.offset ?? 0 };
    const rows =
      filter.organisationId === undefined ? this.statements.listPeople.all(page) : this.statements.listPeopleOf.all({ ...page, organisationId: filter.organisationId });
    return rows.map(toPerson);
  }

  async getCard(serial: string): Promise<CodeCardRecord | undefined> {
    const row = this.statements.getCard.get(serial);
    return row && toCard(row);
  }

  async listCards(personId: string): Promise<CodeCardRecord[]> {
    return this.statements.listCards.all(personId).map(toCard);
  }

  async getKeyFile(id: string): Promise<KeyFileRecord | undefined> {
    const row = this.statements.getKeyFile.get(id);
    return row && toKeyFile(row);
  }

  /** Whatever its state and expiry (the caller judges those); the digest is UNIQUE, so at most one. */
  async getKeyFileByActivation(activationDigest: string): Promise<KeyFileRecord | undefined> {
    const row = this.statements.getKeyFileByActivation.get(activationDigest);
    return row && toKeyFile(row);
  }

  /** Newest first, like the cards. */
  async listKeyFiles(personId: string): Promise<KeyFileRecord[]> {
    return this.statements.listKeyFiles.all(personId).map(toKeyFile);
  }

  async getSession(digest: string, now: number): Promise<SessionRecord | undefined> {
    const row = this.statements.getSession.get(digest, now);
    return row && toSession(row);
  }
}
