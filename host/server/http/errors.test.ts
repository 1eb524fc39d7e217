/** The one mapping from an error to what an HTTP client is told. */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../../protocol/coded-error.ts';
import { StoreUnavailableError } from '../../store/store-errors.ts';
import { toApiError } from './errors.ts';

describe('toApiError', () => {
  it('answers a coded error with its status as it is', () => {
    const failure = new CodedError('NV_BAD_STATE', 'T1 is revoked', 409);
    expect(toApiError(failure)).toBe(failure);
  });

  it('answers a coded error that has no HTTP status, and anything not an error, as an internal failure that tells nothing of it', () => {
    for (const error of [new CodedError('NV_LISTEN', 'cannot listen on 127.0.0.1:1: permission denied'), new Error('/secret/path failed'), 'a string', null, undefined]) {
      expect(toApiError(error)).toMatchObject({ code: 'NV_INTERNAL', status: 500, message: 'the server failed to handle this request' });
    }
  });

  it('answers a store that is unavailable (no database primary, a lost connection) as NV_STORE_UNAVAILABLE, 503, with its message and not its cause', () => {
    const failure = toApiError(new StoreUnavailableError('the store is unavailable: try again shortly', new Error('127.0.0.1:5432 refused')));
    expect(failure).toMatchObject({ code: 'NV_STORE_UNAVAILABLE', status: 503, message: 'the store is unavailable: try again shortly' });
  });

  it("names fastify's own refusals by code, without their text", () => {
    const validation = Object.assign(new Error('body must have required property'), { validation: [{ keyword: 'required', instancePath: '', params: { missingProperty: 'code' } }], validationContext: 'body' });
    expect(toApiError(validation)).toMatchObject({ code: 'NV_MISSING_FIELD', status: 400, message: 'body lacks "code"' });
    expect(toApiError(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({ code: 'NV_BODY_TOO_LARGE', status: 413 });
    expect(toApiError(Object.assign(new Error('echoes /the/request'), { statusCode: 405 }))).toMatchObject({ code: 'NV_BAD_REQUEST', status: 405, message: 'the request was refused (405 Method Not Allowed)' });
  });
});
