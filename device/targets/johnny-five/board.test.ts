/**
 * The token on a dev board, through real johnny-five, over the virtual board: the button is a pin
 * pulled low, the displays are the MAX7219 and HD44780 chips decoding what johnny-five's drivers
 * write, the status LED is pin 13. The bridge talks to it on its pty, as to any token.
 *
 * Real time: a pin edge goes through johnny-five's 7 ms event debounce, then the firmware's 20 ms
 * debounce, on real timers. Presses here last 120 ms; a hold 2.3 s.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectToken, enroll, setAudio, type ConnectedToken } from '../../../host/bridge/operations.ts';
import type { TokenEvent } from '../../../host/bridge/session.ts';
import { tempDir } from '../../../test/support/processes.ts';
import { DEFAULT_TIMINGS } from '../../firmware/token.ts';
import { BEEPS, type Beep } from './board-parts.ts';
import { startBoard, type BoardDisplay, type RunningBoard } from './board.ts';
import type { PinMap } from './pins.ts';
import type { VirtualBoard } from './virtual-board.ts';

const SEED = new TextEncoder().encode('12345678901234567890');
/** RFC 4226 appendix D, counters 0..9. */
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
const SERIAL = '48151623';
const BUTTON = 2;
const LED = 13;
/** Long enough after a release for both debounces and the event's trip over the pty. */
const SETTLE_MS = 300;

interface Config {
  readonly name: string;
  readonly display: BoardDisplay;
  readonly lcdWiring?: 'parallel' | 'i2c';
  readonly pins?: PinMap;
}

const CONFIGS: Config[] = [
  { name: 'a MAX7219 8-digit module', display: 'max7219' },
  { name: 'a 16x2 LCD on six pins', display: 'lcd', lcdWiring: 'parallel' },
  { name: 'a 16x2 LCD on a PCF8574 I2C backpack', display: 'lcd', lcdWiring: 'i2c' },
];

type PressEvent = Extract<TokenEvent, { name: 'press' }>['fields'];

