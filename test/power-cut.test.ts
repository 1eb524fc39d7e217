/**
 * The headline invariant, exhaustively: power cut at every flash write of boot, enrol, press and
 * wipe. Afterwards the token boots, keeps or cleanly lacks its enrolment, and no code is ever shown
 * twice. Every program and erase the scenario performs is a cut point, at three tear fractions;
 * the count is printed and asserted. The firmware runs on V8 in this process for the whole sweep,
 * and as the firmware bundle inside QuickJS-NG for a named subset (every write at half done, no
 * second cuts: a QuickJS boot and press cost milliseconds, and the sweep boots thousands of times).
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceHotp as hotp } from './support/oath-reference.ts';
import { createRig, TEST_CONFIG, type Rig } from './support/rig.ts';
import { SimFlash, DEFAULT_GEOMETRY, type PowerCutPlan } from '../device/sim/sim-flash.ts';
import type { FlashGeometry } from '../device/hal/flash.ts';
import { DEFAULT_TIMINGS, MESSAGES } from '../device/firmware/token.ts';
import { segmentsToText, textToSegments } from '../device/firmware/segments.ts';
import { inProcessCore, type CoreFactory } from '../device/sim/sim-token.ts';
import { QuickJsEngine } from '../device/targets/quickjs/quickjs-engine.ts';

const FRACTIONS: readonly number[] = [0, 0.5, 1];
/** The QuickJS subset's one tear fraction: the write half done. */
const HALF: readonly number[] = [0.5];
/** "no SEEd" as a person reads it off seven segments (S and 5 look alike). */
const NOT_ENROLLED_TEXT = segmentsToText(textToSegments(MESSAGES.notEnrolled)).trim();
const SMALL: FlashGeometry = { pageSize: 256, pageCount: 4 };

const RFC_SEED = Buffer.from('12345678901234567890');
/** RFC 4226 appendix D: HOTP-SHA1 codes for counters 0..9 of the seed above. */
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
/** A second, distinctive seed for the wipe runs: its bytes must vanish from the chip. */
const WIPE_SEED = createHash('sha1').update('noegleviser wipe seed').digest();

const referenceCache = new Map<Buffer, string[]>();
function reference(seed: Buffer, counter: number): string {
  let codes = referenceCache.get(seed);
  if (!codes) referenceCache.set(seed, (codes = []));
  for (let c = codes.length; c <= counter; c++) codes.push(hotp(seed, c));
  return codes[counter]!;
}

function enrollFields(seed: Buffer): Record<string, string> {
  return { secret: seed.toString('hex'), mode: 'hotp', algorithm: 'sha1', digits: '6' };
}

