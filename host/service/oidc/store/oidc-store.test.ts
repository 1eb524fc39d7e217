/**
 * The provider's store, one suite over both stores (SQLite, and PostgreSQL on a throwaway primary
 * of test/support/postgres.ts), each seen by two "nodes" — two store objects on one SQLite
 * database, two pools of their own on one PostgreSQL database: a code consumed by many callers on both at once is consumed by
 * exactly one; a sealed secret put by both at once is the same on both; first starts together keep
 * one signing key, and the provider keys (pairwise salt, cookie keys, signing key) both load are
 * the same, so both compute the same `sub`; a grant's revocation takes its codes and tokens; expiry
 * and the sweep; sites with their audit record; a person's records found by the keyed digest of
 * their account id, opening only theirs (and those kept before migration 6), also after a copy
 * from SQLite to PostgreSQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../../../../test/support/postgres.ts';
import { SeedVault } from '../../../server/seed-vault.ts';
import { copyIntoPostgres, SqliteSource } from '../../../store/copy.ts';
import { PostgresDatabase } from '../../../store/postgres/postgres-database.ts';
import { SqliteDatabase } from '../../../store/sqlite-database.ts';
import { endSessionsOf, fillAccounts, sessionsOf, type SessionPayload } from '../account-records.ts';
import { storeAdapter } from '../adapter.ts';
import { pairwiseSubject } from '../claims.ts';
import { loadProviderKeys, rotateSigningKey } from '../keys.ts';
import { accountDigest, recordKey, sealPayload } from '../sealed-records.ts';
import { identifierDigest, loginKey } from './oidc-rows.ts';
import { POSTGRES_OIDC_MIGRATIONS, PostgresOidcStore } from './postgres-oidc-store.ts';
import { OIDC_MIGRATIONS, SqliteOidcStore } from './sqlite-oidc-store.ts';
import { DuplicateClientError, type ClientRecord, type ModelRecord, type OidcStore } from './types.ts';

reportMissingPostgres();

/** Two nodes on one store, and the audit's actions as the store keeps them. */
interface Nodes {
  readonly a: OidcStore;
  readonly b: OidcStore;
  auditActions(): Promise<string[]>;
  /** The keys of the interaction logins, as the table holds them. */
  loginKeys(): Promise<string[]>;
  /** The provider's records as the table holds them (what a reader of the store sees). */
  modelRows(): Promise<StoredModel[]>;
  /** Each record's account column as the table holds it. */
  accounts(): Promise<StoredAccount[]>;
}

type StoredModel = { model: string; id: string; uid: string | null; user_code: string | null };
const MODEL_ROWS = 'SELECT model, id, uid, user_code FROM oidc_models ORDER BY model, id';
type StoredAccount = { model: string; id: string; account: string | null };
const ACCOUNTS = 'SELECT model, id, account FROM oidc_models ORDER BY model, id';

/** A store whose tables are at an older migration (3: logins kept under the interaction uid; 4: records' uids and user codes kept as they are), rows put in by hand, then brought up to date. */
interface OldStore {
  insertLoginUnderUid(uid: string, csrfToken: string): Promise<void>;
  /** A live record of `model` with its uid and user code kept as they are, as a store before migration 5 kept them. */
  insertModelAsIs(model: string, id: string, uid: string | null, userCode: string | null): Promise<void>;
  /** A live record with this (sealed) payload, as a store before migration 6 kept it: no account column. */
  insertSealed(model: string, id: string, payload: string, grantId: string | null): Promise<void>;
  upgrade(): Promise<OidcStore>;
  accounts(): Promise<StoredAccount[]>;
  loginKeys(): Promise<string[]>;
  modelRows(): Promise<StoredModel[]>;
}

const LOGIN_UNDER_UID = 'INSERT INTO oidc_interaction_logins (uid, stage, person_id, card_serial, challenge, csrf_token, expires_at) VALUES';
const MODEL_AS_IS = 'INSERT INTO oidc_models (model, id, payload, grant_id, client_id, uid, user_code, expires_at, consumed_at) VALUES';

