/**
 * The login service's store on the host's SQLite database (host/store/sqlite-database.ts):
 * organisations, people, code cards, key files and browser sessions, their rows and the mapping to
 * the records of types.ts. Every write goes through the database's group-committed `write()`, in a
 * savepoint of its own, every versioned change through its one compare-and-set, each with its
 * audit record. `user_id` compares with NOCASE, which folds ASCII letters only.
 */
import type { NewAuditEntry } from '../../store/audit.ts';
import { sqlValue, type Migration, type SqliteDatabase, type TableShape } from '../../store/sqlite-database.ts';
import {
  DuplicateOrganisationError,
  DuplicatePersonError,
  type CodeCardChanges,
  type CodeCardRecord,
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

interface OrganisationRow {
  id: string;
  cvr: string;
  name: string;
  created_at: number;
}

interface PersonRow {
  id: string;
  user_id: string | null;
  name: string;
  cpr_digest: string | null;
  birth_date: string | null;
  scope: string;
  organisation_id: string | null;
  role: string | null;
  password_hash: string | null;
  password_temporary: number;
  state: string;
  fail_count: number;
  card_threshold: number;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  version: number;
}

interface CardRow {
  serial: string;
  person_id: string;
  sealed_secret: Buffer;
  state: string;
  used_keys: Buffer;
  keys_left: number;
  pending_index: number | null;
  extra: number;
  successor_issued: number;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  version: number;
}

interface KeyFileRow {
  id: string;
  person_id: string;
  state: string;
  activation_digest: string | null;
  activation_expires_at: number | null;
  public_key: Buffer | null;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  version: number;
}

interface SessionRow {
  digest: string;
  stage: string;
  person_id: string | null;
  csrf_token: string;
  challenge: string | null;
  card_serial: string | null;
  created_at: number;
  expires_at: number;
  refusals: number;
}

// Blobs come back as Buffers; records carry plain Uint8Arrays (a copy), as the token records do.
const toOrganisation = (row: OrganisationRow): OrganisationRecord => ({ id: row.id, cvr: row.cvr, name: row.name, createdAt: row.created_at });

const toPerson = (row: PersonRow): PersonRecord => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  cprDigest: row.cpr_digest,
  birthDate: row.birth_date,
  scope: row.scope as PersonRecord['scope'],
  organisationId: row.organisation_id,
  role: row.role as PersonRecord['role'],
  passwordHash: row.password_hash,
  passwordTemporary: row.password_temporary === 1,
  state: row.state as PersonRecord['state'],
  failCount: row.fail_count,
  cardThreshold: row.card_threshold,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastLoginAt: row.last_login_at,
  version: row.version,
});

const toCard = (row: CardRow): CodeCardRecord => ({
  serial: row.serial,
  personId: row.person_id,
  sealedSecret: new Uint8Array(row.sealed_secret),
  state: row.state as CodeCardRecord['state'],
  usedKeys: new Uint8Array(row.used_keys),
  keysLeft: row.keys_left,
  pendingIndex: row.pending_index,
  extra: row.extra === 1,
  successorIssued: row.successor_issued === 1,
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  updatedAt: row.updated_at,
  version: row.version,
});

const toKeyFile = (row: KeyFileRow): KeyFileRecord => ({
  id: row.id,
  personId: row.person_id,
  state: row.state as KeyFileRecord['state'],
  activationDigest: row.activation_digest,
  activationExpiresAt: row.activation_expires_at,
  publicKey: row.public_key && new Uint8Array(row.public_key),
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  updatedAt: row.updated_at,
  version: row.version,
});

const toSession = (row: SessionRow): SessionRecord => ({
  digest: row.digest,
  stage: row.stage as SessionRecord['stage'],
  personId: row.person_id,
  csrfToken: row.csrf_token,
  challenge: row.challenge,
  cardSerial: row.card_serial,
  refusals: row.refusals,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

const PEOPLE: TableShape = {
  table: 'people',
  key: 'id',
  columns: {
    userId: 'user_id',
    passwordHash: 'password_hash',
    passwordTemporary: 'password_temporary',
    state: 'state',
    failCount: 'fail_count',
    cardThreshold: 'card_threshold',
    lastLoginAt: 'last_login_at',
    role: 'role',
  } satisfies Record<keyof PersonChanges, string>,
};

const CARDS: TableShape = {
  table: 'code_cards',
  key: 'serial',
  columns: {
    state: 'state',
    usedKeys: 'used_keys',
    keysLeft: 'keys_left',
    pendingIndex: 'pending_index',
    successorIssued: 'successor_issued',
    activatedAt: 'activated_at',
  } satisfies Record<keyof CodeCardChanges, string>,
};

const KEY_FILES: TableShape = {
  table: 'key_files',
  key: 'id',
  columns: {
    state: 'state',
    activationDigest: 'activation_digest',
    activationExpiresAt: 'activation_expires_at',
    publicKey: 'public_key',
    activatedAt: 'activated_at',
  } satisfies Record<keyof KeyFileChanges, string>,
};

const SESSIONS: TableShape = {
  table: 'sessions',
  key: 'digest',
  columns: {
    stage: 'stage',
    personId: 'person_id',
    challenge: 'challenge',
    cardSerial: 'card_serial',
    expiresAt: 'expires_at',
  } satisfies Record<keyof SessionChanges, string>,
};

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
      this.statements.insertCard.run({
        serial: card.serial,
        personId: card.personId,
        sealedSecret: sqlValue(card.sealedSecret),
        state: card.state,
        usedKeys: sqlValue(card.usedKeys),
        keysLeft: card.keysLeft,
        extra: sqlValue(card.extra),
        now: audit.at,
      });
      this.database.insertAudit(audit);
      return toCard(this.statements.getCard.get(card.serial)!);
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
