/**
 * A site's side of an OpenID Connect login, for tests that drive the provider themselves: the
 * authorization request (code flow, PKCE S256, state, nonce), the code's redemption at the token
 * endpoint (with or without the verifier, as often as a test likes), and, without a browser, the
 * person's side too (`loginOverHttp`: the provider's two steps and consent through a WebClient).
 * The lab's sites (host/lab/sites/relying-party.ts) do the same on openid-client; this is for the
 * tests that must hold the code, the verifier or the tokens in their own hands.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WebClient, WebResponse } from './web-client.ts';

/** A registered site as a test holds it. */
export interface TestSite {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

export interface AuthorizationRequest {
  readonly url: string;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

/** The authorization request of `site` (scope `openid profile nemid` unless `extra` says otherwise), PKCE S256. */
export function authorizationRequest(issuer: string, site: TestSite, extra: Record<string, string> = {}): AuthorizationRequest {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const query = new URLSearchParams({
    client_id: site.clientId,
    redirect_uri: site.redirectUri,
    response_type: 'code',
    scope: 'openid profile nemid',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url: `${issuer}/auth?${query}`, verifier, state, nonce };
}

export interface TokenAnswer {
  readonly status: number;
  readonly json: { id_token?: string; access_token?: string; refresh_token?: string; error?: string; error_description?: string };
}

/** Redeems `code` at the token endpoint with the site's secret (client_secret_basic); `verifier` undefined sends none. */
export async function redeemCode(issuer: string, site: TestSite, code: string, verifier: string | undefined): Promise<TokenAnswer> {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: site.redirectUri });
  if (verifier !== undefined) form.set('code_verifier', verifier);
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(site), 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return { status: response.status, json: (await response.json()) as TokenAnswer['json'] };
}

/** The site's refresh at the token endpoint (grant_type refresh_token, client_secret_basic). */
export async function refreshTokens(issuer: string, site: TestSite, refreshToken: string, at: string = issuer): Promise<TokenAnswer> {
  const response = await fetch(`${at}/token`, {
    method: 'POST',
    headers: { authorization: basic(site), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: response.status, json: (await response.json()) as TokenAnswer['json'] };
}

/**
 * The person logging out at the provider (RP-initiated logout by `site`) in the browser `web` holds:
 * of everything (the confirmation posted with `logout=yes`, as the provider's page does), or with
 * `everywhere` false of the asking site only (the form posted without it, as oidc-provider allows);
 * resolves to the confirmation's status.
 */
export async function logoutAtProvider(web: WebClient, issuer: string, site: TestSite, everywhere = true): Promise<number> {
  const asked = await web.get(`${issuer}/session/end?client_id=${encodeURIComponent(site.clientId)}`);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(asked.body)?.[1];
  if (!xsrf) throw new Error(`no logout form at the provider (${asked.status}): ${asked.body.slice(0, 200)}`);
  const action = /id="op.logoutForm" method="post" action="([^"]+)"/.exec(asked.body)?.[1] ?? `${issuer}/session/end/confirm`;
  return (await web.post(action, everywhere ? { xsrf, logout: 'yes' } : { xsrf }, { csrf: false })).status;
}

/** Whether the provider still takes `token` (RFC 7662 introspection, or the userinfo endpoint for an access token). */
export async function userinfoStatus(issuer: string, accessToken: string): Promise<number> {
  const response = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.body?.cancel();
  return response.status;
}

/** The claims of a JWT (its signature not checked: the tests that need that check it themselves). */
export function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

function basic(site: TestSite): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(site.clientId)}:${encodeURIComponent(site.clientSecret)}`).toString('base64')}`;
}

/** What comes back to the site's redirect URI. */
export interface Returned {
  readonly code: string | null;
  readonly state: string | null;
  readonly error: string | null;
  readonly errorDescription: string | null;
}

/**
 * The person's side without a browser: the authorization request, step 1 (user-id and password),
 * step 2 (`answer` gives the fields for the page step 2 shows: `{ key }` for a card, `{ code }` for a
 * token or a lost token's temporary password), consent when asked; returns what the provider sends
 * back to the site. Throws, with the page's error, if it stops anywhere else.
 */
export async function loginOverHttp(
  web: WebClient,
  request: AuthorizationRequest,
  site: TestSite,
  person: { readonly userId: string; readonly password: string; answer(stepPage: string): Record<string, string> | Promise<Record<string, string>> },
): Promise<Returned> {
  let response = await web.get(request.url);
  const follow = async (): Promise<Returned | undefined> => {
    for (let hops = 0; response.location && hops < 8; hops++) {
      const target = new URL(response.location, web.base);
      if (target.href.startsWith(site.redirectUri)) {
        const at = target.searchParams;
        return { code: at.get('code'), state: at.get('state'), error: at.get('error'), errorDescription: at.get('error_description') };
      }
      response = await web.get(target.href);
    }
    return undefined;
  };
  const stopped = (where: string, page: WebResponse) => new Error(`the provider's login stopped at ${where} (${page.status}): ${/id="error"[^>]*>([^<]*)</.exec(page.body)?.[1] ?? page.body.slice(0, 200)}`);

  if (await follow()) throw new Error('the provider sent the site an answer before any login');
  const flow = /action="([^"]*\/interaction\/[^/"]+)\/login"/.exec(response.body)?.[1];
  if (!flow) throw stopped('the login page', response);
  response = await web.post(`${flow}/login`, { userId: person.userId, password: person.password });
  if (!response.location) throw stopped('step 1', response);
  response = await web.get(response.location);
  response = await web.post(`${flow}/login/key`, await person.answer(response.body));
  let back = await follow();
  if (back) return back;
  const consent = /action="([^"]*\/interaction\/[^/"]+)\/consent"/.exec(response.body)?.[1];
  if (!consent) throw stopped('step 2', response);
  response = await web.post(`${consent}/consent`, { decision: 'allow' });
  back = await follow();
  if (!back) throw stopped('consent', response);
  return back;
}
