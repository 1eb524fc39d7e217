/**
 * The OpenID Connect provider (oidc-provider) of the login service: the authorization code flow
 * with PKCE (S256) required of every site, the service's two-step login as its interaction
 * (devInteractions off), its own SSO session (a site may refuse it with prompt=login or max_age),
 * RP-initiated and back-channel logout, pairwise `sub`, and storage on the project's store.
 */
import { interactionPolicy, Provider, type Account, type ClientModel, type KoaContextLike } from 'oidc-provider';
import type { SeedVault } from '../../server/seed-vault.ts';
import { escapeHtml } from '../outbox/html.ts';
import type { NemIdService } from '../service.ts';
import { storeAdapter } from './adapter.ts';
import { isLoopback } from './clients.ts';
import { ACR_VALUES, pairwiseSubject, personClaims, refusalFor, SCOPE_CLAIMS, SITE_POLICY_REASON } from './claims.ts';
import { ID_TOKEN_TTL_SECONDS, type ProviderKeys } from './keys.ts';
import type { OidcStore } from './store/types.ts';

export interface ProviderOptions {
  readonly issuer: string;
  /** Where the provider is mounted on the app (the issuer's path), e.g. `/oidc`. */
  readonly prefix: string;
  readonly store: OidcStore;
  readonly vault: SeedVault;
  readonly service: NemIdService;
  readonly keys: ProviderKeys;
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><link rel="stylesheet" href="/assets/service.css"></head><body><main class="narrow"><h1 id="page-title" tabindex="-1" autofocus>${escapeHtml(title)}</h1>${body}</main></body></html>`;

export function createProvider(options: ProviderOptions): Provider {
  const { store, service, keys } = options;

  const policy = interactionPolicy.base();
  // A person the site does not accept, or one blocked or locked since, is not let through on the SSO session.
  policy.get('login').checks.add(
    new interactionPolicy.Check(SITE_POLICY_REASON, 'the site does not accept this person', async (ctx: KoaContextLike) => {
      const accountId = ctx.oidc.session?.accountId;
      const client = ctx.oidc.client;
      if (!accountId || !client) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const [person, site] = await Promise.all([service.people.find(accountId), store.getClient(client.clientId)]);
      if (!person || person.state === 'blocked' || person.state === 'locked' || !site) return interactionPolicy.Check.REQUEST_PROMPT;
      return refusalFor(site.acceptedScopes, person.scope, site.name) === undefined ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );

  const provider = new Provider(options.issuer, {
    adapter: storeAdapter(store, options.vault),
    jwks: keys.jwks,
    cookies: {
      keys: keys.cookieKeys,
      names: { session: 'nv_oidc_session', interaction: 'nv_oidc_interaction', resume: 'nv_oidc_resume' },
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      claimsParameter: { enabled: false },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `${options.prefix}/interaction/${interaction.uid}`, policy },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((scope) => scope !== 'openid')],
    claims: { ...SCOPE_CLAIMS, acr: null, amr: null, sid: null, auth_time: null, iss: null },
    conformIdTokenClaims: false,
    acrValues: [...ACR_VALUES],
    subjectTypes: ['pairwise'],
    pairwiseIdentifier: async (_ctx: unknown, accountId: string, client: ClientModel) => pairwiseSubject(keys.pairwiseSalt, client.sectorIdentifier ?? client.clientId, accountId),
    findAccount: async (_ctx: unknown, sub: string): Promise<Account | undefined> => {
      const person = await service.people.find(sub);
      if (!person || person.state === 'blocked' || person.state === 'locked') return undefined;
      const principal = await service.login.principal(person);
      return { accountId: person.id, claims: () => personClaims(principal) };
    },
    // A refresh token only for a site that asked for offline_access (which the provider keeps only with
    // prompt=consent), and every refresh token used once: a refresh gives a new one, and one used
    // again (a copy of it, or the loser of two sent at once, on any node) revokes the grant.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_TTL_SECONDS,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 15 * 60,
      Session: 8 * 3600,
      Grant: 14 * 24 * 3600,
    },
    clientBasedCORS: () => false,
    fetch: labSiteFetch,
    renderError: async (ctx: { type: string; body: string }, out: { error: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = page('The login could not go on', `<p class="error" role="alert" id="error">${escapeHtml(out.error_description ?? out.error)}</p><p id="error-code">${escapeHtml(out.error)}</p>`);
    },
  });
  // The issuer's scheme is what the listener speaks; a proxy in front would set it explicitly.
  provider.proxy = false;
  // oidc-provider keeps an offline_access grant through a logout at the provider; here a person who
  // logs out of everything ends every site's grant of that session, refresh tokens included.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'end_session_confirm' || !ctx.oidc.params?.logout || ctx.status === undefined || ctx.status < 300 || ctx.status >= 400) return;
    for (const { grantId } of Object.values(ctx.oidc.session?.authorizations ?? {})) if (grantId) await store.revokeGrant(grantId);
  });
  return provider;
}

/**
 * The provider's outgoing requests (back-channel logouts) go through its guard against loopback and
 * private addresses; a plain-http URL is one only a lab site on loopback may have been registered
 * with (`allowInsecureLoopback`), and is let through to its loopback address.
 */
function labSiteFetch(url: string | URL, init: RequestInit & { dispatcher?: unknown }): Promise<Response> {
  const target = new URL(url);
  if (target.protocol === 'http:' && isLoopback(target.hostname)) {
    const { dispatcher: _guard, ...rest } = init;
    return globalThis.fetch(target, rest);
  }
  return globalThis.fetch(target, init);
}

/** The logout confirmation: the provider's form (with its xsrf field) and a button. */
async function logoutSource(ctx: { type: string; body: string }, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = page(
    'Log out',
    `<p>Log out of the login service and of every site you logged in to with it?</p>${form.replace('</form>', '<button type="submit" form="op.logoutForm" name="logout" value="yes" id="logout-confirm" class="primary">Log out</button></form>')}`,
  );
}

async function postLogoutSuccessSource(ctx: { type: string; body: string }): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Logged out', '<p id="logged-out">You are logged out of the login service and of the sites you used it for.</p>');
}