/** A cheap assertion for the hot path (hundreds of thousands of presses): fails the test with `message`. */
function must(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** True when any 8-byte run of the seed occurs anywhere in the raw flash image. */
function imageHoldsSeed(flash: SimFlash, seed: Buffer): boolean {
  const image = Buffer.from(flash.image.buffer, flash.image.byteOffset, flash.image.byteLength);
  for (let i = 0; i + 8 <= seed.length; i++) if (image.indexOf(seed.subarray(i, i + 8)) >= 0) return true;
  return false;
}

/**
 * A token under observation: every code it ever displays is checked against the reference HOTP
 * sequence, with the counter it must belong to tracked independently of the firmware.
 */
class Observed {
  readonly rig: Rig;
  /** Counters of every code displayed, in order, across every boot. */
  readonly shownCounters: number[] = [];
  readonly shownCodes: string[] = [];
  /** The counter whose code the next press must show. */
  next = 0;
  enrolled = false;
  seed: Buffer = RFC_SEED;
  powerLosses = 0;
  /** For a cut during enrolment: whether the enrolment was there after the reboot. */
  enrolOutcome: 'kept' | 'lost' | undefined;
  /** Counters a power cut used up without their code ever being shown. */
  burned = 0;

  /** Every text the display has shown, in order, across every boot. */
  readonly frames: string[] = [];

  constructor(
    readonly flash: SimFlash,
    core: CoreFactory,
  ) {
    this.rig = createRig({ flash, core });
    this.rig.token.display.onChange((segments) => this.frames.push(segmentsToText(segments).trim()));
  }

  get on(): boolean {
    return this.rig.token.poweredOn;
  }

  info(): Record<string, string> {
    return this.rig.ok('info');
  }

  /**
   * One press; returns false when power was lost during it. Every frame the display showed during
   * the press counts, not just the last one: a code that lit up for an instant before power went
   * was seen by the user.
   */
  press(): boolean {
    const first = this.frames.length;
    const { display, event } = this.rig.press();
    const codes = [...new Set(this.frames.slice(first).filter((text) => /^[0-9]{6}$/.test(text)))];
    must(codes.length <= 1, `one code per press at most, saw ${codes.join(', ')}`);
    if (codes.length > 0) {
      must(this.enrolled, `code ${codes[0]} shown while not enrolled`);
      const expected = reference(this.seed, this.next);
      must(codes[0] === expected, `code ${codes[0]} shown where counter ${this.next} gives ${expected}`);
      this.shownCounters.push(this.next);
      this.shownCodes.push(codes[0]!);
      this.next++;
    }
    const shown = display.trim();
    if (!this.on) {
      // Power went during the press: the display is dark, and no code was committed to be shown.
      must(shown === '', `display "${shown}" with power off`);
      this.powerLosses++;
      return false;
    }
    if (!this.enrolled) {
      must(shown === NOT_ENROLLED_TEXT && event === undefined, `not enrolled, yet the press showed "${shown}"`);
      this.rig.token.advance(DEFAULT_TIMINGS.messageMs);
      return true;
    }
    must(codes.length === 1 && shown === codes[0], `a press with power on showed "${shown}", not a new code`);
    must(
      event !== undefined && event.fields.code === shown && event.fields.counter === String(this.next - 1) && Object.keys(event.fields).length === 2,
      `press event ${JSON.stringify(event?.fields)} for code ${shown} at counter ${this.next - 1}`,
    );
    // Let the code time out, so the next press makes a new one.
    this.rig.token.advance(DEFAULT_TIMINGS.displayMs);
    return true;
  }

  /** Enrols; returns false when power was lost during it. */
  enroll(seed: Buffer): boolean {
    const messages = this.rig.send('enroll', enrollFields(seed));
    if (!this.on) {
      this.powerLosses++;
      return false;
    }
    expect(messages.find((m) => m.kind === 'response')).toMatchObject({ ok: true, fields: { counter: '0' } });
    this.enrolled = true;
    this.seed = seed;
    this.next = 0;
    this.rig.token.advance(DEFAULT_TIMINGS.messageMs);
    return true;
  }

  /**
   * Power comes back (again and again if a further cut is armed for the boot). Checks that the
   * token boots, that its enrolment is exactly what it was or (when the cut came during `enrolling`)
   * cleanly absent, and that the counter has not gone backwards. Returns the flash operations the
   * successful boot took.
   */
  recover(phase: 'boot' | 'enroll' | 'press', enrolling: Buffer | undefined, extraCuts: PowerCutPlan[] = []): number {
    for (const cut of extraCuts) {
      expect(this.on).toBe(false);
      this.flash.armPowerCut(cut);
      this.rig.token.powerOn();
      if (this.on) this.flash.disarmPowerCut(); // the boot wrote less than the cut point
      else this.powerLosses++;
    }
    const before = this.flash.operations;
    this.rig.token.powerOn();
    expect(this.on, 'the token boots after the cut').toBe(true);
    const bootOps = this.flash.operations - before;
    this.rig.drain();
    const info = this.info();
    expect(info.serial).toBe(TEST_CONFIG.factorySerial);
    if (phase === 'enroll' && !this.enrolled) {
      // Cut during enrolment: enrolled with exactly what was sent, or not at all.
      expect(['0', '1']).toContain(info.enrolled);
      this.enrolOutcome = info.enrolled === '1' ? 'kept' : 'lost';
      if (info.enrolled === '1') {
        expect(info).toMatchObject({ mode: 'hotp', algorithm: 'sha1', digits: '6', counter: '0' });
        this.enrolled = true;
        this.seed = enrolling!;
        this.next = 0;
      }
    } else if (!this.enrolled) {
      expect(info.enrolled).toBe('0');
    } else {
      expect(info.enrolled).toBe('1');
      expect(info).toMatchObject({ mode: 'hotp', algorithm: 'sha1', digits: '6' });
      const counter = Number(info.counter);
      // Never backwards; at most the one counter that was being committed when power went.
      if (phase === 'press') expect([this.next, this.next + 1], `counter after reboot`).toContain(counter);
      else expect(counter).toBe(this.next);
      this.burned += counter - this.next;
      this.next = counter;
    }
    return bootOps;
  }

  /** Every code displayed over the whole history is distinct and belongs to a strictly increasing counter. */
  checkHistory(): void {
    for (let i = 1; i < this.shownCounters.length; i++) expect(this.shownCounters[i]!).toBeGreaterThan(this.shownCounters[i - 1]!);
    expect(new Set(this.shownCodes).size).toBe(this.shownCodes.length);
  }
}

interface ScenarioResult {
  observed: Observed;
  /** Where the (first) cut fell, or undefined when no cut fired. */
  phase?: 'boot' | 'enroll' | 'press';
  /** Flash operations of the first recovery boot. */
  recoveryBootOps: number;
  /** Programs that began at a page's first byte (page headers). */
  pageStarts: number;
}

/**
 * Boot a fresh chip (first boot formats it and writes the serial), enrol HOTP with the RFC seed,
 * then press `presses` times. With a cut armed, power is restored after it fires and the scenario
 * goes on to the same number of presses plus a few, so that what follows a recovery is checked too.
 */
function scenario(core: CoreFactory, geometry: FlashGeometry, presses: number, cut?: PowerCutPlan, bootCuts: PowerCutPlan[] = []): ScenarioResult {
  let pageStarts = 0;
  const flash = new SimFlash({
    geometry,
    onChange: (change) => {
      if (change.kind === 'program' && change.address % geometry.pageSize === 0) pageStarts++;
    },
  });
  if (cut) flash.armPowerCut(cut);
  const observed = new Observed(flash, core);
  let phase: ScenarioResult['phase'];
  let recoveryBootOps = 0;
  const lost = (where: NonNullable<ScenarioResult['phase']>, enrolling?: Buffer) => {
    if (phase === undefined) {
      phase = where;
      recoveryBootOps = observed.recover(where, enrolling, bootCuts);
    } else {
      throw new Error('a second power loss nobody armed');
    }
  };
  if (!observed.on) {
    observed.powerLosses++;
    lost('boot');
  } else {
    expect(observed.info()).toMatchObject({ enrolled: '0', serial: TEST_CONFIG.factorySerial });
  }
  if (!observed.enroll(RFC_SEED)) lost('enroll', RFC_SEED);
  if (!observed.enrolled) {
    // The cut undid the enrolment cleanly: a press says so, and enrolling again works.
    expect(observed.press()).toBe(true);
    expect(observed.enroll(RFC_SEED)).toBe(true);
  }
  const total = cut ? presses + 3 : presses;
  for (let i = 0; i < total; i++) if (!observed.press()) lost('press');
  observed.checkHistory();
  expect(observed.burned).toBeLessThanOrEqual(1);
  // Every press that did not lose power showed a code.
  expect(observed.shownCodes.length).toBe(total - (phase === 'press' ? 1 : 0));
  expect(Number(observed.info().counter)).toBe(observed.next);
  // A clean power cycle at the end: what was written after the recovery was written soundly too.
  observed.rig.token.powerOff();
  observed.rig.token.powerOn();
  expect(observed.on).toBe(true);
  expect(observed.info()).toMatchObject({ enrolled: '1', counter: String(observed.next) });
  expect(observed.press()).toBe(true);
  return { observed, phase, recoveryBootOps, pageStarts };
}

function sweep(core: CoreFactory, geometry: FlashGeometry, presses: number, withBootCuts: boolean, fractions = FRACTIONS) {
  const baseline = scenario(core, geometry, presses);
  const operations = baseline.observed.flash.operations;
  // Every page the journal starts gets its header programmed at the page's first byte: one at the
  // format of the first boot, one per compaction.
  const compactions = baseline.pageStarts - 1;
  expect(baseline.observed.shownCodes.slice(0, 10)).toEqual(RFC4226_CODES.slice(0, Math.min(10, presses)));
  const tally = { cuts: 0, bootCuts: 0, boot: 0, enroll: 0, press: 0, enrolKept: 0, enrolLost: 0, burned: 0 };
  for (let k = 1; k <= operations; k++) {
    for (const fraction of fractions) {
      const result = scenario(core, geometry, presses, { atOperation: k, fraction });
      expect(result.phase, `cut at operation ${k}/${operations} fraction ${fraction} fired`).toBeDefined();
      tally.cuts++;
      tally[result.phase!]++;
      tally.burned += result.observed.burned;
      if (result.observed.enrolOutcome === 'kept') tally.enrolKept++;
      if (result.observed.enrolOutcome === 'lost') tally.enrolLost++;
      if (withBootCuts) {
        // A second cut during the recovery boot itself, at each of its flash operations.
        for (let j = 1; j <= result.recoveryBootOps; j++) {
          for (const second of FRACTIONS) {
            const again = scenario(core, geometry, presses, { atOperation: k, fraction }, [{ atOperation: j, fraction: second }]);
            expect(again.observed.powerLosses).toBe(2);
            tally.bootCuts++;
          }
        }
      }
    }
  }
  return { operations, compactions, tally };
}

interface WipeResult {
  outcome: 'kept' | 'wiped';
  /** Flash operations of the wipe (without a cut) or of the recovery boot (with one). */
  operations: number;
}

/**
 * Enrol WIPE_SEED, press `pressesBefore` times, ask for a wipe and confirm it by holding the
 * button, with power cut at `cut` (counted from the hold) and then at each of `bootCuts` during the
 * following boots. Afterwards the token is either still enrolled with its counter intact, or wiped
 * with no 8-byte run of the seed left anywhere on the chip.
 */
function wipeScenario(core: CoreFactory, geometry: FlashGeometry, pressesBefore: number, cut?: PowerCutPlan, bootCuts: PowerCutPlan[] = []): WipeResult {
  const flash = new SimFlash({ geometry });
  const observed = new Observed(flash, core);
  expect(observed.enroll(WIPE_SEED)).toBe(true);
  for (let i = 0; i < pressesBefore; i++) expect(observed.press()).toBe(true);
  expect(imageHoldsSeed(flash, WIPE_SEED), 'the seed is stored in the clear, so the search can find it').toBe(true);
  expect(observed.rig.send('wipe')).toMatchObject([{ kind: 'event', name: 'confirm' }]);
  const before = flash.operations;
  if (cut) flash.armPowerCut(cut);
  observed.rig.token.hold();
  if (!cut) {
    expect(observed.on).toBe(true);
    expect(observed.rig.drain()).toMatchObject([{ kind: 'response', ok: true }]);
    expect(imageHoldsSeed(flash, WIPE_SEED)).toBe(false);
    expect(observed.info()).toMatchObject({ enrolled: '0', serial: TEST_CONFIG.factorySerial });
    return { outcome: 'wiped', operations: flash.operations - before };
  }
  expect(observed.on, 'the cut fired during the wipe').toBe(false);
  observed.powerLosses++;
  for (const bootCut of bootCuts) {
    flash.armPowerCut(bootCut);
    observed.rig.token.powerOn();
    expect(observed.on, 'the second cut fired during the boot').toBe(false);
    observed.powerLosses++;
  }
  const bootStart = flash.operations;
  observed.rig.token.powerOn();
  expect(observed.on, 'the token boots after the cut').toBe(true);
  const bootOps = flash.operations - bootStart;
  observed.rig.drain();
  const info = observed.info();
  expect(info.serial).toBe(TEST_CONFIG.factorySerial);
  let outcome: WipeResult['outcome'];
  if (info.enrolled === '1') {
    // Not wiped: everything as it was, and the codes carry on where they were.
    expect(info).toMatchObject({ mode: 'hotp', algorithm: 'sha1', digits: '6', counter: String(pressesBefore) });
    expect(observed.press()).toBe(true);
    expect(observed.shownCodes.at(-1)).toBe(reference(WIPE_SEED, pressesBefore));
    outcome = 'kept';
  } else {
    expect(info.enrolled).toBe('0');
    expect(info.counter).toBeUndefined();
    expect(imageHoldsSeed(flash, WIPE_SEED), 'a wiped seed is nowhere on the chip').toBe(false);
    observed.enrolled = false;
    expect(observed.press()).toBe(true); // shows "no SEEd"
    // The token is usable again: a new enrolment starts its own sequence.
    expect(observed.enroll(RFC_SEED)).toBe(true);
    expect(observed.press()).toBe(true);
    expect(observed.shownCodes.at(-1)).toBe(RFC4226_CODES[0]);
    outcome = 'wiped';
  }
  return { outcome, operations: bootOps };
}

function wipeSweep(core: CoreFactory, geometry: FlashGeometry, pressCounts: readonly number[], withBootCuts: boolean, fractions = FRACTIONS) {
  const tally = { cuts: 0, bootCuts: 0, kept: 0, wiped: 0 };
  for (const presses of pressCounts) {
    const { operations } = wipeScenario(core, geometry, presses);
    expect(operations).toBeGreaterThan(0);
    for (let k = 1; k <= operations; k++) {
      for (const fraction of fractions) {
        const first = { atOperation: k, fraction };
        const result = wipeScenario(core, geometry, presses, first);
        tally.cuts++;
        tally[result.outcome]++;
        if (!withBootCuts) continue;
        for (let j = 1; j <= result.operations; j++) {
          for (const second of FRACTIONS) {
            wipeScenario(core, geometry, presses, first, [{ atOperation: j, fraction: second }]);
            tally.bootCuts++;
          }
        }
      }
    }
  }
  return tally;
}

describe('power cut at every flash write (the firmware on V8)', () => {
  const core = inProcessCore;

  it('matches the RFC 4226 reference (sanity of the oracle)', () => {
    expect(RFC4226_CODES.map((_, c) => hotp(RFC_SEED, c))).toEqual(RFC4226_CODES);
  });

  it('small flash (4 × 256 B, a compaction every few presses): every write of boot, enrol and 60 presses, and a second cut in each recovery boot', () => {
    const started = performance.now();
    const { operations, compactions, tally } = sweep(core, SMALL, 60, true);
    console.log(
      `[power-cut] small flash: ${operations} flash operations (${compactions} compactions) × ${FRACTIONS.length} fractions = ${tally.cuts} cut points ` +
        `(boot ${tally.boot}, enrol ${tally.enroll} [kept ${tally.enrolKept}, cleanly absent ${tally.enrolLost}], press ${tally.press}); ` +
        `${tally.bootCuts} second cuts during recovery boots; ${tally.burned} counters burned; ${Math.round(performance.now() - started)} ms`,
    );
    expect(compactions).toBeGreaterThanOrEqual(SMALL.pageCount + 1); // round the whole ring
    expect(tally.cuts).toBe(operations * FRACTIONS.length);
    expect(tally.boot).toBeGreaterThan(0);
    expect(tally.enroll).toBe(FRACTIONS.length);
    expect(tally.enrolKept).toBeGreaterThan(0);
    expect(tally.enrolLost).toBeGreaterThan(0);
    expect(tally.press).toBeGreaterThan(0);
    expect(tally.bootCuts).toBeGreaterThan(0);
  });

  it('default flash (8 × 4 KiB): every write of boot, enrol and enough presses to compact once', () => {
    const started = performance.now();
    const { operations, compactions, tally } = sweep(core, DEFAULT_GEOMETRY, 260, false);
    console.log(
      `[power-cut] default flash: ${operations} flash operations (${compactions} compactions) × ${FRACTIONS.length} fractions = ${tally.cuts} cut points ` +
        `(boot ${tally.boot}, enrol ${tally.enroll}, press ${tally.press}); ${tally.burned} counters burned; ${Math.round(performance.now() - started)} ms`,
    );
    expect(compactions).toBeGreaterThanOrEqual(1);
    expect(tally.cuts).toBe(operations * FRACTIONS.length);
  });

  it('wipe: every write of the wipe, from every position in the compaction cycle, and a second cut in each recovery boot', () => {
    const started = performance.now();
    const small = wipeSweep(core, SMALL, Array.from({ length: 12 }, (_, i) => i), true);
    const large = wipeSweep(core, DEFAULT_GEOMETRY, [0, 7], false);
    console.log(
      `[power-cut] wipe: ${small.cuts + large.cuts} cut points (small flash ${small.cuts}, default flash ${large.cuts}): ` +
        `${small.kept + large.kept} still enrolled, ${small.wiped + large.wiped} wiped with no trace of the seed; ` +
        `${small.bootCuts} second cuts during recovery boots; ${Math.round(performance.now() - started)} ms`,
    );
    expect(small.kept + large.kept).toBeGreaterThan(0);
    expect(small.wiped + large.wiped).toBeGreaterThan(0);
    expect(small.bootCuts).toBeGreaterThan(0);
  });
});

describe('power cut at every flash write (the firmware bundle in QuickJS-NG; the named subset)', () => {
  let core: CoreFactory;

  beforeAll(async () => {
    core = (await QuickJsEngine.load({ trackPeak: false })).createCore;
  });

  it('small flash: every write of boot, enrol and 60 presses (round the ring of pages), each cut half way through', () => {
    const started = performance.now();
    const { operations, compactions, tally } = sweep(core, SMALL, 60, false, HALF);
    console.log(
      `[power-cut] QuickJS, small flash: ${operations} flash operations (${compactions} compactions) = ${tally.cuts} cut points ` +
        `(boot ${tally.boot}, enrol ${tally.enroll}, press ${tally.press}); ${tally.burned} counters burned; ${Math.round(performance.now() - started)} ms`,
    );
    expect(compactions).toBeGreaterThanOrEqual(SMALL.pageCount + 1);
    expect(tally.cuts).toBe(operations);
    expect(tally.boot).toBeGreaterThan(0);
    expect(tally.enroll).toBe(1);
    expect(tally.press).toBeGreaterThan(0);
  });

  it('wipe: every write of the wipe, from every position in the compaction cycle, each cut half way through', () => {
    const started = performance.now();
    const tally = wipeSweep(core, SMALL, Array.from({ length: 12 }, (_, i) => i), false, HALF);
    console.log(`[power-cut] QuickJS, wipe: ${tally.cuts} cut points: ${tally.kept} still enrolled, ${tally.wiped} wiped with no trace of the seed; ${Math.round(performance.now() - started)} ms`);
    expect(tally.kept).toBeGreaterThan(0);
    expect(tally.wiped).toBeGreaterThan(0);
  });
});
