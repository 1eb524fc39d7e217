/**
 * The HTTP API on fastify: JSON in and out, every failure a 4xx/5xx with
 * `{"error":{"code":"NV_…","message":"…"}}`. Administrative routes need the admin key, verify and
 * resync the client key (`Authorization: Bearer …`). /health and /metrics are open.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { hexToBytes } from '../../../protocol/bytes.ts';
import { RECOMMENDED_MIN_SECRET_BYTES } from '../../../protocol/commands.ts';
import { ApiError } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ApiKeys, Principal, Role } from '../secrets.ts';
import type { AuditEntry, TokenStore, TokenState } from '../store/types.ts';
import { subjectKindOfAction } from '../store/audit-subject.ts';
import type { Actor, TokenService } from '../token-service.ts';
import * as schema from './schemas.ts';

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
    logger: options.logger,
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
    const body = errorBody(new ApiError(417, 'NV_BAD_EXPECT', 'this server knows no "Expect" but 100-continue'));
    response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
  app.server.on('connect', (_request: IncomingMessage, socket: Duplex) => writeErrorAndClose(socket, noRoute()));
  app.removeContentTypeParser('text/plain'); // JSON only: text/plain gets 415 NV_BAD_MEDIA_TYPE, not a misleading schema error
  const { service, keys, metrics } = options;

  // Hooks on every request take a callback: an async hook costs a promise and a turn of its own.
  app.addHook('onRequest', (request, _reply, done) => {
    if (closing) return done(new ApiError(503, 'NV_CLOSING', 'the server is stopping; try again once it is back'));
    if (request.raw.headers.host === undefined && request.raw.httpVersion === '1.1') {
      return done(new ApiError(400, 'NV_BAD_HTTP', 'an HTTP/1.1 request needs a Host header'));
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
      errorResponseBuilder: (_request, context) => new ApiError(429, 'NV_RATE_LIMITED', `more than ${context.max} requests a second; retry in ${context.after}`),
    });
  }

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    const failure = toApiError(error);
    if (failure.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, failure);
  });
  // Neither path nor method is echoed: an answer never carries back what the request sent.
  app.setNotFoundHandler((_request, reply) => sendError(reply, noRoute()));

  const requireRole = (...roles: Role[]) => (request: FastifyRequest, _reply: FastifyReply, done: (error?: ApiError) => void) => {
    if (!request.principal) return done(new ApiError(401, 'NV_UNAUTHORIZED', 'an API key is needed: Authorization: Bearer <key>'));
    if (!roles.includes(request.principal.role)) return done(new ApiError(403, 'NV_FORBIDDEN', `this needs the ${roles.join(' or ')} key`));
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
        throw new ApiError(
          400,
          'NV_SHORT_SEED',
          `the seed is ${seed.length} bytes; RFC 4226 asks for at least ${RECOMMENDED_MIN_SECRET_BYTES} (send "allowShortSeed": true to enrol it anyway)`,
        );
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
      throw new ApiError(400, 'NV_BAD_FIELD', 'querystring.serial is the older name of querystring.subject: give one');
    }
    const since = query.since === undefined ? undefined : Date.parse(query.since);
    if (Number.isNaN(since)) throw new ApiError(400, 'NV_BAD_FIELD', 'querystring.since is not a time that exists');
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
    if ((serial === undefined) === (user === undefined)) throw new ApiError(400, 'NV_BAD_FIELD', 'give exactly one of "serial" and "user"');
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
  if (size < 1 || size > 1000) throw new ApiError(400, 'NV_BAD_FIELD', 'querystring.limit must be from 1 to 1000');
  return size;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** The envelope every error is sent in: `{"error":{"code":"NV_…","message":"…"}}`. */
function errorBody(failure: ApiError): string {
  return JSON.stringify({ error: { code: failure.code, message: failure.message } });
}

function noRoute(): ApiError {
  return new ApiError(404, 'NV_NO_ROUTE', 'no route for this method and path; the API is under /v1 (see the README)');
}

function sendError(reply: FastifyReply, failure: ApiError): FastifyReply {
  return reply.status(failure.status).type('application/json; charset=utf-8').send(errorBody(failure));
}

/** What fastify's router refuses before any route or hook runs. Neither answer echoes the URL. */
function frameworkFailure(error: FastifyError): ApiError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new ApiError(400, 'NV_BAD_URL', 'the URL does not decode: a "%" must start an escape of two hex digits, such as %2F');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(414, 'NV_URL_TOO_LONG', 'a part of the path is longer than this server accepts');
    default:
      return toApiError(error);
  }
}

/**
 * What Node's HTTP parser refuses (headers over its 16 KiB, a request that is not HTTP, one that
 * took too long) never reaches fastify: the answer is written to the socket here, in the API's
 * envelope, and the connection closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const failure =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError(431, 'NV_HEADERS_TOO_LARGE', 'the request line and headers are larger than this server accepts')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError(408, 'NV_REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new ApiError(400, 'NV_BAD_HTTP', 'the request is not well-formed HTTP/1.1');
  writeErrorAndClose(socket, failure);
}

/**
 * An answer written straight to the socket, for what never becomes a fastify request. Ended, not
 * destroyed: closing a socket with unread input (the rest of an oversized header) would reset it
 * and could lose the answer on its way.
 */
function writeErrorAndClose(socket: Duplex, failure: ApiError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(failure);
  socket.end(
    `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Any error as the API's coded error (fastify's own 4xx too: validation, body size, media type, JSON). */
export function toApiError(error: FastifyError | ApiError): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyError = error as FastifyError & { validation?: { keyword: string; instancePath: string; params: Record<string, unknown> }[]; validationContext?: string };
  if (fastifyError.validation) {
    const first = fastifyError.validation[0]!;
    const where = `${fastifyError.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}`;
    if (first.keyword === 'additionalProperties') {
      return new ApiError(400, 'NV_UNKNOWN_FIELD', `${where} has a field this API does not know: "${String(first.params.additionalProperty)}"`);
    }
    if (first.keyword === 'required') return new ApiError(400, 'NV_MISSING_FIELD', `${where} lacks "${String(first.params.missingProperty)}"`);
    return new ApiError(400, 'NV_BAD_FIELD', `${where} ${fastifyError.message.replace(/^(body|querystring|params)(\/\S+)? /, '')}`);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'NV_BODY_TOO_LARGE', 'the request body is larger than this server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'NV_BAD_MEDIA_TYPE', 'send JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'NV_BAD_JSON', 'the body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'NV_BAD_JSON', 'the body is not valid JSON');
  }
  if (error instanceof SyntaxError || fastifyError.statusCode === 400) return new ApiError(400, 'NV_BAD_JSON', 'the body is not valid JSON');
  // Other 4xx of fastify or a plugin: their messages may quote the request, so only the status is told.
  if (fastifyError.statusCode === 429) return new ApiError(429, 'NV_RATE_LIMITED', 'too many requests; retry in a second');
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ApiError(fastifyError.statusCode, 'NV_BAD_REQUEST', `the request was refused (${fastifyError.statusCode} ${STATUS_CODES[fastifyError.statusCode] ?? ''})`.replace(' )', ')'));
  }
  return new ApiError(500, 'NV_INTERNAL', 'the server failed to handle this request');
}
