/**
 * The emulator's speech: how an utterance is put together from its words' recordings (the gap
 * by the speed, the samples by the volume), and the renderer with Debian's espeak-ng: where it
 * writes, the recordings it keeps, and its coded failures. Whether the result is the right six
 * digits is test/interop/spoken-code.test.ts's to show.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { debianTool } from '../../../test/support/debian-tools.ts';
import { tempDir } from '../../../test/support/processes.ts';
import type { Word } from '../../hal/speaker.ts';
import { composeUtterance, NORMAL_WPM, parseAudioOutput, SpeechRenderer, trimSilence, WORD_GAP_MS, wordsPerMinute } from './speech.ts';
import { encodeWav, readWav } from './wav.ts';

const RATE = 22_050;
const NORMAL_GAP = (RATE * WORD_GAP_MS) / 1000;

describe('putting an utterance together', () => {
  const a = Int16Array.of(1000, -1000, 1000);
  const b = Int16Array.of(2000, -2000);

  it('the clips one after the other, the pause between them, at the loudest volume as they are', () => {
    const out = composeUtterance([a, b], RATE, 5, 3);
    expect(out.length).toBe(a.length + NORMAL_GAP + b.length);
    expect([...out.subarray(0, 3)]).toEqual([...a]);
    expect(out.subarray(3, 3 + NORMAL_GAP).every((sample) => sample === 0)).toBe(true);
    expect([...out.subarray(3 + NORMAL_GAP)]).toEqual([...b]);
  });

  it('each volume level below the loudest halves the samples (6 dB)', () => {
    expect([...composeUtterance([a], RATE, 4, 3)]).toEqual([500, -500, 500]);
    expect([...composeUtterance([Int16Array.of(1600, -1600)], RATE, 1, 3)]).toEqual([100, -100]);
  });

  it('a faster speed shortens the pause, a slower one lengthens it; espeak-ng speaks at the same factor', () => {
    const gap = (speed: number) => composeUtterance([a, b], RATE, 5, speed).length - a.length - b.length;
    expect(gap(1)).toBe(Math.round(NORMAL_GAP / 0.6));
    expect(gap(5)).toBe(Math.round(NORMAL_GAP / 1.5));
    expect(gap(1)).toBeGreaterThan(gap(2));
    expect(gap(4)).toBeGreaterThan(gap(5));
    expect([1, 2, 3, 4, 5].map(wordsPerMinute)).toEqual([105, 140, NORMAL_WPM, 219, 263]);
  });

  it('trims a recording\'s quiet lead-in and tail, not its quiet middle', () => {
    expect([...trimSilence(Int16Array.of(0, 3, -16, 900, 0, 0, -700, 16, 0))]).toEqual([900, 0, 0, -700]);
    expect(trimSilence(Int16Array.of(0, 1, -1)).length).toBe(0);
  });
});

describe('--audio', () => {
  it('play, a folder (one that exists, or a path ending in /), or else a WAV file', () => {
    const dir = tempDir('audio');
    expect(parseAudioOutput('play')).toEqual({ kind: 'play' });
    expect(parseAudioOutput(dir)).toEqual({ kind: 'dir', path: dir });
    expect(parseAudioOutput(path.join(dir, 'new') + '/')).toEqual({ kind: 'dir', path: path.join(dir, 'new') });
    expect(parseAudioOutput(path.join(dir, 'code.wav'))).toEqual({ kind: 'file', path: path.join(dir, 'code.wav') });
    expect(parseAudioOutput('relative.wav')).toEqual({ kind: 'file', path: path.resolve('relative.wav') });
  });
});

const HAVE_ESPEAK = debianTool('espeak-ng', 'espeak-ng', "the emulator's speech renderer test");

describe.skipIf(!HAVE_ESPEAK)('the renderer, with espeak-ng', () => {
  const opened: SpeechRenderer[] = [];
  const savedEnv = { PATH: process.env.PATH, AUDIODRIVER: process.env.AUDIODRIVER, AUDIODEV: process.env.AUDIODEV };
  afterEach(async () => {
    for (const renderer of opened.splice(0)) await renderer.close();
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  async function open(options: Parameters<typeof SpeechRenderer.open>[0]): Promise<SpeechRenderer> {
    const renderer = await SpeechRenderer.open(options);
    opened.push(renderer);
    return renderer;
  }

  const say = (words: Word[], volume = 3, speed = 3) => ({ words, volume, speed });

  it('writes numbered files into a folder, going on after those already there, and keeps the recordings it made', async () => {
    const dir = tempDir('speech');
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'utterance-0007.wav'), '');
    fs.writeFileSync(path.join(out, 'notes.txt'), '');
    const renderer = await open({ output: { kind: 'dir', path: out }, voice: 'da', cacheDir: path.join(dir, 'cache') });
    renderer.render(say(['4', '2']));
    renderer.render(say(['ready']));
    await renderer.idle();
    expect(renderer.state).toEqual({ kind: 'dir', path: out, rendered: 2, failed: 0, lastFile: path.join(out, 'utterance-0009.wav') });
    const first = readWav(fs.readFileSync(path.join(out, 'utterance-0008.wav')));
    expect(first.sampleRate).toBe(RATE);
    // Two words and the pause between them.
    expect(first.samples.length).toBeGreaterThan(NORMAL_GAP + RATE * 0.2);
    const recordings = fs.readdirSync(path.join(dir, 'cache'));
    expect(recordings).toEqual([expect.stringMatching(/^espeak-ng-\d+\.\d+/)]);
    expect(fs.readdirSync(path.join(dir, 'cache', recordings[0]!, 'da', `s${NORMAL_WPM}`)).sort()).toEqual(['2.wav', '4.wav', 'ready.wav']);
  });

  it('uses the recording it keeps rather than making it again', async () => {
    const dir = tempDir('speech');
    const cache = path.join(dir, 'cache');
    const file = path.join(dir, 'said.wav');
    const renderer = await open({ output: { kind: 'file', path: file }, voice: 'en', cacheDir: cache });
    renderer.render(say(['7'], 5));
    await renderer.idle();
    const kept = path.join(cache, fs.readdirSync(cache)[0]!, 'en', `s${NORMAL_WPM}`, '7.wav');
    // A recording of our own in its place: what is said next is made of it.
    const tone = Int16Array.from({ length: 300 }, (_, i) => (i % 2 ? 8000 : -8000));
    fs.writeFileSync(kept, encodeWav({ sampleRate: RATE, samples: tone }));
    const again = await open({ output: { kind: 'file', path: file }, voice: 'en', cacheDir: cache });
    again.render(say(['7', '7'], 4));
    await again.idle();
    const said = readWav(fs.readFileSync(file)).samples;
    expect(said.length).toBe(300 + NORMAL_GAP + 300);
    expect(said[0]).toBe(-4000);
    expect(said[300 + NORMAL_GAP + 1]).toBe(4000);
  });

  it('a recording it cannot read is a failure it counts and says once, as NV_AUDIO_RENDER, and the next utterance is rendered', async () => {
    const dir = tempDir('speech');
    const cache = path.join(dir, 'cache');
    const lines: string[] = [];
    const file = path.join(dir, 'said.wav');
    const renderer = await open({ output: { kind: 'file', path: file }, voice: 'da', cacheDir: cache, log: (line) => lines.push(line) });
    renderer.render(say(['1']));
    await renderer.idle();
    fs.writeFileSync(path.join(cache, fs.readdirSync(cache)[0]!, 'da', `s${NORMAL_WPM}`, '1.wav'), 'not a wav');
    const broken = await open({ output: { kind: 'file', path: file }, voice: 'da', cacheDir: cache, log: (line) => lines.push(line) });
    broken.render(say(['1', '2']));
    broken.render(say(['2']));
    await broken.idle();
    expect(broken.state).toMatchObject({ rendered: 1, failed: 1, lastError: 'not a RIFF/WAVE file', lastFile: file });
    expect(lines).toEqual(['cannot render "1 2": not a RIFF/WAVE file [NV_AUDIO_RENDER]']);
  });

  it('a file in a folder that does not exist is NV_AUDIO_OUTPUT', async () => {
    const dir = tempDir('speech');
    await expect(open({ output: { kind: 'file', path: path.join(dir, 'missing', 'said.wav') }, voice: 'da', cacheDir: path.join(dir, 'cache') })).rejects.toMatchObject({
      code: 'NV_AUDIO_OUTPUT',
      message: expect.stringMatching(/^cannot write speech to .*said\.wav: its folder .*missing does not exist$/),
    });
  });

  it('without espeak-ng it is NV_AUDIO_TOOL_MISSING, naming the package', async () => {
    const dir = tempDir('speech');
    process.env.PATH = path.join(dir, 'no-tools');
    await expect(open({ output: { kind: 'dir', path: dir }, voice: 'da', cacheDir: path.join(dir, 'cache') })).rejects.toMatchObject({
      code: 'NV_AUDIO_TOOL_MISSING',
      message: expect.stringContaining('apt-get install espeak-ng'),
    });
  });

  it.skipIf(!debianTool('play', 'sox', 'the test of play without a sound device'))('play with no sound device is NV_AUDIO_NO_DEVICE, pointing at --audio FILE', async () => {
    const dir = tempDir('speech');
    process.env.AUDIODRIVER = 'alsa';
    process.env.AUDIODEV = 'nv-no-such-device';
    await expect(open({ output: { kind: 'play' }, voice: 'da', cacheDir: path.join(dir, 'cache') })).rejects.toMatchObject({
      code: 'NV_AUDIO_NO_DEVICE',
      message: expect.stringMatching(/^no sound device to play the speech on \(play: .*nv-no-such-device.*\): write it to a file with --audio FILE\.wav, or to a folder with --audio DIR\/$/),
    });
  });
});
