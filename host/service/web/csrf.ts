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
    // The route oidc-provider's endpoints are mounted on, and only it: the interaction's forms under
    // /oidc/interaction/ are the service's own and under the check (their token kept by the interaction).
    prefix: '/oidc/*',
    why: "the OpenID Connect provider's own endpoints: sites post to them from other origins by design; the token, revocation and pushed-request endpoints take the site's client authentication, userinfo an access token, and the logout confirmation the xsrf token of the provider's session, never the service's cookie",
  },
];

/**
 * Where a route's CSRF token is kept when it is not in the service session: routes under `prefix`
 * compare against what `find` answers (an OpenID Connect interaction keeps its token by its uid,
 * behind its own cookie; a person on it need not have a session at the service). Nothing found is
 * refused like a missing token.
 */
export interface CsrfHolder {
  readonly prefix: string;
  find(request: FastifyRequest, reply: FastifyReply): Promise<{ readonly csrfToken: string } | undefined>;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The exemption that covers the route `routePath` (its pattern, as registered), if any. */
export function csrfExemption(routePath: string): CsrfExemption | undefined {
  return CSRF_EXEMPT.find((exemption) => routePath.startsWith(exemption.prefix));
}

export class CsrfGuard {
  /** The session each checked request proved it holds the CSRF token of. */
  private readonly checked = new WeakMap<FastifyRequest, SessionRecord>();
  private readonly holders: CsrfHolder[] = [];

  constructor(private readonly sessions: Sessions) {}

  /** Puts the check on every route of `app` (and of every plugin registered on it, before or after). */
  register(app: FastifyInstance): void {
    // preValidation: after the body is parsed (a form's `_csrf` is in it), before a schema says
    // anything about the body, and before any handler.
    app.addHook('preValidation', this.hook);
  }

  /** Routes under `holder.prefix` are checked against the token `holder` keeps, not the session's. */
  addHolder(holder: CsrfHolder): void {
    if (csrfExemption(holder.prefix)) throw new Error(`${holder.prefix} is exempt from the CSRF check; it cannot hold a token for it`);
    this.holders.push(holder);
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
  private readonly hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const route = request.routeOptions.url;
    if (!STATE_CHANGING.has(request.method) || request.is404 || route === undefined || csrfExemption(route)) return done();
    const holder = this.holders.find((candidate) => route.startsWith(candidate.prefix));
    (holder ? this.checkHeld(request, reply, holder) : this.check(request)).then(() => done(), done);
  };

  private async check(request: FastifyRequest): Promise<void> {
    const session = await this.sessions.load(request);
    if (!session && this.sessions.expired(request)) throw SESSION_EXPIRED();
    checkCsrf(session, givenToken(request));
    this.checked.set(request, session!);
  }

  private async checkHeld(request: FastifyRequest, reply: FastifyReply, holder: CsrfHolder): Promise<void> {
    checkCsrf(await holder.find(request, reply), givenToken(request));
  }
}

/** The token the request brings: the `x-csrf-token` header (a JSON call) or the `_csrf` field (a form). */
function givenToken(request: FastifyRequest): unknown {
  const header = request.headers['x-csrf-token'];
  return typeof header === 'string' ? header : formField(request.body, '_csrf');
}

function formField(body: unknown, name: string): unknown {
  return body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
}
