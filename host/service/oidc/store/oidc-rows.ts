/**
 * The provider's rows as both stores keep them (the same tables and columns on SQLite and
 * PostgreSQL), and the records they make.
 */
import { createHash } from 'node:crypto';
import type { Scope } from '../../store/types.ts';
import type { ClientRecord, InteractionLoginRecord, ModelRecord, SigningKeyRecord } from './types.ts';

export type ModelRow = { model: string; id: string; payload: string; grant_id: string | null; client_id: string | null; uid: string | null; user_code: string | null; expires_at: number | null; consumed_at: number | null };
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

export function toModel(row: ModelRow): ModelRecord {
  return { model: row.model, id: row.id, payload: row.payload, grantId: row.grant_id, clientId: row.client_id, uid: row.uid, userCode: row.user_code, expiresAt: row.expires_at, consumedAt: row.consumed_at };
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
  return `sha256:${createHash('sha256').update(uid, 'utf8').digest('base64url')}`;
}

/** The record of a login found by the interaction `uid` (its row holds only the digest). */
export function toLogin(row: LoginRow, uid: string): InteractionLoginRecord {
  return { uid, stage: row.stage, personId: row.person_id, cardSerial: row.card_serial, challenge: row.challenge, csrfToken: row.csrf_token, expiresAt: row.expires_at };
}
