/**
 * What a signed-in person sees: /self-service (selvbetjening: keys left, the new-card threshold,
 * block a lost card, token or key file at once, change the password) and, for an organisation's
 * NemID administrator, /admin (issue, block, unblock, re-issue employee credentials, order extra
 * cards, lift a lockout). An administrator's every act names the organisation in the audit log;
 * people of another organisation are "not found".
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { ApiError } from '../../api/errors.ts';
import { toApiError } from '../../server/http/errors.ts';
import type { OrganisationRecord, PersonRecord, SessionRecord } from '../store/types.ts';
import type { OrganisationAdmin } from '../people.ts';
import { actorOf, at, field, form, postedSession, redirect, sendPage, type Form, type WebContext } from './context.ts';
import { adminPage, confirmPage, selfServicePage, type ConfirmView } from './views.ts';

type Signed = SessionRecord & { personId: string };

/** What a form that cannot be undone answers first, until it is posted again with `confirm=yes`. */
class Confirmation {
  constructor(readonly page: string) {}
}

/** The question of a confirmation page; who asks, and the CSRF token, come from the session. */
type Question = Pick<ConfirmView, 'question' | 'consequence' | 'action' | 'fields' | 'confirmLabel'>;

const confirmed = (values: Form): boolean => values.confirm === 'yes';

const BLOCKED_WHAT: Readonly<Record<'card' | 'token' | 'key-file', { name: string; consequence: string }>> = {
  card: { name: 'code card', consequence: 'Its keys will never be accepted again; a blocked card cannot be taken back into use.' },
  token: { name: 'code token', consequence: 'Its codes will never be accepted again; a blocked token cannot be taken back into use.' },
  'key-file': { name: 'key file', consequence: 'It will never be accepted again; a blocked key file cannot be taken back into use.' },
};

/**
 * Notices after a redirect, by a fixed key (the query never carries text into the page). A Map, so
 * only its own keys answer: `?done=__proto__` or `constructor` finds nothing, not Object's insides.
 */
const NOTICES: ReadonlyMap<string, string> = new Map(Object.entries({
  chosen: 'Your user-id and personal password are saved. The temporary password no longer works.',
  threshold: 'Saved: a new code card will be sent when this many keys are left.',
  blocked: 'Blocked (spærret). It will never be accepted again.',
  password: 'Your password is changed.',
  issued: 'The credential is issued; its letters are in the outbox.',
  'employee-blocked': 'The employee is blocked (spærret).',
  'employee-unblocked': 'The employee is unblocked.',
  reissued: 'Re-issued (genudstedt): the old credentials are blocked and the new letters are in the outbox.',
  'extra-cards': 'The extra cards are ordered; the letters are in the outbox.',
  unlocked: 'The lockout is lifted.',
}));

const noticeOf = (done: string | undefined): string | undefined => (typeof done === 'string' ? NOTICES.get(done) : undefined);

