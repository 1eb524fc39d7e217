/**
 * `noegleviser device board` as a lab runs it, in real processes: every way it can fail to start
 * gives one coded line on stderr and a non-zero exit, soon (a board that never answers is given
 * up on after --ready-timeout); and on the virtual board it starts, serves the token protocol on
 * its pty like any token, and its debug link presses the button pin and reads the display chip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { cli, cliInBackground, ROOT, tempDir, tracked, type CliResult } from '../support/processes.ts';
import { onTerminalUntilReady, type Terminal } from '../support/terminal.ts';

const require = createRequire(import.meta.url);

const SEED_HEX = Buffer.from('12345678901234567890').toString('hex');
const RFC4226_CODES = ['755224', '287082', '359152'];

function expectOneLineError(result: CliResult, code: string, exitCode = 1): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/**
 * Runs the command and says how long it took, in ms. Only a lower bound is asserted (a timeout
 * honoured); a start-up failure that hangs instead fails through the run's own 20 s limit.
 */
async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult & { elapsedMs: number }> {
  const started = performance.now();
  const result = await cli(args, { env, timeoutMs: 20_000 });
  return { ...result, elapsedMs: performance.now() - started };
}


describe('device board: startup errors are one coded line and a prompt non-zero exit', () => {
  const dir = tempDir('board-cli');
  const env = { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run') };
  let silent: { pty: string; master: number; slave: number } | undefined;
  let n = 0;
  /** A fresh profile each time: a failed start must not leave one locked either. */
  const board = (...args: string[]) => ['device', 'board', '--headless', '--profile', path.join(dir, `p${n++}`), ...args];

  beforeAll(() => {
    // A serial port nobody answers on: no StandardFirmata behind it.
    silent = (require('node-pty') as { native: { open(c: number, r: number): NonNullable<typeof silent> } }).native.open(80, 24);
  });
  afterAll(() => {
    if (silent) for (const fd of [silent.master, silent.slave]) fs.closeSync(fd);
  });

  it('a serial port that does not exist: NV_BOARD_PORT', async () => {
    const result = await timed(board('--io', 'firmata', '--port', '/dev/ttyNOPE'), env);
    expectOneLineError(result, 'NV_BOARD_PORT');
    expect(result.stderr).toContain('/dev/ttyNOPE');
  });

  it('a board that never becomes ready: NV_BOARD_NOT_READY once --ready-timeout has passed', async () => {
    const result = await timed(board('--io', 'firmata', '--port', silent!.pty, '--ready-timeout', '2'), env);
    expectOneLineError(result, 'NV_BOARD_NOT_READY');
    expect(result.stderr).toContain(silent!.pty);
    expect(result.stderr).toContain('2 s');
    expect(result.elapsedMs).toBeGreaterThanOrEqual(2000);
  });

  it('the port is let go after giving up: a second try gets the same answer, not "busy"', async () => {
    const result = await timed(board('--io', 'firmata', '--port', silent!.pty, '--ready-timeout', '1'), env);
    expectOneLineError(result, 'NV_BOARD_NOT_READY');
  });

  it('an unknown display: NV_USAGE, exit 2, naming the ones there are', async () => {
    const result = await timed(board('--io', 'virtual', '--display', 'oled'), env);
    expectOneLineError(result, 'NV_USAGE', 2);
    expect(result.stderr).toContain('oled');
    expect(result.stderr).toContain('max7219');
    expect(result.stderr).toContain('lcd');
  });

  it('an unknown --io, or none: NV_USAGE, exit 2', async () => {
    expectOneLineError(await timed(board('--io', 'arduino'), env), 'NV_USAGE', 2);
    expectOneLineError(await timed(board(), env), 'NV_USAGE', 2);
  });

  it('--io firmata without --port: a coded error that asks for the port', async () => {
    const result = await timed(board('--io', 'firmata'), env);
    expectOneLineError(result, 'NV_BAD_ARGUMENT', 2);
    expect(result.stderr).toContain('--port');
  });

  it('--io raspi without raspi-io installed: NV_BOARD_IO_MISSING, saying how to install it', async () => {
    let installed = true;
    try {
      require.resolve('raspi-io');
    } catch {
      installed = false;
    }
    expect(installed, 'raspi-io is installed here; this test expects a machine without it').toBe(false);
    const result = await timed(board('--io', 'raspi'), env);
    expectOneLineError(result, 'NV_BOARD_IO_MISSING');
    expect(result.stderr).toContain('npm install raspi-io');
  });

  it('bad --pins: NV_BAD_ARGUMENT, before any board is touched', async () => {
    for (const pins of ['button', 'button=2,cs', 'frob=3', 'button=2;cs=3', 'button=']) {
      const result = await timed(board('--io', 'virtual', '--pins', pins), env);
      expectOneLineError(result, 'NV_BAD_ARGUMENT', 2);
    }
    // Pins the virtual board does not have (a Raspberry Pi pin name, a number past its 20 pins):
    // a bad --pins too, not an unexpected failure from inside johnny-five's drivers.
    for (const pins of ['button=GPIO17', 'led=GPIO27', 'button=99', 'cs=20', 'button=-1']) {
      expectOneLineError(await timed(board('--io', 'virtual', '--pins', pins), env), 'NV_BAD_ARGUMENT', 2);
    }
    // A pin in a form no table uses: the error says which forms there are.
    const unnamed = await timed(board('--io', 'virtual', '--pins', 'button=X2'), env);
    expectOneLineError(unnamed, 'NV_BAD_ARGUMENT', 2);
    for (const form of ['(2)', '(D2)', 'A0..A5']) expect(unnamed.stderr).toContain(form);
  });

  it('an out-of-range --ready-timeout or a bad --serial: NV_BAD_ARGUMENT', async () => {
    expectOneLineError(await timed(board('--io', 'virtual', '--ready-timeout', '0'), env), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await timed(board('--io', 'virtual', '--serial', '0123'), env), 'NV_BAD_ARGUMENT', 2);
  });

  it('none of the failed starts left an announcement or a debug socket behind', () => {
    const runtime = env.NOEGLEVISER_RUNTIME_DIR;
    expect(fs.existsSync(runtime) ? fs.readdirSync(runtime) : []).toEqual([]);
  });
});

interface BoardReady {
  event: 'ready';
  port: string;
  hid: string;
  debug: string;
  serial: string;
  profile: string;
  board: { io: string; display: string; lcd?: string };
  pid: number;
}

interface BoardProcess {
  readonly ready: BoardReady;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `noegleviser device board …` left running, once its ready line is out. */
async function startBoardProcess(args: string[], env: NodeJS.ProcessEnv): Promise<BoardProcess> {
  const child = tracked(
    spawn(process.execPath, [path.join(ROOT, 'bin', 'noegleviser.mjs'), 'device', 'board', '--headless', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<BoardReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`device board not ready within 20 s; stderr: ${stderr}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as BoardReady);
      }
    });
    void exited.then((code) => reject(new Error(`device board exited (${code}) before ready; stderr: ${stderr}`)));
  });
  return {
    ready,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

const HAPPY = [
  { name: 'a MAX7219', args: [] as string[], board: { io: 'virtual', display: 'max7219' }, chip: 'MAX7219' },
  {
    name: 'an I2C LCD, with its button moved by --pins (named as the wiring table names pins)',
    args: ['--display', 'lcd', '--lcd', 'i2c', '--pins', 'button=D3,led=D5,address=0x27'],
    board: { io: 'virtual', display: 'lcd', lcd: 'i2c' },
    chip: 'HD44780',
  },
];

describe.each(HAPPY)('device board --io virtual with $name', ({ args, board: boardFields, chip }) => {
  const dir = tempDir('board-ok');
  const env = { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run') };
  let board: BoardProcess;

  beforeAll(async () => {
    board = await startBoardProcess(['--io', 'virtual', '--profile', path.join(dir, 'token'), '--serial', '40077001', ...args], env);
  });
  afterAll(async () => {
    await board?.stop();
  });

  it('prints a ready line with its port, HID, debug link and board', () => {
    expect(board.ready).toMatchObject({ event: 'ready', serial: '40077001', board: boardFields });
    expect(board.ready.port).toMatch(/^\/dev\/pts\/\d+$/);
    expect(board.ready.hid).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
    expect(board.ready.debug.startsWith(env.NOEGLEVISER_RUNTIME_DIR)).toBe(true);
    expect(fs.existsSync(board.ready.debug)).toBe(true);
  });

  it('info over its pty: a token whose hardware is johnny-five', async () => {
    const result = await cli(['info', '--port', board.ready.port, '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ hardware: 'johnny-five', model: 'NV1', serial: '40077001', enrolled: false });
  });

  it('device press --json presses the pin and answers what the display chip was sent', async () => {
    const unenrolled = await cli(['device', 'press', '--debug', board.ready.debug, '--json'], { env });
    expect(unenrolled.code, unenrolled.stderr).toBe(0);
    const before = JSON.parse(unenrolled.stdout);
    expect(before.display.trim()).toBe('no 5EEd'); // "no SEEd": S and 5 are one glyph, read as the digit
    expect(before.driver).toMatchObject({ chip });

    const enrolled = await cli(['enroll', '--port', board.ready.port, '--seed-file', '-'], { env, input: SEED_HEX + '\n' });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    // The enrolment message goes; then a press makes the first RFC 4226 code.
    await cli(['device', 'advance', '4s', '--debug', board.ready.debug], { env });
    const pressed = await cli(['device', 'press', '--debug', board.ready.debug, '--json'], { env });
    expect(pressed.code, pressed.stderr).toBe(0);
    const result = JSON.parse(pressed.stdout);
    expect(result.display.trim()).toBe(RFC4226_CODES[0]);
    expect(result.driver.chip).toBe(chip);
    expect(result.driver.writes).toBeGreaterThan(0);
    // What the chip decoded from johnny-five's writes is the code.
    if (chip === 'MAX7219') expect(result.driver.display.trim()).toBe(RFC4226_CODES[0]);
    else expect(result.driver.lines.map((line: string) => line.trim())).toEqual([RFC4226_CODES[0], '']);
    const info = JSON.parse((await cli(['info', '--port', board.ready.port, '--json'], { env })).stdout);
    expect(info.counter).toBe(1);
  });

  it('device commands find it by its serial number, or as the only one running', async () => {
    for (const choice of [['--serial', '40077001'], []]) {
      const result = await cli(['device', 'display', '--json', ...choice], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).driver).toMatchObject({ chip });
    }
  });

  it('a SIGTERM stops it cleanly, and its announcement goes with it', async () => {
    expect(await board.stop()).toBe(0);
    const listed = JSON.parse((await cli(['list', '--json'], { env })).stdout);
    expect(listed.ports.filter((p: { kind: string }) => p.kind === 'emulator')).toEqual([]);
    expect(fs.existsSync(board.ready.debug)).toBe(false);
  });
});

const FACES = [
  { name: 'the virtual board (device board --io virtual)', args: ['device', 'board', '--io', 'virtual'] },
  { name: 'the emulator (device emulate)', args: ['device', 'emulate'] },
];

describe.each(FACES)("the terminal face of $name: its keys press the token's button", ({ args }) => {
  const dir = tempDir('face');
  const env = { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run') };
  const serial = '40077011';
  let face: (Terminal & { readonly ready: { port: string; debug: string; serial: string } }) | undefined;

  afterAll(async () => {
    await face?.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The code the token pushes to a host when `keys` are typed at its face. */
  async function codeAfterTyping(keys: string): Promise<{ code: string; counter: number }> {
    const waiting = cliInBackground(['code', '--port', face!.ready.port, '--json', '--timeout', '20'], { env });
    await waiting.stderrIncludes('press the button');
    face!.type(keys);
    const result = await waiting.result;
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { code: string; counter: number };
  }

  it('space presses, h holds (the serial number shows), enter presses, q quits', async () => {
    face = await onTerminalUntilReady([...args, '--profile', path.join(dir, 'token'), '--serial', serial], env);
    await expect.poll(() => face!.output()).toContain('space/enter: press   h: hold   q: quit');
    const enrolled = await cli(['enroll', '--port', face.ready.port, '--seed', SEED_HEX, '--token-only'], { env });
    expect(enrolled.code, enrolled.stderr).toBe(0);

    expect(await codeAfterTyping(' ')).toMatchObject({ code: RFC4226_CODES[0], counter: 0 });
    face.type('h');
    const shown = async () => String((await debugCall(face!.ready.debug, 'display')).display).trim();
    await expect.poll(shown, { timeout: 15_000 }).toBe(serial);
    expect(await codeAfterTyping('\r')).toMatchObject({ code: RFC4226_CODES[1], counter: 1 });

    face.type('q');
    expect((await face.exited).code).toBe(0);
  });
});
