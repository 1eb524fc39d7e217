/**
 * A person's records at the provider — their sessions and grants — found by the keyed digest of
 * their account id (sealed-records.ts's accountDigest): one indexed query per model, and only the
 * records it finds are opened (the person's, and the few whose person the store does not know yet:
 * rows kept before migration 6), never every live record of the provider.
 */
import type { SeedVault } from '../../server/seed-vault.ts';
import { accountDigest, openPayload } from './sealed-records.ts';
import type { ModelRecord, OidcStore } from './store/types.ts';

type Vault = Pick<SeedVault, 'open' | 'digest'>;

/** A provider Session's payload, as far as it is read here. */
export interface SessionPayload {
  readonly accountId?: string;
  readonly loginTs?: number;
  readonly authorizations?: Readonly<Record<string, { readonly sid?: string; readonly grantId?: string }>>;
}

/** The live records of `model` of the person `accountId`, opened. */
export async function recordsOf<T extends { accountId?: string }>(
  store: OidcStore,
  vault: Vault,
  model: string,
  accountId: string,
  nowSeconds: number,
): Promise<{ record: ModelRecord; payload: T }[]> {
  const found = await store.listModelsOfAccount(model, accountDigest(vault, accountId), nowSeconds);
  const mine: { record: ModelRecord; payload: T }[] = [];
  for (const record of found) {
    const payload = openPayload<T>(vault, record);
    // The sealed payload says whose it is: a row whose person is not known is anyone's until opened.
    if (payload?.accountId === accountId) mine.push({ record, payload });
  }
  return mine;
}

/** A person's live provider sessions: when they logged in, and the sites (client ids) they used each for. */
export async function sessionsOf(store: OidcStore, vault: Vault, accountId: string, nowSeconds: number): Promise<{ loginAt: number | null; clientIds: string[] }[]> {
  return (await recordsOf<SessionPayload>(store, vault, 'Session', accountId, nowSeconds)).map(({ payload }) => ({
    loginAt: payload.loginTs === undefined ? null : payload.loginTs * 1000,
    clientIds: Object.keys(payload.authorizations ?? {}),
  }));
}

/**
 * Ends every provider session of the person: each session destroyed, the grant of each site it was
 * used for revoked (the grant's tokens with it) and `logout` called for that site's session id;
 * then every other grant of the person is revoked (an offline_access grant outlives its session).
 */
export async function endSessionsOf(
  store: OidcStore,
  vault: Vault,
  accountId: string,
  nowSeconds: number,
  logout: (clientId: string, sid: string) => Promise<void>,
): Promise<void> {
  for (const { record, payload } of await recordsOf<SessionPayload>(store, vault, 'Session', accountId, nowSeconds)) {
    await store.destroyModel('Session', record.id);
    for (const [clientId, authorization] of Object.entries(payload.authorizations ?? {})) {
      if (authorization.grantId) await store.revokeGrant(authorization.grantId);
      if (authorization.sid) await logout(clientId, authorization.sid);
    }
  }
  for (const { record } of await recordsOf(store, vault, 'Grant', accountId, nowSeconds)) await store.revokeGrant(record.id);
}

/** The models oidc-provider keeps a person's accountId in. */
export const PERSON_MODELS: readonly string[] = ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/**
 * Gives the records whose person the store does not know (kept before migration 6, or written by a
 * node of an older build) their account digest, opening each once, `batch` at a time; how many were
 * given one. A node runs it in the background as it starts: a person's lookup finds those records
 * meanwhile all the same (it opens every unknown one), and afterwards opens only the person's —
 * not every grant kept before the upgrade for the 14 days a grant lives. Nodes starting together
 * may run it at once: a record is set only while still unknown and holding the payload read.
 */
export async function fillAccounts(store: OidcStore, vault: Vault, nowSeconds: number, batch = 500): Promise<number> {
  let filled = 0;
  for (const model of PERSON_MODELS) {
    for (;;) {
      const found = await store.listModelsOfUnknownAccount(model, batch, nowSeconds);
      // Nothing to give: no write at all (a start on an up-to-date store opens no transaction for it).
      if (found.length === 0) break;
      const set = await store.setModelAccounts(
        found.map((record) => {
          const accountId = openPayload<{ accountId?: unknown }>(vault, record)?.accountId;
          return { model, id: record.id, payload: record.payload, account: typeof accountId === 'string' ? accountDigest(vault, accountId) : null };
        }),
      );
      filled += set;
      // A short batch was the last; none set: another node is filling these.
      if (found.length < batch || set === 0) break;
    }
  }
  return filled;
}
