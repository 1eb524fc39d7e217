/**
 * privacyIDEA 3.x's `/validate/check`, so that its plugins (FreeRADIUS, PAM, Keycloak,
 * SimpleSAMLphp, credential provider) can point at this server unchanged: its request read
 * (form or JSON), and this server's verdicts written in its answer's shape. Pure: no HTTP here.
 *
 * Followed (privacyIDEA 3.14's source and its documentation, "API → Validate endpoints →
 * POST /validate/check", and the response format of "API → response"): the answer is
 *
 *     { "jsonrpc": "2.0", "id": 2, "version": "privacyIDEA …", "versionnumber": "…", "time": <s>,
 *       "result": { "status": true, "value": true|false, "authentication": "ACCEPT"|"REJECT"|"CHALLENGE" },
 *       "detail": { "message": …, "serial": …, "type": …, "otplen": …, "threadid": … } }
 *
 * `id` is 2 because /validate/check answers with rid=2, which is what adds `authentication`.
 * A challenge also carries `transaction_id`, `transaction_ids`, `multi_challenge` (one entry,
 * `client_mode` "interactive") and `messages`. An error (a missing parameter, an unknown user)
 * is HTTP 400 with `result.status` false and `result.error` {code, message}, no `value`.
 * Messages are privacyIDEA's own ("matching 1 tokens", "wrong otp value", "wrong otp pin",
 * "wrong otp value. previous otp used again", "Failcounter exceeded", "Token is disabled",
 * "Outside validity period", "The user has no tokens assigned", "ERR904: User <u@realm> does not exist.").
 */

/** What privacyIDEA calls itself in `version`; plugins only display it. */
export const PRIVACYIDEA_VERSION = '3.14';

export type ValidateCheckRequest =
  | { readonly by: 'user'; readonly user: string; readonly realm: string | null; readonly pass: string; readonly transactionId: string | null }
  | { readonly by: 'serial'; readonly serial: string; readonly user: string | null; readonly realm: string | null; readonly pass: string; readonly transactionId: string | null };

/** A request privacyIDEA refuses with ParameterError (its code 905, HTTP 400). */
export class ValidateCheckParameterError extends Error {
  readonly privacyideaCode = 905;
  constructor(message: string) {
    super(message);
    this.name = 'ValidateCheckParameterError';
  }
}

/** The most a field may be: privacyIDEA's plugins send user names and PIN+OTP far shorter. */
const MAX_FIELD = 256;

/**
 * Reads a /validate/check request: a parsed JSON object, or an application/x-www-form-urlencoded
 * body (as text or URLSearchParams). `user` or `serial` (with `serial`, a `user` must own it,
 * as privacyIDEA checks); `pass` the code, or the password followed by the code; `realm`
 * accepted (this server has one realm); `transaction_id` (or its older name `state`) for the
 * second leg of a challenge. Other fields privacyIDEA knows (`type`, `otponly`, `exception`…)
 * are ignored.
 */
export function parseValidateCheck(body: unknown): ValidateCheckRequest {
  const fields = new Map<string, string>();
  const put = (key: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string' && typeof value !== 'number') throw new ValidateCheckParameterError(`Parameter ${key} must be a string`);
    const text = String(value);
    if (text.length > MAX_FIELD) throw new ValidateCheckParameterError(`Parameter ${key} is too long`);
    if (fields.has(key)) throw new ValidateCheckParameterError(`Parameter ${key} is given twice`);
    fields.set(key, text);
  };
  if (typeof body === 'string' || body instanceof URLSearchParams) {
    for (const [key, value] of new URLSearchParams(body)) put(key, value);
  } else if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    for (const [key, value] of Object.entries(body)) put(key, value);
  } else {
    throw new ValidateCheckParameterError('The request must be a form or a JSON object');
  }
  const get = (key: string) => {
    const value = fields.get(key);
    return value === undefined || value === '' ? null : value;
  };
  const pass = fields.get('pass');
  if (pass === undefined) throw new ValidateCheckParameterError('Missing parameter: pass');
  const user = get('user');
  const serial = get('serial');
  const realm = get('realm');
  const transactionId = get('transaction_id') ?? get('state');
  if (serial !== null) return { by: 'serial', serial, user, realm, pass, transactionId };
  if (user !== null) return { by: 'user', user, realm, pass, transactionId };
  throw new ValidateCheckParameterError('You need to specify a serial, user or credential_id.');
}

/**
 * privacyIDEA's "otppin=userstore" (what PAP-only clients send): the password, then the code of
 * `digits` digits at the end. Undefined when `pass` is too short to hold a code.
 */
export function splitPassAndCode(pass: string, digits: number): { readonly password: string; readonly code: string } | undefined {
  if (pass.length < digits) return undefined;
  return { password: pass.slice(0, pass.length - digits), code: pass.slice(pass.length - digits) };
}

export type RejectReason = 'wrong_code' | 'wrong_password' | 'replayed' | 'out_of_window' | 'locked' | 'disabled' | 'lost' | 'revoked' | 'expired' | 'no_token';

