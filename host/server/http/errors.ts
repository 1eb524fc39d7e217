/**
 * Errors on the HTTP side: any error as the API's coded error with its status (fastify's own 4xx
 * too), sent in the envelope of host/api, also where fastify never sees the request (Node's parser,
 * CONNECT, Expect). The one mapping from an error to what a client is told.
 */
import type { FastifyError, FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { CodedError } from '../../../protocol/coded-error.ts';
import { errorEnvelope, type ApiError, type RequestErrorCode } from '../../api/errors.ts';
import { StoreUnavailableError } from '../../store/store-errors.ts';

/** A coded error of the HTTP layer with its HTTP status: one of the codes host/api lists for it. */
export function api(code: RequestErrorCode, message: string, status: number): ApiError {
  return new CodedError(code, message, status) as ApiError;
}

/** A coded error as answered: its own status, or, for one that never meant to cross HTTP, an internal failure that tells nothing of it. */
function withStatus(error: CodedError): ApiError {
  return error.status === undefined ? api('NV_INTERNAL', 'the server failed to handle this request', 500) : (error as ApiError);
}

/** The envelope every error is sent in: `{"error":{"code":"NV_…","message":"…"}}`. */
function errorBody(failure: CodedError): string {
  return JSON.stringify(errorEnvelope(failure));
}

export function noRoute(): ApiError {
  return api('NV_NO_ROUTE', 'no route for this method and path; the API is under /v1 (see the README)', 404);
}

export function sendError(reply: FastifyReply, failure: ApiError): FastifyReply {
  return reply.status(failure.status).type('application/json; charset=utf-8').send(errorBody(failure));
}

/** What fastify's router refuses before any route or hook runs. Neither answer echoes the URL. */
export function frameworkFailure(error: FastifyError): ApiError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return api('NV_BAD_URL', 'the URL does not decode: a "%" must start an escape of two hex digits, such as %2F', 400);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return api('NV_URL_TOO_LONG', 'a part of the path is longer than this server accepts', 414);
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
      ? api('NV_HEADERS_TOO_LARGE', 'the request line and headers are larger than this server accepts', 431)
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? api('NV_REQUEST_TIMEOUT', 'the request did not arrive in time', 408)
        : api('NV_BAD_HTTP', 'the request is not well-formed HTTP/1.1', 400);
  writeErrorAndClose(socket, failure);
}

/**
 * An answer written straight to the socket, for what never becomes a fastify request. Ended, not
 * destroyed: closing a socket with unread input (the rest of an oversized header) would reset it
 * and could lose the answer on its way.
 */
export function writeErrorAndClose(socket: Duplex, failure: ApiError): void {
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
export function toApiError(error: unknown): ApiError {
  if (error instanceof CodedError) return withStatus(error);
  // The database is down or changing primary: the client may try again shortly.
  if (error instanceof StoreUnavailableError) return api('NV_STORE_UNAVAILABLE', error.message, 503);
  if (typeof error !== 'object' || error === null) return api('NV_INTERNAL', 'the server failed to handle this request', 500);
  const fastifyError = error as FastifyError & { validation?: { keyword: string; instancePath: string; params: Record<string, unknown> }[]; validationContext?: string };
  if (fastifyError.validation) {
    const first = fastifyError.validation[0]!;
    const where = `${fastifyError.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}`;
    if (first.keyword === 'additionalProperties') {
      return api('NV_UNKNOWN_FIELD', `${where} has a field this API does not know: "${String(first.params.additionalProperty)}"`, 400);
    }
    if (first.keyword === 'required') return api('NV_MISSING_FIELD', `${where} lacks "${String(first.params.missingProperty)}"`, 400);
    return api('NV_BAD_FIELD', `${where} ${fastifyError.message.replace(/^(body|querystring|params)(\/\S+)? /, '')}`, 400);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return api('NV_BODY_TOO_LARGE', 'the request body is larger than this server accepts', 413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return api('NV_BAD_MEDIA_TYPE', 'send JSON (Content-Type: application/json)', 415);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return api('NV_BAD_JSON', 'the body is empty; send a JSON object', 400);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return api('NV_BAD_JSON', 'the body is not valid JSON', 400);
  }
  if (error instanceof SyntaxError || fastifyError.statusCode === 400) return api('NV_BAD_JSON', 'the body is not valid JSON', 400);
  // Other 4xx of fastify or a plugin: their messages may quote the request, so only the status is told.
  if (fastifyError.statusCode === 429) return api('NV_RATE_LIMITED', 'too many requests; retry in a second', 429);
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return api('NV_BAD_REQUEST', `the request was refused (${fastifyError.statusCode} ${STATUS_CODES[fastifyError.statusCode] ?? ''})`.replace(' )', ')'), fastifyError.statusCode);
  }
  return api('NV_INTERNAL', 'the server failed to handle this request', 500);
}
