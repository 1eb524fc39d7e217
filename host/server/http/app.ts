/**
 * The HTTP API on fastify: JSON in and out, every failure a 4xx/5xx with
 * `{"error":{"code":"NV_…","message":"…"}}`. Administrative routes need the admin key, verify and
 * resync the client key (`Authorization: Bearer …`). /health and /metrics are open.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { hexToBytes } from '../../../protocol/bytes.ts';
import { RECOMMENDED_MIN_SECRET_BYTES } from '../../../protocol/commands.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { errorEnvelope } from '../../api/errors.ts';
import { answerClientError, frameworkFailure, noRoute, sendError, toApiError, writeErrorAndClose } from './errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ApiKeys, Principal, Role } from '../secrets.ts';
import { subjectKindOfAction, type AuditEntry } from '../../store/audit.ts';
import type { TokenStore, TokenState } from '../store/types.ts';
import type { Actor } from '../../store/audit.ts';
import type { TokenService } from '../token-service.ts';
import * as schema from './schemas.ts';
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

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
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

  const requireRole = (...roles: Role[]) => (request: FastifyRequest, _reply: FastifyReply, done: (error?: CodedError) => void) => {
    if (!request.principal) return done(new CodedError('NV_UNAUTHORIZED', 'an API key is needed: Authorization: Bearer <key>', 401));
    if (!roles.includes(request.principal.role)) return done(new CodedError('NV_FORBIDDEN', `this needs the ${roles.join(' or ')} key`, 403));
    done();
  };
  // Checked before the body is validated: without the right key, a request learns nothing of the schema.
  const admin = { preValidation: requireRole('admin') };
  const client = { preValidation: requireRole('client', 'admin') };
  const actor = (request: FastifyRequest): Actor => ({ name: request.principal?.id ?? 'anonymous', ip: request.ip });

  app.get('/health', async () => {
    await options.store.ping();
    return { status: 'ok' };
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.post<{ Body: schema.EnrollBody }>('/v1/tokens', { ...admin, schema: { body: schema.enrollBody } }, async (request, reply) => {
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
  app.get<{ Querystring: { owner?: string; state?: TokenState; limit?: string; offset?: string } }>(
    '/v1/tokens',
    { ...admin, schema: { querystring: { ...schema.listQuery } } },
    async (request) => {
      const { owner, state, limit, offset } = request.query;
      return { tokens: await service.list({ owner, state, limit: pageSize(limit), offset: offset === undefined ? undefined : Number(offset) }) };
    },
  );
  app.get<{ Params: { serial: string } }>('/v1/tokens/:serial', { ...admin, schema: { params: schema.serialParams } }, async (request) => ({
    token: await service.get(request.params.serial),
  }));
  app.delete<{ Params: { serial: string } }>('/v1/tokens/:serial', { ...admin, schema: { params: schema.serialParams } }, async (request, reply) => {
    await service.delete(request.params.serial, actor(request));
    return reply.status(204).send();
  });
  for (const action of ['disable', 'enable', 'unlock', 'revoke'] as const) {
    app.post<{ Params: { serial: string } }>(
      `/v1/tokens/:serial/${action}`,
      { ...admin, schema: { params: schema.serialParams, body: schema.emptyBody } },
      async (request) => ({ token: await service[action](request.params.serial, actor(request)) }),
    );
  }
  app.post<{ Params: { serial: string }; Body: { replacement?: boolean; validDays?: number } | null }>(
    '/v1/tokens/:serial/lost',
    { ...admin, schema: { params: schema.serialParams, body: schema.lostBody } },
    async (request) =>
      service.reportLost(request.params.serial, { replacement: request.body?.replacement ?? false, validDays: request.body?.validDays }, actor(request)),
  );
  app.post<{ Params: { serial: string }; Body: { owner: string | null } }>(
    '/v1/tokens/:serial/assign',
    { ...admin, schema: { params: schema.serialParams, body: schema.assignBody } },
    async (request) => ({ token: await service.assign(request.params.serial, request.body.owner, actor(request)) }),
  );
  app.post<{ Params: { serial: string }; Body: { counter: number } }>(
    '/v1/tokens/:serial/counter',
    { ...admin, schema: { params: schema.serialParams, body: schema.counterBody } },
    async (request) => service.advanceCounter(request.params.serial, request.body.counter, actor(request)),
  );
  app.post<{ Params: { serial: string } }>(
    '/v1/tokens/:serial/drift/reset',
    { ...admin, schema: { params: schema.serialParams, body: schema.emptyBody } },
    async (request) => ({ token: await service.resetDrift(request.params.serial, actor(request)) }),
  );
  app.get<{ Querystring: schema.AuditQuery }>('/v1/audit', { ...admin, schema: { querystring: { ...schema.auditQuery } } }, async (request) => {
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

  app.post<{ Body: { serial?: string; user?: string; code: string } }>('/v1/verify', { ...client, schema: { body: schema.verifyBody } }, async (request) => {
    const { serial, user, code } = request.body;
    if ((serial === undefined) === (user === undefined)) throw new CodedError('NV_BAD_FIELD', 'give exactly one of "serial" and "user"', 400);
    return serial !== undefined ? service.verify(serial, code, actor(request)) : service.verifyUser(user!, code, actor(request));
  });
  app.post<{ Body: { serial: string; codes: [string, string] } }>('/v1/resync', { ...client, schema: { body: schema.resyncBody } }, async (request) =>
    service.resync(request.body.serial, request.body.codes[0], request.body.codes[1], actor(request)),
  );

  return app;
}

/** An audit record as the API shows it: its time in ISO 8601, its subject named by kind. */
export function viewAuditEntry(entry: AuditEntry) {
  const { serial, subjectKind, at, ...rest } = entry;
  return { ...rest, at: new Date(at).toISOString(), subject: serial === null ? null : { kind: subjectKind ?? subjectKindOfAction(entry.action), id: serial } };
}

/** A page of at most 1000 rows. */
function pageSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const size = Number(text);
  if (size < 1 || size > 1000) throw new CodedError('NV_BAD_FIELD', 'querystring.limit must be from 1 to 1000', 400);
  return size;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