/** This server's verdict on a /validate/check, as the wiring makes it from the token service and the login. */
export type ValidateVerdict =
  | { readonly kind: 'accepted'; readonly serial: string; readonly tokenType: string; readonly digits: number }
  | { readonly kind: 'rejected'; readonly reason: RejectReason; readonly serial?: string; readonly tokenType?: string }
  | { readonly kind: 'challenge'; readonly transactionId: string; readonly message: string; readonly serial: string; readonly tokenType: string }
  | { readonly kind: 'unknown_user'; readonly user: string; readonly realm: string }
  /** A serial that is not the user's, or no token at all by that serial (privacyIDEA: ParameterError). */
  | { readonly kind: 'serial_not_users' };

export interface ValidateAnswer {
  readonly status: 200 | 400 | 405;
  readonly body: PrivacyideaResponse;
}

export interface PrivacyideaResponse {
  readonly jsonrpc: '2.0';
  readonly id: number;
  readonly version: string;
  readonly versionnumber?: string;
  readonly time: number;
  readonly result:
    | { readonly status: true; readonly value: boolean; readonly authentication: 'ACCEPT' | 'REJECT' | 'CHALLENGE' }
    | { readonly status: false; readonly error: { readonly code: number; readonly message: string } };
  readonly detail?: Readonly<Record<string, unknown>> | null;
}

/** privacyIDEA's message for each reason it has one for. */
export const REJECT_MESSAGES: Readonly<Record<RejectReason, string>> = {
  wrong_code: 'wrong otp value',
  out_of_window: 'wrong otp value',
  wrong_password: 'wrong otp pin',
  replayed: 'wrong otp value. previous otp used again',
  locked: 'Failcounter exceeded',
  disabled: 'Token is disabled',
  // privacyIDEA has no lost or revoked token that still verifies: both are disabled (and revoked, locked) there.
  lost: 'Token is disabled',
  revoked: 'Token is disabled',
  expired: 'Outside validity period',
  no_token: 'The user has no tokens assigned',
};

export interface AnswerContext {
  /** Seconds since the epoch, as privacyIDEA's `time`. */
  readonly now: number;
  /** privacyIDEA's `detail.threadid`; any number that names the worker. */
  readonly threadId?: number;
}

function envelope(context: AnswerContext): Pick<PrivacyideaResponse, 'jsonrpc' | 'id' | 'version' | 'versionnumber' | 'time'> {
  return { jsonrpc: '2.0', id: 2, version: `privacyIDEA ${PRIVACYIDEA_VERSION}`, versionnumber: PRIVACYIDEA_VERSION, time: context.now };
}

function errorAnswer(status: 400 | 405, code: number, message: string, context: AnswerContext): ValidateAnswer {
  return { status, body: { jsonrpc: '2.0', id: 1, version: `privacyIDEA ${PRIVACYIDEA_VERSION}`, time: context.now, result: { status: false, error: { code, message } }, detail: null } };
}

/** The answer to a request that could not be read (privacyIDEA's ParameterError, 905). */
export function parameterErrorAnswer(error: ValidateCheckParameterError, context: AnswerContext): ValidateAnswer {
  return errorAnswer(400, error.privacyideaCode, `ERR905: ${error.message}`, context);
}

/** The answer to a GET (this server answers POST only: a GET would put `pass` in URLs and logs). */
export function methodNotAllowedAnswer(context: AnswerContext): ValidateAnswer {
  return errorAnswer(405, 905, 'ERR905: /validate/check takes POST only', context);
}

export function validateCheckAnswer(verdict: ValidateVerdict, context: AnswerContext): ValidateAnswer {
  const thread = context.threadId ?? process.pid;
  switch (verdict.kind) {
    case 'accepted':
      return {
        status: 200,
        body: {
          ...envelope(context),
          result: { status: true, value: true, authentication: 'ACCEPT' },
          detail: { message: 'matching 1 tokens', serial: verdict.serial, type: verdict.tokenType, otplen: verdict.digits, threadid: thread },
        },
      };
    case 'rejected':
      return {
        status: 200,
        body: {
          ...envelope(context),
          result: { status: true, value: false, authentication: 'REJECT' },
          detail: { message: REJECT_MESSAGES[verdict.reason], ...(verdict.serial ? { serial: verdict.serial } : {}), ...(verdict.tokenType ? { type: verdict.tokenType } : {}), threadid: thread },
        },
      };
    case 'challenge': {
      const challenge = { client_mode: 'interactive', message: verdict.message, serial: verdict.serial, transaction_id: verdict.transactionId, type: verdict.tokenType };
      return {
        status: 200,
        body: {
          ...envelope(context),
          result: { status: true, value: false, authentication: 'CHALLENGE' },
          detail: {
            ...challenge,
            messages: [verdict.message],
            multi_challenge: [challenge],
            transaction_ids: [verdict.transactionId],
            preferred_client_mode: 'interactive',
            threadid: thread,
          },
        },
      };
    }
    case 'unknown_user':
      return errorAnswer(400, 904, `ERR904: User <${verdict.user}@${verdict.realm}> does not exist.`, context);
    case 'serial_not_users':
      return errorAnswer(400, 905, 'ERR905: Given serial does not belong to given user!', context);
  }
}
