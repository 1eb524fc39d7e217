/**
 * The login pages: /login (step 1), /login/key (step 2: a card key or a token code), /login/card
 * (use another card), /login/choose (first login: own user-id and password), /login/key-file and
 * /activate (key-file employees), /logout. Every POST has had the session's CSRF token checked by
 * the web service's guard (csrf.ts) before it gets here; a new session id is issued at each step so
 * an id from before a step is worth nothing after it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { ApiError } from '../../api/errors.ts';
import { toApiError } from '../../server/http/errors.ts';
import type { SessionRecord } from '../store/types.ts';
import { newChallenge } from '../key-file.ts';
import type { LoginLimit } from './login-throttle.ts';
import { actorOf, at, checkedSession, field, form, redirect, sendJsonError, sendPage, signInAfterKey, type WebContext } from './context.ts';
import { SESSION_EXPIRED } from './sessions.ts';
import { activatePage, cardStepPage, chooseCredentialsPage, keyFileLoginPage, loginPage, messagePage, temporaryPasswordStepPage, tokenStepPage } from './views.ts';

/** Errors after which the half-done login ends (the person is locked or blocked); the provider's interaction ends on them too. */
export const FINAL = new Set(['NV_LOCKED', 'NV_BLOCKED', 'NV_TOKEN_LOCKED', 'NV_NO_CARD', 'NV_REPLACEMENT_EXPIRED']);

