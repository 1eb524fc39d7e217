/**
 * The provider on the server's app: oidc-provider's own endpoints under the prefix (its Koa
 * callback on the raw request, the body left unread for it), and its interaction: the service's
 * two-step login (code card, code token, temporary password, key file) and consent, on pages of
 * the service. A login inside an interaction keeps its step in the store under a digest of the interaction's uid,
 * never in the service's session: finishing it signs the person in at the provider (its own SSO
 * session), not at the service.
 *
 * The provider's endpoints are exempt from the service's CSRF check (sites post to them by design;
 * see CSRF_EXEMPT). The interaction's forms are the service's own and under that check, with the
 * token kept by the interaction (its uid, behind the interaction cookie) instead of a service
 * session, which a person coming from a site need not have.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails, Provider } from 'oidc-provider';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { ApiError } from '../../api/errors.ts';
import { toApiError } from '../../server/http/errors.ts';
import type { Actor } from '../../store/audit.ts';
import type { LoginMethod } from '../login.ts';
import type { NemIdService } from '../service.ts';
import type { PersonRecord } from '../store/types.ts';
import { newChallenge } from '../key-file.ts';
import { field, form, sendJsonError, sendPage } from '../web/context.ts';
import { FINAL } from '../web/login-routes.ts';
import type { WebGuards } from '../web/register.ts';
import { cardStepPage, keyFileLoginPage, loginPage, temporaryPasswordStepPage, tokenStepPage } from '../web/views.ts';
import { AMR_OF, chooseAcr, refusalFor, SITE_POLICY_REASON } from './claims.ts';
import type { SiteRegistry } from './clients.ts';
import type { InteractionLoginRecord, OidcStore } from './store/types.ts';
import { consentPage, sharingOf, stoppedPage } from './views.ts';

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // No form-action: a finished interaction's form is redirected on to the site, which is another origin.
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface OidcRouteOptions {
  readonly prefix: string;
  /** The provider, once made (it may be made after the app listens, when its issuer is the listen address). */
  readonly provider: () => Provider | undefined;
  readonly service: NemIdService;
  /** The service's CSRF check (which the interaction's forms are under) and its login rate limit (which they share). */
  readonly web: WebGuards;
  readonly store: OidcStore;
  readonly sites: SiteRegistry;
}

type Params = { Params: { uid: string } };