interface StoreKind {
  readonly name: string;
  readonly available: boolean;
  open(): Promise<Nodes>;
  openAtVersion(version: 3 | 4 | 5): Promise<OldStore>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

const sqlite: StoreKind = {
  name: 'SQLite',
  available: true,
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nv-oidc-store-'));
    const file = path.join(dir, 'tokens.db');
    // One connection: SQLite's nodes are the callers of one process (a second connection in the
    // same process would wait, synchronously, for a group commit this process cannot then finish).
    const database = SqliteDatabase.open(file);
    closers.push(async () => {
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return {
      a: new SqliteOidcStore(database),
      b: new SqliteOidcStore(database),
      auditActions: async () => (await database.listAudit({})).map((entry) => entry.action),
      loginKeys: async () => database.prepare<[], { uid: string }>('SELECT uid FROM oidc_interaction_logins ORDER BY uid').all().map((row) => row.uid),
      modelRows: async () => database.prepare<[], StoredModel>(MODEL_ROWS).all(),
      accounts: async () => database.prepare<[], StoredAccount>(ACCOUNTS).all(),
    };
  },
  async openAtVersion(version) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nv-oidc-store-'));
    const database = SqliteDatabase.open(path.join(dir, 'tokens.db'));
    closers.push(async () => {
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    database.migrate('oidc', OIDC_MIGRATIONS.filter((step) => step.version <= version));
    return {
      insertLoginUnderUid: async (uid, csrfToken) => void database.prepare(`${LOGIN_UNDER_UID} (?, 'second-step', 'p1', NULL, NULL, ?, ?)`).run(uid, csrfToken, Date.now() + 600_000),
      insertModelAsIs: async (model, id, uid, userCode) => void database.prepare(`${MODEL_AS_IS} (?, ?, '{}', NULL, NULL, ?, ?, ?, NULL)`).run(model, id, uid, userCode, now() + 600),
      insertSealed: async (model, id, payload, grantId) => void database.prepare(`${MODEL_AS_IS} (?, ?, ?, ?, NULL, NULL, NULL, ?, NULL)`).run(model, id, payload, grantId, now() + 600),
      upgrade: async () => new SqliteOidcStore(database),
      accounts: async () => database.prepare<[], StoredAccount>(ACCOUNTS).all(),
      loginKeys: async () => database.prepare<[], { uid: string }>('SELECT uid FROM oidc_interaction_logins ORDER BY uid').all().map((row) => row.uid),
      modelRows: async () => database.prepare<[], StoredModel>(MODEL_ROWS).all(),
    };
  },
};

let primary: Promise<PostgresNode> | undefined;
afterAll(async () => {
  await (await primary?.catch(() => undefined))?.kill();
});

const postgresKind: StoreKind = {
  name: 'PostgreSQL',
  available: postgres.available,
  async open() {
    primary ??= PostgresNode.startPrimary({ name: 'oidc-store' });
    const node = await primary;
    const url = connectionUrl(await node.createDatabase(), [node]);
    const [first, second] = await Promise.all([PostgresDatabase.open(url), PostgresDatabase.open(url)]);
    closers.push(async () => {
      await first.close();
      await second.close();
    });
    // Both open at once, as nodes starting together: their migrations wait for each other.
    const [a, b] = await Promise.all([PostgresOidcStore.open(first), PostgresOidcStore.open(second)]);
    return {
      a,
      b,
      auditActions: async () => (await first.listAudit({})).map((entry) => entry.action),
      loginKeys: async () => (await first.read<{ uid: string }>('SELECT uid FROM oidc_interaction_logins ORDER BY uid COLLATE "C"')).map((row) => row.uid),
      modelRows: () => first.read<StoredModel>(`${MODEL_ROWS} COLLATE "C"`),
      accounts: () => first.read<StoredAccount>(`${ACCOUNTS} COLLATE "C"`),
    };
  },
  async openAtVersion(version) {
    primary ??= PostgresNode.startPrimary({ name: 'oidc-store' });
    const node = await primary;
    const database = await PostgresDatabase.open(connectionUrl(await node.createDatabase(), [node]));
    closers.push(() => database.close());
    await database.migrate('oidc', POSTGRES_OIDC_MIGRATIONS.filter((step) => step.version <= version));
    return {
      insertLoginUnderUid: async (uid, csrfToken) =>
        void (await database.write((client) => client.query(`${LOGIN_UNDER_UID} ($1, 'second-step', 'p1', NULL, NULL, $2, $3)`, [uid, csrfToken, Date.now() + 600_000]))),
      insertModelAsIs: async (model, id, uid, userCode) =>
        void (await database.write((client) => client.query(`${MODEL_AS_IS} ($1, $2, '{}', NULL, NULL, $3, $4, $5, NULL)`, [model, id, uid, userCode, now() + 600]))),
      insertSealed: async (model, id, payload, grantId) =>
        void (await database.write((client) => client.query(`${MODEL_AS_IS} ($1, $2, $3, $4, NULL, NULL, NULL, $5, NULL)`, [model, id, payload, grantId, now() + 600]))),
      upgrade: () => PostgresOidcStore.open(database),
      accounts: () => database.read<StoredAccount>(`${ACCOUNTS} COLLATE "C"`),
      loginKeys: async () => (await database.read<{ uid: string }>('SELECT uid FROM oidc_interaction_logins ORDER BY uid COLLATE "C"')).map((row) => row.uid),
      modelRows: () => database.read<StoredModel>(`${MODEL_ROWS} COLLATE "C"`),
    };
  },
};

const now = () => Math.floor(Date.now() / 1000);
const record = (model: string, id: string, fields: Partial<ModelRecord> = {}): ModelRecord => ({
  model,
  id,
  payload: JSON.stringify({ kind: model, jti: id, ...(fields.grantId ? { grantId: fields.grantId } : {}) }),
  grantId: null,
  clientId: null,
  uid: null,
  userCode: null,
  account: null,
  expiresAt: now() + 600,
  consumedAt: null,
  ...fields,
});
/** The master key's vault, counting the sealed blobs it opens (what a person's lookup costs). */
class CountingVault extends SeedVault {
  opens = 0;
  override open(...args: Parameters<SeedVault['open']>): Uint8Array {
    this.opens++;
    return super.open(...args);
  }
}

/** A person's login as the provider keeps it through the adapter: a session used for `sites`, a grant and an access token for each. */
async function login(store: OidcStore, vault: SeedVault, accountId: string, session: string, sites: readonly string[]): Promise<void> {
  const provider = storeAdapter(store, vault);
  const authorizations: Record<string, { sid: string; grantId: string }> = {};
  for (const site of sites) {
    const grantId = `grant-${session}-${site}`;
    authorizations[site] = { sid: `sid-${session}-${site}`, grantId };
    await provider('Grant').upsert(grantId, { accountId, clientId: site }, 600);
    await provider('AccessToken').upsert(`token-${session}-${site}`, { accountId, clientId: site, grantId }, 600);
  }
  await provider('Session').upsert(session, { accountId, loginTs: now(), uid: `uid-${session}`, authorizations }, 600);
}

const audit = (action: string) => ({ at: Date.now(), actor: 'test', action, serial: null, result: 'ok', detail: {} });
const site = (id: string): ClientRecord => ({
  id,
  name: `Site ${id}`,
  redirectUris: [`https://${id}.example/cb`],
  postLogoutRedirectUris: [],
  backchannelLogoutUri: null,
  sealedSecret: new Uint8Array([1, 2, 3]),
  acceptedScopes: ['full'],
  acrValues: [],
  firstParty: true,
  createdAt: Date.now(),
});

describe.each([sqlite, postgresKind])('the provider store on $name, seen by two nodes', (kind) => {
  const test = kind.available ? it : it.skip;

  test('a code consumed by 10 callers on both nodes at once is consumed by exactly one, 20 rounds', async () => {
    const { a, b } = await kind.open();
    for (let round = 0; round < 20; round++) {
      const id = `code-${round}`;
      await a.upsertModel(record('AuthorizationCode', id, { grantId: `grant-${round}` }));
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).consumeModel('AuthorizationCode', id, now())));
      expect(outcomes.filter(Boolean), `round ${round}`).toHaveLength(1);
      expect((await b.findModel('AuthorizationCode', id, now()))?.consumedAt).not.toBeNull();
    }
    // Consumed once stays consumed; an unknown code is consumed by nobody.
    expect(await a.consumeModel('AuthorizationCode', 'code-0', now())).toBe(false);
    expect(await b.consumeModel('AuthorizationCode', 'no-such-code', now())).toBe(false);
  });

  test('a sealed secret put by both nodes at once is the same bytes on both, whichever came first, 10 rounds', async () => {
    const { a, b } = await kind.open();
    for (let round = 0; round < 10; round++) {
      const name = `secret-${round}`;
      const [mine, theirs] = [new Uint8Array(randomBytes(48)), new Uint8Array(randomBytes(48))];
      const [kept, keptToo] = await Promise.all([a.putSecretIfAbsent(name, mine), b.putSecretIfAbsent(name, theirs)]);
      expect(Buffer.from(keptToo).equals(Buffer.from(kept)), `round ${round}`).toBe(true);
      expect([mine, theirs].some((bytes) => Buffer.from(bytes).equals(Buffer.from(kept)))).toBe(true);
      expect(Buffer.from((await a.getSecret(name))!).equals(Buffer.from(kept))).toBe(true);
      // A later put changes nothing.
      expect(Buffer.from(await b.putSecretIfAbsent(name, new Uint8Array(randomBytes(48)))).equals(Buffer.from(kept))).toBe(true);
    }
  });

  test("first starts together keep one signing key; both load the same keys, salt and cookie keys, and so compute the same sub and read each other's cookies", async () => {
    const { a, b } = await kind.open();
    const vault = new SeedVault(randomBytes(32));
    const [keysA, keysB] = await Promise.all([loadProviderKeys(a, vault), loadProviderKeys(b, vault)]);
    const signing = (await a.listSigningKeys()).filter((key) => key.retiredAt === null);
    expect(signing).toHaveLength(1);
    expect([keysA.signingKid, keysB.signingKid]).toEqual([signing[0]!.kid, signing[0]!.kid]);
    expect(keysB.cookieKeys).toEqual(keysA.cookieKeys);
    expect(keysB.pairwiseSalt.equals(keysA.pairwiseSalt)).toBe(true);
    expect(pairwiseSubject(keysB.pairwiseSalt, 'bank.example', 'person-1')).toBe(pairwiseSubject(keysA.pairwiseSalt, 'bank.example', 'person-1'));
    expect(pairwiseSubject(keysA.pairwiseSalt, 'tax.example', 'person-1')).not.toBe(pairwiseSubject(keysA.pairwiseSalt, 'bank.example', 'person-1'));
    // Kept sealed: neither the salt nor the cookie key is in the store in the clear.
    for (const name of ['pairwise-salt', 'cookie-keys']) {
      const sealed = Buffer.from((await a.getSecret(name))!);
      expect(sealed.includes(keysA.pairwiseSalt)).toBe(false);
      expect(sealed.includes(Buffer.from(keysA.cookieKeys[0]!, 'base64url'))).toBe(false);
    }

    // A rotation on one node: the other's next start signs with the new key and still publishes the old.
    const rotated = await rotateSigningKey(b, vault, { name: 'test' });
    const again = await loadProviderKeys(a, vault);
    expect(again.signingKid).toBe(rotated.kid);
    expect(again.jwks.keys.map((key) => key.kid)).toEqual([rotated.kid, keysA.signingKid]);
    expect(await a.addFirstSigningKey({ ...(await a.listSigningKeys())[0]!, kid: 'another' })).toBe(false);

    // Rotations on both nodes at once, 5 rounds: each is made, and one key signs after them.
    for (let round = 0; round < 5; round++) {
      const made = await Promise.all([rotateSigningKey(a, vault, { name: 'test' }), rotateSigningKey(b, vault, { name: 'test' })]);
      const signingNow = (await b.listSigningKeys()).filter((key) => key.retiredAt === null);
      expect(signingNow, `round ${round}`).toHaveLength(1);
      expect(made.map((rotation) => rotation.kid)).toContain(signingNow[0]!.kid);
    }
  });

  test("revoking a grant removes its codes, tokens and the grant, and nothing of another grant's", async () => {
    const { a, b } = await kind.open();
    await a.upsertModel(record('Grant', 'g1'));
    await a.upsertModel(record('Grant', 'g2'));
    for (const model of ['AuthorizationCode', 'AccessToken', 'RefreshToken']) {
      await a.upsertModel(record(model, `${model}-1`, { grantId: 'g1' }));
      await a.upsertModel(record(model, `${model}-2`, { grantId: 'g2' }));
    }
    await b.revokeGrant('g1');
    for (const model of ['Grant', 'AuthorizationCode', 'AccessToken', 'RefreshToken']) {
      const ids = (await a.listModels(model, now())).map((found) => found.id).sort();
      expect(ids, model).toEqual(model === 'Grant' ? ['g2'] : [`${model}-2`]);
    }
  });

  test('a record past its expiry is found by neither node and swept; a live one and one that never expires stay', async () => {
    const { a, b } = await kind.open();
    const t = now();
    await a.upsertModel(record('Session', 'old', { uid: 'uid-old', expiresAt: t - 1 }));
    await a.upsertModel(record('Session', 'live', { uid: 'uid-live', expiresAt: t + 600 }));
    await a.upsertModel(record('Interaction', 'forever', { expiresAt: null }));
    await a.insertInteractionLogin({ uid: 'old', stage: 'password', personId: null, cardSerial: null, challenge: null, csrfToken: 'c1', expiresAt: Date.now() - 1000 });
    await a.insertInteractionLogin({ uid: 'live', stage: 'password', personId: null, cardSerial: null, challenge: null, csrfToken: 'c2', expiresAt: Date.now() + 600_000 });
    expect(await b.findModel('Session', 'old', t)).toBeUndefined();
    expect(await b.findModelByUid('Session', 'uid-old', t)).toBeUndefined();
    expect(await b.findModel('Session', 'old', t - 10)).toMatchObject({ id: 'old' });
    expect(await b.findModelByUid('Session', 'uid-live', t)).toMatchObject({ id: 'live' });
    expect((await b.listModels('Session', t)).map((found) => found.id)).toEqual(['live']);
    expect(await b.getInteractionLogin('old', Date.now())).toBeUndefined();

    expect(await b.sweepModels(t)).toBe(1);
    expect(await a.findModel('Session', 'old', 0)).toBeUndefined();
    expect(await a.findModel('Session', 'live', t)).toMatchObject({ id: 'live' });
    expect(await a.findModel('Interaction', 'forever', t + 10 ** 6)).toMatchObject({ id: 'forever' });
    expect(await a.getInteractionLogin('old', 0)).toBeUndefined();
    expect(await a.getInteractionLogin('live', Date.now())).toMatchObject({ csrfToken: 'c2' });
    expect(await a.sweepModels(t)).toBe(0);
  });

  test("an upsert keeps a record's consumption; an interaction login's step moves on; destroy removes", async () => {
    const { a, b } = await kind.open();
    await a.upsertModel(record('RefreshToken', 'r1', { grantId: 'g', userCode: 'U-1' }));
    expect(await b.consumeModel('RefreshToken', 'r1', 123)).toBe(true);
    await a.upsertModel(record('RefreshToken', 'r1', { grantId: 'g', userCode: 'U-1', payload: '{"again":true}' }));
    expect(await b.findModelByUserCode('RefreshToken', 'U-1', now())).toMatchObject({ consumedAt: 123, payload: '{"again":true}' });
    await b.destroyModel('RefreshToken', 'r1');
    expect(await a.findModel('RefreshToken', 'r1', 0)).toBeUndefined();

    await a.insertInteractionLogin({ uid: 'i1', stage: 'password', personId: null, cardSerial: null, challenge: null, csrfToken: 'c', expiresAt: Date.now() + 60_000 });
    await b.updateInteractionLogin('i1', { stage: 'second-step', personId: 'p1', challenge: '0042' });
    expect(await a.getInteractionLogin('i1', Date.now())).toMatchObject({ stage: 'second-step', personId: 'p1', cardSerial: null, challenge: '0042' });
    await a.deleteInteractionLogin('i1');
    expect(await b.getInteractionLogin('i1', Date.now())).toBeUndefined();
  });

  test("a login inside an interaction is kept under the digest of the interaction's uid, never the uid, and found, changed and deleted by the uid on either node", async () => {
    const { a, b, loginKeys } = await kind.open();
    const uid = `uid-${randomBytes(12).toString('base64url')}`;
    await a.insertInteractionLogin({ uid, stage: 'password', personId: null, cardSerial: null, challenge: null, csrfToken: 'c', expiresAt: Date.now() + 60_000 });
    const keys = await loginKeys();
    expect(keys).toEqual([loginKey(uid)]);
    expect(keys[0]).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(keys[0]!.includes(uid), 'the key does not carry the uid').toBe(false);
    await b.updateInteractionLogin(uid, { stage: 'second-step', personId: 'p1' });
    expect(await a.getInteractionLogin(uid, Date.now())).toMatchObject({ uid, stage: 'second-step', personId: 'p1' });
    expect(await a.getInteractionLogin(loginKey(uid), Date.now()), 'the digest is no way in').toBeUndefined();
    await b.deleteInteractionLogin(uid);
    expect(await loginKeys()).toEqual([]);
  });

  test('migration 4 keeps the logins kept under their uid before it under the digest instead, the same digest as the store computes, and they go on', async () => {
    const old = await kind.openAtVersion(3);
    const uids = ['uid-Abc_-123', `uid-${randomBytes(16).toString('base64url')}`];
    for (const [i, uid] of uids.entries()) await old.insertLoginUnderUid(uid, `csrf-${i}`);
    expect(await old.loginKeys()).toEqual([...uids].sort());
    const store = await old.upgrade();
    expect((await old.loginKeys()).sort()).toEqual(uids.map(loginKey).sort());
    for (const [i, uid] of uids.entries()) expect(await store.getInteractionLogin(uid, Date.now()), uid).toMatchObject({ uid, stage: 'second-step', personId: 'p1', csrfToken: `csrf-${i}` });
  });

  test("a record's uid (a Session's) and user code are kept as their digests, never as they are, and found by them on either node", async () => {
    const { a, b, modelRows } = await kind.open();
    const uid = `uid-${randomBytes(16).toString('base64url')}`;
    const userCode = `CODE-${randomBytes(6).toString('hex')}`;
    await a.upsertModel(record('Session', 'session-1', { uid }));
    await a.upsertModel(record('DeviceCode', 'device-1', { userCode }));
    await a.upsertModel(record('AccessToken', 'token-1'));
    const rows = await modelRows();
    expect(rows).toEqual([
      { model: 'AccessToken', id: 'token-1', uid: null, user_code: null },
      { model: 'DeviceCode', id: 'device-1', uid: null, user_code: identifierDigest(userCode) },
      { model: 'Session', id: 'session-1', uid: identifierDigest(uid), user_code: null },
    ]);
    expect(identifierDigest(uid)).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(rows).includes(uid), 'no row carries the uid').toBe(false);
    expect(JSON.stringify(rows).includes(userCode), 'no row carries the user code').toBe(false);

    expect(await b.findModelByUid('Session', uid, now())).toMatchObject({ id: 'session-1', uid, userCode: null });
    expect(await a.findModelByUid('Session', uid, now())).toMatchObject({ id: 'session-1' });
    expect(await b.findModelByUserCode('DeviceCode', userCode, now())).toMatchObject({ id: 'device-1', userCode, uid: null });
    expect(await b.findModelByUid('Session', identifierDigest(uid), now()), 'the digest is no way in').toBeUndefined();
    expect(await b.findModelByUserCode('DeviceCode', identifierDigest(userCode), now()), 'the digest is no way in').toBeUndefined();
    expect(await b.findModel('Session', 'session-1', now()), 'a record read by id does not carry the uid').toMatchObject({ uid: null });

    // The session saved again on the other node with a new uid: found by that one only.
    const next = `uid-${randomBytes(16).toString('base64url')}`;
    await b.upsertModel(record('Session', 'session-1', { uid: next }));
    expect(await a.findModelByUid('Session', next, now())).toMatchObject({ id: 'session-1', uid: next });
    expect(await a.findModelByUid('Session', uid, now())).toBeUndefined();
  });

