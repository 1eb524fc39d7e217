/**
 * The audio code reader says the code oathtool computes. An emulator started as the reader
 * (`device emulate --model reader --audio DIR/`) is enrolled with a random seed and counter and
 * pressed; the WAV it writes is cut at its silences with Debian's sox into six pieces, and each
 * piece is matched against recordings of the ten digits this test makes itself with espeak-ng
 * (never the emulator's own): the digits heard, in order, are oathtool's code. Then the host turns
 * the volume up and the speed down and up over the token protocol (`noegleviser audio`), and sox
 * measures the difference: the RMS amplitude, and the duration.
 *
 * Skipped with a message where espeak-ng, sox or oathtool is missing; in CI a failure.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_TIMINGS } from '../../device/firmware/token.ts';
import { DebugClient } from '../../host/bridge/debug-link.ts';
import type { SpeechResult } from '../../protocol/debug/messages.ts';
import { debianTool } from '../support/debian-tools.ts';
import { cli, startEmulatorProcess, tempDir, type EmulatorProcess } from '../support/processes.ts';

const HAVE_TOOLS = [
  debianTool('espeak-ng', 'espeak-ng', 'the spoken-code test'),
  debianTool('sox', 'sox', 'the spoken-code test'),
  debianTool('oathtool', 'oathtool', 'the spoken-code test'),
].every(Boolean);

/** Where the file is cut: anything above this (of full scale) is sound, and a pause is below it. */
const PAUSE_LEVEL = '0.1%';
/** A recording's quiet lead-in and tail, once it is at its loudest: below this it is cut off, so that recordings line up. */
const TRIM_LEVEL = '1%';
/** A pause at least this long separates two words; within a digit espeak-ng's pauses are shorter. */
const WORD_PAUSE_S = '0.2';

