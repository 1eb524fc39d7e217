/**
 * The error envelope of the host's HTTP API: every failure is answered with a status and
 * `{"error":{"code":"NV_…","message":"…"}}`, and a client reads it back the same way.
 */
import { CodedError } from '../../protocol/coded-error.ts';

/** A coded error as the API answers it: one that has its HTTP status. */
export type ApiError = CodedError & { readonly status: number };

export interface ErrorEnvelope {
  readonly error: { readonly code: string; readonly message: string };
}

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