  test('migration 5 keeps the uids and user codes kept as they are before it as their digests instead, the same digest as the store computes, and the sessions go on', async () => {
    const old = await kind.openAtVersion(4);
    // UTF-8 and digests whose base64 has + and / (which the SQL turns into - and _).
    const uids = ['uid-Abc_-123', 'Sæt-øå-🙂', `uid-${randomBytes(16).toString('base64url')}`];
    for (const [i, uid] of uids.entries()) await old.insertModelAsIs('Session', `session-${i}`, uid, null);
    await old.insertModelAsIs('DeviceCode', 'device-0', null, 'WDJB-MJHT');
    await old.insertModelAsIs('AccessToken', 'token-0', null, null);
    expect((await old.modelRows()).map((row) => row.uid ?? row.user_code)).toEqual([null, 'WDJB-MJHT', ...uids]);

    const store = await old.upgrade();
    expect(await old.modelRows()).toEqual([
      { model: 'AccessToken', id: 'token-0', uid: null, user_code: null },
      { model: 'DeviceCode', id: 'device-0', uid: null, user_code: identifierDigest('WDJB-MJHT') },
      ...uids.map((uid, i) => ({ model: 'Session', id: `session-${i}`, uid: identifierDigest(uid), user_code: null })),
    ]);
    expect(uids.map(identifierDigest).some((digest) => /[-_]/.test(digest.slice('sha256:'.length)))).toBe(true);
    for (const [i, uid] of uids.entries()) expect(await store.findModelByUid('Session', uid, now()), uid).toMatchObject({ id: `session-${i}`, uid });
    expect(await store.findModelByUserCode('DeviceCode', 'WDJB-MJHT', now())).toMatchObject({ id: 'device-0' });
  });

