/** The terminal face's keys, on streams standing in for a terminal. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startTerminalFace, type FaceActions } from './face.ts';

const INFO = { serial: '40012345', port: '/dev/pts/9', debug: '/run/debug.sock' };

function face(button: FaceActions['button']) {
  const input = new PassThrough();
  const output = new PassThrough();
  let drawn = '';
  output.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
  const done: string[] = [];
  const started = startTerminalFace(input as unknown as NodeJS.ReadStream, output as unknown as NodeJS.WriteStream, INFO, { button, quit: () => done.push('quit') });
  started.render(new Uint8Array(8), 'battery 100 %');
  const type = async (keys: string) => {
    input.write(keys);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { type, done, drawn: () => drawn, stop: started.stop };
}

describe('the terminal face', () => {
  it('space and enter press, h holds, q quits, and the help line says so', async () => {
    const done: string[] = [];
    const f = face({ press: () => done.push('press'), hold: () => done.push('hold') });
    for (const key of [' ', '\r', 'h', 'x', 'q']) await f.type(key);
    expect(done).toEqual(['press', 'press', 'hold']);
    expect(f.done).toEqual(['quit']);
    expect(f.drawn()).toContain('space/enter: press   h: hold   q: quit');
    f.stop();
  });

  it("without a finger (a real board's button) the keys only quit, and the help line says to press the board's button", async () => {
    const f = face(undefined);
    for (const key of [' ', 'h', 'q']) await f.type(key);
    expect(f.done).toEqual(['quit']);
    expect(f.drawn()).toContain("press the board's own button   q: quit");
    expect(f.drawn()).not.toContain('space/enter');
    f.stop();
  });
});
