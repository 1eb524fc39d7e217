/**
 * Request logging without a query string's secrets: an authorization code, state, nonce, PKCE
 * values, an ID token hint or any token in a URL is logged as `[redacted]`. Fastify logs every
 * request's URL; OpenID Connect puts these in URLs (the site's callback, the provider's end-session
 * and authorization requests).
 */
import type { FastifyServerOptions } from 'fastify';

/** Query parameters whose values are never logged. */
export const SECRET_QUERY_PARAMETERS: ReadonlySet<string> = new Set([
  'code',
  'state',
  'nonce',
  'code_challenge',
  'code_verifier',
  'id_token_hint',
  'id_token',
  'access_token',
  'refresh_token',
  'logout_token',
  'token',
  'client_secret',
  'login_hint',
  'request',
  'session_state',
]);

export const REDACTED = '[redacted]';

/** The URL with the values of secret query parameters replaced (the parameter names kept, to tell what the request was). */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const query = url.slice(mark + 1).split('&').map((pair) => {
    const equals = pair.indexOf('=');
    const rawName = equals === -1 ? pair : pair.slice(0, equals);
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      // A name that does not decode is compared as it was written.
    }
    return SECRET_QUERY_PARAMETERS.has(name.toLowerCase()) && equals !== -1 ? `${rawName}=${REDACTED}` : pair;
  });
  return `${url.slice(0, mark)}?${query.join('&')}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/** The logger options with a request serializer that redacts the URL (other options as given). */
export function withRedactedUrls(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return logger;
  const given = logger === true ? {} : logger;
  return {
    ...given,
    serializers: {
      ...('serializers' in given ? given.serializers : {}),
      req: (request: LoggedRequest) => ({ method: request.method, url: redactUrl(request.url), host: request.host, remoteAddress: request.socket?.remoteAddress, remotePort: request.socket?.remotePort }),
    },
  } as FastifyServerOptions['logger'];
}
