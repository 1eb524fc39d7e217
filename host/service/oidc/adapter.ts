/**
 * oidc-provider's storage adapter on the project's OidcStore (never its in-memory development
 * adapter): one adapter per model name. A code or refresh token is consumed by one conditional
 * update, so of two redemptions (on any node) exactly one wins; the other finds it consumed, the
 * grant and every token issued under it are revoked, and the redemption is refused. Sites (the
 * `Client` model) are read from the operator's registrations, their secret unsealed on the way.
 * Records are kept under a digest of their id with their payload sealed, and the person they are
 * of (accountId) as a keyed digest (sealed-records.ts).
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { SeedVault } from '../../server/seed-vault.ts';
import { accountDigest, openPayload, recordKey, sealPayload } from './sealed-records.ts';
import type { ClientRecord, OidcStore } from './store/types.ts';

/** The provider's view of a registered site. */
export function clientMetadata(client: ClientRecord, vault: SeedVault): AdapterPayload {
  const secret = Buffer.from(vault.open('oidc-client-secret', client.id, client.sealedSecret)).toString('utf8');
  return {
    client_id: client.id,
    client_secret: secret,
    client_name: client.name,
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    ...(client.backchannelLogoutUri ? { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    subject_type: 'pairwise',
    id_token_signed_response_alg: 'RS256',
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

class StoreAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly store: OidcStore,
    private readonly vault: SeedVault,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const key = recordKey(this.model, id);
    await this.store.upsertModel({
      model: this.model,
      id: key,
      payload: sealPayload(this.vault, this.model, key, payload),
      grantId: payload.grantId ?? null,
      clientId: typeof payload.clientId === 'string' ? payload.clientId : null,
      uid: payload.uid ?? null,
      userCode: payload.userCode ?? null,
      account: typeof payload.accountId === 'string' ? accountDigest(this.vault, payload.accountId) : null,
      expiresAt: typeof expiresIn === 'number' ? nowSeconds() + expiresIn : null,
      consumedAt: null,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') {
      const client = await this.store.getClient(id);
      return client && clientMetadata(client, this.vault);
    }
    const record = await this.store.findModel(this.model, recordKey(this.model, id), nowSeconds());
    const payload = record && openPayload<AdapterPayload>(this.vault, record);
    if (!record || !payload) return undefined;
    return { ...payload, ...(record.consumedAt !== null ? { consumed: record.consumedAt } : {}) };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const record = await this.store.findModelByUid(this.model, uid, nowSeconds());
    return record && openPayload<AdapterPayload>(this.vault, record);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const record = await this.store.findModelByUserCode(this.model, userCode, nowSeconds());
    return record && openPayload<AdapterPayload>(this.vault, record);
  }

  async consume(id: string): Promise<void> {
    const key = recordKey(this.model, id);
    if (await this.store.consumeModel(this.model, key, nowSeconds())) return;
    // Another redemption got there first (or it is gone): what it was issued under is revoked.
    const record = await this.store.findModel(this.model, key, 0);
    if (record?.grantId) await this.store.revokeGrant(record.grantId);
    throw new errors.InvalidGrant('the grant was used already');
  }

  async destroy(id: string): Promise<void> {
    await this.store.destroyModel(this.model, recordKey(this.model, id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.store.revokeGrant(grantId);
  }
}

export function storeAdapter(store: OidcStore, vault: SeedVault): (model: string) => Adapter {
  return (model) => new StoreAdapter(model, store, vault);
}
