/**
 * The provider's rows as both stores keep them (the same tables and columns on SQLite and
 * PostgreSQL), and the records they make.
 */
import { createHash } from 'node:crypto';
import type { Scope } from '../../store/types.ts';
import type { ClientRecord, InteractionLoginRecord, ModelRecord, SigningKeyRecord } from './types.ts';

export type ModelRow = { model: string; id: string; payload: string; grant_id: string | null; client_id: string | null; uid: string | null; user_code: string | null; account: string | null; expires_at: number | null; consumed_at: number | null };
export type ClientRow = {
  id: string;
  name: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  sealed_secret: Buffer;
  accepted_scopes: string;
  acr_values: string;
  first_party: number;
  created_at: number;
};
export type KeyRow = { kid: string; sealed_jwk: Buffer; public_jwk: string; created_at: number; retired_at: number | null };
/** A login inside an interaction; its `uid` is the interaction uid's digest (loginKey), never the uid. */
export type LoginRow = { uid: string; stage: InteractionLoginRecord['stage']; person_id: string | null; card_serial: string | null; challenge: string | null; csrf_token: string; expires_at: number };

/**
 * The SHA-256 of an identifier a reader of the store could use, as the provider's tables keep it in
 * its place (`sha256:` and base64url, the form of sealed-records.ts's record keys): a row is found
 * by the digest of the identifier asked for, and the identifier itself is never stored.
 */
export function identifierDigest(value: string): string {
  return `sha256:${createHash('sha256').update(value, 'utf8').digest('base64url')}`;
}

/**
 * The same digest in PostgreSQL's SQL, of the text in `column` (what migrations 4 and 5 convert
 * rows kept before with; a store's test checks it agrees with identifierDigest).
 */
export const sqlIdentifierDigest = (column: string) => `'sha256:' || rtrim(translate(encode(sha256(convert_to(${column}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;

/**
 * What the `account` column of a record of no person holds. NULL there means "not known": a row
 * kept before migration 6 (which added the column), or written by a node of an older build; a
 * person's lookup opens those to see whose they are, so a record known to be of no person must not
 * be NULL, or every anonymous session would be opened on every lookup. (A digest is 64 hex digits,
 * never empty.)
 */
export const NO_ACCOUNT = '';

/**
 * A provider record's columns as the store keeps them: its session `uid` and `user_code` as their
 * digests (a Session's uid is what the provider finds the session of a token by, a user code is
 * typed by a person to sign a device in), never as they are; its account digest as given, or
 * NO_ACCOUNT.
 */
export function modelColumns(record: ModelRecord): Omit<ModelRecord, 'account'> & { account: string } {
  return {
    ...record,
    uid: record.uid === null ? null : identifierDigest(record.uid),
    userCode: record.userCode === null ? null : identifierDigest(record.userCode),
    account: record.account ?? NO_ACCOUNT,
  };
}

/**
 * The record of a row. Its `uid` and `userCode` are the ones it was found by (`found`), or null:
 * the row holds only their digests.
 */
export function toModel(row: ModelRow, found: Partial<Pick<ModelRecord, 'uid' | 'userCode'>> = {}): ModelRecord {
  return {
    model: row.model,
    id: row.id,
    payload: row.payload,
    grantId: row.grant_id,
    clientId: row.client_id,
    uid: row.uid === null ? null : (found.uid ?? null),
    userCode: row.user_code === null ? null : (found.userCode ?? null),
    account: row.account === null || row.account === NO_ACCOUNT ? null : row.account,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
}

export function toClient(row: ClientRow): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    backchannelLogoutUri: row.backchannel_logout_uri,
    sealedSecret: new Uint8Array(row.sealed_secret),
    acceptedScopes: JSON.parse(row.accepted_scopes) as Scope[],
    acrValues: JSON.parse(row.acr_values) as string[],
    firstParty: row.first_party === 1,
    createdAt: row.created_at,
  };
}

export function toKey(row: KeyRow): SigningKeyRecord {
  return { kid: row.kid, sealedJwk: new Uint8Array(row.sealed_jwk), publicJwk: row.public_jwk, createdAt: row.created_at, retiredAt: row.retired_at };
}

/**
 * The key a login inside an interaction is kept under: the SHA-256 of the interaction's uid, in
 * the form of sealed-records.ts's record keys. The uid is what the interaction cookie and its
 * page address carry, so a copy of the store must not hold it; the table's `uid` column holds
 * this digest (as `oidc_models.id` holds the digest of a record's id). Migration 4 of both stores
 * made the keys of rows kept before into digests the same way (in SQL on PostgreSQL).
 */
export function loginKey(uid: string): string {
  return identifierDigest(uid);
}

/** The record of a login found by the interaction `uid` (its row holds only the digest). */
export function toLogin(row: LoginRow, uid: string): InteractionLoginRecord {
  return { uid, stage: row.stage, personId: row.person_id, cardSerial: row.card_serial, challenge: row.challenge, csrfToken: row.csrf_token, expiresAt: row.expires_at };
}
