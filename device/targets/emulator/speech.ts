/**
 * The emulator's speaker made audible: each utterance the firmware makes is put together from
 * recordings of its words, which Debian's espeak-ng makes once per voice and speed and the
 * profile keeps (`speech/`), at the utterance's volume, and written as a WAV file (overwritten per
 * utterance), as numbered WAV files in a folder, or played through sox's `play`.
 *
 * The speed is espeak-ng's speaking rate (175 words a minute at speed 3, SPEED_FACTORS for the
 * others), the pause between words shortened or lengthened by the same factor; the volume is the
 * samples scaled by its gain (6 dB a level). Rendering happens beside the firmware, in order, and
 * never holds it up; a failure is counted, said once on stderr and shown by the debug link.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { speedFactor, volumeGain, type Utterance, type Word } from '../../hal/speaker.ts';
import { ESPEAK_VOICE, phrase, type Voice } from './voices.ts';
import { encodeWav, readWav, type Pcm } from './wav.ts';
import { CodedError } from '../../../protocol/coded-error.ts';

export type AudioOutput = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'dir'; readonly path: string } | { readonly kind: 'play' };

export type SpeechErrorCode = 'NV_AUDIO_TOOL_MISSING' | 'NV_AUDIO_NO_DEVICE' | 'NV_AUDIO_OUTPUT' | 'NV_AUDIO_RENDER';

export class SpeechError extends CodedError {
  constructor(
    override readonly code: SpeechErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'SpeechError';
  }
}

/** `--audio`: `play`; a folder (one that exists, or a path ending in `/`); otherwise a WAV file. */
export function parseAudioOutput(text: string): AudioOutput {
  if (text === 'play') return { kind: 'play' };
  if (text.trim() === '') throw new SpeechError('NV_AUDIO_OUTPUT', '--audio takes a WAV file, a folder (ending in /) or "play"');
  const resolved = path.resolve(text);
  const isDir = text.endsWith('/') || (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory());
  return { kind: isDir ? 'dir' : 'file', path: resolved };
}

/** espeak-ng's own rate, words a minute: speed 3. */
export const NORMAL_WPM = 175;
/** The pause between two words at speed 3. */
export const WORD_GAP_MS = 400;
/** A recording's lead-in and tail quieter than this (of 32767) are cut, so that only WORD_GAP_MS lies between words. */
const SILENCE_LEVEL = 16;

/** espeak-ng's words a minute for a speed level. */
export function wordsPerMinute(speed: number): number {
  return Math.round(NORMAL_WPM * speedFactor(speed));
}

/** A recording without its silent lead-in and tail. */
export function trimSilence(samples: Int16Array): Int16Array {
  let start = 0;
  let end = samples.length;
  while (start < end && Math.abs(samples[start]!) <= SILENCE_LEVEL) start++;
  while (end > start && Math.abs(samples[end - 1]!) <= SILENCE_LEVEL) end--;
  return samples.slice(start, end);
}

/** The words' recordings one after the other, the speed's pause between them, scaled by the volume's gain. */
export function composeUtterance(clips: readonly Int16Array[], sampleRate: number, volume: number, speed: number): Int16Array {
  const gap = Math.round((sampleRate * WORD_GAP_MS) / 1000 / speedFactor(speed));
  const length = clips.reduce((sum, clip) => sum + clip.length, 0) + gap * Math.max(0, clips.length - 1);
  const out = new Int16Array(length);
  const gain = volumeGain(volume);
  let at = 0;
  for (const [i, clip] of clips.entries()) {
    if (i > 0) at += gap;
    for (let j = 0; j < clip.length; j++) out[at + j] = Math.round(clip[j]! * gain);
    at += clip.length;
  }
  return out;
}

/** What the debug link shows of the speaker's output. */
export interface SpeechOutputState {
  readonly kind: AudioOutput['kind'];
  readonly path?: string;
  /** Utterances written (or handed to `play`). */
  readonly rendered: number;
  readonly failed: number;
  /** The file the last utterance went to. */
  readonly lastFile?: string;
  readonly lastError?: string;
}