  test("a record's account column holds the master key's keyed digest of its person (never the id, never a bare hash), empty for a record of no person; either node finds a person's records by it", async () => {
    const { a, b, accounts } = await kind.open();
    const vault = new SeedVault(randomBytes(32));
    const nemId = '123456789';
    await login(a, vault, nemId, 'session-1', ['bank']);
    await storeAdapter(a, vault)('Session').upsert('anonymous', { uid: 'uid-anonymous' }, 600);
    const digest = vault.digest('oidc-account', nemId);
    expect(accountDigest(vault, nemId)).toBe(digest);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const byKey = new Map((await accounts()).map((row) => [`${row.model} ${row.id}`, row.account]));
    expect(Object.fromEntries(byKey)).toEqual({
      [`AccessToken ${recordKey('AccessToken', 'token-session-1-bank')}`]: digest,
      'Grant grant-session-1-bank': digest,
      [`Session ${recordKey('Session', 'session-1')}`]: digest,
      [`Session ${recordKey('Session', 'anonymous')}`]: '',
    });
    const bare = [nemId, identifierDigest(nemId), ...(['hex', 'base64', 'base64url'] as const).map((encoding) => createHash('sha256').update(nemId).digest(encoding))];
    for (const account of byKey.values()) expect(bare, 'neither the id nor a bare hash of it').not.toContain(account);
    expect(new SeedVault(randomBytes(32)).digest('oidc-account', nemId), 'another master key, another digest').not.toBe(digest);

    expect((await b.listModelsOfAccount('Session', digest, now())).map((found) => found.id)).toEqual([recordKey('Session', 'session-1')]);
    expect((await b.listModelsOfAccount('AccessToken', digest, now())).map((found) => found.account)).toEqual([digest]);
    expect(await b.listModelsOfAccount('Session', accountDigest(vault, '987654321'), now()), "another person's: none, and not the anonymous one").toEqual([]);
    expect(await b.listModelsOfAccount('Session', digest, now() + 601), 'expired: none').toEqual([]);
  });

