/**
 * privacyIDEA 3.x's /validate/check, as its documentation ("API → Validate endpoints → POST
 * /validate/check"; the JSON of "API → response") and its own tests (tests/test_api_validate.py,
 * 3.14) give it: each answer spelled out whole.
 */
import { describe, expect, it } from 'vitest';
import {
  ValidateCheckParameterError,
  methodNotAllowedAnswer,
  parameterErrorAnswer,
  parseValidateCheck,
  splitPassAndCode,
  validateCheckAnswer,
} from './validate-check.ts';

const context = { now: 1_800_000_000.25, threadId: 4711 };
const envelope = { jsonrpc: '2.0', id: 2, version: 'privacyIDEA 3.14', versionnumber: '3.14', time: 1_800_000_000.25 };

describe('/validate/check answers', () => {
  it('accept: value true, authentication ACCEPT, detail "matching 1 tokens" with serial, type and otplen', () => {
    expect(validateCheckAnswer({ kind: 'accepted', serial: 'NV0001', tokenType: 'hotp', digits: 6 }, context)).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: true, authentication: 'ACCEPT' }, detail: { message: 'matching 1 tokens', serial: 'NV0001', type: 'hotp', otplen: 6, threadid: 4711 } },
    });
  });

  it('reject (a wrong code): status true, value false, authentication REJECT, "wrong otp value"', () => {
    expect(validateCheckAnswer({ kind: 'rejected', reason: 'wrong_code', serial: 'NV0001', tokenType: 'hotp' }, context)).toEqual({
      status: 200,
      body: { ...envelope, result: { status: true, value: false, authentication: 'REJECT' }, detail: { message: 'wrong otp value', serial: 'NV0001', type: 'hotp', threadid: 4711 } },
    });
  });

  it('replay: "wrong otp value. previous otp used again"', () => {
    expect(validateCheckAnswer({ kind: 'rejected', reason: 'replayed', serial: 'NV0001', tokenType: 'totp' }, context).body).toEqual({
      ...envelope,
      result: { status: true, value: false, authentication: 'REJECT' },
      detail: { message: 'wrong otp value. previous otp used again', serial: 'NV0001', type: 'totp', threadid: 4711 },
    });
  });

  it('a locked token: "Failcounter exceeded"', () => {
    expect(validateCheckAnswer({ kind: 'rejected', reason: 'locked', serial: 'NV0001', tokenType: 'hotp' }, context).body).toEqual({
      ...envelope,
      result: { status: true, value: false, authentication: 'REJECT' },
      detail: { message: 'Failcounter exceeded', serial: 'NV0001', type: 'hotp', threadid: 4711 },
    });
  });

  it('a wrong password before the code (otppin=userstore): "wrong otp pin", and no serial to learn', () => {
    expect(validateCheckAnswer({ kind: 'rejected', reason: 'wrong_password' }, context).body).toEqual({
      ...envelope,
      result: { status: true, value: false, authentication: 'REJECT' },
      detail: { message: 'wrong otp pin', threadid: 4711 },
    });
  });

  it('an unknown user: HTTP 400, status false, error 904 "ERR904: User <eve@realm> does not exist."', () => {
    expect(validateCheckAnswer({ kind: 'unknown_user', user: 'eve', realm: 'noegleviser' }, context)).toEqual({
      status: 400,
      body: { jsonrpc: '2.0', id: 1, version: 'privacyIDEA 3.14', time: 1_800_000_000.25, result: { status: false, error: { code: 904, message: 'ERR904: User <eve@noegleviser> does not exist.' } }, detail: null },
    });
  });

  it('the challenge flow: the password alone gives CHALLENGE with a transaction_id; the code with it, ACCEPT', () => {
    const first = validateCheckAnswer({ kind: 'challenge', transactionId: '08282050332071080403', message: 'Enter the key for number 4711', serial: 'CARD0001', tokenType: 'hotp' }, context);
    expect(first).toEqual({
      status: 200,
      body: {
        ...envelope,
        result: { status: true, value: false, authentication: 'CHALLENGE' },
        detail: {
          client_mode: 'interactive',
          message: 'Enter the key for number 4711',
          messages: ['Enter the key for number 4711'],
          multi_challenge: [{ client_mode: 'interactive', message: 'Enter the key for number 4711', serial: 'CARD0001', transaction_id: '08282050332071080403', type: 'hotp' }],
          preferred_client_mode: 'interactive',
          serial: 'CARD0001',
          threadid: 4711,
          transaction_id: '08282050332071080403',
          transaction_ids: ['08282050332071080403'],
          type: 'hotp',
        },
      },
    });
    const second = parseValidateCheck({ user: 'jens', pass: '118215', transaction_id: '08282050332071080403' });
    expect(second).toEqual({ by: 'user', user: 'jens', realm: null, pass: '118215', transactionId: '08282050332071080403' });
    expect(validateCheckAnswer({ kind: 'accepted', serial: 'CARD0001', tokenType: 'hotp', digits: 6 }, context).body.result).toEqual({ status: true, value: true, authentication: 'ACCEPT' });
  });

  it('a serial that is not the user\'s, a request it cannot read, and a GET: HTTP 400/405 with error 905', () => {
    expect(validateCheckAnswer({ kind: 'serial_not_users' }, context).body.result).toEqual({ status: false, error: { code: 905, message: 'ERR905: Given serial does not belong to given user!' } });
    expect(parameterErrorAnswer(new ValidateCheckParameterError('Missing parameter: pass'), context)).toMatchObject({ status: 400, body: { result: { status: false, error: { code: 905, message: 'ERR905: Missing parameter: pass' } } } });
    expect(methodNotAllowedAnswer(context).status).toBe(405);
  });
});

