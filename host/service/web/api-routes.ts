/**
 * The service as JSON. /api/session: the browser session's stage and CSRF token (no JSON login:
 * other sites use OpenID Connect, never a person's password; /api/login is gone). For the operator (support, with the admin API key): ordering people and organisations, extra cards,
 * block, unblock, unlock, re-issue — under /v1 like the token API. What each route takes and
 * answers is host/api's (login.ts, people.ts): requests are validated and answers written by those
 * schemas.
 */
import type { FastifyInstance } from 'fastify';
import { loginRoutes, type SessionAnswer } from '../../api/login.ts';
import {
  PERSON_ACTIONS,
  peopleRoutes,
  type ExtraCardsRequest,
  type IssuedAnswer,
  type LettersAnswer,
  type OrganisationAnswer,
  type OrganisationOrder,
  type OrganisationView,
  type PersonAnswer,
  type PersonOrder,
  type PersonView,
} from '../../api/people.ts';
import { ADMIN_ONLY, keyActor } from '../../server/http/access.ts';
import type { Issued } from '../people.ts';
import type { OrganisationRecord, PersonRecord } from '../store/types.ts';
import { at, type WebContext } from './context.ts';

/** A person as the operator API shows them: never a hash or digest. */
export function viewPerson(person: PersonRecord): PersonView {
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

/** An organisation as the API shows it: its time in ISO 8601, like every other view. */
export function viewOrganisation(organisation: OrganisationRecord): OrganisationView {
  return { id: organisation.id, cvr: organisation.cvr, name: organisation.name, createdAt: new Date(organisation.createdAt).toISOString() };
}

function viewIssued(issued: Issued): IssuedAnswer {
  return { person: viewPerson(issued.person), letter: issued.letterId, ...(issued.cardLetterId ? { cardLetter: issued.cardLetterId } : {}) };
}

export function registerApiRoutes(app: FastifyInstance, context: WebContext): void {
  const { service, sessions } = context;

  app.get('/api/session', { schema: loginRoutes.session }, async (request, reply): Promise<SessionAnswer> => {
    let session = await sessions.load(request);
    if (!session) session = await sessions.start(reply, 'anonymous', null);
    const signed = at(session, 'authenticated');
    const principal = signed ? await service.login.principal(await service.login.current(signed.personId)) : null;
    return { stage: session.stage, csrfToken: session.csrfToken, principal };
  });

  // ---- the operator (the admin API key, checked as on the token routes: before the body is validated) ----

  const person = (request: { params: { id: string } }) => service.people.get(request.params.id);
  type ById = { Params: { id: string } };

  app.post<{ Body: PersonOrder }>('/v1/people', { ...ADMIN_ONLY, schema: peopleRoutes.order }, async (request, reply) => {
    const { name, cpr, birthDate, credential, tokenSerial } = request.body;
    const issued = await service.people.order(
      { name, cpr, birthDate, credential: credential === 'token' ? { kind: 'token', serial: tokenSerial! } : { kind: 'card' } },
      keyActor(request),
    );
    return reply.status(201).send({ person: viewPerson(issued.person), letter: issued.letterId } satisfies IssuedAnswer);
  });
  app.get<ById>('/v1/people/:id', { ...ADMIN_ONLY, schema: peopleRoutes.get }, async (request): Promise<PersonAnswer> => ({ person: viewPerson(await person(request)) }));
  app.post<ById & { Body: ExtraCardsRequest }>('/v1/people/:id/extra-cards', { ...ADMIN_ONLY, schema: peopleRoutes.extraCards }, async (request, reply) => {
    const letters = await service.people.orderExtraCards(await person(request), request.body?.count ?? 1, keyActor(request));
    return reply.status(201).send({ letters } satisfies LettersAnswer);
  });
  for (const action of PERSON_ACTIONS) {
    app.post<ById>(`/v1/people/:id/${action}`, { ...ADMIN_ONLY, schema: peopleRoutes.changeState }, async (request, reply) =>
      reply.status(201).send({ person: viewPerson(await service.people[action](await person(request), keyActor(request))) } satisfies PersonAnswer),
    );
  }
  app.post<ById>('/v1/people/:id/reissue', { ...ADMIN_ONLY, schema: peopleRoutes.reissue }, async (request, reply) => {
    const found = await person(request);
    const organisation = (await service.organisations.of(found)) ?? null;
    return reply.status(201).send(viewIssued(await service.people.reissue(found, organisation, keyActor(request))));
  });
  app.post<{ Body: OrganisationOrder }>('/v1/organisations', { ...ADMIN_ONLY, schema: peopleRoutes.createOrganisation }, async (request, reply) => {
    const created = await service.organisations.create(request.body, keyActor(request));
    const answer: OrganisationAnswer = {
      organisation: viewOrganisation(created.organisation),
      administrator: viewPerson(created.person),
      letter: created.letterId,
      // The first administrator always gets a code card, in a letter of its own.
      cardLetter: created.cardLetterId!,
    };
    return reply.status(201).send(answer);
  });
}
