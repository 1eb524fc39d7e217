/**
 * What every route of the service's web layer shares: the service, the sessions, and small helpers
 * to answer with a page, a redirect or a coded JSON error, and to read a form.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import { errorEnvelope } from '../../api/errors.ts';
import { toApiError } from '../../server/http/errors.ts';
import type { SessionRecord, SessionStage } from '../store/types.ts';
import type { KeyResult } from '../login.ts';
import type { NemIdService } from '../service.ts';
import { checkCsrf, type Sessions } from './sessions.ts';
import { type Actor } from '../../store/audit.ts';

export interface WebContext {
  readonly service: NemIdService;
  readonly sessions: Sessions;
}

export type Form = Readonly<Record<string, string | undefined>>;

export function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(html);
}

/** 303: the browser follows with a GET, so a reload never re-posts a form. */
export function redirect(reply: FastifyReply, to: string): FastifyReply {
  return reply.redirect(to, 303);
}

/** The posted fields that are strings (a JSON body posted to a page route may carry anything). */
export function form(request: FastifyRequest): Form {
  const body = request.body;
  if (!body || typeof body !== 'object') return {};
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export function field(values: Form, name: string, maxLength = 200): string {
  const value = values[name];
  if (typeof value !== 'string') throw new CodedError('NV_MISSING_FIELD', `the form lacks "${name}"`, 400);
  if (value.length > maxLength) throw new CodedError('NV_BAD_FIELD', `"${name}" is longer than ${maxLength} characters`, 400);
  return value;
}

/** The session if it is at one of `stages`, else undefined. */
export function at(session: SessionRecord | undefined, ...stages: SessionStage[]): (SessionRecord & { personId: string }) | undefined {
  if (!session || !stages.includes(session.stage)) return undefined;
  if (session.stage !== 'anonymous' && session.personId === null) return undefined;
  return session as SessionRecord & { personId: string };
}

/** What a request with the cookie of a session that is no longer live is told (a page route sends the person to /login, which says it). */
export const SESSION_EXPIRED = () => new CodedError('NV_SESSION_EXPIRED', 'Your session has expired. Log in again to continue.', 401);

/** Loads the session and checks the CSRF token of a form (`_csrf`) or a JSON call (`x-csrf-token`). */
export async function postedSession(context: WebContext, request: FastifyRequest): Promise<SessionRecord> {
  const session = await context.sessions.load(request);
  if (!session && context.sessions.expired(request)) throw SESSION_EXPIRED();
  const header = request.headers['x-csrf-token'];
  checkCsrf(session, typeof header === 'string' ? header : form(request)._csrf);
  return session!;
}

export function actorOf(request: FastifyRequest, session?: SessionRecord | null, organisationId?: string | null): Actor {
  return { name: session?.personId ? `person:${session.personId}` : 'web', ip: request.ip, organisationId: organisationId ?? null };
}

export function sendJsonError(reply: FastifyReply, error: unknown): FastifyReply {
  const failure = toApiError(error);
  if (failure.status >= 500) reply.log.error({ err: error }, 'request failed');
  return reply.status(failure.status).send(errorEnvelope(failure));
}

/** A right key: a first login goes on to choose its credentials, any other is signed in (with a new session id). */
export async function signInAfterKey(context: WebContext, reply: FastifyReply, session: SessionRecord, result: KeyResult): Promise<string> {
  if (result.next === 'choose-credentials') {
    await context.sessions.start(reply, 'choose-credentials', result.person.id, session);
    return '/login/choose';
  }
  await context.sessions.start(reply, 'authenticated', result.person.id, session);
  return result.person.role === 'administrator' ? '/admin' : '/self-service';
}
