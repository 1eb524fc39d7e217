/**
 * The error envelope of the host's HTTP API: every failure is answered with a status and
 * `{"error":{"code":"NV_…","message":"…"}}`, and a client reads it back the same way.
 */
import { CodedError } from '../../protocol/coded-error.ts';

/** A coded error as the API answers it: one that has its HTTP status. */
export type ApiError = CodedError & { readonly status: number };

/** The envelope's schema: every route answers its 4xx and 5xx in it, and nothing else goes out with them. */
export const errorEnvelopeSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
      additionalProperties: false,
    },
  },
  required: ['error'],
  additionalProperties: false,
} as const;

export interface ErrorEnvelope {
  readonly error: { readonly code: string; readonly message: string };
}

/** What every route lists for its failures. */
export const ERROR_ANSWERS = { '4xx': errorEnvelopeSchema, '5xx': errorEnvelopeSchema } as const;

/**
 * The codes the HTTP layer itself answers a request with, before a route's own rules: what a
 * request's form, size, media type, key or rate is told. A route adds codes of its own (the token
 * service's `NV_UNKNOWN_SERIAL`, the login service's `NV_LOGIN_FAILED` …), all in the same envelope.
 */
export const REQUEST_ERROR_CODES = [
  'NV_UNKNOWN_FIELD',
  'NV_MISSING_FIELD',
  'NV_BAD_FIELD',
  'NV_BAD_JSON',
  'NV_BAD_MEDIA_TYPE',
  'NV_BODY_TOO_LARGE',
  'NV_BAD_URL',
  'NV_URL_TOO_LONG',
  'NV_HEADERS_TOO_LARGE',
  'NV_REQUEST_TIMEOUT',
  'NV_BAD_HTTP',
  'NV_BAD_EXPECT',
  'NV_BAD_REQUEST',
  'NV_NO_ROUTE',
  'NV_UNAUTHORIZED',
  'NV_FORBIDDEN',
  'NV_RATE_LIMITED',
  'NV_CLOSING',
  /** The store takes no writes (PostgreSQL down, or changing primary): try again shortly. */
  'NV_STORE_UNAVAILABLE',
  'NV_INTERNAL',
] as const;

export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

export function errorEnvelope(failure: CodedError): ErrorEnvelope {
  return { error: { code: failure.code, message: failure.message } };
}

/** A stable code: `NV_` and capitals, digits and underscores. */
const CODE = /^NV_[A-Z0-9_]+$/;

/**
 * What a client makes of an answer with `status`: the server's coded error when the body is the
 * envelope, else one named after the status (a proxy's page, another server). A code of another
 * form is not taken as one of ours.
 */
export function readErrorEnvelope(status: number, body: string, fallbackMessage: string): ApiError {
  let found: { code?: unknown; message?: unknown } = {};
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'object' && parsed.error !== null) found = parsed.error as typeof found;
  } catch {
    // not JSON: not our server, or a proxy's error page
  }
  const code = typeof found.code === 'string' && CODE.test(found.code) ? found.code : `NV_HTTP_${status}`;
  const message = typeof found.message === 'string' ? found.message : fallbackMessage;
  return new CodedError(code, message, status) as ApiError;
}
