/**
 * One of the lab's sites (the net bank, the tax office, the debt-collection portal): a small
 * relying party on openid-client, on a loopback address of its own so that it is a sector of its
 * own for pairwise `sub`. It logs a visitor in at the provider (code flow, PKCE S256, state and
 * nonce, the ID token checked by openid-client), shows who came back and why a login was refused,
 * and ends a visitor's session when the provider posts a back-channel logout token for it.
 *
 * Plain HTTP is allowed here only: the lab's provider listens on loopback without TLS.
 */
import { createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { escapeHtml } from '../../service/outbox/html.ts';

export type SiteKind = 'net-bank' | 'tax-office' | 'debt-portal';

export interface SiteOptions {
  readonly kind: SiteKind;
  readonly title: string;
  /** A loopback address (127.0.0.2, 127.0.0.3, …) and port; 0 for any port. */
  readonly host: string;
  readonly port: number;
  readonly issuer: string;
  /** Registers the site at the provider once its address is known (or gives the registration it has). */
  register(urls: SiteUrls): Promise<{ clientId: string; clientSecret: string }>;
  /**
   * What the site's own requests to the provider (discovery, token endpoint, JWKS) go through;
   * `fetch` when absent. A test puts a man in the middle here (a tampered ID token).
   */
  readonly providerFetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** The site's addresses the provider is told of. */
export interface SiteUrls {
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
  readonly backchannelLogoutUri: string;
}

/** What the site keeps of a visitor (in memory, by its cookie). */
interface Visit {
  state?: string;
  nonce?: string;
  verifier?: string;
  claims?: Record<string, unknown>;
  idToken?: string;
  refused?: string;
}

export interface RunningSite {
  readonly url: string;
  readonly kind: SiteKind;
  readonly title: string;
  /** The session ids (`sid`) the provider ended by back-channel logout, in order. */
  readonly backchannelLogouts: readonly string[];
  /** Every ID token the site was given, in order (a lab site's record, for checking signatures). */
  readonly idTokens: readonly string[];
  readonly clientId: string;
  close(): Promise<void>;
}

const COOKIE = 'lab_site';
/** A focus ring a keyboard user sees on every control (WCAG 2.4.7, 2.4.13), larger targets (2.5.8). */
const SITE_STYLE = ':focus-visible{outline:3px solid #1d4f91;outline-offset:2px}a,button{display:inline-block;min-height:24px;min-width:24px;padding:2px 4px}';

export function siteRedirectUri(host: string, port: number): string {
  return `http://${host}:${port}/callback`;
}

/** Why an authorization error came back, for the visitor (the provider's description, escaped on the page). */
function refusalText(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError) return `${error.error}: ${error.error_description ?? 'refused'}`;
  return `the login could not be checked (${error instanceof Error ? error.message : String(error)})`;
}

export async function startSite(options: SiteOptions): Promise<RunningSite> {
  const visits = new Map<string, Visit>();
  const logouts: string[] = [];
  const idTokens: string[] = [];
  let config: client.Configuration | undefined;
  let credentials: { clientId: string; clientSecret: string } | undefined;
  const configuration = async () => {
    if (config) return config;
    const made = await client.discovery(new URL(options.issuer), credentials!.clientId, undefined, client.ClientSecretBasic(credentials!.clientSecret), {
      execute: [client.allowInsecureRequests],
      ...(options.providerFetch ? { [client.customFetch]: options.providerFetch } : {}),
    });
    if (options.providerFetch) made[client.customFetch] = options.providerFetch;
    return (config = made);
  };
  const providerFetch = options.providerFetch ?? ((url: string, init: RequestInit) => fetch(url, init));

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`the site failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://${options.host}:${port}`;
  const redirectUri = siteRedirectUri(options.host, port);
  try {
    credentials = await options.register({ redirectUri, postLogoutRedirectUri: `${base}/`, backchannelLogoutUri: `${base}/backchannel-logout` });
  } catch (error) {
    server.close();
    throw error;
  }

  const page = (response: http.ServerResponse, status: number, body: string, cookie?: string) => {
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...(cookie ? { 'set-cookie': cookie } : {}) });
    response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(options.title)}</title><style>${SITE_STYLE}</style></head><body><h1 id="site-title">${escapeHtml(options.title)}</h1>${body}</body></html>`);
  };

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', base);
    const cookieId = /(?:^|;\s*)lab_site=([A-Za-z0-9_-]{22})/.exec(request.headers.cookie ?? '')?.[1];
    const id = cookieId ?? randomBytes(16).toString('base64url');
    const cookie = cookieId ? undefined : `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`;
    const visit = visits.get(id) ?? {};
    visits.set(id, visit);

    if (url.pathname === '/login') {
      const cfg = await configuration();
      visit.state = client.randomState();
      visit.nonce = client.randomNonce();
      visit.verifier = client.randomPKCECodeVerifier();
      delete visit.refused;
      const parameters: Record<string, string> = {
        redirect_uri: redirectUri,
        scope: options.kind === 'debt-portal' ? 'openid profile nemid organisation' : 'openid profile nemid',
        code_challenge: await client.calculatePKCECodeChallenge(visit.verifier),
        code_challenge_method: 'S256',
        state: visit.state,
        nonce: visit.nonce,
      };
      for (const name of ['prompt', 'max_age', 'acr_values']) {
        const value = url.searchParams.get(name);
        if (value) parameters[name] = value;
      }
      response.writeHead(303, { location: client.buildAuthorizationUrl(cfg, parameters).href, ...(cookie ? { 'set-cookie': cookie } : {}) });
      response.end();
      return;
    }
    if (url.pathname === '/callback') {
      const cfg = await configuration();
      try {
        const tokens = await client.authorizationCodeGrant(cfg, url, { pkceCodeVerifier: visit.verifier, expectedState: visit.state, expectedNonce: visit.nonce, idTokenExpected: true });
        // openid-client checks the ID token's claims (iss, aud, exp, nonce) and leaves its signature to
        // TLS, which the lab's plain HTTP does not give: the site checks it against the provider's JWKS.
        if (!tokens.id_token || !(await signedByProvider(cfg, tokens.id_token, providerFetch))) throw new Error('the ID token is not signed by the login service');
        visit.claims = { ...tokens.claims() };
        visit.idToken = tokens.id_token;
        if (tokens.id_token) idTokens.push(tokens.id_token);
        delete visit.refused;
      } catch (error) {
        visit.refused = refusalText(error);
        delete visit.claims;
      } finally {
        delete visit.state;
        delete visit.nonce;
        delete visit.verifier;
      }
      response.writeHead(303, { location: '/' });
      response.end();
      return;
    }
    if (url.pathname === '/logout' && request.method === 'POST') {
      const cfg = await configuration();
      const hint = visit.idToken;
      visits.delete(id);
      response.writeHead(303, { location: client.buildEndSessionUrl(cfg, hint ? { id_token_hint: hint, post_logout_redirect_uri: `${base}/` } : {}).href });
      response.end();
      return;
    }
    if (url.pathname === '/backchannel-logout' && request.method === 'POST') {
      const body = await readBody(request);
      const token = new URLSearchParams(body).get('logout_token');
      const claims = token ? await verifiedLogoutToken(await configuration(), token, credentials!.clientId, providerFetch) : undefined;
      if (!claims) {
        response.writeHead(400).end();
        return;
      }
      const sid = typeof claims.sid === 'string' ? claims.sid : '';
      logouts.push(sid);
      for (const [key, other] of visits) if (other.claims && (other.claims.sid === sid || (sid === '' && other.claims.sub === claims.sub))) visits.delete(key);
      response.writeHead(200, { 'cache-control': 'no-store' }).end();
      return;
    }
    if (url.pathname === '/') {
      if (visit.refused) {
        return page(response, 200, `<p id="refused" role="alert">The login service refused the login: ${escapeHtml(visit.refused)}</p><p><a href="/login" id="site-login">Try again</a></p>`, cookie);
      }
      if (!visit.claims) return page(response, 200, `<p id="signed-out">You are not logged in.</p><p><a href="/login" id="site-login">Log in with NemID</a></p>`, cookie);
      return page(response, 200, signedIn(options.kind, visit.claims), cookie);
    }
    page(response, 404, '<p>No such page.</p>', cookie);
  }

  return {
    url: base,
    kind: options.kind,
    title: options.title,
    backchannelLogouts: logouts,
    idTokens,
    clientId: credentials.clientId,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the signed-in page says: who, how, and what this site lets them do. */
function signedIn(kind: SiteKind, claims: Record<string, unknown>): string {
  const text = (value: unknown) => escapeHtml(typeof value === 'string' ? value : JSON.stringify(value ?? null));
  const organisation = claims.organisation as { cvr?: string; name?: string } | undefined;
  const scope = claims.nemid_scope;
  const rows = [
    `<dt>Name</dt><dd id="claim-name">${text(claims.name)}</dd>`,
    `<dt>Subject</dt><dd id="claim-sub">${text(claims.sub)}</dd>`,
    `<dt>NemID scope</dt><dd id="claim-scope">${text(scope)}</dd>`,
    `<dt>acr</dt><dd id="claim-acr">${text(claims.acr)}</dd>`,
    `<dt>amr</dt><dd id="claim-amr">${text(Array.isArray(claims.amr) ? claims.amr.join(' ') : claims.amr)}</dd>`,
    organisation
      ? `<dt>Organisation</dt><dd id="claim-organisation"><span id="claim-cvr">${text(organisation.cvr)}</span> ${text(organisation.name)}, <span id="claim-role">${text(claims.organisation_role)}</span></dd>`
      : `<dt>Organisation</dt><dd id="claim-organisation">none</dd>`,
  ];
  const action =
    kind === 'net-bank'
      ? scope === 'view-only'
        ? '<p id="bank-action">You can see your account (kontokig), but not pay.</p>'
        : '<p id="bank-action"><button id="pay">Pay a bill</button></p>'
      : kind === 'tax-office'
        ? '<p id="tax-action">Your tax card (skattekort) for this year is ready.</p>'
        : `<p id="debt-action">File a claim for collection (send dit krav til inkasso) ${organisation ? 'for your company' : 'as a person'}: <button id="file-claim">Opret sagen</button></p>`;
  return `<p id="signed-in">You are logged in.</p><dl>${rows.join('')}</dl>${action}<form method="post" action="/logout"><button id="site-logout">Log out</button></form>`;
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 16 * 1024) request.destroy();
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

/** The claims of `token` if it is RS256-signed by a key of the provider's JWKS (fetched afresh: a rotated key is found at once), else undefined. */
async function signedByProvider(config: client.Configuration, token: string, fetchFrom: NonNullable<SiteOptions['providerFetch']>): Promise<Record<string, unknown> | undefined> {
  const [head, payload, signature] = token.split('.');
  if (!head || !payload || !signature) return undefined;
  const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string; kid?: string };
  if (header.alg !== 'RS256') return undefined;
  const jwks = (await (await fetchFrom(config.serverMetadata().jwks_uri!, {})).json()) as { keys: (JsonWebKey & { kid?: string })[] };
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk) return undefined;
  if (!verify('RSA-SHA256', Buffer.from(`${head}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'))) return undefined;
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A back-channel logout token, checked: RS256 by a key of the provider's JWKS, this site as audience, the provider as issuer, the logout event. */
async function verifiedLogoutToken(config: client.Configuration, token: string, clientId: string, fetchFrom: NonNullable<SiteOptions['providerFetch']>): Promise<Record<string, unknown> | undefined> {
  const claims = await signedByProvider(config, token, fetchFrom);
  if (!claims) return undefined;
  const metadata = config.serverMetadata();
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const events = claims.events as Record<string, unknown> | undefined;
  if (claims.iss !== metadata.issuer || !audience.includes(clientId) || !events?.['http://schemas.openid.net/event/backchannel-logout']) return undefined;
  return claims;
}
