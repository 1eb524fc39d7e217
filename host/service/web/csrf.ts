/**
 * CSRF as a property of the web service, not of each route: one hook on the app checks every
 * state-changing request (POST, PUT, PATCH, DELETE) to any route, whoever registered it and
 * whenever, before its body is validated or its handler runs. The session's CSRF token must come
 * back, in the `x-csrf-token` header (a JSON call) or the `_csrf` field (a form); a missing or
 * wrong one is 403 NV_CSRF. The routes exempt from it are in `CSRF_EXEMPT`, by name and with why;
 * nothing else is. A route reads the session the check found with `CsrfGuard.session`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { SessionRecord } from '../store/types.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { checkCsrf, SESSION_EXPIRED, type Sessions } from './sessions.ts';

export interface CsrfExemption {
  /** Every route whose path starts with this. */
  readonly prefix: string;
  readonly why: string;
}

/** The routes a state-changing request may reach without the session's CSRF token, each with why. */
export const CSRF_EXEMPT: readonly CsrfExemption[] = [
  { prefix: '/v1/', why: 'the API: it takes an API key in the Authorization header and never a cookie, so a request forged from another site carries no credential' },
  { prefix: '/lab/', why: 'the lab: it answers on loopback names only, and every lab action needs the x-requested-by header, which a form on another site cannot send' },
  {
    prefix: '/validate/check',
    why: "privacyIDEA's validate API for its plugins: it takes the client key, or a caller from the networks the operator lists (--validate-allow), never a cookie, and reads no session",
  },
  {
    prefix: '/oidc/',
    why: "the OpenID Connect provider: a site's requests carry its client authentication, state and PKCE, and the provider's login pages carry a CSRF token of their own (the service's cookie is SameSite=Strict and is not sent on a site's redirect)",
  },
];

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The exemption that covers the route `routePath` (its pattern, as registered), if any. */
export function csrfExemption(routePath: string): CsrfExemption | undefined {
  return CSRF_EXEMPT.find((exemption) => routePath.startsWith(exemption.prefix));
}

export class CsrfGuard {
  /** The session each checked request proved it holds the CSRF token of. */
  private readonly checked = new WeakMap<FastifyRequest, SessionRecord>();

  constructor(private readonly sessions: Sessions) {}

  /** Puts the check on every route of `app` (and of every plugin registered on it, before or after). */
  register(app: FastifyInstance): void {
    // preValidation: after the body is parsed (a form's `_csrf` is in it), before a schema says
    // anything about the body, and before any handler.
    app.addHook('preValidation', this.hook);
  }

  /**
   * The session the check found for this request. A request the check did not cover has none: that
   * is a route outside the guard, a fault of the server's, refused as one (500), never let through.
   */
  session(request: FastifyRequest): SessionRecord {
    const session = this.checked.get(request);
    if (!session) throw new CodedError('NV_INTERNAL', 'this route is outside the CSRF check; it cannot run', 500);
    return session;
  }

  // A callback hook: the many requests it lets through (reads, the API) cost no promise.
  private readonly hook = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const route = request.routeOptions.url;
    if (!STATE_CHANGING.has(request.method) || request.is404 || route === undefined || csrfExemption(route)) return done();
    this.check(request).then(() => done(), done);
  };

  private async check(request: FastifyRequest): Promise<void> {
    const session = await this.sessions.load(request);
    if (!session && this.sessions.expired(request)) throw SESSION_EXPIRED();
    const header = request.headers['x-csrf-token'];
    checkCsrf(session, typeof header === 'string' ? header : formField(request.body, '_csrf'));
    this.checked.set(request, session!);
  }
}

function formField(body: unknown, name: string): unknown {
  return body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
}