export async function registerOidcRoutes(app: FastifyInstance, options: OidcRouteOptions): Promise<void> {
  const { prefix, service, store, sites } = options;
  // oidc-provider's Koa callback, made once per provider (a key rotation makes a new provider).
  let callback: { for: Provider; handle: (req: IncomingMessage, res: ServerResponse) => void } | undefined;
  const provider = (): Provider => {
    const made = options.provider();
    if (!made) throw new CodedError('NV_STARTING', 'the login service is starting; try again in a moment', 503);
    return made;
  };

  // oidc-provider's endpoints: its Koa app on the raw request, under the prefix.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.all(`${prefix}/*`, async (request, reply) => {
      const made = provider();
      if (callback?.for !== made) callback = { for: made, handle: made.callback() };
      reply.hijack();
      const raw = request.raw as IncomingMessage & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = raw.url!.slice(prefix.length) || '/';
      callback.handle(raw, reply.raw);
    });
  });

  // The interaction: the two-step login and consent.
  await app.register(async (scope) => {
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
      if (request.url.endsWith('/login/key-file')) return sendJsonError(reply, failure);
      return sendPage(reply, stoppedPage('The login could not go on', failure.message), failure.status);
    });
    const { loginLimit } = options.web;
    const base = (uid: string) => `${prefix}/interaction/${uid}`;
    const actor = (request: FastifyRequest): Actor => ({ name: 'oidc', ip: request.ip });

    /** The interaction of the request (its cookie must match the uid in the path). */
    const interaction = async (request: FastifyRequest<Params>, reply: FastifyReply): Promise<InteractionDetails> => {
      let details: InteractionDetails;
      try {
        details = await provider().interactionDetails(request.raw, reply.raw);
      } catch {
        throw new CodedError('NV_NO_INTERACTION', 'This login has expired or was opened in another browser; go back to the site and start again.', 400);
      }
      if (details.uid !== request.params.uid) throw new CodedError('NV_NO_INTERACTION', 'This login belongs to another browser tab; go back to the site and start again.', 400);
      return details;
    };

    const loginOf = async (details: InteractionDetails): Promise<InteractionLoginRecord> => {
      const found = await store.getInteractionLogin(details.uid, service.now());
      if (found) return found;
      const record: InteractionLoginRecord = {
        uid: details.uid,
        stage: 'password',
        personId: null,
        cardSerial: null,
        challenge: null,
        csrfToken: randomBytes(24).toString('base64url'),
        expiresAt: details.exp * 1000,
      };
      await store.insertInteractionLogin(record);
      return record;
    };

    // The CSRF check of a form posted to the interaction: its token is the interaction's, found by the
    // interaction cookie and the uid in the path; none (no interaction, another one's) is refused as NV_CSRF.
    const held = new WeakMap<FastifyRequest, { details: InteractionDetails; login: InteractionLoginRecord }>();
    options.web.csrf.addHolder({
      prefix: `${prefix}/interaction/`,
      find: async (request, reply) => {
        const made = provider();
        let details: InteractionDetails;
        try {
          details = await made.interactionDetails(request.raw, reply.raw);
        } catch {
          return undefined;
        }
        if (details.uid !== (request.params as { uid?: string }).uid) return undefined;
        const login = await store.getInteractionLogin(details.uid, service.now());
        if (login) held.set(request, { details, login });
        return login;
      },
    });
    /** The interaction and its login of a form that passed the CSRF check. */
    const posted = async (request: FastifyRequest<Params>, _reply: FastifyReply) => {
      const found = held.get(request);
      if (!found) throw new CodedError('NV_INTERNAL', 'this route is outside the CSRF check; it cannot run', 500);
      return found;
    };

    const finish = async (reply: FastifyReply, request: FastifyRequest, result: Record<string, unknown>, merge = false) => {
      reply.hijack();
      await provider().interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: merge });
    };
    const denial = (description: string) => ({ error: 'access_denied', error_description: description });

    /**
     * What a finished login tells the provider: the person signed in with their acr and amr, or
     * access_denied when the site does not accept them or the login does not meet the acr asked.
     */
    const loginOutcome = async (details: InteractionDetails, person: PersonRecord, method: LoginMethod): Promise<Record<string, unknown>> => {
      const site = await sites.get(details.params.client_id);
      if (!site) return denial('The site is no longer registered.');
      const refusal = refusalFor(site.acceptedScopes, person.scope, site.name);
      if (refusal) return denial(refusal);
      const asked = typeof details.params.acr_values === 'string' ? details.params.acr_values.split(' ').filter(Boolean) : [];
      const forbidden = asked.find((value) => !site.acrValues.includes(value));
      if (forbidden !== undefined) return denial(`${site.name} may not ask for the authentication context ${forbidden}.`);
      const acr = chooseAcr(method, person.organisationId !== null, asked);
      if (acr === undefined) return denial(`${site.name} asks for a stronger login (${asked.join(' or ')}) than this one.`);
      return { login: { accountId: person.id, acr, amr: [...AMR_OF[method]], remember: true } };
    };

    const afterKey = async (request: FastifyRequest<Params>, reply: FastifyReply, details: InteractionDetails, person: PersonRecord, next: string, method: LoginMethod) => {
      await store.deleteInteractionLogin(details.uid);
      if (next === 'choose-credentials') {
        return sendPage(reply, stoppedPage('First choose your user-id', 'This is your first login: log in at the login service itself (/login) to choose your own user-id and password, then go back to the site.'), 409);
      }
      return finish(reply, request, await loginOutcome(details, person, method));
    };

    const renderStep = async (reply: FastifyReply, flow: string, login: InteractionLoginRecord & { personId: string }, error?: ApiError) => {
      const person = await service.login.current(login.personId);
      const step = await service.login.secondStep(person, login.cardSerial);
      const status = error?.status ?? 200;
      if (step.method === 'card') {
        if (login.cardSerial !== step.cardSerial) await store.updateInteractionLogin(login.uid, { cardSerial: step.cardSerial });
        return sendPage(reply, cardStepPage({ csrf: login.csrfToken, flow, cardSerial: step.cardSerial, number: step.number, otherCards: [...step.otherCards], error: error?.message }), status);
      }
      if (step.method === 'temporary-password') {
        return sendPage(reply, temporaryPasswordStepPage({ csrf: login.csrfToken, flow, lostToken: step.lostToken, validUntil: step.validUntil, error: error?.message }), status);
      }
      return sendPage(reply, tokenStepPage({ csrf: login.csrfToken, flow, tokenSerial: step.tokenSerial, error: error?.message }), status);
    };

    const stopped = async (reply: FastifyReply, uid: string, failure: ApiError) => {
      await store.deleteInteractionLogin(uid);
      return sendPage(reply, stoppedPage('Login stopped', failure.message), failure.status);
    };

    const grantConsent = async (request: FastifyRequest, reply: FastifyReply, details: InteractionDetails) => {
      const made = provider();
      const accountId = details.session?.accountId;
      if (!accountId) throw new CodedError('NV_NO_INTERACTION', 'Log in first.', 400);
      const grant = details.grantId ? ((await made.Grant.find(details.grantId)) ?? new made.Grant({ accountId, clientId: details.params.client_id })) : new made.Grant({ accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      return finish(reply, request, { consent: { grantId: await grant.save() } }, true);
    };

    const start = async (request: FastifyRequest<Params>, reply: FastifyReply) => {
      const details = await interaction(request, reply);
      const flow = base(details.uid);
      if (details.prompt.name === 'login') {
        const accountId = details.session?.accountId;
        if (accountId && details.prompt.reasons.includes(SITE_POLICY_REASON)) {
          const [person, site] = await Promise.all([service.people.find(accountId), sites.get(details.params.client_id)]);
          const refusal = person && site ? refusalFor(site.acceptedScopes, person.scope, site.name) : undefined;
          if (refusal) return finish(reply, request, denial(refusal));
        }
        const login = await loginOf(details);
        if (login.stage === 'second-step' && login.personId) return reply.redirect(`${flow}/login/key`, 303);
        return sendPage(reply, loginPage({ csrf: login.csrfToken, flow }));
      }
      if (details.prompt.name === 'consent') {
        const site = await sites.get(details.params.client_id);
        if (!site) return finish(reply, request, denial('The site is no longer registered.'));
        if (site.firstParty) return grantConsent(request, reply, details);
        const login = await loginOf(details);
        return sendPage(reply, consentPage({ csrf: login.csrfToken, flow, siteName: site.name, sharing: sharingOf(typeof details.params.scope === 'string' ? details.params.scope : 'openid') }));
      }
      return finish(reply, request, denial('This login asks for something the login service does not do.'));
    };

    scope.get<Params>(`${prefix}/interaction/:uid`, start);
    scope.get<Params>(`${prefix}/interaction/:uid/login`, async (request, reply) => {
      const details = await interaction(request, reply);
      const login = await loginOf(details);
      if (login.stage !== 'password') await store.updateInteractionLogin(login.uid, { stage: 'password', personId: null, cardSerial: null });
      return sendPage(reply, loginPage({ csrf: login.csrfToken, flow: base(details.uid) }));
    });

    scope.post<Params>(`${prefix}/interaction/:uid/login`, loginLimit, async (request, reply) => {
      const { details, login } = await posted(request, reply);
      const values = form(request);
      try {
        const person = await service.login.password(field(values, 'userId', 64), field(values, 'password', 128), actor(request));
        await store.updateInteractionLogin(login.uid, { stage: 'second-step', personId: person.id, cardSerial: null });
        return reply.redirect(`${base(details.uid)}/login/key`, 303);
      } catch (error) {
        const failure = toApiError(error);
        if (failure.status >= 500) throw error;
        return sendPage(reply, loginPage({ csrf: login.csrfToken, flow: base(details.uid), error: failure.message, userId: values.userId?.slice(0, 64) }), failure.status);
      }
    });

    const atSecondStep = (login: InteractionLoginRecord): (InteractionLoginRecord & { personId: string }) | undefined =>
      login.stage === 'second-step' && login.personId !== null ? (login as InteractionLoginRecord & { personId: string }) : undefined;

    scope.get<Params>(`${prefix}/interaction/:uid/login/key`, async (request, reply) => {
      const details = await interaction(request, reply);
      const login = atSecondStep(await loginOf(details));
      if (!login) return reply.redirect(base(details.uid), 303);
      try {
        return await renderStep(reply, base(details.uid), login);
      } catch (error) {
        return stopped(reply, details.uid, toApiError(error));
      }
    });

    scope.post<Params>(`${prefix}/interaction/:uid/login/card`, loginLimit, async (request, reply) => {
      const { details, login: record } = await posted(request, reply);
      const login = atSecondStep(record);
      if (!login) return reply.redirect(base(details.uid), 303);
      const wanted = field(form(request), 'cardSerial', 40);
      if ((await service.cards.usable(login.personId)).some((card) => card.serial === wanted)) await store.updateInteractionLogin(login.uid, { cardSerial: wanted });
      return reply.redirect(`${base(details.uid)}/login/key`, 303);
    });

    scope.post<Params>(`${prefix}/interaction/:uid/login/key`, loginLimit, async (request, reply) => {
      const { details, login: record } = await posted(request, reply);
      const login = atSecondStep(record);
      if (!login) return reply.redirect(base(details.uid), 303);
      const values = form(request);
      try {
        const step = await service.login.askedStep(login.personId, login.cardSerial);
        const answer = step.method === 'card' ? field(values, 'key', 20) : field(values, 'code', 20);
        const result = await service.login.key(login.personId, step, answer, { name: `person:${login.personId}`, ip: request.ip });
        return await afterKey(request, reply, details, result.person, result.next, step.method);
      } catch (error) {
        const failure = toApiError(error);
        if (FINAL.has(failure.code)) return stopped(reply, details.uid, failure);
        if (failure.status >= 500) throw error;
        return renderStep(reply, base(details.uid), login, failure).catch((again: unknown) => stopped(reply, details.uid, toApiError(again)));
      }
    });

    scope.get<Params>(`${prefix}/interaction/:uid/login/key-file`, async (request, reply) => {
      const details = await interaction(request, reply);
      const login = await loginOf(details);
      const challenge = newChallenge();
      await store.updateInteractionLogin(login.uid, { stage: 'password', personId: null, challenge });
      return sendPage(reply, keyFileLoginPage({ csrf: login.csrfToken, challenge, flow: base(details.uid) }));
    });

    scope.post<Params & { Body: { personId?: unknown; signature?: unknown } }>(`${prefix}/interaction/:uid/login/key-file`, loginLimit, async (request, reply) => {
      const { details, login } = await posted(request, reply);
      if (!login.challenge) throw new CodedError('NV_NO_CHALLENGE', 'Reload the page to get a new challenge, then try again.', 409);
      await store.updateInteractionLogin(login.uid, { challenge: null }); // a challenge is signed once
      const { personId, signature } = request.body ?? {};
      if (typeof personId !== 'string' || typeof signature !== 'string' || signature.length > 200) throw new CodedError('NV_BAD_FIELD', 'send {"personId","signature"}', 400);
      const person = await service.login.keyFile(personId, login.challenge, signature, actor(request));
      await store.deleteInteractionLogin(details.uid);
      const next = await provider().interactionResult(request.raw, reply.raw, await loginOutcome(details, person, 'key-file'), { mergeWithLastSubmission: false });
      return reply.send({ next });
    });

    scope.post<Params>(`${prefix}/interaction/:uid/consent`, async (request, reply) => {
      const { details } = await posted(request, reply);
      if (details.prompt.name !== 'consent') return reply.redirect(base(details.uid), 303);
      if (form(request).decision !== 'allow') return finish(reply, request, denial('You did not allow the site to use your login.'));
      return grantConsent(request, reply, details);
    });

    scope.post<Params>(`${prefix}/interaction/:uid/logout`, async (request, reply) => {
      const { details } = await posted(request, reply);
      await store.deleteInteractionLogin(details.uid);
      return finish(reply, request, denial('The login was cancelled.'));
    });
  });
}
