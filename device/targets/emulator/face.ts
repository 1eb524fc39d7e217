/**
 * The emulator's face in a terminal: the 7-segment display drawn in three text rows, and keys for
 * the button. A terminal sends no key-up, so a hold is its own key.
 *
 *    _   _   _       _   _
 *   |_  |_    | |_|  _| |_|
 *    _| |_|   |   | |_  |_|
 */
import { DECIMAL_POINT } from '../../firmware/segments.ts';

const A = 1, B = 2, C = 4, D = 8, E = 16, F = 32, G = 64;

/** Three rows of text showing the segments, four columns a position. */
export function drawSegments(segments: Uint8Array): [string, string, string] {
  let top = '';
  let middle = '';
  let bottom = '';
  for (const s of segments) {
    const on = (bit: number, char: string) => (s & bit ? char : ' ');
    top += ` ${on(A, '_')}  `;
    middle += `${on(F, '|')}${on(G, '_')}${on(B, '|')} `;
    bottom += `${on(E, '|')}${on(D, '_')}${on(C, '|')}${s & DECIMAL_POINT ? '.' : ' '}`;
  }
  return [top, middle, bottom];
}

export interface FaceActions {
  /** Without press and hold (a real board's button is pressed by hand), the keys only quit. */
  readonly button?: { press(): void; hold(): void };
  quit(): void;
}

export interface FaceInfo {
  readonly serial: string;
  readonly port: string;
  readonly debug: string;
}

const HELP = 'space/enter: press   h: hold   q: quit';
const HELP_WITHOUT_BUTTON = "press the board's own button   q: quit";

/** Draws the token on a TTY and maps keys to the button. Returns a function that redraws it. */
export function startTerminalFace(
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  info: FaceInfo,
  actions: FaceActions,
): { render(segments: Uint8Array, status: string): void; stop(): void } {
  let drawn = false;
  const LINES = 8;
  const help = actions.button ? HELP : HELP_WITHOUT_BUTTON;
  const render = (segments: Uint8Array, status: string) => {
    const [top, middle, bottom] = drawSegments(segments);
    const frame = [
      `  nøgleviser ${info.serial}   ${info.port}`,
      '  ┌' + '─'.repeat(top.length + 2) + '┐',
      `  │ ${top} │`,
      `  │ ${middle} │`,
      `  │ ${bottom} │`,
      '  └' + '─'.repeat(top.length + 2) + '┘',
      `  ${help}`,
      `  ${status}`,
    ];
    output.write((drawn ? `\x1b[${LINES}A` : '') + frame.map((line) => `\r\x1b[2K${line}`).join('\n') + '\n');
    drawn = true;
  };
  const onKey = (key: Buffer) => {
    const char = key.toString('utf8');
    if (char === ' ' || char === '\r' || char === '\n') actions.button?.press();
    else if (char === 'h' || char === 'H') actions.button?.hold();
    else if (char === 'q' || char === 'Q' || char === '\x03' || char === '\x04') actions.quit();
  };
  if (input.isTTY) input.setRawMode(true);
  input.on('data', onKey);
  input.resume();
  return {
    render,
    stop: () => {
      input.off('data', onKey);
      if (input.isTTY) input.setRawMode(false);
      input.pause();
    },
  };
}
