/**
 * The provider's keys: RS256 signing keys made on first start and sealed under the master key
 * like seeds, rotated on an operator's command (the new key signs from then on; a retired
 * key stays in the JWKS until every ID token it signed has expired, then is dropped), and the
 * sealed secrets every node must share: the pairwise salt and the cookie keys.
 */
import { generateKeyPairSync, randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import type { SeedVault } from '../../server/seed-vault.ts';
import { auditEntry, type Actor } from '../../store/audit.ts';
import type { OidcStore, SigningKeyRecord, SigningKeyStamp } from './store/types.ts';

/** How long an ID token lasts, seconds; a retired key is kept this long (and a minute more) after its rotation. */
export const ID_TOKEN_TTL_SECONDS = 3600;
export const RETIRED_KEY_KEPT_MS = (ID_TOKEN_TTL_SECONDS + 60) * 1000;

export interface ProviderKeys {
  /** Private JWKs for oidc-provider: the signing key first, then retired keys still published. */
  readonly jwks: { keys: JsonWebKey[] };
  readonly signingKid: string;
  /** The key set these were made from (ids and retirements), to tell when the store's differs. */
  readonly stamps: readonly SigningKeyStamp[];
  readonly cookieKeys: string[];
  readonly pairwiseSalt: Buffer;
}

function newSigningKey(vault: SeedVault, now: number): SigningKeyRecord {
  const kid = randomUUID();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const bytes = Buffer.from(JSON.stringify(jwk), 'utf8');
  try {
    return { kid, sealedJwk: vault.seal('oidc-signing-key', kid, bytes), publicJwk: JSON.stringify(publicJwk), createdAt: now, retiredAt: null };
  } finally {
    bytes.fill(0);
  }
}

/** Makes a new signing key and retires the one that signed; returns the new key id. */
export async function rotateSigningKey(store: OidcStore, vault: SeedVault, actor: Actor, now = Date.now()): Promise<{ kid: string; retired: string[] }> {
  const before = await store.listSigningKeys();
  const key = newSigningKey(vault, now);
  await store.addSigningKey(key, now, auditEntry(actor, 'oidc.rotate-keys', null, 'ok', { kid: key.kid }, now));
  return { kid: key.kid, retired: before.filter((k) => k.retiredAt === null).map((k) => k.kid) };
}

const stampText = (stamps: readonly SigningKeyStamp[]) =>
  stamps
    .map((stamp) => `${stamp.kid}@${stamp.retiredAt ?? 'signing'}`)
    .sort()
    .join(' ');

/**
 * Whether a provider made on `keys` must be made again: the store's key set (`stored`) is another
 * (a rotation on another node, a retired key dropped by another), or a retired key it publishes
 * has passed its time at `now`. Compares ids and retirements only: nothing is unsealed.
 */
export function keysOutdated(keys: Pick<ProviderKeys, 'stamps'>, stored: readonly SigningKeyStamp[], now: number): boolean {
  if (stampText(keys.stamps) !== stampText(stored)) return true;
  return keys.stamps.some((stamp) => stamp.retiredAt !== null && stamp.retiredAt < now - RETIRED_KEY_KEPT_MS);
}

async function sealedSecret(store: OidcStore, vault: SeedVault, name: string, bytes: number): Promise<Buffer> {
  let sealed = await store.getSecret(name);
  if (!sealed) {
    const fresh = randomBytes(bytes);
    sealed = await store.putSecretIfAbsent(name, vault.seal('oidc-secret', name, fresh));
    fresh.fill(0);
  }
  return Buffer.from(vault.open('oidc-secret', name, sealed));
}

/** The keys the provider starts with: a signing key made if there is none, retired keys past their time dropped. */
export async function loadProviderKeys(store: OidcStore, vault: SeedVault, now = Date.now()): Promise<ProviderKeys> {
  await store.dropRetiredKeys(now - RETIRED_KEY_KEPT_MS);
  let records = await store.listSigningKeys();
  if (!records.some((k) => k.retiredAt === null)) {
    // Nodes starting together on an empty store each make one; the store keeps the first, and every node signs with it.
    await store.addFirstSigningKey(newSigningKey(vault, now));
    records = await store.listSigningKeys();
  }
  const ordered = [...records.filter((k) => k.retiredAt === null), ...records.filter((k) => k.retiredAt !== null)];
  const keys = ordered.map((record) => {
    const bytes = vault.open('oidc-signing-key', record.kid, record.sealedJwk);
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonWebKey;
    } finally {
      bytes.fill(0);
    }
  });
  const cookieKey = await sealedSecret(store, vault, 'cookie-keys', 32);
  return {
    jwks: { keys },
    signingKid: ordered[0]!.kid,
    // In the JWKS's order (the signing key first): keys made in the same millisecond have no other order.
    stamps: ordered.map(({ kid, retiredAt }) => ({ kid, retiredAt })),
    cookieKeys: [cookieKey.toString('base64url')],
    pairwiseSalt: await sealedSecret(store, vault, 'pairwise-salt', 32),
  };
}