describe('/validate/check requests', () => {
  it('reads a form (as privacyIDEA\'s plugins send it) and JSON alike', () => {
    const form = parseValidateCheck('user=jens&realm=realm1&pass=s3cret123456');
    expect(form).toEqual({ by: 'user', user: 'jens', realm: 'realm1', pass: 's3cret123456', transactionId: null });
    expect(parseValidateCheck(new URLSearchParams({ user: 'jens', realm: 'realm1', pass: 's3cret123456' }))).toEqual(form);
    expect(parseValidateCheck({ user: 'jens', realm: 'realm1', pass: 's3cret123456' })).toEqual(form);
  });

  it('serial instead of user; a serial with a user keeps both (the user must own it); state is transaction_id\'s older name', () => {
    expect(parseValidateCheck({ serial: 'NV0001', pass: '755224' })).toEqual({ by: 'serial', serial: 'NV0001', user: null, realm: null, pass: '755224', transactionId: null });
    expect(parseValidateCheck({ serial: 'NV0001', user: 'jens', pass: '755224', state: 't1' })).toEqual({ by: 'serial', serial: 'NV0001', user: 'jens', realm: null, pass: '755224', transactionId: 't1' });
  });

  it('refuses what privacyIDEA refuses: no pass, neither user nor serial; and a field given twice or not a string', () => {
    const code = (body: unknown) => {
      try {
        parseValidateCheck(body);
        return 'read';
      } catch (error) {
        return error instanceof ValidateCheckParameterError ? error.message : 'other';
      }
    };
    expect(code({ user: 'jens' })).toBe('Missing parameter: pass');
    expect(code({ pass: '755224' })).toBe('You need to specify a serial, user or credential_id.');
    expect(code('user=jens&user=karen&pass=1')).toBe('Parameter user is given twice');
    expect(code({ user: ['jens'], pass: '1' })).toBe('Parameter user must be a string');
    expect(code([1, 2])).toBe('The request must be a form or a JSON object');
    // An empty pass is a pass (the first leg of a challenge may send one): it is read.
    expect(code({ user: 'jens', pass: '' })).toBe('read');
  });

  it('splits "password then code" at the token\'s digits', () => {
    expect(splitPassAndCode('s3cret123456', 6)).toEqual({ password: 's3cret', code: '123456' });
    expect(splitPassAndCode('123456', 6)).toEqual({ password: '', code: '123456' });
    expect(splitPassAndCode('12345', 6)).toBeUndefined();
  });
});
