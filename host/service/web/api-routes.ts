/**
 * The service as JSON. For relying parties (a bank's own front end): /api/session, /api/login,
 * /api/login/key, /api/logout — the same two steps, sessions, CSRF and lockout as the pages. For
 * the operator (support, with the admin API key): ordering people and organisations, extra cards,
 * block, unblock, unlock, re-issue — under /v1 like the token API.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { PersonRecord } from '../store/types.ts';
import type { LoginLimit } from './login-throttle.ts';
import { actorOf, at, postedSession, sendJsonError, signInAfterKey, type WebContext } from './context.ts';
import { type Actor } from '../../store/audit.ts';

/** A person as the operator API shows them: never a hash or digest. */
export function viewPerson(person: PersonRecord) {
  return {
    nemIdNumber: person.id,
    userId: person.userId,
    name: person.name,
    scope: person.scope,
    state: person.state,
    organisationId: person.organisationId,
    role: person.role,
    failCount: person.failCount,
    cardThreshold: person.cardThreshold,
    createdAt: new Date(person.createdAt).toISOString(),
    lastLoginAt: person.lastLoginAt === null ? null : new Date(person.lastLoginAt).toISOString(),
  };
}

export function registerApiRoutes(app: FastifyInstance, context: WebContext, loginLimit: LoginLimit): void {
  const { service, sessions } = context;

  app.get('/api/session', async (request, reply) => {
    let session = await sessions.load(request);
    if (!session) session = await sessions.start(reply, 'anonymous', null);
    const signed = at(session, 'authenticated');
    const principal = signed ? await service.login.principal(await service.login.current(signed.personId)) : null;
    return { stage: session.stage, csrfToken: session.csrfToken, principal };
  });

  app.post<{ Body: { userId?: unknown; password?: unknown } }>('/api/login', loginLimit, async (request, reply) => {
    try {
      const session = await postedSession(context, request);
      const { userId, password } = request.body ?? {};
      if (typeof userId !== 'string' || typeof password !== 'string') throw new CodedError('NV_MISSING_FIELD', 'send {"userId","password"}', 400);
      const person = await service.login.password(userId, password, actorOf(request));
      const step = await service.login.secondStep(person, null);
      const next = await sessions.start(reply, 'second-step', person.id, session, step.method === 'card' ? { cardSerial: step.cardSerial } : {});
      return { next: 'second-step', csrfToken: next.csrfToken, step };
    } catch (error) {
      return sendJsonError(reply, error);
    }
  });

  app.post<{ Body: { key?: unknown } }>('/api/login/key', loginLimit, async (request, reply) => {
    try {
      const session = at(await postedSession(context, request), 'second-step');
      if (!session) throw new CodedError('NV_NO_LOGIN', 'log in with user-id and password first', 409);
      const key = request.body?.key;
      if (typeof key !== 'string' || key.length > 20) throw new CodedError('NV_MISSING_FIELD', 'send {"key"}: the card key or the token code', 400);
      const step = await service.login.askedStep(session.personId, session.cardSerial);
      const result = await service.login.key(session.personId, step, key, actorOf(request, session));
      await signInAfterKey(context, reply, session, result);
      if (result.next === 'choose-credentials') return { next: 'choose-credentials', message: 'first login: choose a user-id and password at /login/choose' };
      return { next: 'done', principal: await service.login.principal(result.person, step.method) };
    } catch (error) {
      return sendJsonError(reply, error);
    }
  });

  app.post('/api/logout', async (request, reply) => {
    try {
      await sessions.end(reply, await postedSession(context, request));
      return { next: 'signed-out' };
    } catch (error) {
      return sendJsonError(reply, error);
    }
  });

  // ---- the operator (the admin API key) ----

  const operator = (request: FastifyRequest): Actor => {
    if (!request.principal) throw new CodedError('NV_UNAUTHORIZED', 'an API key is needed: Authorization: Bearer <key>', 401);
    if (request.principal.role !== 'admin') throw new CodedError('NV_FORBIDDEN', 'this needs the admin key', 403);
    return { name: request.principal.id, ip: request.ip };
  };
  const route = <B>(method: 'get' | 'post', path: string, handle: (request: FastifyRequest<{ Body: B; Params: { id?: string } }>, actor: Actor) => Promise<unknown>) =>
    app[method]<{ Body: B; Params: { id?: string } }>(path, async (request, reply) => {
      try {
        const result = await handle(request, operator(request));
        return reply.status(method === 'post' ? 201 : 200).send(result);
      } catch (error) {
        return sendJsonError(reply, error);
      }
    });
  const text = (value: unknown, name: string, optional = false): string | undefined => {
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'string' || value.length > 200) throw new CodedError('NV_BAD_FIELD', `"${name}" must be a string`, 400);
    return value;
  };

  route<{ name?: unknown; cpr?: unknown; birthDate?: unknown; credential?: unknown; tokenSerial?: unknown }>('post', '/v1/people', async (request, actor) => {
    const body = request.body ?? {};
    const credential = body.credential ?? 'card';
    if (credential !== 'card' && credential !== 'token') throw new CodedError('NV_BAD_FIELD', '"credential" is "card" or "token"', 400);
    const issued = await service.people.order(
      {
        name: text(body.name, 'name')!,
        cpr: text(body.cpr, 'cpr', true),
        birthDate: text(body.birthDate, 'birthDate', true),
        credential: credential === 'token' ? { kind: 'token', serial: text(body.tokenSerial, 'tokenSerial')! } : { kind: 'card' },
      },
      actor,
    );
    return { person: viewPerson(issued.person), letter: issued.letterId };
  });
  route('get', '/v1/people/:id', async (request) => ({ person: viewPerson(await service.people.get(request.params.id ?? '')) }));
  route<{ count?: unknown }>('post', '/v1/people/:id/extra-cards', async (request, actor) => {
    const count = request.body?.count ?? 1;
    if (typeof count !== 'number') throw new CodedError('NV_BAD_FIELD', '"count" is a number from 1 to 3', 400);
    return { letters: await service.people.orderExtraCards(await service.people.get(request.params.id ?? ''), count, actor) };
  });
  for (const action of ['block', 'unblock', 'unlock'] as const) {
    route('post', `/v1/people/:id/${action}`, async (request, actor) => ({ person: viewPerson(await service.people[action](await service.people.get(request.params.id ?? ''), actor)) }));
  }
  route('post', '/v1/people/:id/reissue', async (request, actor) => {
    const person = await service.people.get(request.params.id ?? '');
    const organisation = (await service.people.organisationOf(person)) ?? null;
    const issued = await service.people.reissue(person, organisation, actor);
    return { person: viewPerson(issued.person), letter: issued.letterId, ...(issued.cardLetterId ? { cardLetter: issued.cardLetterId } : {}) };
  });
  route<{ cvr?: unknown; name?: unknown; administrator?: unknown }>('post', '/v1/organisations', async (request, actor) => {
    const body = request.body ?? {};
    const created = await service.people.createOrganisation({ cvr: text(body.cvr, 'cvr')!, name: text(body.name, 'name')!, administrator: text(body.administrator, 'administrator')! }, actor);
    return { organisation: created.organisation, administrator: viewPerson(created.person), letter: created.letterId, cardLetter: created.cardLetterId };
  });
}
