/**
 * The emulator's speaker without sound: the model a profile is made as, what the debug link
 * reports the token said (in the emulator's voice), and the debug link's `audio`, which reaches
 * the token as a host's `audio` request on the lab's own link.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DebugClient } from '../../../host/bridge/debug-link.ts';
import { connectToken, enroll, wipe } from '../../../host/bridge/operations.ts';
import { tempDir } from '../../../test/support/processes.ts';
import { DEFAULT_TIMINGS } from '../../firmware/token.ts';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from './emulator.ts';

const SEED = new TextEncoder().encode('12345678901234567890');
const RFC4226_CODES = ['755224', '287082', '359152'];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(dir: string, options: Partial<EmulatorOptions> = {}): Promise<{ emulator: RunningEmulator; debug: DebugClient }> {
  const emulator = await startEmulator({ profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run'), ...options });
  cleanups.push(() => emulator.close());
  const debug = await DebugClient.connect(emulator.debug);
  cleanups.push(() => debug.close());
  return { emulator, debug };
}

async function enrolled(emulator: RunningEmulator): Promise<void> {
  const bridge = await connectToken(emulator.port);
  try {
    await enroll(bridge.session, { secret: new Uint8Array(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6 });
  } finally {
    await bridge.close();
  }
  emulator.token.advance(DEFAULT_TIMINGS.messageMs + 100);
}

describe('the model a profile is made as', () => {
  it('a new profile is a plain token unless --model reader; it stays what it was made as, and refuses to start as the other', async () => {
    const dir = tempDir('model');
    const first = await start(dir, { model: 'reader' });
    expect(first.emulator.model).toBe('NV1-READER');
    await first.emulator.close();
    const hardware = JSON.parse(fs.readFileSync(path.join(dir, 'token', 'token.json'), 'utf8'));
    expect(hardware.model).toBe('reader');

    // Started again without --model, it is still the reader.
    const again = await start(dir);
    expect(again.emulator.model).toBe('NV1-READER');
    await again.emulator.close();

    await expect(startEmulator({ profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run'), model: 'token' })).rejects.toMatchObject({
      code: 'NV_PROFILE_INVALID',
      message: expect.stringMatching(/is a reader \(NV1-READER\), made so: it cannot start as a token; use another --profile$/),
    });

    const plain = await start(tempDir('model'));
    expect(plain.emulator.model).toBe('NV1');
  });

  it('a profile from before the reader (no model in token.json) is a plain token', async () => {
    const dir = tempDir('model');
    const made = await start(dir);
    await made.emulator.close();
    const file = path.join(dir, 'token', 'token.json');
    const { model, ...older } = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(model).toBe('token');
    fs.writeFileSync(file, JSON.stringify(older));
    const { emulator } = await start(dir);
    expect(emulator.model).toBe('NV1');
    await emulator.close();
    fs.writeFileSync(file, JSON.stringify({ ...older, model: 'talking-clock' }));
    await expect(startEmulator({ profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') })).rejects.toMatchObject({ code: 'NV_PROFILE_INVALID' });
  });
});

describe('what the debug link reports the token said', () => {
  it('the reader: each code, in its voice, and a press while the code is on says it again', async () => {
    const { emulator, debug } = await start(tempDir('said'), { model: 'reader' });
    await enrolled(emulator);
    const before = await debug.call('speech');
    expect(before).toMatchObject({ voice: 'da', last: { words: ['ready'], text: 'klar', volume: 3, speed: 3 } });
    expect(before.output).toBeUndefined();

    await debug.call('press');
    const said = await debug.call('speech');
    expect(said.utterances).toBe(before.utterances + 1);
    expect(said.last).toEqual({ words: [...RFC4226_CODES[0]!], text: [...RFC4226_CODES[0]!].join(' '), volume: 3, speed: 3 });

    await debug.call('advance', { ms: 1000 });
    await debug.call('press');
    expect(await debug.call('speech')).toMatchObject({ utterances: before.utterances + 2, last: { text: [...RFC4226_CODES[0]!].join(' ') } });
    expect((await debug.call('state')).speech).toEqual(await debug.call('speech'));
  });

  it('in English with voice en', async () => {
    const { emulator, debug } = await start(tempDir('said'), { model: 'reader', voice: 'en' });
    await debug.call('advance', { ms: 10 });
    await debug.call('press');
    expect(await debug.call('speech')).toMatchObject({ voice: 'en', last: { words: ['no-seed'], text: 'no seed' } });
    await enrolled(emulator);
    expect((await debug.call('speech')).last).toMatchObject({ words: ['ready'], text: 'ready' });
  });

  it('a plain token says nothing until the debug link turns it up; then it speaks at that volume and speed', async () => {
    const { emulator, debug } = await start(tempDir('said'));
    await enrolled(emulator);
    await debug.call('press');
    expect(await debug.call('speech')).toEqual({ utterances: 0, last: null, voice: 'da' });
    expect(await debug.call('audio')).toEqual({ volume: 0, speed: 3 });

    expect(await debug.call('audio', { volume: 4, speed: 2 })).toEqual({ volume: 4, speed: 2 });
    await debug.call('advance', { ms: 1000 });
    await debug.call('press');
    expect((await debug.call('speech')).last).toEqual({ words: [...RFC4226_CODES[0]!], text: [...RFC4226_CODES[0]!].join(' '), volume: 4, speed: 2 });
    // The token took it as any host's request: its own info says so.
    const bridge = await connectToken(emulator.port);
    cleanups.push(() => bridge.close());
    expect(await bridge.session.request('info', {})).toMatchObject({ volume: 4, speed: 2 });
    expect(await debug.call('audio', { speed: 5 })).toEqual({ volume: 4, speed: 5 });
  });

  it("the token's refusal is NV_DEBUG_REFUSED (a wipe waits), a powered-off token NV_DEBUG_POWERED_OFF, and the link goes on", async () => {
    const { emulator, debug } = await start(tempDir('said'));
    await enrolled(emulator);
    const bridge = await connectToken(emulator.port);
    cleanups.push(() => bridge.close());
    const prompted = new Promise<void>((resolve) => {
      const waiting = wipe(bridge.session, () => resolve());
      waiting.catch(() => {});
    });
    await prompted;
    await expect(debug.call('audio', { volume: 2 })).rejects.toMatchObject({ code: 'NV_DEBUG_REFUSED', message: expect.stringMatching(/refused: busy/) });
    await debug.call('press');
    expect(await debug.call('audio')).toEqual({ volume: 0, speed: 3 });

    await debug.call('power-cut', { offMs: 60_000 });
    await expect(debug.call('audio', { volume: 2 })).rejects.toMatchObject({ code: 'NV_DEBUG_POWERED_OFF' });
    await debug.call('power-on');
    expect(await debug.call('audio', { volume: 2 })).toEqual({ volume: 2, speed: 3 });
  });
});