  test("ending a person's sessions opens only that person's records, ends their sessions, grants and tokens and logs each site out, and leaves everyone else's", async () => {
    const { a, b } = await kind.open();
    const vault = new CountingVault(randomBytes(32));
    const nemId = '123456789';
    for (let i = 0; i < 25; i++) await login(a, vault, `2000000${String(i).padStart(2, '0')}`, `other-${i}`, ['bank']);
    for (let i = 0; i < 5; i++) await storeAdapter(a, vault)('Session').upsert(`anonymous-${i}`, { uid: `uid-anonymous-${i}` }, 600);
    await login(a, vault, nemId, 'one', ['bank', 'tax']);
    await login(a, vault, nemId, 'two', ['bank']);
    // An offline grant outlives its session: only the grant is left.
    await login(a, vault, nemId, 'offline', ['mail']);
    await a.destroyModel('Session', recordKey('Session', 'offline'));
    expect(await sessionsOf(b, vault, nemId, now())).toHaveLength(2);

    vault.opens = 0;
    const logouts: string[] = [];
    await endSessionsOf(b, vault, nemId, now(), async (clientId, sid) => void logouts.push(`${clientId} ${sid}`));
    expect(vault.opens, "two sessions and the grant no session named: nobody else's").toBe(3);
    expect(logouts.sort()).toEqual(['bank sid-one-bank', 'bank sid-two-bank', 'tax sid-one-tax']);

    const provider = storeAdapter(a, vault);
    expect(await sessionsOf(a, vault, nemId, now())).toEqual([]);
    for (const [session, site] of [['one', 'bank'], ['one', 'tax'], ['two', 'bank'], ['offline', 'mail']] as const) {
      expect(await provider('Grant').find(`grant-${session}-${site}`), `grant ${session} ${site}`).toBeUndefined();
      expect(await provider('AccessToken').find(`token-${session}-${site}`), `token ${session} ${site}`).toBeUndefined();
    }
    for (let i = 0; i < 25; i++) {
      expect(await sessionsOf(a, vault, `2000000${String(i).padStart(2, '0')}`, now()), `other ${i}`).toHaveLength(1);
      expect(await provider('AccessToken').find(`token-other-${i}-bank`), `other ${i}`).toMatchObject({ grantId: `grant-other-${i}-bank` });
    }
    expect(await provider('Session').find('anonymous-0')).toMatchObject({ uid: 'uid-anonymous-0' });
  });

