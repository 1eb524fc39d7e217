/**
 * The login service's store, the same tests on both stores (describe.each): SQLite on real files in
 * a temp dir, PostgreSQL on a database of its own per test on a throwaway primary
 * (test/support/postgres.ts). Every ServiceStore method, compare-and-set, duplicates, lockout
 * counting, blobs, sessions, the extra-card limit, durability across reopen and group commit; what
 * is committed is read through a connection of its own, independent of the store. Then what is one
 * store's own: the upgrades of SQLite files from earlier versions (beside the token store on the
 * same file); on PostgreSQL, tables that mirror SQLite's column for column, and several nodes (database objects with pools of their
 * own) counting failures, taking session refusals and ordering extra cards at the same moment.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/processes.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../../../test/support/postgres.ts';
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../../store/audit.ts';
import { PostgresDatabase } from '../../store/postgres/postgres-database.ts';
import { SqliteDatabase } from '../../store/sqlite-database.ts';
import { SqliteTokenStore } from '../../server/store/sqlite-token-store.ts';
import { PostgresServiceStore } from './postgres-service-store.ts';
import { SqliteServiceStore } from './sqlite-service-store.ts';
import { DuplicateOrganisationError, DuplicatePersonError, type CodeCardRecord, type NewCodeCard, type NewPerson, type PersonRecord, type ServiceStore, type SessionRecord } from './types.ts';

reportMissingPostgres();

const T0 = 1_800_000_000_000;

const audit = (action: string, serial: string | null, at = T0): NewAuditEntry => ({ at, actor: 'admin-test', action, serial, result: 'ok', detail: {} });

let people = 0;
function newPerson(overrides: Partial<NewPerson> = {}): NewPerson {
  people += 1;
  return {
    id: `P${String(people).padStart(12, '0')}`,
    userId: null,
    name: `Person ${people}`,
    cprDigest: randomBytes(32).toString('hex'),
    birthDate: '1980-02-29',
    scope: 'full',
    organisationId: null,
    role: null,
    passwordHash: 'scrypt$not-a-real-hash',
    passwordTemporary: true,
    state: 'pending',
    cardThreshold: 20,
    ...overrides,
  };
}

let cards = 0;
function newCard(personId: string, overrides: Partial<NewCodeCard> = {}): NewCodeCard {
  cards += 1;
  return {
    serial: `K${String(cards).padStart(9, '0')}`,
    personId,
    sealedSecret: new Uint8Array(randomBytes(60)),
    state: 'issued',
    usedKeys: new Uint8Array(19),
    keysLeft: 148,
    extra: false,
    ...overrides,
  };
}

function newSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    digest: randomBytes(32).toString('hex'),
    stage: 'anonymous',
    personId: null,
    csrfToken: randomBytes(16).toString('base64url'),
    challenge: null,
    cardSerial: null,
    refusals: 0,
    createdAt: T0,
    expiresAt: T0 + 15 * 60_000,
    ...overrides,
  };
}

/** A store opened on a backend's current storage, and what the tests ask of its database. */
interface Opened {
  readonly store: ServiceStore;
  readonly database: { listAudit(filter: AuditFilter): Promise<AuditEntry[]>; close(): Promise<void> };
}

interface Backend {
  readonly name: 'SQLite' | 'PostgreSQL';
  readonly available: boolean;
  /** Once per file (PostgreSQL: the primary). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** New, empty storage for the next test (a file, a database). */
  fresh(): Promise<void>;
  /** The store on the current storage, on a connection of its own. */
  open(): Promise<Opened>;
  /** Closes what `open` opened and removes what `fresh` made. */
  clean(): Promise<void>;
  /** How many rows of `table` have `column` = `value`, read through an independent connection: only what is committed. */
  committed(table: string, column: string, value: string): Promise<number>;
}