interface Bench {
  readonly board: RunningBoard;
  readonly virtual: VirtualBoard;
  readonly bridge: ConnectedToken;
  /** Press events the bridge received, in order. */
  readonly presses: PressEvent[];
  /** What the display chip shows, decoded from the driver's writes, blanks trimmed. */
  shown(): string;
  /** The status LED pin: lit or not. */
  led(): boolean;
  counter(): Promise<number | undefined>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startBench(config: Config): Promise<Bench> {
  const dir = tempDir('j5');
  const board = await startBoard({
    io: 'virtual',
    display: config.display,
    lcdWiring: config.lcdWiring,
    pins: config.pins,
    profileDir: path.join(dir, 'token'),
    runtimeDir: path.join(dir, 'run'),
    serial: SERIAL,
    readyTimeoutMs: 5000,
  });
  cleanups.push(() => board.close());
  const virtual = board.virtual!;
  expect(virtual).toBeDefined();
  const bridge = await connectToken(board.port);
  cleanups.push(() => bridge.close());
  const presses: PressEvent[] = [];
  bridge.session.onEvent((event) => {
    if (event.name === 'press') presses.push(event.fields);
  });
  return {
    board,
    virtual,
    bridge,
    presses,
    shown: () => {
      if (config.display === 'max7219') return virtual.max7219!.text().trim();
      const [first, second] = virtual.lcd!.lines();
      expect(second.trim()).toBe('');
      return first.trim();
    },
    led: () => virtual.pins[LED]!.value !== 0,
    counter: async () => (await bridge.session.request('status', {})).counter,
  };
}

async function enrolled(config: Config): Promise<Bench> {
  const bench = await startBench(config);
  await enroll(bench.bridge.session, { secret: new Uint8Array(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6 });
  return bench;
}

/** A finger on the button: the pin pulled low for `ms` of real time, then let go. */
async function pressPin(virtual: VirtualBoard, ms = 120): Promise<void> {
  virtual.setInput(BUTTON, 0);
  await sleep(ms);
  virtual.setInput(BUTTON, 1);
}

/** Bouncing contacts: the pin flips at every level in turn, `gapMs` apart. */
async function bounce(virtual: VirtualBoard, levels: (0 | 1)[], gapMs: number): Promise<{ longestGapMs: number }> {
  let longestGapMs = 0;
  let last = performance.now();
  for (const [i, level] of levels.entries()) {
    if (i > 0) {
      await sleep(gapMs);
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }
    virtual.setInput(BUTTON, level);
  }
  return { longestGapMs };
}

async function nextPress(bench: Bench, count: number): Promise<PressEvent> {
  await vi.waitFor(() => expect(bench.presses.length).toBeGreaterThanOrEqual(count), { timeout: 3000, interval: 10 });
  return bench.presses[count - 1]!;
}

describe('starting the board target', () => {
  it('pins the virtual board lacks are a BoardError NV_BAD_ARGUMENT, and leave the profile free', async () => {
    const dir = tempDir('j5');
    const options = { io: 'virtual' as const, display: 'max7219' as const, profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') };
    for (const pins of [{ button: 99 }, { button: 'GPIO17' }, { cs: 20 }, { led: 'GPIO27' }]) {
      await expect(startBoard({ ...options, pins })).rejects.toMatchObject({ name: 'BoardError', code: 'NV_BAD_ARGUMENT' });
    }
    const board = await startBoard({ ...options, pins: { button: 3 } });
    cleanups.push(() => board.close());
    // The button moved: pin 3 presses it, pin 2 no longer does.
    const bridge = await connectToken(board.port);
    cleanups.push(() => bridge.close());
    await enroll(bridge.session, { secret: new Uint8Array(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6 });
    board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    board.virtual!.setInput(BUTTON, 0);
    await sleep(120);
    board.virtual!.setInput(BUTTON, 1);
    await sleep(SETTLE_MS);
    expect(board.virtual!.max7219!.text().trim()).toBe('');
    board.virtual!.setInput(3, 0);
    await sleep(120);
    board.virtual!.setInput(3, 1);
    await vi.waitFor(() => expect(board.virtual!.max7219!.text().trim()).toBe(RFC4226_CODES[0]), { timeout: 3000, interval: 10 });
  });
});

describe.each(CONFIGS)('the token on a virtual board with $name, through johnny-five', (config) => {
  it('reports itself as johnny-five hardware, and shows nothing (LED off) before anything happens', async () => {
    const bench = await startBench(config);
    expect(bench.bridge.identity).toMatchObject({ hardware: 'johnny-five', serial: SERIAL });
    expect(bench.board.serial).toBe(SERIAL);
    // johnny-five drove the chip (init, clear) and the LED pin is an output that is off.
    if (config.display === 'max7219') {
      expect(bench.virtual.max7219!.writes).toBeGreaterThan(8);
      expect(bench.virtual.max7219!.shutdown).toBe(false);
    } else {
      expect(bench.virtual.lcd!.writes).toBeGreaterThan(4);
      expect(bench.virtual.lcd!.displayOn).toBe(true);
    }
    expect(bench.shown()).toBe('');
    expect(bench.led()).toBe(false);
  });

  it('a press (pin 2 low for 120 ms) makes the RFC 4226 code; the decoded display equals the code the bridge received', async () => {
    const bench = await enrolled(config);
    // Enrolment shows rEAdy for the message time; let it pass so the next thing shown is the code.
    bench.board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    expect(bench.shown()).toBe('');

    await pressPin(bench.virtual);
    const first = await nextPress(bench, 1);
    expect(first).toMatchObject({ code: RFC4226_CODES[0], counter: 0 });
    expect(bench.shown()).toBe(first.code);
    expect(bench.board.token.readDisplay().trim()).toBe(first.code);
    expect(bench.led()).toBe(true);

    // Once the code is gone, the next press makes the next code, on the chip and at the bridge alike.
    bench.board.token.advance(DEFAULT_TIMINGS.displayMs + 1000);
    expect(bench.shown()).toBe('');
    await pressPin(bench.virtual);
    const second = await nextPress(bench, 2);
    expect(second).toMatchObject({ code: RFC4226_CODES[1], counter: 1 });
    expect(bench.shown()).toBe(second.code);
    await sleep(SETTLE_MS);
    expect(bench.presses).toHaveLength(2);
    expect(await bench.counter()).toBe(2);
  });

  it('bounce: bursts of edges at press and at release count as one press', async () => {
    const bench = await enrolled(config);
    bench.board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    // A press counts at its release, so while the finger is still down after a burst nothing may
    // show: a firmware that took a bounce for a release would show (and send) the code mid-burst.
    // Later bounces would hide in "a press while the code is shown", so that is where to look.
    const burstPress = async (gapMs: number) => {
      const down = await bounce(bench.virtual, [0, 1, 0, 1, 0, 1, 0, 1, 0], gapMs);
      await sleep(150);
      const shownWhileDown = bench.shown();
      const sentWhileDown = bench.presses.length;
      const up = await bounce(bench.virtual, [1, 0, 1, 0, 1, 0, 1, 0, 1], gapMs);
      return { shownWhileDown, sentWhileDown, longestGapMs: Math.max(down.longestGapMs, up.longestGapMs) };
    };

    // 8 toggles 2 ms apart ending pressed, held 150 ms, 8 toggles ending released: inside even
    // johnny-five's own 7 ms event debounce.
    const fast = await burstPress(2);
    expect(fast.shownWhileDown).toBe('');
    expect(fast.sentWhileDown).toBe(0);
    const first = await nextPress(bench, 1);
    expect(first).toMatchObject({ code: RFC4226_CODES[0], counter: 0 });
    expect(bench.shown()).toBe(RFC4226_CODES[0]);
    await sleep(SETTLE_MS);
    expect(bench.presses).toHaveLength(1);
    expect(await bench.counter()).toBe(1);

    // Edges 9 ms apart: each outlasts johnny-five's 7 ms debounce and reaches the firmware as an
    // edge of its own, but none outlasts the firmware's 20 ms. Still one press, at the release.
    bench.board.token.advance(DEFAULT_TIMINGS.displayMs + 1000);
    expect(bench.shown()).toBe('');
    const slow = await burstPress(9);
    const second = await nextPress(bench, 2);
    await sleep(SETTLE_MS);
    expect(second).toMatchObject({ code: RFC4226_CODES[1], counter: 1 });
    expect(bench.shown()).toBe(RFC4226_CODES[1]);
    expect(bench.presses).toHaveLength(2);
    expect(await bench.counter()).toBe(2);
    // (A machine so loaded that a gap stretched past the debounce time makes this part no test of bounce.)
    if (slow.longestGapMs < DEFAULT_TIMINGS.debounceMs - 2) {
      expect(slow.shownWhileDown).toBe('');
      expect(slow.sentWhileDown).toBe(1);
    } else {
      console.warn(`bounce test: a 9 ms gap took ${slow.longestGapMs.toFixed(1)} ms; the slow burst proved nothing`);
    }
  });

  it('a hold (pin low 2.3 s) shows the serial number and makes no code', async () => {
    const bench = await enrolled(config);
    bench.board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    bench.virtual.setInput(BUTTON, 0);
    await sleep(DEFAULT_TIMINGS.holdMs + 300);
    // The hold is recognised while the button is still down.
    expect(bench.shown()).toBe(SERIAL);
    expect(bench.led()).toBe(true);
    bench.virtual.setInput(BUTTON, 1);
    await sleep(SETTLE_MS);
    expect(bench.shown()).toBe(SERIAL);
    expect(bench.presses).toEqual([]);
    expect(await bench.counter()).toBe(0);
    // A press after the hold is a press again.
    await pressPin(bench.virtual);
    expect(await nextPress(bench, 1)).toMatchObject({ code: RFC4226_CODES[0], counter: 0 });
    expect(bench.shown()).toBe(RFC4226_CODES[0]);
  });

  it('a press while the code is shown keeps it, sends nothing, burns no counter, and shows it longer', async () => {
    const bench = await enrolled(config);
    bench.board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    await pressPin(bench.virtual);
    await nextPress(bench, 1);
    bench.board.token.advance(20_000);
    expect(bench.shown()).toBe(RFC4226_CODES[0]);

    await pressPin(bench.virtual);
    await sleep(SETTLE_MS);
    expect(bench.presses).toHaveLength(1);
    expect(await bench.counter()).toBe(1);
    expect(bench.shown()).toBe(RFC4226_CODES[0]);

    // 20 s after the first press plus 20 more: past the first display time, within the renewed one.
    bench.board.token.advance(20_000);
    expect(bench.shown()).toBe(RFC4226_CODES[0]);
    expect(bench.led()).toBe(true);
    bench.board.token.advance(11_000);
    expect(bench.shown()).toBe('');
    expect(bench.led()).toBe(false);

    await pressPin(bench.virtual);
    expect(await nextPress(bench, 2)).toMatchObject({ code: RFC4226_CODES[1], counter: 1 });
    expect(bench.shown()).toBe(RFC4226_CODES[1]);
  });

  it('the status LED (pin 13) is lit while the display shows something, dark when it is blank', async () => {
    const bench = await startBench(config);
    expect(bench.led()).toBe(false);
    await enroll(bench.bridge.session, { secret: new Uint8Array(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6 });
    // rEAdy is on the display (the LCD line reads it as text, the MAX7219 as segments).
    expect(bench.board.token.readDisplay().trim()).toBe('rEAdy');
    expect(bench.shown()).not.toBe('');
    expect(bench.led()).toBe(true);
    bench.board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    expect(bench.shown()).toBe('');
    expect(bench.led()).toBe(false);

    await pressPin(bench.virtual);
    await nextPress(bench, 1);
    expect(bench.led()).toBe(true);
    bench.board.token.advance(31_000);
    expect(bench.shown()).toBe('');
    expect(bench.led()).toBe(false);
  });
});

/** The digits in beeps: a word ends at a word's pause (or at the last beep), and a word of one long beep is 0. */
function beepedDigits(beeps: readonly Beep[]): string {
  const words: Beep[][] = [[]];
  for (const beep of beeps) {
    words.at(-1)!.push(beep);
    if (beep.restMs >= BEEPS.wordRestMs) words.push([]);
  }
  return words
    .filter((word) => word.length > 0)
    .map((word) => (word.length === 1 && word[0]!.ms >= BEEPS.zeroMs ? '0' : String(word.length)))
    .join('');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe("the buzzer (--pins buzzer=3), through johnny-five's Piezo", () => {
  /**
   * What the piezo was told to play is exact; what the virtual board's ear hears on the pin is real
   * time, which a busy machine stretches and splits, so of that only its pitch and its presence
   * are checked.
   */
  it('a silent token only chirps when the code appears; told to speak, it beeps the code: n short beeps for n, one long one for 0', async () => {
    const bench = await startBench({ name: 'a MAX7219 and a piezo', display: 'max7219', pins: { buzzer: 3 } });
    const buzzer = bench.board.buzzer!;
    const ear = bench.virtual.buzzer!;
    // Counter 1: 287082, a code with a 0 in it.
    await enroll(bench.bridge.session, { secret: new Uint8Array(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6, counter: 1 });
    bench.board.token.advance(DEFAULT_TIMINGS.messageMs + 100);
    const beforePress = performance.now();
    await pressPin(bench.virtual);
    expect(await nextPress(bench, 1)).toMatchObject({ code: RFC4226_CODES[1], counter: 1 });
    await vi.waitFor(() => expect(ear.lastToggleMs).toBeGreaterThan(beforePress), { timeout: 3000, interval: 10 });
    expect(buzzer.beeped).toEqual([]);
    const chirp = ear.tones().filter((tone) => tone.startMs > beforePress);
    expect(chirp.at(-1)!.endMs - chirp[0]!.startMs).toBeLessThan(1000);

    expect(await setAudio(bench.bridge.session, { volume: 3 })).toEqual({ volume: 3, speed: 3 });
    // A press while the code is on says it again: on this board, in beeps. (Not so soon after the
    // last that it is a double press, which would step the volume.)
    bench.board.token.advance(DEFAULT_TIMINGS.doublePressMs + 100);
    const beforeSaying = performance.now();
    await pressPin(bench.virtual);
    await vi.waitFor(() => expect(buzzer.beeped.length).toBeGreaterThan(0), { timeout: 3000, interval: 10 });
    await vi.waitFor(() => expect(buzzer.speaking).toBe(false), { timeout: 30_000, interval: 100 });
    expect(beepedDigits(buzzer.beeped)).toBe(RFC4226_CODES[1]);
    const heard = ear.tones().filter((tone) => tone.startMs > beforeSaying);
    expect(heard.length).toBeGreaterThan(5);
    expect(Math.abs(median(heard.map((tone) => tone.hz)) - BEEPS.digitHz)).toBeLessThan(BEEPS.digitHz / 4);
    expect(bench.presses).toHaveLength(1);
  });
});