function sox(...args: string[]): string {
  return execFileSync('sox', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** sox's report on a file (`sox FILE -n stat` writes it to stderr). */
function soxStat(file: string): Record<string, number> {
  const { stderr, status } = spawnSync('sox', [file, '-n', 'stat'], { encoding: 'utf8' });
  expect(status, stderr).toBe(0);
  const stat: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    const match = /^(.+?):\s+(-?[\d.]+)$/.exec(line.trim());
    if (match) stat[match[1]!.replace(/\s+/g, ' ')] = Number(match[2]);
  }
  return stat;
}

function durationS(file: string): number {
  return Number(sox('--i', '-D', file).trim());
}

/** A file's samples, as sox reads them out: signed 16-bit mono, at its loudest without clipping, the quiet lead-in and tail cut off. */
function trimmedSamples(file: string): Int16Array {
  const trim = ['silence', '1', '0.005', TRIM_LEVEL];
  const raw = execFileSync('sox', [file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-c', '1', '-', 'norm', '-1', ...trim, 'reverse', ...trim, 'reverse'], {
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Int16Array(raw.buffer, raw.byteOffset, Math.floor(raw.byteLength / 2));
}

/** The pieces sox cuts a file into at every pause of WORD_PAUSE_S or more, in order. */
function piecesOf(file: string, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  sox(file, path.join(dir, 'piece.wav'), 'silence', '1', '0.01', PAUSE_LEVEL, '1', WORD_PAUSE_S, PAUSE_LEVEL, ':', 'newfile', ':', 'restart');
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => path.join(dir, name))
    .filter((piece) => fs.statSync(piece).size > 44 && durationS(piece) > 0);
}

/** How alike two sounds are: the best normalised cross-correlation over shifts of up to `maxLag` samples (1 for the same sound, at any volume). */
function likeness(a: Int16Array, b: Int16Array, maxLag = 300): number {
  const energy = (x: Int16Array) => x.reduce((sum, v) => sum + v * v, 0);
  let best = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let sum = 0;
    const to = Math.min(a.length, b.length - lag);
    for (let i = Math.max(0, -lag); i < to; i++) sum += a[i]! * b[i + lag]!;
    best = Math.max(best, sum);
  }
  return best / Math.sqrt(energy(a) * energy(b));
}

describe.skipIf(!HAVE_TOOLS).each([
  { voice: 'da', espeakVoice: 'da' },
  { voice: 'en', espeakVoice: 'en' },
])('the audio code reader in voice $voice says the code oathtool computes', ({ voice, espeakVoice }) => {
  const dir = tempDir(`spoken-${voice}`);
  const out = path.join(dir, 'said');
  const env = { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run') };
  const seed = randomBytes(20).toString('hex');
  const counter = randomInt(0, 1_000_000);
  let emulator: EmulatorProcess;
  let debug: DebugClient;
  /** The test's own recording of each digit, trimmed as the pieces are. */
  const digits: Int16Array[] = [];

  beforeAll(async () => {
    for (let digit = 0; digit <= 9; digit++) {
      const file = path.join(dir, `digit-${digit}.wav`);
      // A server address that is no server: espeak-ng's audio library then makes no pulse-… folder in TMPDIR.
      execFileSync('espeak-ng', ['-v', espeakVoice, '-w', file, String(digit)], { env: { ...process.env, PULSE_SERVER: 'unix:/dev/null' } });
      digits.push(trimmedSamples(file));
    }
    emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir: env.NOEGLEVISER_RUNTIME_DIR, args: ['--model', 'reader', '--voice', voice, '--audio', `${out}/`] });
    debug = await DebugClient.connect(emulator.debug);
    const enrolled = await cli(['enroll', '--port', emulator.port, '--seed-file', '-', '--counter', String(counter), '--token-only'], { env, input: seed + '\n' });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    // Past "ready" (said too), so that the next thing on the display is the code.
    await debug.call('advance', { ms: 5000 });
  });
  afterAll(async () => {
    debug?.close();
    await emulator?.stop('SIGKILL');
  });

  /** Presses through `device press` and returns the WAV file the utterance was written to, once it is written. */
  async function pressAndListen(): Promise<{ display: string; file: string; said: SpeechResult }> {
    // A person's next press, not the second half of a double press (which steps the volume): on a
    // fast machine the test's own steps between two presses take less than the window.
    await debug.call('advance', { ms: DEFAULT_TIMINGS.doublePressMs + 100 });
    const before = await debug.call('speech');
    const pressed = await cli(['device', 'press'], { env });
    expect(pressed.code, pressed.stderr).toBe(0);
    let said: SpeechResult | undefined;
    await vi.waitFor(
      async () => {
        said = await debug.call('speech');
        expect(said.utterances).toBe(before.utterances + 1);
        expect(said.output?.rendered).toBe(said.utterances);
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(said!.output?.failed).toBe(0);
    return { display: pressed.stdout.trim(), file: said!.output!.lastFile!, said: said! };
  }

  /** The digits heard in a file: each piece, the digit whose recording it is most like. */
  function heard(file: string, name: string): { digits: string; likeness: number[] } {
    const pieces = piecesOf(file, path.join(dir, 'pieces', name));
    const matches = pieces.map((piece) => {
      const samples = trimmedSamples(piece);
      const scores = digits.map((recording) => likeness(samples, recording));
      const best = scores.indexOf(Math.max(...scores));
      return { digit: String(best), score: scores[best]! };
    });
    return { digits: matches.map((m) => m.digit).join(''), likeness: matches.map((m) => m.score) };
  }

  let first: { file: string; display: string };

  it('the WAV holds six spoken digits, in order, and they are the code oathtool computes for the seed and counter', async () => {
    const expected = execFileSync('oathtool', ['--hotp', '-c', String(counter), seed], { encoding: 'utf8' }).trim();
    const pressed = await pressAndListen();
    first = { file: path.join(dir, 'first.wav'), display: pressed.display };
    fs.copyFileSync(pressed.file, first.file);
    expect(pressed.display).toBe(expected);
    expect(pressed.said.last).toMatchObject({ words: [...expected], text: [...expected].join(' '), volume: 3, speed: 3 });
    expect(pressed.said.output).toMatchObject({ kind: 'dir', path: out });

    const pieces = piecesOf(first.file, path.join(dir, 'pieces', 'count'));
    expect(pieces).toHaveLength(6);
    const { digits: spoken, likeness: scores } = heard(first.file, 'first');
    expect(spoken).toBe(expected);
    // Each piece is that digit's recording, not merely more like it than the others.
    for (const score of scores) expect(score).toBeGreaterThan(0.9);

    const text = await cli(['device', 'speech'], { env });
    expect(text.stdout).toBe(`${[...expected].join(' ')}\n`);
  });

  it('the host turns the volume up over the token protocol: a press while the code is on says it again, louder by the levels\' 6 dB each', async () => {
    const set = await cli(['audio', '--port', emulator.port, '--volume', '5', '--json'], { env });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ volume: 5, speed: 3 });
    const again = await pressAndListen();
    expect(again.display).toBe(first.display);
    expect(heard(again.file, 'loud').digits).toBe(first.display);
    const ratio = soxStat(again.file)['RMS amplitude']! / soxStat(first.file)['RMS amplitude']!;
    // Two levels up: 12 dB, four times the amplitude.
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4.5);
    expect(Math.abs(durationS(again.file) - durationS(first.file))).toBeLessThan(0.05);
  });

  it('speed 1 says the code slower, speed 5 faster: the same six digits, in a longer and a shorter file', async () => {
    // The first press's file, said at speed 3 (the volume leaves the duration be).
    const normal = durationS(first.file);
    const slow = await cli(['audio', '--port', emulator.port, '--speed', '1'], { env });
    expect(slow.stdout).toMatch(/^speaker: volume \d of 5, speed 1 of 5\n$/);
    const slower = await pressAndListen();
    expect(piecesOf(slower.file, path.join(dir, 'pieces', 'slow'))).toHaveLength(6);
    expect(durationS(slower.file)).toBeGreaterThan(normal * 1.3);

    expect((await cli(['audio', '--port', emulator.port, '--speed', '5'], { env })).code).toBe(0);
    const faster = await pressAndListen();
    expect(piecesOf(faster.file, path.join(dir, 'pieces', 'fast'))).toHaveLength(6);
    expect(durationS(faster.file)).toBeLessThan(normal * 0.8);
    expect(faster.said.last).toMatchObject({ speed: 5 });
  });
});
