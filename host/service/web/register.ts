/**
 * The service's web layer as one fastify plugin on the validation server: forms parsed as
 * urlencoded (in this plugin only; the token API stays JSON-only), static assets from a fixed list,
 * strict security headers on every answer, one rate limit shared by the login steps, and errors as
 * a page for a browser and as coded JSON for /api and /v1. The CSRF guard goes on the whole app,
 * not on this plugin: every state-changing route of the web service is under it (csrf.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyError, FastifyInstance } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import { errorEnvelope } from '../../api/errors.ts';
import { toApiError } from '../../server/http/errors.ts';
import type { NemIdService } from '../service.ts';
import type { SessionStore } from '../store/types.ts';
import { registerAccountRoutes } from './account-routes.ts';
import { registerApiRoutes } from './api-routes.ts';
import { redirect, sendJsonError, sendPage, type WebContext } from './context.ts';
import { CsrfGuard } from './csrf.ts';
import { LoginThrottle, type LoginLimit } from './login-throttle.ts';
import type { LoginWindows } from './login-windows.ts';
import { registerLoginRoutes } from './login-routes.ts';
import { Sessions } from './sessions.ts';
import { messagePage } from './views.ts';

export interface WebOptions {
  /** Mark the session cookie Secure (default true; browsers accept it on http://127.0.0.1 and localhost). */
  readonly secureCookies?: boolean;
  /** Where the login throttle counts (default: this process's memory); on PostgreSQL, the cluster's. */
  readonly loginWindows?: LoginWindows;
}

const ASSETS_DIR = path.join(import.meta.dirname, 'assets');
const ASSETS: Readonly<Record<string, string>> = {
  'service.css': 'text/css; charset=utf-8',
  'key-file.js': 'text/javascript; charset=utf-8',
  'key-file-login.js': 'text/javascript; charset=utf-8',
  'activate.js': 'text/javascript; charset=utf-8',
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** What other pages of the service on the same app use: the one CSRF check, and the one login rate limit. */
export interface WebGuards {
  readonly csrf: CsrfGuard;
  readonly loginLimit: LoginLimit;
}

/** The service's pages and JSON routes on `app`; the browser sessions are kept in `sessionStore`. */
export async function registerService(app: FastifyInstance, service: NemIdService, sessionStore: SessionStore, options: WebOptions = {}): Promise<WebGuards> {
  const assets = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: fs.readFileSync(path.join(ASSETS_DIR, name)) }]));
  const sessions = new Sessions(sessionStore, { idleMs: service.policy.sessionIdleMs, secureCookies: options.secureCookies ?? true, now: service.now });
  const csrf = new CsrfGuard(sessions);
  csrf.register(app);
  const loginLimit = { onRequest: new LoginThrottle(service.policy.loginAttemptsPerMinute, service.now, options.loginWindows).hook };
  await app.register(async (scope) => {
    const context: WebContext = { service, sessions, csrf };
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.addHook('onSend', async (_request, reply, payload) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
      return payload;
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const failure = toApiError(error);
      if (failure.status >= 500) request.log.error({ err: error }, 'request failed');
      if (/^\/(api|v1|activate\/|login\/key-file)/.test(request.url)) return sendJsonError(reply, failure);
      if (failure.code === 'NV_SESSION_EXPIRED') return redirect(reply, '/login');
      return sendPage(reply, messagePage({ title: failure.status === 403 ? 'Refused' : 'Something went wrong', message: failure.message, status: failure.status }), failure.status);
    });

    scope.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (!asset) return reply.status(404).send(errorEnvelope(new CodedError('NV_NO_ROUTE', 'no such asset', 404)));
      return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
    });

    registerLoginRoutes(scope, context, loginLimit);
    registerAccountRoutes(scope, context);
    registerApiRoutes(scope, context);
  });
  return { csrf, loginLimit };
}