  test("migration 6 leaves the records kept before it without a digest; a person's lookup still finds and ends them, opening those and the person's own only", async () => {
    const old = await kind.openAtVersion(5);
    const vault = new CountingVault(randomBytes(32));
    const nemId = '123456789';
    const keep = async (model: string, id: string, payload: { accountId: string; grantId?: string; authorizations?: SessionPayload['authorizations'] }) => {
      const key = recordKey(model, id);
      await old.insertSealed(model, key, sealPayload(vault, model, key, payload), payload.grantId ?? null);
    };
    await keep('Session', 'kept-mine', { accountId: nemId, authorizations: { bank: { sid: 'sid-kept', grantId: 'grant-kept-mine' } } });
    await keep('Grant', 'grant-kept-mine', { accountId: nemId });
    await keep('AccessToken', 'token-kept-mine', { accountId: nemId, grantId: 'grant-kept-mine' });
    await keep('Session', 'kept-other', { accountId: '200000000' });
    await keep('Grant', 'grant-kept-other', { accountId: '200000000' });

    const store = await old.upgrade();
    expect((await old.accounts()).map((row) => row.account)).toEqual([null, null, null, null, null]);
    await login(store, vault, nemId, 'new-mine', []);
    for (let i = 0; i < 10; i++) await login(store, vault, `3000000${String(i).padStart(2, '0')}`, `new-other-${i}`, ['bank']);

    vault.opens = 0;
    const logouts: string[] = [];
    await endSessionsOf(store, vault, nemId, now(), async (clientId, sid) => void logouts.push(`${clientId} ${sid}`));
    expect(vault.opens, 'the sessions kept before (2) and the new one of the person; the grant kept before of the other person').toBe(4);
    expect(logouts).toEqual(['bank sid-kept']);
    expect(await sessionsOf(store, vault, nemId, now())).toEqual([]);
    expect(await store.findModel('Session', recordKey('Session', 'kept-mine'), now())).toBeUndefined();
    expect(await store.findModel('Grant', 'grant-kept-mine', now())).toBeUndefined();
    expect(await store.findModel('AccessToken', recordKey('AccessToken', 'token-kept-mine'), now())).toBeUndefined();
    expect(await sessionsOf(store, vault, '200000000', now())).toHaveLength(1);
    expect(await store.findModel('Grant', 'grant-kept-other', now())).toMatchObject({ account: null });
    expect(await sessionsOf(store, vault, '300000003', now())).toHaveLength(1);
  });

