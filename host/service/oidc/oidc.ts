/**
 * The login service's OpenID Connect provider, put together: its store, keys and sites, its
 * routes on the app (registered before the app listens), and the provider itself, made once the
 * issuer is known (given, or the listen address with the prefix).
 */
import type { FastifyInstance } from 'fastify';
import type { Provider } from 'oidc-provider';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { SeedVault } from '../../server/seed-vault.ts';
import type { NemIdService } from '../service.ts';
import { SiteRegistry } from './clients.ts';
import { loadProviderKeys } from './keys.ts';
import { createProvider } from './provider.ts';
import { oidcCsrfExemptions, registerOidcRoutes } from './routes.ts';
import type { OidcStore } from './store/types.ts';

export const OIDC_PREFIX = '/oidc';

export interface OidcProvider {
  readonly sites: SiteRegistry;
  readonly prefix: string;
  /** Paths a CSRF hook over the app leaves to the provider. */
  readonly csrfExemptions: readonly RegExp[];
  /** The issuer, once started. */
  issuer(): string | undefined;
  /** Makes the provider (keys loaded or made); `listenUrl` gives the issuer when none was set. */
  start(listenUrl: string): Promise<void>;
}

export async function registerOidc(
  app: FastifyInstance,
  options: { service: NemIdService; store: OidcStore; vault: SeedVault; issuer?: string },
): Promise<OidcProvider> {
  let provider: Provider | undefined;
  // A wrong --issuer is refused before the app listens.
  const given = options.issuer === undefined ? undefined : checkIssuer(options.issuer);
  let issuer: string | undefined;
  const sites = new SiteRegistry(options.store, options.vault, options.service.now);
  await registerOidcRoutes(app, { prefix: OIDC_PREFIX, provider: () => provider, service: options.service, store: options.store, sites });
  return {
    sites,
    prefix: OIDC_PREFIX,
    csrfExemptions: oidcCsrfExemptions(OIDC_PREFIX),
    issuer: () => issuer,
    async start(listenUrl) {
      issuer = given ?? `${listenUrl}${OIDC_PREFIX}`;
      const keys = await loadProviderKeys(options.store, options.vault);
      provider = createProvider({ issuer, prefix: OIDC_PREFIX, store: options.store, vault: options.vault, service: options.service, keys });
    },
  };
}

/** An absolute http(s) URL without query or fragment whose path is where the provider is mounted. */
export function checkIssuer(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const issuer = text.replace(/\/$/, '');
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.pathname.replace(/\/$/, '') !== OIDC_PREFIX) {
    throw new CodedError('NV_BAD_ARGUMENT', `--issuer takes the provider's public URL, ending in ${OIDC_PREFIX} (e.g. https://login.example${OIDC_PREFIX}), not "${text.slice(0, 200)}"`, 400);
  }
  return issuer;
}
