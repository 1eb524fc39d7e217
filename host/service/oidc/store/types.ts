/**
 * What the OpenID Connect provider keeps, behind one interface so that the SQLite store and a
 * PostgreSQL store are interchangeable: the provider's own records (grants, sessions, codes,
 * tokens, interactions) as opaque payloads by model and id, the sites an operator registered with
 * their policy, the signing keys and the sealed secrets (pairwise salt, cookie keys), and the
 * state of a login running inside an interaction. Nothing here is a secret in the clear: keys,
 * salts and client secrets are sealed under the master key before they reach the store.
 */
import type { NewAuditEntry } from '../../../store/audit.ts';
import type { Scope } from '../../store/types.ts';

/** One record of the provider (oidc-provider's adapter payload), with what it is found by besides its id. */
export interface ModelRecord {
  readonly model: string;
  readonly id: string;
  /** The provider's payload, sealed under the master key (base64; see ../sealed-records.ts); the store keeps it as it is given. */
  readonly payload: string;
  readonly grantId: string | null;
  /** The site it was issued to (the payload's clientId), so that removing a site removes its records; null for records of no site. */
  readonly clientId: string | null;
  /**
   * A Session's uid (what the provider finds a token's session by), and a device flow's user code.
   * The store keeps only their digests (oidc-rows.ts's modelColumns): a record read back carries
   * the one it was found by, and null for the other.
   */
  readonly uid: string | null;
  readonly userCode: string | null;
  /**
   * The keyed digest of the person it is of (its payload's accountId; ../sealed-records.ts's
   * accountDigest), or null for a record of no person. The store keeps it as it is given, so a
   * person's records are found by one indexed query (listModelsOfAccount), not by opening them all.
   */
  readonly account: string | null;
  /** Unix seconds; null when it does not expire. */
  readonly expiresAt: number | null;
  /** Unix seconds when it was consumed (a code, a refresh token), or null. */
  readonly consumedAt: number | null;
}

/** A site that logs people in through the provider (a relying party), as the operator registered it. */
export interface ClientRecord {
  readonly id: string;
  readonly name: string;
  /** Exact redirect URIs. */
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  /** Where back-channel logout tokens are posted, or null. */
  readonly backchannelLogoutUri: string | null;
  /** The client secret, sealed under the master key (shown once when made). */
  readonly sealedSecret: Uint8Array;
  /** The scopes of person (full, bank-only, view-only) the site accepts; others get access_denied. */
  readonly acceptedScopes: readonly Scope[];
  /** The `acr` values the site may ask for. */
  readonly acrValues: readonly string[];
  /** A first-party site is not asked for consent. */
  readonly firstParty: boolean;
  readonly createdAt: number;
}

/** A signing key: its private JWK sealed, its public JWK in the clear, and when it stopped signing. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly sealedJwk: Uint8Array;
  readonly publicJwk: string;
  readonly createdAt: number;
  /** Unix ms it was retired by a rotation (it still verifies what it signed until that expires), or null while it signs. */
  readonly retiredAt: number | null;
}

/** What a node compares to see whether the key set changed: each key's id and when it was retired (no key material). */
export type SigningKeyStamp = Pick<SigningKeyRecord, 'kid' | 'retiredAt'>;

export type InteractionLoginStage = 'password' | 'second-step';

/** A login in progress inside one provider interaction (its uid): which step, whose, and its form token. */
export interface InteractionLoginRecord {
  readonly uid: string;
  readonly stage: InteractionLoginStage;
  readonly personId: string | null;
  readonly cardSerial: string | null;
  readonly challenge: string | null;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export type InteractionLoginChanges = Partial<Pick<InteractionLoginRecord, 'stage' | 'personId' | 'cardSerial' | 'challenge'>>;

export interface OidcStore {
  upsertModel(record: ModelRecord): Promise<void>;
  /** The record, unless it has expired at `nowSeconds`. */
  findModel(model: string, id: string, nowSeconds: number): Promise<ModelRecord | undefined>;
  findModelByUid(model: string, uid: string, nowSeconds: number): Promise<ModelRecord | undefined>;
  findModelByUserCode(model: string, userCode: string, nowSeconds: number): Promise<ModelRecord | undefined>;
  /** Marks it consumed if it was not: true for the one caller that did (across every node on the store). */
  consumeModel(model: string, id: string, nowSeconds: number): Promise<boolean>;
  destroyModel(model: string, id: string): Promise<void>;
  /** Removes every record issued under the grant (codes, tokens), and the grant. */
  revokeGrant(grantId: string): Promise<void>;
  /** Every live record of `model`. */
  listModels(model: string, nowSeconds: number): Promise<ModelRecord[]>;
  /**
   * The live records of `model` of the person whose account digest is `account`, and those whose
   * person the store does not know (rows kept before migration 6, or written by a node of an older
   * build): the caller opens these to see whose they are. One indexed query each.
   */
  listModelsOfAccount(model: string, account: string, nowSeconds: number): Promise<ModelRecord[]>;
  /** Up to `limit` live records of `model` whose person the store does not know (their account column is NULL). */
  listModelsOfUnknownAccount(model: string, limit: number, nowSeconds: number): Promise<ModelRecord[]>;
  /**
   * Sets the account digest (null: of no person) of each record still not known and still holding
   * the payload it was read with (a record written again meanwhile is left to its writer); how many were set.
   */
  setModelAccounts(records: readonly Pick<ModelRecord, 'model' | 'id' | 'payload' | 'account'>[]): Promise<number>;
  /** Deletes records expired before `nowSeconds`. */
  sweepModels(nowSeconds: number): Promise<number>;

  insertClient(client: ClientRecord, audit: NewAuditEntry): Promise<void>;
  getClient(id: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** Removes the site and every record the provider holds for it; false if there was none. */
  deleteClient(id: string, audit: NewAuditEntry): Promise<boolean>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Each key's id and retirement only: what every node reads every few seconds to follow a rotation made on another. */
  signingKeyStamps(): Promise<SigningKeyStamp[]>;
  /**
   * Adds `key` as the signing key unless one signs already (another node's first start got there
   * first): false then. At most one key signs at a time — a rule of the database, so nodes starting
   * together end up signing with the same key.
   */
  addFirstSigningKey(key: SigningKeyRecord): Promise<boolean>;
  /** Adds `key` as the signing key, retiring the others that sign at `retiredAt`. */
  addSigningKey(key: SigningKeyRecord, retiredAt: number, audit: NewAuditEntry | null): Promise<void>;
  /** Deletes retired keys retired before `before` (what they signed has expired). */
  dropRetiredKeys(before: number): Promise<number>;

  /** A sealed secret by name (pairwise salt, cookie keys). */
  getSecret(name: string): Promise<Uint8Array | undefined>;
  /** Stores it unless one is there already; the one stored is returned (every node ends up with the same). */
  putSecretIfAbsent(name: string, sealed: Uint8Array): Promise<Uint8Array>;

  insertInteractionLogin(record: InteractionLoginRecord): Promise<void>;
  getInteractionLogin(uid: string, nowMs: number): Promise<InteractionLoginRecord | undefined>;
  updateInteractionLogin(uid: string, changes: InteractionLoginChanges): Promise<void>;
  deleteInteractionLogin(uid: string): Promise<void>;

  appendAudit(entry: NewAuditEntry): Promise<void>;
}

export class DuplicateClientError extends Error {
  constructor(readonly clientId: string) {
    super(`a site with client id ${clientId} is registered already`);
    this.name = 'DuplicateClientError';
  }
}
