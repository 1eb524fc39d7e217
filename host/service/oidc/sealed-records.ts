/**
 * How the provider's records are kept at rest. Most of their ids are credentials — an
 * authorization code, an access or refresh token, the session cookie's value, an interaction's
 * id — so a copy of the database or of a backup must not carry them: a record is kept under the
 * SHA-256 of its id, and its payload (which repeats the id as `jti`, and holds the claims) is
 * sealed under the master key, bound to its model and key, so a sealed payload copied onto
 * another record does not open. A grant's id is kept as it is: it is no credential, and the
 * records issued under it find it by that id (`grant_id`). A Session's `uid` and a user code, the
 * other ways a record is found, are kept as digests too (store/oidc-rows.ts's modelColumns). The
 * person a record is of (its payload's accountId) is kept as a keyed digest (accountDigest), so
 * a person's records are found without opening everyone's. A record that does not open (made
 * before records were sealed, or tampered with) is treated as absent.
 */
import { createHash } from 'node:crypto';
import type { SeedVault } from '../../server/seed-vault.ts';
import type { ModelRecord } from './store/types.ts';

/** The model whose ids are references, not credentials. */
const KEPT_AS_IS = 'Grant';

/** The key a record of `model` with this id is kept under. */
export function recordKey(model: string, id: string): string {
  return model === KEPT_AS_IS ? id : `sha256:${createHash('sha256').update(id).digest('base64url')}`;
}

/**
 * The digest a record's `account` column holds for the person `accountId`: keyed with the master
 * key (an HMAC), never a bare hash — an account id is a NemID number, few enough that a bare hash
 * of each could be computed by anyone holding a copy of the store, and matched.
 */
export function accountDigest(vault: Pick<SeedVault, 'digest'>, accountId: string): string {
  return vault.digest('oidc-account', accountId);
}

/** The payload as the store keeps it: sealed, as base64 text. */
export function sealPayload(vault: Pick<SeedVault, 'seal'>, model: string, key: string, payload: object): string {
  return Buffer.from(vault.seal('oidc-record', [model, key], Buffer.from(JSON.stringify(payload), 'utf8'))).toString('base64');
}

/** The record's payload, or undefined when it does not open with this master key. */
export function openPayload<T extends object>(vault: Pick<SeedVault, 'open'>, record: Pick<ModelRecord, 'model' | 'id' | 'payload'>): T | undefined {
  try {
    return JSON.parse(Buffer.from(vault.open('oidc-record', [record.model, record.id], Buffer.from(record.payload, 'base64'))).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