export function registerAccountRoutes(app: FastifyInstance, context: WebContext): void {
  const { service, sessions } = context;

  const signedIn = async (request: FastifyRequest): Promise<Signed | undefined> => at(await sessions.load(request), 'authenticated');

  const selfService = async (reply: FastifyReply, session: Signed, message: { notice?: string; error?: ApiError }): Promise<FastifyReply> => {
    const person = await service.login.current(session.personId);
    const principal = await service.login.principal(person);
    const cards = (await service.cards.ofPerson(person.id)).map(({ serial, state, keysLeft, extra }) => ({ serial, state, keysLeft, extra }));
    const tokens = (await service.tokens.list({ owner: person.id })).map(({ serial, state }) => ({ serial, state }));
    const keyFiles = (await service.people.keyFiles(person.id)).map(({ id, state }) => ({ id, state }));
    const html = selfServicePage({
      csrf: session.csrfToken,
      person: { name: person.name, userId: person.userId, scope: person.scope, organisation: principal.organisation ?? undefined, role: person.role ?? undefined, hasPassword: person.passwordHash !== null },
      cards,
      tokens,
      keyFiles,
      threshold: person.cardThreshold,
      notice: message.notice,
      error: message.error?.message,
    });
    return sendPage(reply, html, message.error?.status ?? 200);
  };

  app.get<{ Querystring: { done?: string } }>('/self-service', async (request, reply) => {
    const session = await signedIn(request);
    if (!session) return redirect(reply, '/login');
    try {
      return await selfService(reply, session, { notice: noticeOf(request.query.done) });
    } catch (error) {
      return signOut(reply, session, error);
    }
  });

  /** A self-service form: runs `act`, then back to the page with a notice, or the page with the error (or `act`'s question first). */
  const selfServiceForm = (path: string, done: string, act: (person: PersonRecord, values: Form, request: FastifyRequest, session: Signed) => Promise<unknown>) =>
    app.post(path, async (request, reply) => {
      const session = at(await postedSession(context, request), 'authenticated');
      if (!session) return redirect(reply, '/login');
      try {
        const person = await service.login.current(session.personId);
        const outcome = await act(person, form(request), request, session);
        if (outcome instanceof Confirmation) return sendPage(reply, outcome.page);
        // A lost card or a changed password ends every other session of the person (a thief's too).
        await sessions.endOthers(session);
        return redirect(reply, `/self-service?done=${done}`);
      } catch (error) {
        const failure = toApiError(error);
        if (failure.code === 'NV_LOCKED' || failure.code === 'NV_BLOCKED' || failure.status >= 500) return signOut(reply, session, error);
        return selfService(reply, session, { error: failure });
      }
    });

  const signOut = async (reply: FastifyReply, session: SessionRecord, error: unknown) => {
    const failure = toApiError(error);
    if (failure.status >= 500) throw error;
    await sessions.end(reply, session);
    return redirect(reply, '/login');
  };

  selfServiceForm('/self-service/threshold', 'threshold', async (person, values, request, session) => {
    const text = field(values, 'threshold', 4).trim();
    if (!/^\d{1,3}$/.test(text)) throw new CodedError('NV_BAD_FIELD', 'the threshold is a whole number from 0 to 147', 400);
    await service.login.setThreshold(person.id, Number(text), actorOf(request, session));
  });

  /** Blocking one's own card, token or key file: asked first, then done at once. */
  selfServiceForm('/self-service/block', 'blocked', async (person, values, request, session) => {
    const kind = field(values, 'kind', 10);
    const id = field(values, 'id', 64);
    const actor = actorOf(request, session);
    let block: () => Promise<unknown>;
    if (kind === 'card') {
      if (!(await service.cards.ofPerson(person.id)).some((card) => card.serial === id)) throw new CodedError('NV_NO_CARD', 'no such code card of yours', 404);
      block = () => service.cards.block(id, actor, person.id);
    } else if (kind === 'token') {
      if (!(await service.tokens.list({ owner: person.id })).some((t) => t.serial === id)) throw new CodedError('NV_NO_TOKEN', 'no such code token of yours', 404);
      block = () => service.people.blockToken(person.id, id, actor);
    } else if (kind === 'key-file') {
      const keyFile = (await service.people.keyFiles(person.id)).find((k) => k.id === id);
      if (!keyFile) throw new CodedError('NV_NO_KEY_FILE', 'no such key file of yours', 404);
      block = () => service.people.blockKeyFile(keyFile, actor);
    } else {
      throw new CodedError('NV_BAD_FIELD', 'kind is card, token or key-file', 400);
    }
    if (!confirmed(values)) {
      const what = BLOCKED_WHAT[kind];
      return new Confirmation(
        confirmPage({
          csrf: session.csrfToken,
          name: person.name,
          question: `Block ${what.name} ${id}?`,
          consequence: `${what.consequence} Every other session of yours ends.`,
          action: '/self-service/block',
          fields: { kind, id },
          confirmLabel: `Yes, block ${what.name} ${id}`,
          back: '/self-service',
        }),
      );
    }
    await block();
  });

  selfServiceForm('/self-service/password', 'password', async (person, values, request, session) => {
    await service.login.changePassword(
      person.id,
      { current: field(values, 'current', 128), password: field(values, 'password', 128), passwordAgain: field(values, 'passwordAgain', 128) },
      actorOf(request, session),
    );
  });

  // ---- the organisation's NemID administrator ----

  const administrator = async (session: Signed | undefined): Promise<OrganisationAdmin | undefined> => {
    if (!session) return undefined;
    const person = await service.login.current(session.personId);
    if (person.role !== 'administrator') return undefined;
    const organisation = await service.people.organisationOf(person);
    return organisation && { person, organisation };
  };

  const adminView = async (reply: FastifyReply, session: Signed, admin: OrganisationAdmin, message: { notice?: string; error?: ApiError }) => {
    const employees = await Promise.all(
      (await service.people.employees(admin)).map(async (p) => ({
        id: p.id,
        name: p.name,
        userId: p.userId,
        role: p.role ?? 'employee',
        state: p.state,
        cards: (await service.cards.ofPerson(p.id)).map(({ serial, state, keysLeft, extra }) => ({ serial, state, keysLeft, extra })),
        keyFiles: (await service.people.keyFiles(p.id)).map(({ id, state }) => ({ id, state })),
        extraCardsAllowed: await service.people.extraCardsAllowed(p),
      })),
    );
    const html = adminPage({
      csrf: session.csrfToken,
      organisation: { name: admin.organisation.name, cvr: admin.organisation.cvr },
      admin: { name: admin.person.name, id: admin.person.id },
      employees,
      maxExtraCards: service.policy.maxExtraCards,
      notice: message.notice,
      error: message.error?.message,
    });
    return sendPage(reply, html, message.error?.status ?? 200);
  };

  app.get<{ Querystring: { done?: string } }>('/admin', async (request, reply) => {
    const session = await signedIn(request);
    if (!session) return redirect(reply, '/login');
    const admin = await administrator(session).catch(() => undefined);
    if (!admin) return redirect(reply, '/self-service');
    return adminView(reply, session, admin, { notice: noticeOf(request.query.done) });
  });

  /** An administrator's form: runs `act`, then back to /admin with a notice, or the page with the error (or `act`'s question first, made with `ask`). */
  const adminForm = (
    path: string,
    done: string,
    act: (admin: OrganisationAdmin, values: Form, actor: ReturnType<typeof actorOf>, params: Record<string, string>, ask: (question: Question) => Confirmation) => Promise<unknown>,
  ) =>
    app.post<{ Params: Record<string, string> }>(path, async (request, reply) => {
      const session = at(await postedSession(context, request), 'authenticated');
      const admin = await administrator(session).catch(() => undefined);
      if (!session || !admin) return redirect(reply, '/login');
      const ask = (question: Question) => new Confirmation(confirmPage({ ...question, csrf: session.csrfToken, name: admin.person.name, back: '/admin' }));
      try {
        const outcome = await act(admin, form(request), actorOf(request, session, admin.organisation.id), request.params, ask);
        if (outcome instanceof Confirmation) return sendPage(reply, outcome.page);
        return redirect(reply, `/admin?done=${done}`);
      } catch (error) {
        const failure = toApiError(error);
        if (failure.status >= 500) throw error;
        return adminView(reply, session, admin, { error: failure });
      }
    });

  adminForm('/admin/employees', 'issued', async (admin, values, actor) => {
    const credential = field(values, 'credential', 10);
    const role = field(values, 'role', 20);
    if (credential !== 'card' && credential !== 'key-file') throw new CodedError('NV_BAD_FIELD', 'the credential is a code card or a key file', 400);
    if (role !== 'employee' && role !== 'administrator') throw new CodedError('NV_BAD_FIELD', 'the role is employee or administrator', 400);
    await service.people.issueEmployee(admin, { name: field(values, 'name', 100), role, credential }, actor);
  });
  const employeeAction = (
    action: string,
    done: string,
    act: (admin: OrganisationAdmin, person: PersonRecord, values: Form, actor: ReturnType<typeof actorOf>, organisation: OrganisationRecord, ask: (question: Question) => Confirmation) => Promise<unknown>,
  ) =>
    adminForm(`/admin/employees/:id/${action}`, done, async (admin, values, actor, params, ask) => {
      const person = await service.people.employee(admin, params.id ?? '');
      return act(admin, person, values, actor, admin.organisation, ask);
    });
  /** Blocking an employee: asked first; never the administrator themself (another administrator or support does that). */
  employeeAction('block', 'employee-blocked', async (admin, person, values, actor, _organisation, ask) => {
    if (person.id === admin.person.id) throw new CodedError('NV_SELF_BLOCK', 'You cannot block your own employee signature; ask another administrator or support.', 409);
    if (!confirmed(values)) {
      return ask({
        question: `Block ${person.name}'s employee signature?`,
        consequence: `${person.name} cannot log in until you unblock them, and every session of theirs ends now.`,
        action: `/admin/employees/${encodeURIComponent(person.id)}/block`,
        fields: {},
        confirmLabel: `Yes, block ${person.name}`,
      });
    }
    return service.people.block(person, actor);
  });
  employeeAction('unblock', 'employee-unblocked', (_admin, person, _values, actor) => service.people.unblock(person, actor));
  employeeAction('reissue', 'reissued', (_admin, person, _values, actor, organisation) => service.people.reissue(person, organisation, actor));
  employeeAction('unlock', 'unlocked', (_admin, person, _values, actor) => service.people.unlock(person, actor));
  employeeAction('extra-cards', 'extra-cards', (_admin, person, values, actor) => {
    const count = field(values, 'count', 2).trim();
    if (!/^\d$/.test(count)) throw new CodedError('NV_BAD_FIELD', 'order from 1 to 3 extra cards', 400);
    return service.people.orderExtraCards(person, Number(count), actor);
  });
}