function sqliteBackend(): Backend {
  let dir = '';
  let file = '';
  const opened: SqliteDatabase[] = [];
  return {
    name: 'SQLite',
    available: true,
    start: async () => undefined,
    stop: async () => undefined,
    fresh: async () => {
      dir = tempDir('svcstore');
      file = path.join(dir, 'store.db');
    },
    open: async () => {
      const database = SqliteDatabase.open(file);
      opened.push(database);
      return { store: new SqliteServiceStore(database), database };
    },
    clean: async () => {
      for (const database of opened.splice(0)) await database.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
    committed: async (table, column, value) => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`).get(value) as { n: number }).n;
      } finally {
        db.close();
      }
    },
  };
}

function postgresBackend(): Backend {
  let primary: PostgresNode | undefined;
  let name = '';
  let url = '';
  const opened: PostgresDatabase[] = [];
  return {
    name: 'PostgreSQL',
    available: postgres.available,
    start: async () => {
      primary = await PostgresNode.startPrimary({ name: 'svcstore' });
    },
    stop: async () => {
      await primary?.kill();
    },
    fresh: async () => {
      const database = await primary!.createDatabase();
      name = database.name;
      url = connectionUrl(database, [primary!]);
    },
    open: async () => {
      const database = await PostgresDatabase.open(url);
      opened.push(database);
      return { store: await PostgresServiceStore.open(database), database };
    },
    clean: async () => {
      await Promise.all(opened.splice(0).map((database) => database.close().catch(() => undefined)));
    },
    committed: async (table, column, value) => (await primary!.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [value], name))[0]!.n,
  };
}

const BACKENDS = [sqliteBackend(), postgresBackend()];

describe.each(BACKENDS)('the service store on $name', (backend) => {
  let store: ServiceStore;
  let database: Opened['database'];
  const open = () => backend.open();

  beforeAll(async () => {
    if (backend.available) await backend.start();
  });
  afterAll(async () => {
    await backend.stop();
  });
  beforeEach(async (context) => {
    if (!backend.available) return context.skip();
    await backend.fresh();
    ({ store, database } = await open());
  });
  afterEach(async () => {
    await backend.clean();
  });

  describe('organisations', () => {
    it('stores, finds by id and by CVR, audits, and refuses a CVR taken', async () => {
      const org = { id: 'O1', cvr: '13585628', name: 'Bygherre ApS', createdAt: T0 };
      await store.insertOrganisation(org, audit('organisation-create', 'O1'));
      expect(await store.getOrganisation('O1')).toEqual(org);
      expect(await store.getOrganisationByCvr('13585628')).toEqual(org);
      expect(await store.getOrganisation('O2')).toBeUndefined();
      expect(await store.getOrganisationByCvr('00000000')).toBeUndefined();
      expect((await database.listAudit({ serial: 'O1' })).map((entry) => entry.action)).toEqual(['organisation-create']);

      const duplicate = store.insertOrganisation({ ...org, id: 'O2', name: 'Other' }, audit('organisation-create', 'O2'));
      await expect(duplicate).rejects.toBeInstanceOf(DuplicateOrganisationError);
      await expect(duplicate).rejects.toMatchObject({ cvr: '13585628' });
      expect(await store.getOrganisation('O2')).toBeUndefined();
      expect(await database.listAudit({ serial: 'O2' })).toEqual([]);
      // Two orders of one CVR number race with the same id (the service makes it from the number): still the CVR number taken.
      await expect(store.insertOrganisation({ ...org, name: 'Again' }, audit('organisation-create', 'O1'))).rejects.toBeInstanceOf(DuplicateOrganisationError);
      expect(await store.getOrganisation('O1')).toEqual(org);
    });
  });

  describe('people', () => {
    it('inserts a person as given, at version 1 with no failures, and audits it', async () => {
      const input = newPerson();
      const person = await store.insertPerson(input, audit('order', input.id, T0 + 5));
      expect(person).toEqual({ ...input, failCount: 0, createdAt: T0 + 5, updatedAt: T0 + 5, lastLoginAt: null, version: 1 });
      expect(await store.getPerson(input.id)).toEqual(person);
      expect(await store.getPerson('P-nobody')).toBeUndefined();
      expect(await database.listAudit({ serial: input.id })).toMatchObject([{ action: 'order', at: T0 + 5 }]);
    });

    it('keeps booleans and nulls apart from strings and numbers', async () => {
      const input = newPerson({ passwordTemporary: false, passwordHash: null, cprDigest: null, scope: 'bank-only', state: 'active' });
      const person = await store.insertPerson(input, audit('order', input.id));
      expect(person.passwordTemporary).toBe(false);
      expect(person.passwordHash).toBeNull();
      expect(person.cprDigest).toBeNull();
      expect(person.scope).toBe('bank-only');
    });

    it('lets many people be without a CPR number or a user-id', async () => {
      for (let i = 0; i < 3; i++) await store.insertPerson(newPerson({ cprDigest: null, userId: null }), audit('order', null));
      expect(await store.listPeople({})).toHaveLength(3);
    });

    it('finds a person by user-id whatever its case', async () => {
      const person = await store.insertPerson(newPerson({ userId: 'Anna.Hansen' }), audit('order', null));
      expect((await store.getPersonByUserId('anna.hansen'))?.id).toBe(person.id);
      expect((await store.getPersonByUserId('ANNA.HANSEN'))?.id).toBe(person.id);
      expect(await store.getPersonByUserId('anna.hanse')).toBeUndefined();
    });

    it('refuses a second person with the same CPR digest, as DuplicatePersonError("cpr"), storing nothing', async () => {
      const first = await store.insertPerson(newPerson(), audit('order', null));
      const second = newPerson({ cprDigest: first.cprDigest });
      const error = await store.insertPerson(second, audit('order', second.id)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicatePersonError);
      expect((error as DuplicatePersonError).field).toBe('cpr');
      expect(await store.getPerson(second.id)).toBeUndefined();
      expect(await database.listAudit({ serial: second.id })).toEqual([]);
    });

    it('refuses a user-id taken in another case, as DuplicatePersonError("userId")', async () => {
      await store.insertPerson(newPerson({ userId: 'Anna.Hansen' }), audit('order', null));
      const error = await store.insertPerson(newPerson({ userId: 'anna.hansen' }), audit('order', null)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicatePersonError);
      expect((error as DuplicatePersonError).field).toBe('userId');
    });

    it('refuses a person in an organisation that does not exist', async () => {
      await expect(store.insertPerson(newPerson({ organisationId: 'O-none', role: 'employee' }), audit('order', null))).rejects.toThrow();
    });

    it('lists people, by organisation, in pages', async () => {
      await store.insertOrganisation({ id: 'OA', cvr: '11111111', name: 'A', createdAt: T0 }, audit('organisation-create', 'OA'));
      await store.insertOrganisation({ id: 'OB', cvr: '22222222', name: 'B', createdAt: T0 }, audit('organisation-create', 'OB'));
      const inA: string[] = [];
      for (let i = 0; i < 4; i++) {
        inA.push((await store.insertPerson(newPerson({ organisationId: 'OA', role: 'employee' }), audit('order', null, T0 + i))).id);
      }
      const inB = (await store.insertPerson(newPerson({ organisationId: 'OB', role: 'administrator' }), audit('order', null, T0))).id;
      const loose = (await store.insertPerson(newPerson(), audit('order', null, T0))).id;

      expect((await store.listPeople({ organisationId: 'OA' })).map((p) => p.id)).toEqual(inA);
      expect((await store.listPeople({ organisationId: 'OB' })).map((p) => p.id)).toEqual([inB]);
      expect((await store.listPeople({})).map((p) => p.id).sort()).toEqual([...inA, inB, loose].sort());
      expect((await store.listPeople({ organisationId: 'OA', limit: 2, offset: 1 })).map((p) => p.id)).toEqual(inA.slice(1, 3));
    });

    it('updates a person only at the expected version, bumping it and stamping the audit time', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      const changes = { userId: 'bo', passwordHash: 'scrypt$other', passwordTemporary: false, state: 'active', failCount: 0, cardThreshold: 30, lastLoginAt: T0 + 9, role: null } as const;
      expect(await store.updatePerson(person.id, person.version, changes, audit('first-login', person.id, T0 + 10))).toBe(true);
      const updated = await store.getPerson(person.id);
      expect(updated).toEqual({ ...person, ...changes, version: person.version + 1, updatedAt: T0 + 10 });
      expect((await database.listAudit({ serial: person.id })).map((entry) => entry.action)).toEqual(['first-login']);

      // The version read before the update is stale now: refused, nothing changed, no audit.
      expect(await store.updatePerson(person.id, person.version, { cardThreshold: 5 }, audit('threshold', person.id))).toBe(false);
      expect(await store.getPerson(person.id)).toEqual(updated);
      expect((await database.listAudit({ serial: person.id })).map((entry) => entry.action)).toEqual(['first-login']);

      expect(await store.updatePerson('P-gone', 1, { cardThreshold: 5 }, null)).toBe(false);
    });

    it('stamps a change without an audit with the current time', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null, 1));
      const before = Date.now();
      expect(await store.updatePerson(person.id, 1, { cardThreshold: 25 }, null)).toBe(true);
      const updated = (await store.getPerson(person.id))!;
      expect(updated.updatedAt).toBeGreaterThanOrEqual(before);
      expect(updated.updatedAt).toBeLessThanOrEqual(Date.now());
      expect(updated.cardThreshold).toBe(25);
    });

    it('ignores fields left undefined in a change', async () => {
      const person = await store.insertPerson(newPerson({ userId: 'keep' }), audit('order', null));
      expect(await store.updatePerson(person.id, 1, { userId: undefined, cardThreshold: 10 }, null)).toBe(true);
      expect((await store.getPerson(person.id))?.userId).toBe('keep');
    });

    it('refuses to change a user-id to one taken (in any case), leaving the person as they were', async () => {
      await store.insertPerson(newPerson({ userId: 'Anna.Hansen' }), audit('order', null));
      const bo = await store.insertPerson(newPerson({ userId: 'bo' }), audit('order', null));
      const error = await store.updatePerson(bo.id, bo.version, { userId: 'ANNA.hansen' }, audit('first-login', bo.id)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicatePersonError);
      expect((error as DuplicatePersonError).field).toBe('userId');
      expect(await store.getPerson(bo.id)).toEqual(bo);
      expect(await database.listAudit({ serial: bo.id })).toEqual([]);
    });
  });

  describe('recordPersonFailure', () => {
    it('counts failures and locks an active person when the count reaches maxFail, not before', async () => {
      const person = await store.insertPerson(newPerson({ state: 'active' }), audit('order', null));
      const seen: PersonRecord[] = [];
      const count = () => store.recordPersonFailure(person.id, 3, (counted) => (seen.push(counted), audit('login-failed', counted.id)));
      expect(await count()).toMatchObject({ failCount: 1, state: 'active', version: 2 });
      expect(await count()).toMatchObject({ failCount: 2, state: 'active', version: 3 });
      expect(await count()).toMatchObject({ failCount: 3, state: 'locked', version: 4 });
      expect(seen.map((p) => [p.failCount, p.state])).toEqual([
        [1, 'active'],
        [2, 'active'],
        [3, 'locked'],
      ]);
      expect(await store.getPerson(person.id)).toEqual(seen[2]);
      expect(await database.listAudit({ serial: person.id, action: 'login-failed' })).toHaveLength(3);
    });

    it('locks a pending person too', async () => {
      const person = await store.insertPerson(newPerson({ state: 'pending' }), audit('order', null));
      const counted = await store.recordPersonFailure(person.id, 1, (p) => audit('login-failed', p.id));
      expect(counted).toMatchObject({ failCount: 1, state: 'locked' });
    });

    it('counts but never changes the state of a blocked person', async () => {
      const person = await store.insertPerson(newPerson({ state: 'blocked' }), audit('order', null));
      for (let i = 1; i <= 3; i++) {
        expect(await store.recordPersonFailure(person.id, 2, (p) => audit('login-failed', p.id))).toMatchObject({ failCount: i, state: 'blocked' });
      }
    });

    it('answers undefined for no such person, without an audit', async () => {
      let called = false;
      expect(await store.recordPersonFailure('P-nobody', 3, (p) => ((called = true), audit('login-failed', p.id)))).toBeUndefined();
      expect(called).toBe(false);
      expect(await database.listAudit({})).toEqual([]);
    });

    it('moves the version, so a decision taken before the failure no longer applies', async () => {
      const person = await store.insertPerson(newPerson({ state: 'active' }), audit('order', null));
      await store.recordPersonFailure(person.id, 5, (p) => audit('login-failed', p.id));
      expect(await store.updatePerson(person.id, person.version, { failCount: 0 }, null)).toBe(false);
      expect((await store.getPerson(person.id))?.failCount).toBe(1);
    });
  });

  describe('code cards', () => {
    let owner: PersonRecord;
    beforeEach(async () => {
      owner = await store.insertPerson(newPerson(), audit('order', null));
    });

    it('stores a card and gives back its blobs byte for byte, as plain Uint8Arrays', async () => {
      const usedKeys = new Uint8Array(randomBytes(19));
      const input = newCard(owner.id, { usedKeys, keysLeft: 100, extra: true });
      const card = await store.insertCard(input, audit('card-issue', input.serial, T0 + 1));
      expect(card).toEqual({ ...input, pendingIndex: null, successorIssued: false, createdAt: T0 + 1, activatedAt: null, updatedAt: T0 + 1, version: 1 });
      const read = (await store.getCard(input.serial))!;
      expect(read.usedKeys.constructor).toBe(Uint8Array);
      expect(read.sealedSecret.constructor).toBe(Uint8Array);
      expect(Array.from(read.usedKeys)).toEqual(Array.from(usedKeys));
      expect(Array.from(read.sealedSecret)).toEqual(Array.from(input.sealedSecret));
      expect(read.extra).toBe(true);
      expect(await store.getCard('K-none')).toBeUndefined();
      expect(await database.listAudit({ serial: input.serial })).toHaveLength(1);
    });

    it('refuses a used-keys bitmap that is not 19 bytes, and a card for no person', async () => {
      await expect(store.insertCard(newCard(owner.id, { usedKeys: new Uint8Array(18) }), audit('card-issue', null))).rejects.toThrow();
      await expect(store.insertCard(newCard('P-nobody'), audit('card-issue', null))).rejects.toThrow();
    });

    it('lists a person’s cards newest first, then by serial', async () => {
      const other = await store.insertPerson(newPerson(), audit('order', null));
      const a = newCard(owner.id);
      const b = newCard(owner.id);
      const c = newCard(owner.id);
      await store.insertCard(c, audit('card-issue', null, T0 + 2));
      await store.insertCard(a, audit('card-issue', null, T0));
      await store.insertCard(b, audit('card-issue', null, T0 + 2));
      await store.insertCard(newCard(other.id), audit('card-issue', null, T0 + 3));
      const serialsByAge = [b.serial, c.serial].sort();
      expect((await store.listCards(owner.id)).map((card) => card.serial)).toEqual([...serialsByAge, a.serial]);
      expect(await store.listCards('P-nobody')).toEqual([]);
    });

    it('updates a card only at the expected version', async () => {
      const card = await store.insertCard(newCard(owner.id), audit('card-issue', null));
      const usedKeys = new Uint8Array(19);
      usedKeys[0] = 0b0000_0100;
      const changes = { state: 'active', usedKeys, keysLeft: 147, pendingIndex: 17, successorIssued: true, activatedAt: T0 + 3 } as const;
      expect(await store.updateCard(card.serial, 1, changes, audit('card-key-used', card.serial, T0 + 4))).toBe(true);
      const updated = (await store.getCard(card.serial))!;
      expect(updated).toEqual({ ...card, ...changes, version: 2, updatedAt: T0 + 4 });
      expect(updated.usedKeys.constructor).toBe(Uint8Array);

      expect(await store.updateCard(card.serial, 1, { state: 'blocked' }, audit('card-block', card.serial))).toBe(false);
      expect((await store.getCard(card.serial))?.state).toBe('active');
      expect(await database.listAudit({ serial: card.serial, action: 'card-block' })).toEqual([]);

      expect(await store.updateCard(card.serial, 2, { pendingIndex: null }, null)).toBe(true);
      expect((await store.getCard(card.serial))?.pendingIndex).toBeNull();
      expect(await store.updateCard('K-none', 1, { state: 'blocked' }, null)).toBe(false);
    });
  });

  describe('key files', () => {
    it('stores a key file awaiting activation, then activates it with its public key, at the expected version', async () => {
      const person = await store.insertPerson(newPerson({ passwordHash: null }), audit('order', null));
      const digest = randomBytes(32).toString('hex');
      const keyFile = await store.insertKeyFile({ id: 'F1', personId: person.id, activationDigest: digest, activationExpiresAt: T0 + 1000 }, audit('keyfile-issue', 'F1', T0));
      expect(keyFile).toEqual({
        id: 'F1',
        personId: person.id,
        state: 'awaiting-activation',
        activationDigest: digest,
        activationExpiresAt: T0 + 1000,
        publicKey: null,
        createdAt: T0,
        activatedAt: null,
        updatedAt: T0,
        version: 1,
      });
      expect(await store.getKeyFile('F1')).toEqual(keyFile);
      expect(await store.getKeyFileByActivation(digest)).toEqual(keyFile);
      expect(await store.getKeyFileByActivation(randomBytes(32).toString('hex'))).toBeUndefined();

      const publicKey = new Uint8Array(randomBytes(91));
      const changes = { state: 'active', activationDigest: null, activationExpiresAt: null, publicKey, activatedAt: T0 + 5 } as const;
      expect(await store.updateKeyFile('F1', 1, changes, audit('keyfile-activate', 'F1', T0 + 5))).toBe(true);
      const active = (await store.getKeyFile('F1'))!;
      expect(active).toEqual({ ...keyFile, ...changes, version: 2, updatedAt: T0 + 5 });
      // Used: the digest is gone, so the code no longer finds it.
      expect(await store.getKeyFileByActivation(digest)).toBeUndefined();
      expect(active.publicKey?.constructor).toBe(Uint8Array);

      expect(await store.updateKeyFile('F1', 1, { state: 'blocked' }, null)).toBe(false);
      expect((await store.getKeyFile('F1'))?.state).toBe('active');
      expect(await store.updateKeyFile('F-none', 1, { state: 'blocked' }, null)).toBe(false);
      expect(await store.getKeyFile('F-none')).toBeUndefined();
    });

    it('lists a person’s key files newest first and refuses an activation digest twice', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      const digest = randomBytes(32).toString('hex');
      await store.insertKeyFile({ id: 'F1', personId: person.id, activationDigest: digest, activationExpiresAt: T0 }, audit('keyfile-issue', 'F1', T0));
      await store.insertKeyFile({ id: 'F2', personId: person.id, activationDigest: null, activationExpiresAt: null }, audit('keyfile-issue', 'F2', T0 + 1));
      await store.insertKeyFile({ id: 'F3', personId: person.id, activationDigest: null, activationExpiresAt: null }, audit('keyfile-issue', 'F3', T0 + 2));
      expect((await store.listKeyFiles(person.id)).map((k) => k.id)).toEqual(['F3', 'F2', 'F1']);
      await expect(
        store.insertKeyFile({ id: 'F4', personId: person.id, activationDigest: digest, activationExpiresAt: T0 }, audit('keyfile-issue', 'F4')),
      ).rejects.toThrow();
      expect(await store.getKeyFile('F4')).toBeUndefined();
    });
  });

  describe('sessions', () => {
    it('stores a session and finds it until it expires', async () => {
      const session = newSession({ challenge: 'abc', cardSerial: 'K1' });
      await store.insertSession(session);
      expect(await store.getSession(session.digest, T0)).toEqual(session);
      expect(await store.getSession(session.digest, session.expiresAt - 1)).toEqual(session);
      expect(await store.getSession(session.digest, session.expiresAt)).toBeUndefined();
      expect(await store.getSession('f'.repeat(64), T0)).toBeUndefined();
    });

    it('updates a session’s fields, and no others', async () => {
      const session = newSession();
      await store.insertSession(session);
      const changes = { stage: 'second-step', personId: 'P1', challenge: 'chal', cardSerial: 'K9', expiresAt: T0 + 99_000 } as const;
      await store.updateSession(session.digest, changes);
      expect(await store.getSession(session.digest, T0)).toEqual({ ...session, ...changes });
      await store.updateSession(session.digest, { challenge: null });
      expect(await store.getSession(session.digest, T0)).toEqual({ ...session, ...changes, challenge: null });
      await store.updateSession(session.digest, {});
      await store.updateSession('f'.repeat(64), { stage: 'authenticated' });
      expect(await store.getSession('f'.repeat(64), T0)).toBeUndefined();
    });

    it('hands out a session’s refusals one at a time up to the maximum, and takes back one given back', async () => {
      const session = newSession();
      await store.insertSession(session);
      expect(await Promise.all([1, 2, 3, 4, 5].map(() => store.takeSessionRefusal(session.digest, 3)))).toEqual([1, 2, 3, undefined, undefined]);
      await store.returnSessionRefusal(session.digest);
      expect((await store.getSession(session.digest, T0))!.refusals).toBe(2);
      expect(await store.takeSessionRefusal(session.digest, 3)).toBe(3);
      expect(await store.takeSessionRefusal(session.digest, 3)).toBeUndefined();
      expect(await store.takeSessionRefusal('f'.repeat(64), 3), 'no session, no refusal').toBeUndefined();
    });

    it('deletes one session, or every session of a person', async () => {
      const anna = [newSession({ personId: 'PA' }), newSession({ personId: 'PA' })];
      const bo = newSession({ personId: 'PB' });
      const nobody = newSession();
      for (const s of [...anna, bo, nobody]) await store.insertSession(s);
      await store.deleteSessionsOf('PA');
      for (const s of anna) expect(await store.getSession(s.digest, T0)).toBeUndefined();
      expect(await store.getSession(bo.digest, T0)).toEqual(bo);
      await store.deleteSession(bo.digest);
      expect(await store.getSession(bo.digest, T0)).toBeUndefined();
      expect(await store.getSession(nobody.digest, T0)).toEqual(nobody);
    });

    it('sweeps the sessions expired by the time a new one is made, and only those', async () => {
      const old = newSession({ createdAt: T0, expiresAt: T0 + 100 });
      const live = newSession({ createdAt: T0, expiresAt: T0 + 201 });
      await store.insertSession(old);
      await store.insertSession(live);
      // Asked about a moment before expiry, both are there: getSession's own filter is not what hides them.
      expect(await store.getSession(old.digest, T0)).toEqual(old);
      await store.insertSession(newSession({ createdAt: T0 + 200, expiresAt: T0 + 900 }));
      expect(await store.getSession(old.digest, T0)).toBeUndefined();
      expect(await store.getSession(live.digest, T0)).toEqual(live);
      expect(await backend.committed('sessions', 'digest', old.digest)).toBe(0);
    });
  });

  describe('durability and group commit', () => {
    it('keeps everything across close and reopen', async () => {
      await store.insertOrganisation({ id: 'O1', cvr: '13585628', name: 'Org', createdAt: T0 }, audit('organisation-create', 'O1'));
      const person = await store.insertPerson(newPerson({ organisationId: 'O1', role: 'administrator', userId: 'Admin' }), audit('order', null));
      const card = await store.insertCard(newCard(person.id, { usedKeys: new Uint8Array(randomBytes(19)) }), audit('card-issue', null));
      const keyFile = await store.insertKeyFile({ id: 'F1', personId: person.id, activationDigest: 'ab', activationExpiresAt: T0 }, audit('keyfile-issue', 'F1'));
      const session = newSession({ personId: person.id, stage: 'authenticated' });
      await store.insertSession(session);
      const auditCount = (await database.listAudit({})).length;
      await database.close();

      const { store: reopened, database: reopenedDatabase } = await open();
      expect(await reopened.getOrganisationByCvr('13585628')).toMatchObject({ id: 'O1' });
      expect(await reopened.getPersonByUserId('admin')).toEqual(person);
      expect(await reopened.getCard(card.serial)).toEqual(card);
      expect(await reopened.getKeyFile('F1')).toEqual(keyFile);
      expect(await reopened.getSession(session.digest, T0)).toEqual(session);
      expect(await reopenedDatabase.listAudit({})).toHaveLength(auditCount);
    });

    it('settles a write only once another connection can read it', async () => {
      const input = newPerson();
      const seenAtSettle = await store.insertPerson(input, audit('order', input.id)).then(() => backend.committed('people', 'id', input.id));
      expect(seenAtSettle).toBe(1);
    });

    it('undoes only the failing write of a batch, with all it did', async () => {
      const person = await store.insertPerson(newPerson({ state: 'active' }), audit('order', null));
      // Issued in one turn: one batch. The failure's UPDATE runs, then its audit throws: its savepoint
      // (SQLite), or the batch's rollback and each write run again alone (PostgreSQL), must undo the count.
      const card = newCard(person.id);
      const writes = [
        store.insertCard(card, audit('card-issue', card.serial)),
        store.recordPersonFailure(person.id, 1, () => {
          throw new Error('audit refused');
        }),
        store.updatePerson(person.id, person.version, { cardThreshold: 7 }, audit('threshold', person.id)),
        store.insertPerson(newPerson({ cprDigest: person.cprDigest }), audit('order', 'dup')),
      ];
      const results = await Promise.allSettled(writes);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
      await database.close();

      const { store: reopened, database: reopenedDatabase } = await open();
      const after = (await reopened.getPerson(person.id))!;
      expect(after).toMatchObject({ failCount: 0, state: 'active', cardThreshold: 7, version: person.version + 1 });
      expect(await reopened.getCard(card.serial)).toMatchObject({ serial: card.serial, version: 1 });
      // Run again alone, the two that succeed may commit in either order.
      const actions = (await reopenedDatabase.listAudit({})).map((entry) => entry.action);
      expect([actions[0], ...actions.slice(1).sort()]).toEqual(['order', 'card-issue', 'threshold']);
    });
  });

  describe('the extra-card limit', () => {
    const order = (person: PersonRecord, count: number, max = 3) =>
      store.insertExtraCards(
        person.id,
        person.version,
        Array.from({ length: count }, () => {
          const card = newCard(person.id);
          return { card, audit: audit('card.issue', card.serial) };
        }),
        max,
        (alive) => ({ ...audit('card.extra', person.id), result: 'refused', detail: { alive } }),
      );

    it('inserts nothing, and audits nothing, for an order that saw the person at an older version (a re-issue came between)', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      expect(await store.updatePerson(person.id, person.version, { state: 'pending' }, audit('person.reissue', person.id))).toBe(true);
      const before = (await database.listAudit({})).length;
      const stale = await order(person, 1);
      expect(stale).toMatchObject({ inserted: [], changed: true });
      expect(await store.listCards(person.id)).toEqual([]);
      expect((await database.listAudit({})).length).toBe(before);
      const fresh = await order({ ...person, version: person.version + 1 }, 1);
      expect(fresh.inserted).toHaveLength(1);
      expect(fresh.changed).toBeUndefined();
    });

    it('inserts extra cards, each with its audit, while the alive ones and these stay within the limit', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      const first = await order(person, 2);
      expect(first.alive).toBe(2);
      expect(first.inserted.map((card) => [card.extra, card.state, card.version])).toEqual([
        [true, 'issued', 1],
        [true, 'issued', 1],
      ]);
      for (const card of first.inserted) expect(await database.listAudit({ serial: card.serial, action: 'card.issue' })).toHaveLength(1);
      expect((await order(person, 1)).inserted).toHaveLength(1);
      expect((await store.listCards(person.id)).filter((card) => card.extra)).toHaveLength(3);
    });

    it('refuses an order that would pass the limit as a whole, inserting none and auditing the refusal with the count alive', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      await order(person, 2);
      expect(await order(person, 2)).toEqual({ inserted: [], alive: 2 });
      expect(await store.listCards(person.id)).toHaveLength(2);
      expect(await database.listAudit({ serial: person.id, action: 'card.extra' })).toMatchObject([{ result: 'refused', detail: { alive: 2 } }]);
    });

    it('counts only the extra cards still alive: not a used-up, replaced or blocked one, nor an ordinary card', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      await store.insertCard(newCard(person.id, { state: 'active' }), audit('card.issue', null));
      const { inserted } = await order(person, 3);
      expect(await order(person, 1)).toMatchObject({ inserted: [], alive: 3 });
      const [replaced, usedUp, activated] = inserted as [CodeCardRecord, CodeCardRecord, CodeCardRecord];
      await store.updateCard(replaced.serial, 1, { state: 'replaced' }, null);
      await store.updateCard(usedUp.serial, 1, { state: 'used-up', keysLeft: 0 }, null);
      await store.updateCard(activated.serial, 1, { state: 'active' }, null);
      const next = await order(person, 2);
      expect(next.inserted).toHaveLength(2);
      expect(await order(person, 1)).toMatchObject({ inserted: [], alive: 3 });
      await store.updateCard(next.inserted[0]!.serial, 1, { state: 'blocked' }, null);
      expect(await order(person, 1)).toMatchObject({ alive: 3 });
      expect(await order(person, 1)).toMatchObject({ inserted: [], alive: 3 });
    });

    it('takes concurrent orders for one person in turn: exactly the limit inserted', async () => {
      const person = await store.insertPerson(newPerson(), audit('order', null));
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => order(person, 1)));
      expect(outcomes.filter((outcome) => outcome.inserted.length === 1)).toHaveLength(3);
      expect((await store.listCards(person.id)).filter((card) => card.extra)).toHaveLength(3);
    });

    it('refuses an order for no such person', async () => {
      await expect(order({ ...(await store.insertPerson(newPerson(), audit('order', null))), id: 'P-nobody' }, 1)).rejects.toThrow(/no person/);
    });
  });
});

/** Reads the file with a connection of its own: only what is committed. */
function rawQuery<T>(file: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

describe('the SQLite file', () => {
  let dir: string;
  let file: string;
  let store: SqliteServiceStore;
  let database: SqliteDatabase;
  const opened: SqliteDatabase[] = [];

  /** The file opened as the server opens it: the database, with the service's store and the token store on it. */
  function open(): { store: SqliteServiceStore; tokens: SqliteTokenStore; database: SqliteDatabase } {
    const db = SqliteDatabase.open(file);
    opened.push(db);
    return { store: new SqliteServiceStore(db), tokens: new SqliteTokenStore(db), database: db };
  }
  const tablesOf = () => rawQuery<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table'").map((row) => row.name);

  beforeEach(() => {
    dir = tempDir('sqlsvc');
    file = path.join(dir, 'store.db');
    ({ store, database } = open());
  });

  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('schema', () => {
    it("makes a new file in the format of per-owner schema versions, with every owner's tables at its newest", async () => {
      expect(await database.getMeta('schema_version')).toBe('4');
      expect([await database.getMeta('schema.core'), await database.getMeta('schema.tokens'), await database.getMeta('schema.service')]).toEqual(['2', '3', '2']);
      expect(tablesOf()).toEqual(expect.arrayContaining(['tokens', 'audit', 'organisations', 'people', 'code_cards', 'key_files', 'sessions']));
    });

    it('upgrades a version-1 file in place, keeping its tokens and audit', async () => {
      await database.close();
      fs.rmSync(file);
      // The version-1 layout as it shipped (tokens, audit, API keys, meta), written without the store.
      const v1 = new Database(file);
      v1.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
        CREATE TABLE tokens (serial TEXT PRIMARY KEY, kind TEXT NOT NULL, algorithm TEXT NOT NULL, digits INTEGER NOT NULL,
          period INTEGER NOT NULL, counter INTEGER NOT NULL, last_step INTEGER NOT NULL, drift_steps INTEGER NOT NULL,
          state TEXT NOT NULL, fail_count INTEGER NOT NULL, owner TEXT, sealed_seed BLOB NOT NULL, replaces TEXT,
          valid_until INTEGER, pending_counter INTEGER, pending_at INTEGER, created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL, last_used_at INTEGER, version INTEGER NOT NULL) STRICT;
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          serial TEXT, result TEXT NOT NULL, detail TEXT NOT NULL) STRICT;
        CREATE TABLE api_keys (id TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL) STRICT;
        INSERT INTO meta VALUES ('schema_version', '1');
      `);
      const seed = randomBytes(48);
      v1.prepare(`INSERT INTO tokens VALUES ('NV00000001', 'hotp', 'sha1', 6, 0, 42, -1, 0, 'active', 2, 'anna', ?, NULL, NULL, NULL, NULL, 1, 2, NULL, 7)`).run(seed);
      v1.prepare(`INSERT INTO audit (at, actor, action, serial, result, detail) VALUES (5, 'admin', 'enroll', 'NV00000001', 'ok', '{}')`).run();
      v1.close();
      expect(tablesOf()).not.toContain('people');

      const upgraded = open();
      const token = await upgraded.tokens.getToken('NV00000001');
      expect(token).toMatchObject({ kind: 'hotp', counter: 42, failCount: 2, owner: 'anna', version: 7 });
      expect(Buffer.from(token!.sealedSeed).equals(seed)).toBe(true);
      expect(await upgraded.database.listAudit({ serial: 'NV00000001' })).toHaveLength(1);
      expect(await upgraded.database.getMeta('schema_version')).toBe('4');
      expect(tablesOf()).toEqual(expect.arrayContaining(['organisations', 'people', 'code_cards', 'key_files', 'sessions']));

      const person = await upgraded.store.insertPerson(newPerson(), audit('order', null));
      await upgraded.database.close();
      const again = open();
      expect(await again.store.getPerson(person.id)).toEqual(person);
      expect((await again.tokens.getToken('NV00000001'))?.counter).toBe(42);
    });

    it('gives the sessions table of a version-2 file made before the refusals column that column, keeping its sessions', async () => {
      const session = newSession({ stage: 'choose-credentials', personId: 'PA' });
      await store.insertSession(session);
      await database.close();
      const before = new Database(file);
      // The sessions table as version 2 first shipped it, in a file of that version.
      before.exec('CREATE TABLE sessions_old AS SELECT digest, stage, person_id, csrf_token, challenge, card_serial, created_at, expires_at FROM sessions; DROP TABLE sessions; ALTER TABLE sessions_old RENAME TO sessions;');
      before.exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'; DELETE FROM meta WHERE key LIKE 'schema.%';");
      before.close();
      expect(rawQuery<{ name: string }>(file, "SELECT name FROM pragma_table_info('sessions')").map((c) => c.name)).not.toContain('refusals');
      ({ store, database } = open());
      expect(await store.getSession(session.digest, T0)).toEqual(session);
      expect(await store.takeSessionRefusal(session.digest, 3)).toBe(1);
    });

    it('upgrades a version-2 file: every older audit record gets its subject kind, and its filters still find it', async () => {
      await database.close();
      fs.rmSync(file);
      // A version-2 file as it shipped: the audit without a subject kind.
      const v2 = new Database(file);
      v2.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          serial TEXT, result TEXT NOT NULL, detail TEXT NOT NULL) STRICT;
        INSERT INTO meta VALUES ('schema_version', '2');
      `);
      const rows: [string, string | null][] = [
        ['enroll', 'NV00000001'],
        ['verify', 'NV00000001'],
        ['person.order', '1234567890'],
        ['login.password', '1234567890'],
        ['login.password', null],
        ['card.issue', 'K123-456-789'],
        ['card.extra', '1234567890'],
        ['key-file.block', 'F0A1B2C3D4E5F'],
        ['key-file.issue', '1234567890'],
        ['organisation.create', 'O24256790'],
      ];
      const insert = v2.prepare(`INSERT INTO audit (at, actor, action, serial, result, detail) VALUES (?, 'admin', ?, ?, 'ok', '{}')`);
      rows.forEach(([action, subject], i) => insert.run(i + 1, action, subject));
      v2.close();

      const upgraded = open();
      expect(await upgraded.database.getMeta('schema_version')).toBe('4');
      const entries = await upgraded.database.listAudit({});
      expect(entries.map((e) => [e.action, e.serial, e.subjectKind])).toEqual([
        ['enroll', 'NV00000001', 'token'],
        ['verify', 'NV00000001', 'token'],
        ['person.order', '1234567890', 'nemid'],
        ['login.password', '1234567890', 'nemid'],
        ['login.password', null, null],
        ['card.issue', 'K123-456-789', 'card'],
        ['card.extra', '1234567890', 'nemid'],
        ['key-file.block', 'F0A1B2C3D4E5F', 'key_file'],
        ['key-file.issue', '1234567890', 'nemid'],
        ['organisation.create', 'O24256790', 'organisation'],
      ]);
      expect((await upgraded.database.listAudit({ serial: '1234567890' })).map((e) => e.action)).toEqual(['person.order', 'login.password', 'card.extra', 'key-file.issue']);
      expect(await upgraded.database.listAudit({ action: 'login.password' })).toHaveLength(2);
    });

    it('keeps the kind a writer names, takes it from the action otherwise, and lists newest first and since a time', async () => {
      await store.appendAudit({ ...audit('enroll', 'NV1', T0 + 1), subjectKind: 'token' });
      await store.appendAudit(audit('login.password', '1234567890', T0 + 2));
      await store.appendAudit({ ...audit('custom', 'X1', T0 + 3), subjectKind: 'card' });
      expect((await database.listAudit({})).map((e) => e.subjectKind)).toEqual(['token', 'nemid', 'card']);
      expect((await database.listAudit({ order: 'desc' })).map((e) => e.serial)).toEqual(['X1', '1234567890', 'NV1']);
      expect((await database.listAudit({ since: T0 + 2 })).map((e) => e.serial)).toEqual(['1234567890', 'X1']);
      const [newest] = await database.listAudit({ order: 'desc', limit: 1 });
      expect((await database.listAudit({ order: 'desc', beforeId: newest!.id })).map((e) => e.serial)).toEqual(['1234567890', 'NV1']);
    });

    it("refuses a file of a newer format, or with an owner's tables newer than this server knows, and leaves it as it was", async () => {
      await database.setMeta('schema_version', '5');
      await database.close();
      expect(() => open()).toThrow(/schema version 5/);
      expect(rawQuery<{ value: string }>(file, "SELECT value FROM meta WHERE key = 'schema_version'")[0]?.value).toBe('5');

      const db = new Database(file);
      db.prepare("UPDATE meta SET value = '4' WHERE key = 'schema_version'").run();
      db.prepare("UPDATE meta SET value = '3' WHERE key = 'schema.service'").run();
      db.close();
      expect(() => open()).toThrow(/service tables of schema version 3/);
      expect(rawQuery<{ value: string }>(file, "SELECT value FROM meta WHERE key = 'schema.service'")[0]?.value).toBe('3');
    });
  });
});

describe.skipIf(!postgres.available)('the service store on PostgreSQL, beside SQLite and across nodes', () => {
  let primary: PostgresNode;
  const opened: PostgresDatabase[] = [];
  beforeAll(async () => {
    primary = await PostgresNode.startPrimary({ name: 'svcnodes' });
  });
  afterAll(async () => {
    await primary?.kill();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((database) => database.close().catch(() => undefined)));
  });

  /** `count` nodes on one new database, each a database object with a pool of its own. */
  async function nodes(count: number): Promise<{ store: PostgresServiceStore; database: PostgresDatabase }[]> {
    const url = connectionUrl(await primary.createDatabase(), [primary]);
    return Promise.all(
      Array.from({ length: count }, async () => {
        const database = await PostgresDatabase.open(url);
        opened.push(database);
        return { store: await PostgresServiceStore.open(database), database };
      }),
    );
  }

  it('has the SQLite tables by the same names, column for column, so that a table copies by name', async () => {
    const [node] = await nodes(1);
    expect(await node!.database.getMeta('schema.service')).toBe('1');
    const dir = tempDir('svcmirror');
    const sqlite = SqliteDatabase.open(path.join(dir, 'store.db'));
    new SqliteServiceStore(sqlite);
    await sqlite.close();
    const file = new Database(path.join(dir, 'store.db'), { readonly: true });
    try {
      for (const table of ['organisations', 'people', 'code_cards', 'key_files', 'sessions']) {
        const sqliteColumns = (file.prepare(`SELECT name, type FROM pragma_table_info(?) ORDER BY cid`).all(table) as { name: string; type: string }[]).map(
          ({ name, type }) => [name, type],
        );
        const pgColumns = (
          await node!.database.read<{ column_name: string; data_type: string }>(
            'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
            [table],
          )
        ).map((column) => [column.column_name, { bigint: 'INTEGER', integer: 'INTEGER', text: 'TEXT', bytea: 'BLOB' }[column.data_type] ?? column.data_type]);
        expect(pgColumns, table).toEqual(sqliteColumns);
      }
    } finally {
      file.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loses no failure counted by two nodes at once: the person's count is every one, each with its audit", async () => {
    const [a, b] = await nodes(2);
    const person = await a!.store.insertPerson(newPerson({ state: 'active' }), audit('order', null));
    const count = (node: { store: PostgresServiceStore }) => node.store.recordPersonFailure(person.id, 1000, (counted) => audit('login.failed', counted.id));
    const counted = await Promise.all(Array.from({ length: 40 }, (_, i) => count(i % 2 === 0 ? a! : b!)));
    expect(new Set(counted.map((p) => p!.failCount)).size).toBe(40);
    expect(await b!.store.getPerson(person.id)).toMatchObject({ failCount: 40, version: 41, state: 'active' });
    expect(await a!.database.listAudit({ serial: person.id, action: 'login.failed' })).toHaveLength(40);
  });

  it('gives a session refusal once, whichever node asks', async () => {
    const [a, b] = await nodes(2);
    const session = newSession();
    await a!.store.insertSession(session);
    const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a! : b!).store.takeSessionRefusal(session.digest, 1)));
    expect(taken.filter((n) => n !== undefined)).toEqual([1]);
    expect((await b!.store.getSession(session.digest, T0))?.refusals).toBe(1);
  });

  it('takes extra-card orders for one person from two nodes in turn: exactly the limit inserted', async () => {
    const [a, b] = await nodes(2);
    const person = await a!.store.insertPerson(newPerson(), audit('order', null));
    for (let round = 0; round < 3; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const card = newCard(person.id);
          return (i % 2 === 0 ? a! : b!).store.insertExtraCards(person.id, person.version, [{ card, audit: audit('card.issue', card.serial) }], 3, (alive) => ({ ...audit('card.extra', person.id), detail: { alive } }));
        }),
      );
      expect(outcomes.filter((outcome) => outcome.inserted.length === 1), `round ${round}`).toHaveLength(3);
      const alive = (await b!.store.listCards(person.id)).filter((card) => card.extra && (card.state === 'issued' || card.state === 'active'));
      expect(alive).toHaveLength(3);
      // Retire them for the next round.
      for (const card of alive) expect(await a!.store.updateCard(card.serial, card.version, { state: 'blocked' }, null)).toBe(true);
    }
  });
});
