/**
 * WAV files of 16-bit mono PCM, the format espeak-ng writes and the emulator's speech is written
 * in: read one into its samples, write samples as one.
 */

export interface Pcm {
  readonly sampleRate: number;
  readonly samples: Int16Array;
}

export class WavError extends Error {
  readonly code = 'NV_AUDIO_BAD_WAV';
}

const PCM_FORMAT = 1;

/** The samples of a RIFF/WAVE file of 16-bit mono PCM; anything else is a WavError. */
export function readWav(bytes: Uint8Array): Pcm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new WavError('not a RIFF/WAVE file');
  let sampleRate: number | undefined;
  for (let offset = 12; offset + 8 <= bytes.length; ) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new WavError('a WAV fmt chunk shorter than 16 bytes');
      const format = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const bits = view.getUint16(body + 14, true);
      if (format !== PCM_FORMAT || channels !== 1 || bits !== 16) throw new WavError(`a WAV of format ${format}, ${channels} channels, ${bits} bits: only 16-bit mono PCM is read`);
      sampleRate = view.getUint32(body + 4, true);
    } else if (id === 'data') {
      if (sampleRate === undefined) throw new WavError('a WAV data chunk before its fmt chunk');
      // A writer that streamed may leave the size at its largest: the data then runs to the end.
      const end = Math.min(bytes.length, body + size);
      const count = Math.floor((end - body) / 2);
      const samples = new Int16Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(body + i * 2, true);
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new WavError('a WAV without a data chunk');
}

/** A 16-bit mono PCM WAV file of `pcm`. */
export function encodeWav(pcm: Pcm): Uint8Array {
  const dataBytes = pcm.samples.length * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const put = (offset: number, text: string) => [...text].forEach((char, i) => (bytes[offset + i] = char.charCodeAt(0)));
  put(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, PCM_FORMAT, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, pcm.sampleRate, true);
  view.setUint32(28, pcm.sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  put(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < pcm.samples.length; i++) view.setInt16(44 + i * 2, pcm.samples[i]!, true);
  return bytes;
}
