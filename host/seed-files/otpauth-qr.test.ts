import { encode } from 'uqr';
import { describe, expect, it } from 'vitest';
import { TERMINAL_QR, terminalQr } from './otpauth-qr.ts';

const URI = 'otpauth://hotp/noegleviser:40012345?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=noegleviser&algorithm=SHA1&digits=6&counter=0&serial=40012345';

/** Reads the half-block drawing back into modules (true = dark), undoing what the terminal shows. */
function modulesOf(drawing: string, inverted: boolean): boolean[][] {
  const halves: Record<string, [boolean, boolean]> = { '█': [true, true], '▀': [true, false], '▄': [false, true], ' ': [false, false] };
  const rows: boolean[][] = [];
  for (const line of drawing.split('\n')) {
    const lit = [...line].map((ch) => halves[ch]);
    expect(lit.every((x) => x !== undefined), `only half blocks and spaces in ${JSON.stringify(line)}`).toBe(true);
    rows.push(lit.map((x) => (inverted ? x![0] : !x![0])), lit.map((x) => (inverted ? x![1] : !x![1])));
  }
  return rows;
}

describe('the otpauth URI as a QR code in a terminal', () => {
  it('draws exactly the QR code of the URI, lit characters for light modules, with a quiet zone', () => {
    const reference = encode(URI, TERMINAL_QR).data;
    const drawn = modulesOf(terminalQr(URI), false).slice(0, reference.length);
    expect(drawn).toEqual(reference);
    // The quiet zone is light: on a dark terminal, lit.
    expect(reference[0]!.every((dark) => !dark)).toBe(true);
    expect(terminalQr(URI).split('\n')[0]).toMatch(/^█+$/);
  });

  it('invert draws the same modules for a light terminal', () => {
    const reference = encode(URI, TERMINAL_QR).data;
    expect(modulesOf(terminalQr(URI, { invert: true }), true).slice(0, reference.length)).toEqual(reference);
  });

  it('fits an 80-column terminal for a 64-byte seed', () => {
    const long = URI.replace(/secret=[A-Z0-9]+/, `secret=${'A'.repeat(103)}`);
    const lines = terminalQr(long).split('\n');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
  });
});
