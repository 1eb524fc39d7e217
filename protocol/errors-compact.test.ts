/** The firmware's ProtocolError (errors-compact.ts) is the hosts' (errors.ts) without the descriptions. */
import { describe, expect, it } from 'vitest';
import { firmwareBundle } from '../device/build/firmware-bundle.ts';
import * as compact from './errors-compact.ts';
import * as full from './errors.ts';

describe('errors-compact.ts', () => {
  it('gives the same code, detail, name and properties as errors.ts, its message without the description', () => {
    for (const code of Object.keys(full.TOKEN_ERRORS) as full.TokenErrorCode[]) {
      for (const detail of [undefined, 'field']) {
        const ours = new compact.ProtocolError(code, detail);
        const theirs = new full.ProtocolError(code, detail);
        expect(ours).toBeInstanceOf(Error);
        expect([ours.code, ours.detail, ours.name]).toEqual([theirs.code, theirs.detail, theirs.name]);
        expect(Object.keys(ours)).toEqual(Object.keys(theirs));
        expect(ours.message).toBe(detail ? `${code} (${detail})` : code);
      }
    }
  });

  it('is what the firmware bundle carries: no description of a code', async () => {
    const { code } = await firmwareBundle();
    for (const description of Object.values(full.TOKEN_ERRORS)) expect(code).not.toContain(description);
    expect(code).toContain('ProtocolError');
  });
});
