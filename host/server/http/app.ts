/**
 * The HTTP API on fastify: JSON in and out, every failure a 4xx/5xx with
 * `{"error":{"code":"NV_…","message":"…"}}`. Administrative routes need the admin key, verify and
 * resync the client key (`Authorization: Bearer …`). /health and /metrics are open.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { hexToBytes } from '../../../protocol/bytes.ts';
import { RECOMMENDED_MIN_SECRET_BYTES } from '../../../protocol/commands.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { auditRoute, type AuditQuery, type AuditView } from '../../api/audit.ts';
import { errorEnvelope } from '../../api/errors.ts';
import {
  healthRoute,
  STATE_ACTIONS,
  tokenRoutes,
  type CounterAnswer,
  type EnrollRequest,
  type LostAnswer,
  type LostRequest,
  type ResyncOutcome,
  type ResyncRequest,
  type TokenListQuery,
  type TokenView,
  type VerifyOutcome,
  type VerifyRequest,
} from '../../api/tokens.ts';
import { ADMIN_ONLY, CLIENT_OR_ADMIN, bearer, keyActor as actor } from './access.ts';
import { answerClientError, frameworkFailure, noRoute, sendError, toApiError, writeErrorAndClose } from './errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ApiKeys } from '../secrets.ts';
import { subjectKindOfAction, type AuditEntry } from '../../store/audit.ts';
import type { TokenStore } from '../store/types.ts';
import type { TokenService } from '../token-service.ts';
import { withRedactedUrls } from './log-redaction.ts';

export interface AppOptions {
  readonly service: TokenService;
  readonly store: TokenStore;
  readonly keys: ApiKeys;
  readonly metrics: ServerMetrics;
  readonly logger: FastifyServerOptions['logger'];
  /** Largest request body, bytes. */
  readonly bodyLimit?: number;
  /** Requests per client (API key, or address without one) per second; 0 switches the limit off. */
  readonly rateLimitPerSecond?: number;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: withRedactedUrls(options.logger),
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // What fastify and Node answer by themselves (a URL that does not decode, a path part over the
    // router's limit, headers over Node's, HTTP that does not parse) gets the API's envelope too.
    frameworkErrors: (error, _request, reply) => sendError(reply, frameworkFailure(error)),
    clientErrorHandler: answerClientError,
    // Node would refuse an HTTP/1.1 request without Host with an empty 400; the hook below does it coded.
    http: { requireHostHeader: false },
    // Fastify's own 503 while closing is not in the envelope: the hook below answers it instead.
    return503OnClosing: false,
  });
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // Every /v1 and /api route, of this app or of what is registered on it later (the login service),
  // writes its answers by its schema in host/api: one without is refused when it is registered.
  app.addHook('onRoute', (route) => {
    if (/^\/(v1|api)(\/|$)/.test(route.url)) checkAnswerSchemas(route.method, route.url, route.schema?.response);
  });
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(errorEnvelope(new CodedError('NV_BAD_EXPECT', 'this server knows no "Expect" but 100-continue', 417)));
    response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
  app.server.on('connect', (_request: IncomingMessage, socket: Duplex) => writeErrorAndClose(socket, noRoute()));
  app.removeContentTypeParser('text/plain'); // JSON only: text/plain gets 415 NV_BAD_MEDIA_TYPE, not a misleading schema error
  const { service, keys, metrics } = options;

  // Hooks on every request take a callback: an async hook costs a promise and a turn of its own.
  app.addHook('onRequest', (request, _reply, done) => {
    if (closing) return done(new CodedError('NV_CLOSING', 'the server is stopping; try again once it is back', 503));
    if (request.raw.headers.host === undefined && request.raw.httpVersion === '1.1') {
      return done(new CodedError('NV_BAD_HTTP', 'an HTTP/1.1 request needs a Host header', 400));
    }
    request.principal = keys.authenticate(bearer(request));
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  const perSecond = options.rateLimitPerSecond ?? 200;
  if (perSecond > 0) {
    await app.register(rateLimit, {
      max: perSecond,
      timeWindow: 1000,
      keyGenerator: (request) => request.principal?.id ?? request.ip,
      allowList: (request) => ['/health', '/metrics'].includes(request.url.split('?')[0]!),
      errorResponseBuilder: (_request, context) => new CodedError('NV_RATE_LIMITED', `more than ${context.max} requests a second; retry in ${context.after}`, 429),
    });
  }

  app.setErrorHandler((error: FastifyError | CodedError, request, reply) => {
    const failure = toApiError(error);
    if (failure.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, failure);
  });
  // Neither path nor method is echoed: an answer never carries back what the request sent.
  app.setNotFoundHandler((_request, reply) => sendError(reply, noRoute()));

  app.get('/health', { schema: healthRoute }, async () => {
    await options.store.ping();
    return { status: 'ok' as const };
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.post<{ Body: EnrollRequest }>('/v1/tokens', { ...ADMIN_ONLY, schema: tokenRoutes.enroll }, async (request, reply) => {
    const body = request.body;
    const seed = hexToBytes(body.seed)!;
    try {
      if (seed.length < RECOMMENDED_MIN_SECRET_BYTES && body.allowShortSeed !== true) {
        throw new CodedError('NV_SHORT_SEED', `the seed is ${seed.length} bytes; RFC 4226 asks for at least ${RECOMMENDED_MIN_SECRET_BYTES} (send "allowShortSeed": true to enrol it anyway)`, 400);
      }
      const token = await service.enroll(
        {
          serial: body.serial,
          kind: body.kind,
          algorithm: body.algorithm ?? 'sha1',
          digits: body.digits ?? 6,
          period: body.period,
          counter: body.counter,
          seed,
          owner: body.owner,
        },
        actor(request),
      );
      return reply.status(201).send({ token });
    } finally {
      seed.fill(0);
    }
  });
  app.get<{ Querystring: TokenListQuery }>('/v1/tokens', { ...ADMIN_ONLY, schema: tokenRoutes.list }, async (request): Promise<{ tokens: TokenView[] }> => {
    const { owner, state, limit, offset } = request.query;
    return { tokens: await service.list({ owner, state, limit: pageSize(limit), offset: offset === undefined ? undefined : Number(offset) }) };
  });
  app.get<{ Params: { serial: string } }>('/v1/tokens/:serial', { ...ADMIN_ONLY, schema: tokenRoutes.get }, async (request): Promise<{ token: TokenView }> => ({
    token: await service.get(request.params.serial),
  }));
  app.delete<{ Params: { serial: string } }>('/v1/tokens/:serial', { ...ADMIN_ONLY, schema: tokenRoutes.delete }, async (request, reply) => {
    await service.delete(request.params.serial, actor(request));
    return reply.status(204).send();
  });
  for (const action of STATE_ACTIONS) {
    app.post<{ Params: { serial: string } }>(
      `/v1/tokens/:serial/${action}`,
      { ...ADMIN_ONLY, schema: tokenRoutes.changeState },
      async (request): Promise<{ token: TokenView }> => ({ token: await service[action](request.params.serial, actor(request)) }),
    );
  }
  app.post<{ Params: { serial: string }; Body: LostRequest }>(
    '/v1/tokens/:serial/lost',
    { ...ADMIN_ONLY, schema: tokenRoutes.lost },
    async (request): Promise<LostAnswer> =>
      service.reportLost(request.params.serial, { replacement: request.body?.replacement ?? false, validDays: request.body?.validDays }, actor(request)),
  );
  app.post<{ Params: { serial: string }; Body: { owner: string | null } }>(
    '/v1/tokens/:serial/assign',
    { ...ADMIN_ONLY, schema: tokenRoutes.assign },
    async (request): Promise<{ token: TokenView }> => ({ token: await service.assign(request.params.serial, request.body.owner, actor(request)) }),
  );
  app.post<{ Params: { serial: string }; Body: { counter: number } }>(
    '/v1/tokens/:serial/counter',
    { ...ADMIN_ONLY, schema: tokenRoutes.counter },
    async (request): Promise<CounterAnswer> => service.advanceCounter(request.params.serial, request.body.counter, actor(request)),
  );
  app.post<{ Params: { serial: string } }>(
    '/v1/tokens/:serial/drift/reset',
    { ...ADMIN_ONLY, schema: tokenRoutes.resetDrift },
    async (request): Promise<{ token: TokenView }> => ({ token: await service.resetDrift(request.params.serial, actor(request)) }),
  );
  app.get<{ Querystring: AuditQuery }>('/v1/audit', { ...ADMIN_ONLY, schema: auditRoute }, async (request): Promise<{ entries: AuditView[] }> => {
    const query = request.query;
    if (query.subject !== undefined && query.serial !== undefined && query.subject !== query.serial) {
      throw new CodedError('NV_BAD_FIELD', 'querystring.serial is the older name of querystring.subject: give one', 400);
    }
    const since = query.since === undefined ? undefined : Date.parse(query.since);
    if (Number.isNaN(since)) throw new CodedError('NV_BAD_FIELD', 'querystring.since is not a time that exists', 400);
    const entries = await service.audit({
      serial: query.subject ?? query.serial,
      action: query.action,
      since,
      order: query.order,
      afterId: query.after === undefined ? undefined : Number(query.after),
      beforeId: query.before === undefined ? undefined : Number(query.before),
      limit: pageSize(query.limit),
    });
    return { entries: entries.map(viewAuditEntry) };
  });

  app.post<{ Body: VerifyRequest }>('/v1/verify', { ...CLIENT_OR_ADMIN, schema: tokenRoutes.verify }, async (request): Promise<VerifyOutcome> => {
    const { serial, user, code } = request.body;
    if ((serial === undefined) === (user === undefined)) throw new CodedError('NV_BAD_FIELD', 'give exactly one of "serial" and "user"', 400);
    return serial !== undefined ? service.verify(serial, code, actor(request)) : service.verifyUser(user!, code, actor(request));
  });
  app.post<{ Body: ResyncRequest }>('/v1/resync', { ...CLIENT_OR_ADMIN, schema: tokenRoutes.resync }, async (request): Promise<ResyncOutcome> =>
    service.resync(request.body.serial, request.body.codes[0], request.body.codes[1], actor(request)),
  );

  return app;
}

/** An audit record as the API shows it: its time in ISO 8601, its subject named by kind. */
export function viewAuditEntry(entry: AuditEntry): AuditView {
  const { serial, subjectKind, at, detail, ...rest } = entry;
  return {
    ...rest,
    at: new Date(at).toISOString(),
    subject: serial === null ? null : { kind: subjectKind ?? subjectKindOfAction(entry.action), id: serial },
    // What a writer left undefined is no field at all (JSON has no undefined).
    detail: Object.fromEntries(Object.entries(detail).filter((field): field is [string, string | number | boolean | null] => field[1] !== undefined)),
  };
}

/**
 * A route of the API lists what it answers: a schema for a success (2xx) and the error envelope for
 * 4xx and 5xx, so that an answer is written by its schema and nothing unlisted goes out.
 */
export function checkAnswerSchemas(method: string | string[], url: string, response: unknown): void {
  const statuses = Object.keys(typeof response === 'object' && response !== null ? response : {});
  const missing = [statuses.some((status) => /^2(\d\d|xx)$/.test(status)) ? null : 'a success (2xx)', ...['4xx', '5xx'].map((status) => (statuses.includes(status) ? null : status))].filter(Boolean);
  if (missing.length > 0) {
    throw new CodedError('NV_ROUTE_WITHOUT_SCHEMA', `${[method].flat().join(',')} ${url} lists no schema for its answers: ${missing.join(', ')} (see host/api)`);
  }
}

/** A page of at most 1000 rows. */
function pageSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const size = Number(text);
  if (size < 1 || size > 1000) throw new CodedError('NV_BAD_FIELD', 'querystring.limit must be from 1 to 1000', 400);
  return size;
}