export interface SpeechRendererOptions {
  readonly output: AudioOutput;
  readonly voice: Voice;
  /** Where the recordings are kept (the profile's `speech/`). */
  readonly cacheDir: string;
  /** One line for stderr when an utterance cannot be rendered. */
  readonly log?: (line: string) => void;
}

interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly missing: boolean;
}

/**
 * espeak-ng only writes files here, but its audio library opens a PulseAudio client on start,
 * which makes a `pulse-…` runtime folder in TMPDIR (and ~/.config/pulse) where no session has
 * one. A server address that is no server keeps it from making either; playing (sox) is untouched.
 */
const WRITE_ONLY_ENV: Readonly<Record<string, string>> = { PULSE_SERVER: 'unix:/dev/null' };

function run(tool: string, args: readonly string[]): Promise<ToolRun> {
  const env = tool === 'espeak-ng' ? { ...process.env, ...WRITE_ONLY_ENV } : process.env;
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 30_000, maxBuffer: 1024 * 1024, env }, (error, stdout, stderr) => {
      const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), missing });
    });
  });
}

/** The line of a tool's complaint worth showing: sox's FAIL line, else the last non-empty one that is not ALSA's chatter. */
function complaint(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('ALSA lib'));
  const fail = lines.find((line) => / FAIL /.test(line));
  return (fail ?? lines.at(-1) ?? 'no message').replace(/^\S+ FAIL \S+:\s*/, '');
}

export class SpeechRenderer {
  private readonly recordings = new Map<string, Promise<Pcm>>();
  private queue: Promise<void> = Promise.resolve();
  private player: ChildProcess | undefined;
  private nextNumber = 1;
  private rendered = 0;
  private failed = 0;
  private lastFile: string | undefined;
  private lastError: string | undefined;
  private closed = false;

  private constructor(
    private readonly options: SpeechRendererOptions,
    private readonly recordingDir: string,
  ) {}

  /** Checks that espeak-ng (and for `play`, a sound device) is there, and makes the output folder; a SpeechError says what is missing. */
  static async open(options: SpeechRendererOptions): Promise<SpeechRenderer> {
    const espeak = await run('espeak-ng', ['--version']);
    if (espeak.missing || espeak.code !== 0) {
      throw new SpeechError('NV_AUDIO_TOOL_MISSING', 'espeak-ng is not installed (apt-get install espeak-ng): the emulator makes its recordings of the words with it');
    }
    const version = /text-to-speech:\s*(\S+)/.exec(espeak.stdout)?.[1] ?? 'unknown';
    const { output } = options;
    if (output.kind === 'play') {
      const probe = await run('play', ['-q', '-n', 'trim', '0', '0.001']);
      if (probe.missing) throw new SpeechError('NV_AUDIO_TOOL_MISSING', "sox's play is not installed (apt-get install sox): --audio play plays the speech with it");
      if (probe.code !== 0) {
        throw new SpeechError(
          'NV_AUDIO_NO_DEVICE',
          `no sound device to play the speech on (play: ${complaint(probe.stderr)}): write it to a file with --audio FILE.wav, or to a folder with --audio DIR/`,
        );
      }
    }
    const renderer = new SpeechRenderer(options, path.join(options.cacheDir, `espeak-ng-${version}`, options.voice));
    try {
      if (output.kind === 'dir') {
        fs.mkdirSync(output.path, { recursive: true });
        renderer.nextNumber = 1 + Math.max(0, ...fs.readdirSync(output.path).map((name) => Number(/^utterance-(\d+)\.wav$/.exec(name)?.[1] ?? 0)));
      } else if (output.kind === 'file') {
        if (!fs.existsSync(path.dirname(output.path))) throw new Error(`its folder ${path.dirname(output.path)} does not exist`);
      }
      fs.mkdirSync(renderer.recordingDir, { recursive: true });
    } catch (error) {
      const where = output.kind === 'play' ? options.cacheDir : output.path;
      throw new SpeechError('NV_AUDIO_OUTPUT', `cannot write speech to ${where}: ${(error as Error).message}`);
    }
    return renderer;
  }

