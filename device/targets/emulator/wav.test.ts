/** WAV files of 16-bit mono PCM: what is written reads back sample for sample, and anything else is NV_AUDIO_BAD_WAV. */
import { describe, expect, it } from 'vitest';
import { encodeWav, readWav } from './wav.ts';

const PCM = { sampleRate: 22_050, samples: Int16Array.of(0, 1, -1, 32767, -32768, 1234, -4321) };

function chunk(id: string, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + body.length + (body.length % 2));
  bytes.set(new TextEncoder().encode(id));
  new DataView(bytes.buffer).setUint32(4, body.length, true);
  bytes.set(body, 8);
  return bytes;
}

function riff(...chunks: Uint8Array[]): Uint8Array {
  const body = chunks.reduce((all, c) => Uint8Array.from([...all, ...c]), new TextEncoder().encode('WAVE'));
  return Uint8Array.from([...chunk('RIFF', body)]);
}

function fmt(format: number, channels: number, bits: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, format, true);
  view.setUint16(2, channels, true);
  view.setUint32(4, 8000, true);
  view.setUint32(8, 8000 * channels * (bits / 8), true);
  view.setUint16(12, channels * (bits / 8), true);
  view.setUint16(14, bits, true);
  return bytes;
}

describe('WAV', () => {
  it('what encodeWav writes, readWav reads back, sample for sample, with its rate', () => {
    const bytes = encodeWav(PCM);
    expect(bytes.length).toBe(44 + PCM.samples.length * 2);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('RIFF');
    expect(readWav(bytes)).toEqual(PCM);
  });

  it('skips chunks it does not know (LIST, an odd-sized one) and reads a data chunk whose size a streaming writer left at its largest', () => {
    const data = new Uint8Array(Int16Array.of(5, -5, 7).buffer);
    const withList = riff(chunk('fmt ', fmt(1, 1, 16)), chunk('LIST', Uint8Array.of(1, 2, 3)), chunk('data', data));
    expect([...readWav(withList).samples]).toEqual([5, -5, 7]);
    const streamed = riff(chunk('fmt ', fmt(1, 1, 16)), chunk('data', data));
    new DataView(streamed.buffer).setUint32(streamed.length - data.length - 4, 0xffffffff, true);
    expect([...readWav(streamed).samples]).toEqual([5, -5, 7]);
  });

  it.each([
    ['not RIFF', new TextEncoder().encode('OggS and then some bytes'), /not a RIFF\/WAVE file/],
    ['stereo', riff(chunk('fmt ', fmt(1, 2, 16)), chunk('data', new Uint8Array(4))), /2 channels/],
    ['8-bit', riff(chunk('fmt ', fmt(1, 1, 8)), chunk('data', new Uint8Array(4))), /8 bits/],
    ['float', riff(chunk('fmt ', fmt(3, 1, 16)), chunk('data', new Uint8Array(4))), /format 3/],
    ['data before fmt', riff(chunk('data', new Uint8Array(4)), chunk('fmt ', fmt(1, 1, 16))), /data chunk before its fmt chunk/],
    ['no data', riff(chunk('fmt ', fmt(1, 1, 16))), /without a data chunk/],
    ['a short fmt', riff(chunk('fmt ', new Uint8Array(8)), chunk('data', new Uint8Array(4))), /shorter than 16 bytes/],
  ])('%s is NV_AUDIO_BAD_WAV', (_name, bytes, message) => {
    expect(() => readWav(bytes)).toThrow(expect.objectContaining({ code: 'NV_AUDIO_BAD_WAV', message: expect.stringMatching(message) }));
  });
});
