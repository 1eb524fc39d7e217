/** How the CLI reports a failure: by the error's type, never by the look of a `code` property. */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../protocol/coded-error.ts';
import { describeFailure, usageError } from './errors.ts';

describe('describeFailure', () => {
  it('prints a coded error as its message and code; a usage error (or a bad argument anywhere) exits 2, any other 1', () => {
    expect(describeFailure(new CodedError('NV_PORT_OPEN', 'cannot open /dev/ttyX'))).toEqual({ code: 'NV_PORT_OPEN', message: 'cannot open /dev/ttyX', line: 'cannot open /dev/ttyX [NV_PORT_OPEN]', exitCode: 1 });
    expect(describeFailure(new CodedError('NV_UNKNOWN_SERIAL', 'the server refused: no token', 404)).exitCode).toBe(1);
    expect(describeFailure(usageError('NV_UNKNOWN_SERIAL', 'the server has no token X')).exitCode).toBe(2);
    expect(describeFailure(new CodedError('NV_BAD_ARGUMENT', '--count must be …')).exitCode).toBe(2);
  });

  it('takes an error that merely carries an NV_-looking code for an unexpected failure', () => {
    const imposter = Object.assign(new Error('from a library'), { code: 'NV_SOMETHING' });
    expect(describeFailure(imposter)).toMatchObject({ code: 'NV_INTERNAL', message: 'unexpected failure: from a library', exitCode: 1 });
    expect(describeFailure('thrown text')).toMatchObject({ code: 'NV_INTERNAL', exitCode: 1 });
  });
});
