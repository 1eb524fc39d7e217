/**
 * The host's side of `audio`: a token from before the speaker (protocol v1's first tokens, which
 * answer `audio` with unknown_command, as PROTOCOL.md 5.9 says) is told apart from any other
 * refusal, as NV_NO_SPEAKER.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../protocol/message.ts';
import type { MessageLink } from './link.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { setAudio } from './operations.ts';
import { TokenSession } from './session.ts';

/** A protocol v1 token on the other end of the link, answering `audio` with `refusal` (or the settings it keeps). */
function tokenLink(refusal?: string): MessageLink {
  let listener: (message: Message) => void = () => {};
  const settings = { volume: '3', speed: '3' };
  return {
    description: 'an older token',
    async send(message) {
      if (message.kind !== 'request') return;
      const answer = (fields: Record<string, string>, ok = true): Message => ({ kind: 'response', id: message.id, ok, fields });
      queueMicrotask(() => {
        if (message.name === 'hello') return listener(answer({ proto: '1', model: 'NV1', hardware: 'test', serial: '40000001', firmware: '0.0.9' }));
        if (message.name !== 'audio') return listener(answer({ code: 'unknown_command' }, false));
        if (refusal) return listener(answer({ code: refusal }, false));
        Object.assign(settings, message.fields);
        listener(answer(settings));
      });
    },
    onMessage: (l) => (listener = l),
    onNoise: () => {},
    onClose: () => {},
    close: async () => {},
  };
}

describe('setAudio', () => {
  it('sets what it is given and returns the settings the token keeps', async () => {
    const { session } = await TokenSession.start(tokenLink());
    expect(await setAudio(session, { speed: 5 })).toEqual({ volume: 3, speed: 5 });
    expect(await setAudio(session, {})).toEqual({ volume: 3, speed: 5 });
  });

  it('a token that does not know audio has no speaker: NV_NO_SPEAKER', async () => {
    const { session } = await TokenSession.start(tokenLink('unknown_command'));
    await expect(setAudio(session, { volume: 2 })).rejects.toEqual(new CodedError('NV_NO_SPEAKER', 'the token has no speaker (its firmware answers no audio command)'));
  });

  it("any other refusal stays the token's own", async () => {
    const { session } = await TokenSession.start(tokenLink('busy'));
    await expect(setAudio(session, { volume: 2 })).rejects.toMatchObject({ code: 'NV_TOKEN_BUSY' });
  });
});
