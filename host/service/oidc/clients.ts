/**
 * Sites registered by an operator: a client id and a secret (shown once, kept sealed), the exact
 * redirect URIs, and the site's policy: which scopes of person it accepts (others are refused with
 * access_denied back to the site) and which `acr` values it may ask for.
 */
import { randomBytes } from 'node:crypto';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { SiteView } from '../../api/oidc-clients.ts';
import type { SeedVault } from '../../server/seed-vault.ts';
import { auditEntry, type Actor } from '../../store/audit.ts';
import type { Scope } from '../store/types.ts';
import { ACR_VALUES } from './claims.ts';
import { DuplicateClientError, type ClientRecord, type OidcStore } from './store/types.ts';

export const SCOPES: readonly Scope[] = ['full', 'bank-only', 'view-only'];

export interface NewSite {
  readonly id?: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly backchannelLogoutUri?: string | null;
  readonly acceptedScopes?: readonly Scope[];
  readonly acrValues?: readonly string[];
  readonly firstParty?: boolean;
  /** Lab sites only: plain http on a loopback address. */
  readonly allowInsecureLoopback?: boolean;
}

export type { SiteView };

export function viewSite(client: ClientRecord): SiteView {
  return {
    clientId: client.id,
    name: client.name,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    backchannelLogoutUri: client.backchannelLogoutUri,
    acceptedScopes: client.acceptedScopes,
    acrValues: client.acrValues,
    firstParty: client.firstParty,
    createdAt: new Date(client.createdAt).toISOString(),
  };
}

const bad = (message: string) => new CodedError('NV_BAD_FIELD', message, 400);

export function isLoopback(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]' || hostname === 'localhost';
}

/** An absolute https URL without a fragment (http only on a loopback address when allowed). */
function checkUri(text: string, what: string, allowInsecureLoopback: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(`${what} "${text.slice(0, 200)}" is not an absolute URL`);
  }
  if (url.hash) throw bad(`${what} must not have a fragment`);
  if (url.protocol === 'https:') return text;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) {
    if (allowInsecureLoopback) return text;
    throw bad(`${what} uses plain http; only the lab's loopback sites may (https otherwise)`);
  }
  throw bad(`${what} must be https`);
}

export class SiteRegistry {
  constructor(
    private readonly store: OidcStore,
    private readonly vault: SeedVault,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers a site; its secret is returned this once and kept only sealed. */
  async add(input: NewSite, actor: Actor): Promise<{ site: SiteView; clientSecret: string }> {
    const insecure = input.allowInsecureLoopback === true;
    const id = input.id ?? `site_${randomBytes(9).toString('base64url')}`;
    if (!/^[A-Za-z0-9_.-]{3,64}$/.test(id)) throw bad('the client id is 3-64 letters, digits, dots, underscores or hyphens');
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw bad('the site name is 1-100 characters');
    if (input.redirectUris.length === 0 || input.redirectUris.length > 10) throw bad('give 1 to 10 redirect URIs');
    const redirectUris = input.redirectUris.map((uri) => checkUri(uri, 'a redirect URI', insecure));
    const hosts = new Set(redirectUris.map((uri) => new URL(uri).host));
    if (hosts.size > 1) throw bad('the redirect URIs of one site share one host (its sector for pairwise subjects)');
    const postLogoutRedirectUris = (input.postLogoutRedirectUris ?? []).map((uri) => checkUri(uri, 'a post-logout redirect URI', insecure));
    const backchannelLogoutUri = input.backchannelLogoutUri ? checkUri(input.backchannelLogoutUri, 'the back-channel logout URI', insecure) : null;
    const acceptedScopes = [...new Set<Scope>(input.acceptedScopes ?? ['full'])];
    if (acceptedScopes.length === 0 || acceptedScopes.some((scope) => !SCOPES.includes(scope))) throw bad(`accepted scopes are of ${SCOPES.join(', ')}`);
    const acrValues = [...new Set(input.acrValues ?? ACR_VALUES)];
    const unknownAcr = acrValues.find((value) => !ACR_VALUES.includes(value));
    if (unknownAcr !== undefined) throw bad(`unknown acr value "${unknownAcr.slice(0, 100)}"; the provider knows ${ACR_VALUES.join(', ')}`);
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const record: ClientRecord = {
      id,
      name,
      redirectUris,
      postLogoutRedirectUris,
      backchannelLogoutUri,
      sealedSecret: this.vault.seal('oidc-client-secret', id, Buffer.from(secret, 'utf8')),
      acceptedScopes,
      acrValues,
      firstParty: input.firstParty === true,
      createdAt: now,
    };
    try {
      await this.store.insertClient(record, auditEntry(actor, 'oidc.client-add', null, 'ok', { client: id }, now));
    } catch (error) {
      if (error instanceof DuplicateClientError) throw new CodedError('NV_CLIENT_EXISTS', error.message, 409);
      throw error;
    }
    return { site: viewSite(record), clientSecret: secret };
  }

  async list(): Promise<SiteView[]> {
    return (await this.store.listClients()).map(viewSite);
  }

  async get(id: string): Promise<ClientRecord | undefined> {
    return this.store.getClient(id);
  }

  /** Removes the site and every grant, code and token the provider holds for it. */
  async remove(id: string, actor: Actor): Promise<void> {
    if (!(await this.store.deleteClient(id, auditEntry(actor, 'oidc.client-remove', null, 'ok', { client: id }, this.now())))) {
      throw new CodedError('NV_NO_CLIENT', `no site with client id ${id.slice(0, 64)}`, 404);
    }
  }
}
