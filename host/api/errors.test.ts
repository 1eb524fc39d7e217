/** The error envelope as a client reads it back: the server's code when it is one of ours, else one named after the status. */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../protocol/coded-error.ts';
import { errorEnvelope, readErrorEnvelope } from './errors.ts';

describe('the error envelope', () => {
  it('round-trips a coded error: code, message and the status it came with', () => {
    const sent = new CodedError('NV_UNKNOWN_SERIAL', 'no token with serial X', 404);
    const read = readErrorEnvelope(404, JSON.stringify(errorEnvelope(sent)), 'Not Found');
    expect(read).toBeInstanceOf(CodedError);
    expect({ code: read.code, message: read.message, status: read.status }).toEqual({ code: 'NV_UNKNOWN_SERIAL', message: 'no token with serial X', status: 404 });
    expect(errorEnvelope(sent)).toEqual({ error: { code: 'NV_UNKNOWN_SERIAL', message: 'no token with serial X' } });
  });

  it('takes a code only in the NV_ form: anything else, or no envelope at all, is named after the status', () => {
    for (const body of [
      JSON.stringify({ error: { code: 'ECONNRESET', message: 'from elsewhere' } }),
      JSON.stringify({ error: { code: 'nv_lower', message: 'from elsewhere' } }),
      JSON.stringify({ error: { code: 42, message: 'from elsewhere' } }),
    ]) {
      expect(readErrorEnvelope(502, body, 'Bad Gateway')).toMatchObject({ code: 'NV_HTTP_502', message: 'from elsewhere', status: 502 });
    }
    expect(readErrorEnvelope(502, '<html>proxy</html>', 'Bad Gateway')).toMatchObject({ code: 'NV_HTTP_502', message: 'Bad Gateway', status: 502 });
    expect(readErrorEnvelope(500, JSON.stringify({ error: null }), 'Internal Server Error')).toMatchObject({ code: 'NV_HTTP_500', message: 'Internal Server Error' });
  });
});