  /** Renders an utterance after those before it; returns at once. */
  render(utterance: Utterance): void {
    if (this.closed) return;
    const words = [...utterance.words];
    this.queue = this.queue.then(() => this.renderOne({ ...utterance, words }));
  }

  get state(): SpeechOutputState {
    const { output } = this.options;
    return {
      kind: output.kind,
      ...(output.kind !== 'play' && { path: output.path }),
      rendered: this.rendered,
      failed: this.failed,
      ...(this.lastFile !== undefined && { lastFile: this.lastFile }),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  /** Resolves once every utterance so far is rendered. */
  idle(): Promise<void> {
    return this.queue;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    this.player?.kill('SIGTERM');
  }

  private async renderOne(utterance: Utterance): Promise<void> {
    try {
      const recordings = await Promise.all(utterance.words.map((word) => this.recording(word, utterance.speed)));
      const sampleRate = recordings[0]?.sampleRate ?? 22_050;
      if (recordings.some((recording) => recording.sampleRate !== sampleRate)) throw new Error('the recordings differ in sample rate');
      const samples = composeUtterance(
        recordings.map((recording) => recording.samples),
        sampleRate,
        utterance.volume,
        utterance.speed,
      );
      const file = this.target();
      writeAtomically(file, encodeWav({ sampleRate, samples }));
      if (this.options.output.kind === 'play') this.play(file);
      this.lastFile = file;
      this.rendered++;
    } catch (error) {
      this.failed++;
      this.lastError = (error as Error).message.split('\n')[0];
      this.options.log?.(`cannot render "${utterance.words.join(' ')}": ${this.lastError} [NV_AUDIO_RENDER]`);
    }
  }

  private target(): string {
    const { output } = this.options;
    switch (output.kind) {
      case 'file':
        return output.path;
      case 'dir':
        return path.join(output.path, `utterance-${String(this.nextNumber++).padStart(4, '0')}.wav`);
      case 'play':
        return path.join(this.options.cacheDir, 'playing.wav');
    }
  }

  /** A new utterance cuts off the one still playing, as the token's speaker does. */
  private play(file: string): void {
    this.player?.kill('SIGTERM');
    const player = spawn('play', ['-q', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    player.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    player.on('error', (error) => this.playFailed(error.message));
    player.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) this.playFailed(complaint(stderr));
    });
    this.player = player;
  }

  private playFailed(message: string): void {
    this.failed++;
    this.lastError = `play: ${message}`;
    this.options.log?.(`cannot play the speech: ${message} [NV_AUDIO_NO_DEVICE]`);
  }

  /** A word's recording at a speed, made with espeak-ng the first time and kept in the profile. */
  private recording(word: Word, speed: number): Promise<Pcm> {
    const wpm = wordsPerMinute(speed);
    const file = path.join(this.recordingDir, `s${wpm}`, `${word}.wav`);
    let made = this.recordings.get(file);
    if (!made) {
      made = this.makeRecording(word, wpm, file);
      // A failure is not kept: the next utterance tries again.
      made.catch(() => this.recordings.delete(file));
      this.recordings.set(file, made);
    }
    return made;
  }

  private async makeRecording(word: Word, wpm: number, file: string): Promise<Pcm> {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      const made = await run('espeak-ng', ['-v', ESPEAK_VOICE[this.options.voice], '-s', String(wpm), '-w', temporary, phrase(word, this.options.voice)]);
      if (made.code !== 0) throw new SpeechError('NV_AUDIO_RENDER', `espeak-ng could not say "${word}": ${complaint(made.stderr)}`);
      fs.renameSync(temporary, file);
    }
    const recording = readWav(new Uint8Array(fs.readFileSync(file)));
    return { sampleRate: recording.sampleRate, samples: trimSilence(recording.samples) };
  }
}

/** Another program reading the file sees the old utterance or the new one, never half of one. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, bytes);
  fs.renameSync(temporary, file);
}
