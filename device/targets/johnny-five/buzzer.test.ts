/**
 * The buzzer as the board's speaker, without a board: the beeps that say an utterance, the
 * Buzzer part driving a piezo (a new utterance cutting off the last, the chirp only when it is not
 * speaking), and the virtual board's ear that hears tones in a pin's toggles.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BEEPS, Buzzer, beepsFor } from './board-parts.ts';
import type { J5Piezo } from './j5.ts';
import { ToneDecoder } from './virtual-board.ts';

const short = (restMs: number = BEEPS.beepRestMs) => ({ hz: BEEPS.digitHz, ms: BEEPS.beepMs, restMs });

describe('beepsFor', () => {
  it('n short beeps for the digit n, one long beep for 0, a longer pause between digits and none after the last', () => {
    expect(beepsFor({ words: ['2', '0', '1'], volume: 3, speed: 3 })).toEqual([
      short(),
      short(BEEPS.wordRestMs),
      { hz: BEEPS.digitHz, ms: BEEPS.zeroMs, restMs: BEEPS.wordRestMs },
      short(0),
    ]);
    expect(beepsFor({ words: ['9'], volume: 3, speed: 3 })).toHaveLength(9);
  });

  it('a word that is no digit is one low tone: "volume 4" is a low tone and four beeps', () => {
    expect(beepsFor({ words: ['volume', '4'], volume: 4, speed: 3 })).toEqual([{ hz: BEEPS.wordHz, ms: BEEPS.wordMs, restMs: BEEPS.wordRestMs }, short(), short(), short(), short(0)]);
    expect(beepsFor({ words: ['low-battery'], volume: 1, speed: 3 })).toEqual([{ hz: BEEPS.wordHz, ms: BEEPS.wordMs, restMs: 0 }]);
  });

  it('the speed divides every length by its factor; the volume changes nothing (a piezo has one loudness)', () => {
    const total = (speed: number) => beepsFor({ words: ['7', '5'], volume: 3, speed }).reduce((sum, beep) => sum + beep.ms + beep.restMs, 0);
    expect(total(1)).toBeCloseTo(total(3) / 0.6, -1);
    expect(total(5)).toBeCloseTo(total(3) / 1.5, -1);
    expect(beepsFor({ words: ['7'], volume: 1, speed: 3 })).toEqual(beepsFor({ words: ['7'], volume: 5, speed: 3 }));
  });
});

describe('the Buzzer part', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function piezo(): J5Piezo & { played: string[] } {
    const played: string[] = [];
    return { played, frequency: (hz, ms) => played.push(`${hz} ${ms}`), off: () => played.push('off') };
  }

  it('beeps an utterance one beep after the other, and a new utterance cuts off the one still being beeped', () => {
    vi.useFakeTimers();
    const fake = piezo();
    const buzzer = new Buzzer(fake);
    buzzer.say({ words: ['2'], volume: 3, speed: 3 });
    expect(fake.played).toEqual(['off', `${BEEPS.digitHz} ${BEEPS.beepMs}`]);
    vi.advanceTimersByTime(BEEPS.beepMs + BEEPS.beepRestMs);
    expect(fake.played).toHaveLength(3);
    buzzer.say({ words: ['ready'], volume: 3, speed: 3 });
    vi.advanceTimersByTime(10_000);
    expect(fake.played.slice(3)).toEqual(['off', `${BEEPS.wordHz} ${BEEPS.wordMs}`]);
  });

  it('chirps when the display lights up, but not in the middle of an utterance', () => {
    vi.useFakeTimers();
    const fake = piezo();
    const buzzer = new Buzzer(fake);
    buzzer.show(Uint8Array.of(0x06, 0, 0, 0, 0, 0, 0, 0));
    expect(fake.played).toEqual(['2000 40']);
    buzzer.show(new Uint8Array(8));
    buzzer.say({ words: ['1', '1'], volume: 3, speed: 3 });
    buzzer.show(Uint8Array.of(0x06, 0, 0, 0, 0, 0, 0, 0));
    expect(fake.played.filter((tone) => tone === '2000 40')).toHaveLength(1);
    buzzer.stop();
    expect(fake.played.at(-1)).toBe('off');
  });
});

describe("the virtual board's ear (ToneDecoder)", () => {
  it('hears each burst of toggles as a tone with its pitch, and ignores other pins and writes that change nothing', () => {
    let now = 0;
    const ear = new ToneDecoder(3, () => now);
    let level: 0 | 1 = 0;
    const play = (hz: number, ms: number) => {
      const half = 500 / hz;
      for (let t = 0; t < ms; t += half) {
        now += half;
        level = level === 1 ? 0 : 1;
        ear.digitalWrite(3, level);
        // The same level again changes nothing; another pin is not the piezo's.
        ear.digitalWrite(3, level);
        ear.digitalWrite(4, level === 1 ? 0 : 1);
      }
    };
    play(880, 80);
    now += 150;
    play(440, 300);
    const tones = ear.tones();
    expect(tones).toHaveLength(2);
    expect(tones[0]!.hz).toBeGreaterThan(850);
    expect(tones[0]!.hz).toBeLessThan(910);
    expect(tones[1]!.endMs - tones[1]!.startMs).toBeGreaterThan(290);
    expect(tones[1]!.startMs - tones[0]!.endMs).toBeGreaterThan(140);
    expect(ear.lastToggleMs).toBe(tones[1]!.endMs);
  });
});