  test("the fill gives the records kept before migration 6 their person's digest (of no person: empty), in batches, on either node; then a person's lookup opens only theirs", async () => {
    const old = await kind.openAtVersion(5);
    const vault = new CountingVault(randomBytes(32));
    const nemId = '123456789';
    const keep = async (model: string, id: string, payload: object) => {
      const key = recordKey(model, id);
      await old.insertSealed(model, key, sealPayload(vault, model, key, payload), null);
    };
    for (let i = 0; i < 7; i++) await keep('Session', `kept-other-${i}`, { accountId: `2000000${i}0` });
    await keep('Session', 'kept-mine', { accountId: nemId });
    await keep('Grant', 'grant-kept-mine', { accountId: nemId });
    await keep('Session', 'kept-anonymous', {});
    await old.insertSealed('Session', recordKey('Session', 'kept-tampered'), 'bm90IHNlYWxlZA==', null);
    await keep('Interaction', 'kept-interaction', { session: { accountId: nemId } });
    const store = await old.upgrade();

    expect(await store.setModelAccounts([{ model: 'Grant', id: 'grant-kept-mine', payload: 'another payload', account: accountDigest(vault, nemId) }]), 'written again meanwhile: left').toBe(0);
    expect(await fillAccounts(store, vault, now(), 3)).toBe(11);
    expect(await fillAccounts(store, vault, now(), 3), 'nothing left to fill').toBe(0);
    const byKey = new Map((await old.accounts()).map((row) => [`${row.model} ${row.id}`, row.account]));
    expect(byKey.get(`Session ${recordKey('Session', 'kept-mine')}`)).toBe(accountDigest(vault, nemId));
    expect(byKey.get('Grant grant-kept-mine')).toBe(accountDigest(vault, nemId));
    expect(byKey.get(`Session ${recordKey('Session', 'kept-other-3')}`)).toBe(accountDigest(vault, '200000030'));
    expect(byKey.get(`Session ${recordKey('Session', 'kept-anonymous')}`)).toBe('');
    expect(byKey.get(`Session ${recordKey('Session', 'kept-tampered')}`)).toBe('');
    expect(byKey.get(`Interaction ${recordKey('Interaction', 'kept-interaction')}`), 'a model of no accountId is not read').toBeNull();

    vault.opens = 0;
    await endSessionsOf(store, vault, nemId, now(), async () => undefined);
    expect(vault.opens).toBe(2);
    expect(await store.findModel('Grant', 'grant-kept-mine', now())).toBeUndefined();
    expect(await sessionsOf(store, vault, '200000030', now())).toHaveLength(1);
  });

