/**
 * Every column of every owner's tables that holds a value sealed under the master key, with what
 * the re-seal needs to open and seal it again: the purpose and the name its owner seals it under
 * (host/server/seed-vault.ts), the row's key, and how the blob is kept (bytes, or base64 text).
 * The same tables and columns on SQLite and PostgreSQL. A sealed column added to a store is added
 * here too (host/store/reseal/reseal.test.ts holds a blob of every kind listed).
 */
import type { SealName, SealPurpose } from '../../server/seed-vault.ts';

/** What the re-seal reports a sealed value as: the kind of record that holds it. */
export type SealedKind = 'seed' | 'replacement-password' | 'card-secret' | 'letter-body' | 'letter-file' | 'oidc-signing-key' | 'oidc-secret' | 'oidc-client-secret' | 'oidc-record';

export interface SealedColumn {
  readonly kind: SealedKind;
  readonly table: string;
  /** The row's key columns, in the order `name` takes them (all text or integers, none secret). */
  readonly keys: readonly string[];
  readonly column: string;
  /** `bytes`: a BLOB / BYTEA; `base64`: TEXT holding the blob in base64. */
  readonly encoding: 'bytes' | 'base64';
  readonly purpose: SealPurpose;
  /** The name the owner seals the value under, from the row's key (as text). */
  name(key: readonly string[]): SealName;
}

const first = (key: readonly string[]) => key[0]!;

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { kind: 'seed', table: 'tokens', keys: ['serial'], column: 'sealed_seed', encoding: 'bytes', purpose: 'seed', name: first },
  { kind: 'replacement-password', table: 'replacements', keys: ['id'], column: 'sealed_password', encoding: 'bytes', purpose: 'replacement-password', name: first },
  { kind: 'card-secret', table: 'code_cards', keys: ['serial'], column: 'sealed_secret', encoding: 'bytes', purpose: 'card-secret', name: first },
  { kind: 'letter-body', table: 'outbox_letters', keys: ['id'], column: 'sealed_html', encoding: 'bytes', purpose: 'letter-body', name: first },
  { kind: 'letter-file', table: 'outbox_attachments', keys: ['letter_id', 'name'], column: 'sealed_bytes', encoding: 'bytes', purpose: 'letter-file', name: (key) => [key[0]!, key[1]!] },
  { kind: 'oidc-signing-key', table: 'oidc_signing_keys', keys: ['kid'], column: 'sealed_jwk', encoding: 'bytes', purpose: 'oidc-signing-key', name: first },
  { kind: 'oidc-secret', table: 'oidc_secrets', keys: ['name'], column: 'sealed', encoding: 'bytes', purpose: 'oidc-secret', name: first },
  { kind: 'oidc-client-secret', table: 'oidc_clients', keys: ['id'], column: 'sealed_secret', encoding: 'bytes', purpose: 'oidc-client-secret', name: first },
  { kind: 'oidc-record', table: 'oidc_models', keys: ['model', 'id'], column: 'payload', encoding: 'base64', purpose: 'oidc-record', name: (key) => [key[0]!, key[1]!] },
];