export function registerLoginRoutes(app: FastifyInstance, context: WebContext, loginLimit: LoginLimit): void {
  const { service, sessions } = context;
  const { login } = service;

  /** An anonymous session to carry the CSRF token of the login forms (reused while it lasts). */
  const anonymous = async (request: FastifyRequest, reply: FastifyReply): Promise<SessionRecord> => {
    const session = await sessions.load(request);
    if (session?.stage === 'anonymous') return session;
    return sessions.start(reply, 'anonymous', null, session);
  };

  app.get('/', async (request, reply) => redirect(reply, at(await sessions.load(request), 'authenticated') ? '/self-service' : '/login'));

  app.get('/login', async (request, reply) => {
    if (at(await sessions.load(request), 'authenticated')) return redirect(reply, '/self-service');
    const expired = sessions.expired(request);
    const session = await anonymous(request, reply);
    return sendPage(reply, loginPage({ csrf: session.csrfToken, notice: expired ? SESSION_EXPIRED().message : undefined }));
  });

  app.post('/login', loginLimit, async (request, reply) => {
    const session = checkedSession(context, request);
    const values = form(request);
    try {
      const person = await login.password(field(values, 'userId', 64), field(values, 'password', 128), actorOf(request));
      await sessions.start(reply, 'second-step', person.id, session);
      return redirect(reply, '/login/key');
    } catch (error) {
      const failure = toApiError(error);
      const fresh = await sessions.start(reply, 'anonymous', null, session);
      return sendPage(reply, loginPage({ csrf: fresh.csrfToken, error: failure.message, userId: values.userId?.slice(0, 64) }), failure.status);
    }
  });

  const renderStep = async (reply: FastifyReply, session: SessionRecord & { personId: string }, error?: ApiError): Promise<FastifyReply> => {
    const person = await login.current(session.personId);
    const step = await login.secondStep(person, session.cardSerial);
    if (step.method === 'card') {
      if (session.cardSerial !== step.cardSerial) await sessions.update(session, { cardSerial: step.cardSerial });
      return sendPage(reply, cardStepPage({ csrf: session.csrfToken, cardSerial: step.cardSerial, number: step.number, otherCards: [...step.otherCards], error: error?.message }), error?.status ?? 200);
    }
    if (step.method === 'temporary-password') {
      return sendPage(reply, temporaryPasswordStepPage({ csrf: session.csrfToken, lostToken: step.lostToken, validUntil: step.validUntil, error: error?.message }), error?.status ?? 200);
    }
    return sendPage(reply, tokenStepPage({ csrf: session.csrfToken, tokenSerial: step.tokenSerial, error: error?.message }), error?.status ?? 200);
  };

  const ended = async (reply: FastifyReply, session: SessionRecord | undefined, error: ApiError) => {
    await sessions.end(reply, session);
    return sendPage(reply, messagePage({ title: 'Login stopped', message: error.message, status: error.status }), error.status);
  };

  app.get('/login/key', async (request, reply) => {
    const session = at(await sessions.load(request), 'second-step');
    if (!session) return redirect(reply, '/login');
    try {
      return await renderStep(reply, session);
    } catch (error) {
      return ended(reply, session, toApiError(error));
    }
  });

  app.post('/login/card', loginLimit, async (request, reply) => {
    const session = at(checkedSession(context, request), 'second-step');
    if (!session) return redirect(reply, '/login');
    const wanted = field(form(request), 'cardSerial', 40);
    if (await login.chooseCard(session.personId, wanted)) await sessions.update(session, { cardSerial: wanted });
    return redirect(reply, '/login/key');
  });

  app.post('/login/key', loginLimit, async (request, reply) => {
    const session = at(checkedSession(context, request), 'second-step');
    if (!session) return redirect(reply, '/login');
    const values = form(request);
    try {
      const step = await login.askedStep(session.personId, session.cardSerial);
      const answer = step.method === 'card' ? field(values, 'key', 20) : field(values, 'code', 20);
      const result = await login.key(session.personId, step, answer, actorOf(request, session));
      return redirect(reply, await signInAfterKey(context, reply, session, result));
    } catch (error) {
      const failure = toApiError(error);
      if (FINAL.has(failure.code)) return ended(reply, session, failure);
      if (failure.status >= 500) throw error;
      return renderStep(reply, session, failure).catch((again: unknown) => ended(reply, session, toApiError(again)));
    }
  });

  app.get('/login/choose', async (request, reply) => {
    const session = at(await sessions.load(request), 'choose-credentials');
    if (!session) return redirect(reply, '/login');
    const person = await login.current(session.personId);
    return sendPage(reply, chooseCredentialsPage({ csrf: session.csrfToken, name: person.name }));
  });

  /**
   * The first login's own user-id and password. A user-id taken is said so, but only so often per
   * first-login stage: each attempt takes one of the stage's refusals first (atomically, so racing
   * requests cannot share one) and gives it back unless the user-id was taken; when they are used
   * up, the stage ends and the person starts again at step 1.
   */
  app.post('/login/choose', loginLimit, async (request, reply) => {
    const session = at(checkedSession(context, request), 'choose-credentials');
    if (!session) return redirect(reply, '/login');
    const values = form(request);
    const allowed = service.policy.takenUserIdsPerFirstLogin;
    const startAgain = async (lastTaken: boolean): Promise<FastifyReply> => {
      const fresh = await sessions.start(reply, 'anonymous', null, session);
      const message = `${lastTaken ? 'This user-id is taken. ' : ''}You have tried ${allowed} user-ids that are taken: log in again to choose another.`;
      return sendPage(reply, loginPage({ csrf: fresh.csrfToken, error: message }), 409);
    };
    const taken = await sessions.takeRefusal(session, allowed);
    if (taken === undefined) return startAgain(false);
    try {
      await login.chooseCredentials(
        session.personId,
        { userId: field(values, 'userId', 64), password: field(values, 'password', 128), passwordAgain: field(values, 'passwordAgain', 128) },
        actorOf(request, session),
      );
      await sessions.start(reply, 'authenticated', session.personId, session);
      return redirect(reply, '/self-service?done=chosen');
    } catch (error) {
      const failure = toApiError(error);
      if (failure.code !== 'NV_USER_ID_TAKEN') await sessions.giveBackRefusal(session);
      if (failure.status >= 500) throw error;
      if (failure.code === 'NV_USER_ID_TAKEN' && taken >= allowed) return startAgain(true);
      const person = await login.current(session.personId);
      return sendPage(reply, chooseCredentialsPage({ csrf: session.csrfToken, name: person.name, error: failure.message, errorCode: failure.code, userId: values.userId?.slice(0, 64) }), failure.status);
    }
  });

  app.get('/login/key-file', async (request, reply) => {
    if (at(await sessions.load(request), 'authenticated')) return redirect(reply, '/self-service');
    const session = await anonymous(request, reply);
    const challenge = newChallenge();
    await sessions.update(session, { challenge });
    return sendPage(reply, keyFileLoginPage({ csrf: session.csrfToken, challenge }));
  });

  app.post<{ Body: { personId?: unknown; signature?: unknown } }>('/login/key-file', loginLimit, async (request, reply) => {
    try {
      const session = at(checkedSession(context, request), 'anonymous');
      if (!session?.challenge) throw new CodedError('NV_NO_CHALLENGE', 'Reload the page to get a new challenge, then try again.', 409);
      await sessions.update(session, { challenge: null }); // a challenge is signed once
      const { personId, signature } = request.body ?? {};
      if (typeof personId !== 'string' || typeof signature !== 'string' || signature.length > 200) throw new CodedError('NV_BAD_FIELD', 'send {"personId","signature"}', 400);
      const person = await login.keyFile(personId, session.challenge, signature, actorOf(request));
      await sessions.start(reply, 'authenticated', person.id, session);
      return reply.send({ next: person.role === 'administrator' ? '/admin' : '/self-service' });
    } catch (error) {
      return sendJsonError(reply, error);
    }
  });

  app.get('/activate', async (request, reply) => {
    if (at(await sessions.load(request), 'authenticated')) return redirect(reply, '/self-service');
    const session = await anonymous(request, reply);
    return sendPage(reply, activatePage({ csrf: session.csrfToken }));
  });

  app.post<{ Body: { activationCode?: unknown } }>('/activate/begin', loginLimit, async (request, reply) => {
    try {
      const code = request.body?.activationCode;
      if (typeof code !== 'string' || code.length > 40) throw new CodedError('NV_BAD_FIELD', 'send {"activationCode"}', 400);
      return reply.send(await service.keyFiles.beginActivation(code, actorOf(request)));
    } catch (error) {
      return sendJsonError(reply, error);
    }
  });

  app.post<{ Body: { activationCode?: unknown; publicKey?: unknown } }>('/activate/complete', loginLimit, async (request, reply) => {
    try {
      const { activationCode, publicKey } = request.body ?? {};
      if (typeof activationCode !== 'string' || typeof publicKey !== 'string' || activationCode.length > 40 || publicKey.length > 400) {
        throw new CodedError('NV_BAD_FIELD', 'send {"activationCode","publicKey"}', 400);
      }
      await service.keyFiles.activate(activationCode, publicKey, actorOf(request));
      return reply.send({ next: '/login/key-file' });
    } catch (error) {
      return sendJsonError(reply, error);
    }
  });

  app.post('/logout', async (request, reply) => {
    const session = checkedSession(context, request);
    await sessions.end(reply, session);
    return redirect(reply, '/login');
  });
}