  test('sites: registered once with their audit record, read by the other node, removed with every record the provider holds for them', async () => {
    const { a, b, auditActions } = await kind.open();
    await a.insertClient(site('bank'), audit('oidc.client-add'));
    await expect(b.insertClient(site('bank'), audit('oidc.client-add'))).rejects.toBeInstanceOf(DuplicateClientError);
    await b.insertClient(site('tax'), audit('oidc.client-add'));
    expect(await b.getClient('bank')).toMatchObject({ name: 'Site bank', redirectUris: ['https://bank.example/cb'], acceptedScopes: ['full'], firstParty: true, sealedSecret: new Uint8Array([1, 2, 3]) });
    expect((await a.listClients()).map((client) => client.id)).toEqual(['bank', 'tax']);
    await a.upsertModel(record('AccessToken', 't-bank', { clientId: 'bank' }));
    await a.upsertModel(record('AccessToken', 't-tax', { clientId: 'tax' }));

    expect(await b.deleteClient('bank', audit('oidc.client-remove'))).toBe(true);
    expect(await a.deleteClient('bank', audit('oidc.client-remove'))).toBe(false);
    expect(await a.getClient('bank')).toBeUndefined();
    expect((await a.listModels('AccessToken', now())).map((found) => found.id)).toEqual(['t-tax']);
    expect((await auditActions()).filter((action) => action.startsWith('oidc.'))).toEqual(['oidc.client-add', 'oidc.client-add', 'oidc.client-remove']);
  });

  test('retired keys past their time are dropped; the one that signs never is', async () => {
    const { a, b } = await kind.open();
    const vault = new SeedVault(randomBytes(32));
    const first = await loadProviderKeys(a, vault);
    await rotateSigningKey(b, vault, { name: 'test' }, Date.now() - 10_000);
    expect(await a.dropRetiredKeys(Date.now() - 20_000)).toBe(0);
    expect(await a.dropRetiredKeys(Date.now())).toBe(1);
    const left = await b.listSigningKeys();
    expect(left.map((key) => key.kid)).not.toContain(first.signingKid);
    expect(left.filter((key) => key.retiredAt === null)).toHaveLength(1);
    expect(await b.dropRetiredKeys(Date.now() + 10 ** 9)).toBe(0);
  });
});

describe('the provider store copied from SQLite to PostgreSQL (store copy)', () => {
  const test = postgres.available ? it : it.skip;

  test("a person's records keep their account digests through the copy: on PostgreSQL their sessions are ended opening only theirs, and another person's stay", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nv-oidc-copy-'));
    const file = path.join(dir, 'tokens.db');
    const lab = SqliteDatabase.open(file);
    const vault = new CountingVault(randomBytes(32));
    const labStore = new SqliteOidcStore(lab);
    await login(labStore, vault, '123456789', 'mine', ['bank']);
    for (let i = 0; i < 10; i++) await login(labStore, vault, `2000000${String(i).padStart(2, '0')}`, `other-${i}`, ['bank']);
    await lab.close();

    primary ??= PostgresNode.startPrimary({ name: 'oidc-store' });
    const node = await primary;
    const target = await PostgresDatabase.open(connectionUrl(await node.createDatabase(), [node]));
    const source = SqliteSource.open(file);
    closers.push(async () => {
      source.close();
      await target.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const store = await PostgresOidcStore.open(target);
    await copyIntoPostgres(source, target);
    const digests = await target.read<{ account: string }>("SELECT DISTINCT account FROM oidc_models WHERE model = 'Session'");
    expect(digests, 'every session copied with its digest').toHaveLength(11);
    expect(digests.map((row) => row.account)).toContain(accountDigest(vault, '123456789'));

    vault.opens = 0;
    await endSessionsOf(store, vault, '123456789', now(), async () => undefined);
    expect(vault.opens).toBe(1);
    expect(await sessionsOf(store, vault, '123456789', now())).toEqual([]);
    expect(await store.findModel('Grant', 'grant-mine-bank', now())).toBeUndefined();
    expect(await sessionsOf(store, vault, '200000004', now())).toHaveLength(1);
  });
});
