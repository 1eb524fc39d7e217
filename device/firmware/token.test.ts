/** The firmware core's behaviour, in-process on simulated parts: codes, button, display, commands, errors. */
import { describe, expect, it } from 'vitest';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { createRig, TEST_CONFIG } from '../../test/support/rig.ts';
import type { Utterance } from '../hal/speaker.ts';
import { SimFlash } from '../sim/sim-flash.ts';
import { FlashStore } from './flash-store.ts';
import { TOKEN_MODELS } from './models.ts';
import { TAG } from './records.ts';
import { textToSegments, DECIMAL_POINT } from './segments.ts';
import { DEFAULT_TIMINGS, FIRMWARE_VERSION, FIRMWARE_VERSION_PARTS, MESSAGES } from './token.ts';

const RFC4226_SEED = Buffer.from('12345678901234567890').toString('hex');
/** RFC 4226 appendix D: HOTP values for counters 0..9. */
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

function enrolledRig(fields: Record<string, string> = {}) {
  const rig = createRig();
  rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6', ...fields });
  rig.token.advance(DEFAULT_TIMINGS.messageMs);
  return rig;
}

describe('codes through the firmware core', () => {
  it('shows the RFC 4226 appendix D codes, press by press, and pushes each as an event', () => {
    const rig = enrolledRig();
    RFC4226_CODES.forEach((expected, counter) => {
      const { display, event } = rig.press();
      expect(display).toBe(` ${expected} `); // six digits centred on eight positions, as on a NemID token
      expect(event?.fields).toEqual({ code: expected, counter: String(counter) });
      rig.token.advance(DEFAULT_TIMINGS.displayMs);
    });
  });

  const rfc6238 = {
    sha1: { seed: '12345678901234567890', codes: ['94287082', '07081804', '14050471', '89005924', '69279037', '65353130'] },
    sha256: { seed: '12345678901234567890123456789012', codes: ['46119246', '68084774', '67062674', '91819424', '90698825', '77737706'] },
    sha512: {
      seed: '1234567890123456789012345678901234567890123456789012345678901234',
      codes: ['90693936', '25091201', '99943326', '93441116', '38618901', '47863826'],
    },
  } as const;
  const TIMES = [59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000];

  it.each(Object.entries(rfc6238))('shows the RFC 6238 appendix B %s codes at the appendix times', (algorithm, vector) => {
    const rig = createRig();
    rig.ok('enroll', { secret: Buffer.from(vector.seed).toString('hex'), mode: 'totp', algorithm, digits: '8', period: '30' });
    TIMES.forEach((seconds, i) => {
      rig.token.advance(DEFAULT_TIMINGS.displayMs);
      rig.ok('settime', { at: String(seconds * 1000), force: '1' });
      const { display, event } = rig.press();
      expect(display).toBe(vector.codes[i]);
      expect(event?.fields.step).toBe(String(Math.floor(seconds / 30)));
    });
  });

  it('makes 7- and 8-digit SHA-256 HOTP codes from a given start counter', () => {
    const seed = 'a1'.repeat(32);
    for (const digits of [7, 8]) {
      const rig = createRig();
      rig.ok('enroll', { secret: seed, mode: 'hotp', algorithm: 'sha256', digits: String(digits), counter: '1000' });
      for (let counter = 1000; counter < 1005; counter++) {
        expect(rig.press().display.trim()).toBe(referenceHotp(Buffer.from(seed, 'hex'), counter, digits, 'sha256'));
        rig.token.advance(DEFAULT_TIMINGS.displayMs);
      }
    }
  });

  it('continues the counter after power is cut and restored, never repeating a code', () => {
    const flash = new SimFlash();
    const rig = createRig({ flash });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    const shown = [rig.press().display.trim(), (rig.token.advance(DEFAULT_TIMINGS.displayMs), rig.press().display.trim())];
    rig.token.powerOff();
    const again = createRig({ flash });
    expect(again.ok('info').counter).toBe('2');
    shown.push(again.press().display.trim());
    expect(shown).toEqual(RFC4226_CODES.slice(0, 3));
  });
});

describe('a flash that no longer takes the counter', () => {
  it('a press whose counter commit fails shows Err FL and no code, uses no counter, and every code shown stays committed', () => {
    // A small chip that wears out after two erases a page: the presses fill pages, compaction erases them.
    const flash = new SimFlash({ geometry: { pageSize: 256, pageCount: 4 }, endurance: 2 });
    const rig = createRig({ flash });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    const seed = Buffer.from(RFC4226_SEED, 'hex');
    const storageError = textToSegments(MESSAGES.storageError);
    const shown: string[] = [];
    let refused = 0;
    for (let press = 0; press < 300; press++) {
      const { display, event } = rig.press();
      if (refused > 0 || Buffer.from(rig.token.display.segments).equals(Buffer.from(storageError))) {
        // Once the chip takes no write, every press says so and makes nothing.
        expect(rig.token.display.segments, `press ${press}, after the first refused one`).toEqual(storageError);
        expect(event, `press ${press}`).toBeUndefined();
        refused++;
      } else {
        expect(display.trim(), `press ${press}`).toBe(referenceHotp(seed, shown.length));
        expect(event?.fields.counter).toBe(String(shown.length));
        shown.push(display.trim());
      }
      rig.token.advance(DEFAULT_TIMINGS.displayMs);
    }
    expect(refused, 'the chip wore out and a press showed Err FL').toBeGreaterThan(0);
    expect(shown.length).toBeGreaterThan(10);
    // The token keeps answering its host; no refused press used a counter.
    expect(rig.ok('status').counter).toBe(String(shown.length));
    // What the flash holds after a power cycle: every code shown was committed first, and nothing more.
    rig.token.powerOff();
    const again = createRig({ flash });
    expect(again.ok('info')).toMatchObject({ enrolled: '1', counter: String(shown.length) });
    expect(again.press().event).toBeUndefined();
    expect(again.token.display.segments).toEqual(storageError);
  });
});

describe('button and display', () => {
  it('blanks the display when the display time is over', () => {
    const rig = enrolledRig();
    rig.press();
    rig.token.advance(DEFAULT_TIMINGS.displayMs - 500);
    expect(rig.token.readDisplay().trim()).toBe(RFC4226_CODES[0]);
    rig.token.advance(1000);
    expect(rig.token.display.segments).toEqual(new Uint8Array(8));
  });

  it('centres a six-digit code on the eight positions, as the NemID token shows it', () => {
    const rig = enrolledRig();
    expect(rig.press().display).toBe(` ${RFC4226_CODES[0]} `);
  });

  it('a press while a code is shown keeps that code on and burns no counter', () => {
    const rig = enrolledRig();
    rig.press();
    const second = rig.press();
    expect(second.display.trim()).toBe(RFC4226_CODES[0]);
    expect(second.event).toBeUndefined();
    expect(rig.ok('status').counter).toBe('1');
    rig.token.advance(DEFAULT_TIMINGS.displayMs - 1000);
    expect(rig.token.readDisplay().trim()).toBe(RFC4226_CODES[0]);
  });

  it('counts a burst of contact bounce as one press', () => {
    const rig = enrolledRig();
    for (let i = 0; i < 9; i++) {
      rig.token.setButton(i % 2 === 0);
      rig.token.advance(3);
    }
    rig.token.setButton(true);
    rig.token.advance(150);
    for (let i = 0; i < 7; i++) {
      rig.token.setButton(i % 2 === 1);
      rig.token.advance(2);
    }
    rig.token.setButton(false);
    rig.token.advance(100);
    const events = rig.drain().filter((m) => m.kind === 'event');
    expect(events).toHaveLength(1);
    expect(rig.ok('status').counter).toBe('1');
  });

  it('ignores a blip shorter than the debounce time', () => {
    const rig = enrolledRig();
    rig.token.setButton(true);
    rig.token.advance(DEFAULT_TIMINGS.debounceMs / 4);
    rig.token.setButton(false);
    rig.token.advance(200);
    expect(rig.drain()).toEqual([]);
    expect(rig.token.display.segments).toEqual(new Uint8Array(8));
  });

  it('a hold shows the serial number and makes no code', () => {
    const rig = enrolledRig();
    rig.token.hold();
    expect(rig.token.readDisplay()).toBe(TEST_CONFIG.factorySerial);
    expect(rig.drain()).toEqual([]);
    expect(rig.ok('status').counter).toBe('0');
  });

  it('says so on the display when not enrolled', () => {
    const rig = createRig();
    rig.token.press();
    expect(rig.token.display.segments).toEqual(textToSegments(MESSAGES.notEnrolled));
  });

  it('marks codes with the decimal point when the battery runs low, and refuses codes when it is empty', () => {
    const rig = enrolledRig();
    rig.token.power.percent = 5;
    const low = rig.press();
    // The battery mark is the decimal point in the display's last position.
    expect(low.display).toBe(` ${RFC4226_CODES[0]} .`);
    expect(rig.token.display.segments[7]! & DECIMAL_POINT).toBe(DECIMAL_POINT);
    expect(low.event?.fields.battery).toBe('low');
    rig.token.advance(DEFAULT_TIMINGS.displayMs);
    rig.token.power.percent = 1;
    const empty = rig.press();
    expect(empty.event).toBeUndefined();
    expect(rig.token.display.segments).toEqual(textToSegments(MESSAGES.lowBattery));
    expect(rig.ok('status').counter).toBe('1');
  });
});

describe('commands', () => {
  it('hello names the token and its protocol version; another version is refused', () => {
    const rig = createRig();
    expect(rig.ok('hello', { proto: '1' })).toEqual({ proto: '1', model: 'NV1', hardware: 'test', serial: TEST_CONFIG.factorySerial, firmware: '0.1.0' });
    const [reply] = rig.send('hello', { proto: '2' });
    expect(reply).toMatchObject({ ok: false, fields: { code: 'unsupported_version' } });
  });

  it('keeps the factory serial number across reboots, and a blank token invents one once', () => {
    const flash = new SimFlash();
    const first = createRig({ flash, config: { model: 'NV1', hardware: 'test' } });
    const serial = first.ok('hello').serial!;
    expect(serial).toMatch(/^[1-9][0-9]{7}$/);
    first.token.powerOff();
    expect(createRig({ flash, config: { model: 'NV1', hardware: 'test' } }).ok('hello').serial).toBe(serial);
  });

  it('enrols once; a second enrolment is refused until a wipe', () => {
    const rig = enrolledRig();
    const [reply] = rig.send('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    expect(reply).toMatchObject({ ok: false, fields: { code: 'already_enrolled' } });
  });

  it('never puts the seed in any answer', () => {
    const rig = enrolledRig();
    const everything = JSON.stringify([rig.send('info'), rig.send('status'), rig.send('hello'), rig.press()]).toLowerCase();
    expect(everything).not.toContain(RFC4226_SEED);
    expect(everything).not.toContain('12345678901234567890');
  });

  it('refuses bad enrolment arguments with bad_argument naming the field', () => {
    const rig = createRig();
    const cases: [Record<string, string>, string][] = [
      [{ secret: 'xyz', mode: 'hotp', algorithm: 'sha1', digits: '6' }, 'secret'],
      [{ secret: 'ab'.repeat(65), mode: 'hotp', algorithm: 'sha1', digits: '6' }, 'secret'],
      [{ secret: RFC4226_SEED, mode: 'motp', algorithm: 'sha1', digits: '6' }, 'mode'],
      [{ secret: RFC4226_SEED, mode: 'hotp', algorithm: 'md5', digits: '6' }, 'algorithm'],
      [{ secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '9' }, 'digits'],
      [{ secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6', period: '30' }, 'period'],
      [{ secret: RFC4226_SEED, mode: 'totp', algorithm: 'sha1', digits: '6', counter: '3' }, 'counter'],
      [{ secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6', colour: 'red' }, 'colour'],
      [{ mode: 'hotp', algorithm: 'sha1', digits: '6' }, 'secret'],
    ];
    for (const [fields, key] of cases) {
      const [reply] = rig.send('enroll', fields);
      expect(reply, JSON.stringify(fields)).toMatchObject({ ok: false, fields: { code: 'bad_argument', detail: key } });
    }
    expect(rig.ok('info').enrolled).toBe('0');
  });

  it('refuses to move the clock backwards unless forced', () => {
    const rig = createRig();
    const now = Number(rig.ok('time').clock);
    const [refused] = rig.send('settime', { at: String(now - 60_000) });
    expect(refused).toMatchObject({ ok: false, fields: { code: 'denied', detail: 'backwards' } });
    expect(Number(rig.ok('settime', { at: String(now - 60_000), force: '1' }).clock)).toBe(now - 60_000);
    expect(Number(rig.ok('settime', { at: String(now + 5000) }).clock)).toBe(now + 5000);
  });

  it('stops pushing press events when the host switches them off, and keeps that across reboots', () => {
    const flash = new SimFlash();
    const rig = createRig({ flash });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    expect(rig.ok('push', { on: '0' })).toEqual({ push: '0' });
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    expect(rig.press()).toEqual({ display: ` ${RFC4226_CODES[0]} ` });
    rig.token.powerOff();
    expect(createRig({ flash }).ok('info').push).toBe('0');
  });

  it('answers unknown commands, damaged frames and overlong lines with coded errors, then the next good line normally', () => {
    const rig = enrolledRig();
    expect(rig.send('launch')).toMatchObject([{ kind: 'response', ok: false, fields: { code: 'unknown_command' } }]);
    expect(rig.sendRaw('>5 info*00000000\n')).toMatchObject([{ id: 0, ok: false, fields: { code: 'bad_crc' } }]);
    expect(rig.sendRaw('hello there\n')).toMatchObject([{ id: 0, ok: false, fields: { code: 'bad_frame' } }]);
    expect(rig.sendRaw('x'.repeat(1000) + '\n')).toMatchObject([{ id: 0, ok: false, fields: { code: 'too_long' } }]);
    expect(rig.sendRaw('\n\r\n')).toEqual([]);
    expect(rig.ok('info').counter).toBe('0');
  });
});

describe('wipe, confirmed on the device', () => {
  it('waits for a hold, then erases the enrolment', () => {
    const rig = enrolledRig();
    rig.press();
    const started = rig.send('wipe');
    expect(started).toMatchObject([{ kind: 'event', name: 'confirm', fields: { op: 'wipe', timeout_ms: String(DEFAULT_TIMINGS.confirmMs) } }]);
    expect(rig.token.display.segments).toEqual(textToSegments(MESSAGES.confirmWipe));
    rig.token.hold();
    expect(rig.drain()).toMatchObject([{ kind: 'response', ok: true }]);
    expect(rig.ok('info')).toMatchObject({ enrolled: '0' });
    expect(rig.ok('info').counter).toBeUndefined();
  });

  it('is cancelled by a short press, and times out by itself', () => {
    const rig = enrolledRig();
    rig.send('wipe');
    rig.token.press();
    expect(rig.drain()).toMatchObject([{ kind: 'response', ok: false, fields: { code: 'denied', detail: 'cancelled' } }]);
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    rig.send('wipe');
    rig.token.advance(DEFAULT_TIMINGS.confirmMs + 10);
    expect(rig.drain()).toMatchObject([{ kind: 'response', ok: false, fields: { code: 'denied', detail: 'timeout' } }]);
    expect(rig.ok('info').enrolled).toBe('1');
  });

  it('answers busy to changes while it waits, but still answers questions', () => {
    const rig = enrolledRig();
    rig.send('wipe');
    expect(rig.send('push', { on: '0' })).toMatchObject([{ ok: false, fields: { code: 'busy' } }]);
    expect(rig.send('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' })).toMatchObject([
      { ok: false, fields: { code: 'busy' } },
    ]);
    expect(rig.ok('status').busy).toBe('1');
  });

  it('wipes the seed from the flash chip itself, not only from the index', () => {
    const flash = new SimFlash();
    const rig = createRig({ flash });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    const seed = Buffer.from(RFC4226_SEED, 'hex');
    expect(Buffer.from(flash.image).includes(seed)).toBe(true);
    rig.send('wipe');
    rig.token.hold();
    expect(Buffer.from(flash.image).includes(seed)).toBe(false);
  });
});

describe('replies always fit a line', () => {
  it('the longest info a token can give fits, with identity fields at their limits', () => {
    const rig = createRig({ config: { model: 'M'.repeat(12), hardware: 'H'.repeat(16), factorySerial: '9'.repeat(16) } });
    rig.ok('enroll', { secret: 'ab'.repeat(64), mode: 'hotp', algorithm: 'sha512', digits: '8', counter: String(Number.MAX_SAFE_INTEGER - 1) });
    rig.ok('settime', { at: '253402300799999' });
    rig.token.advance(86_400_000);
    const info = rig.ok('info');
    expect(info.clock).toBe('253402300799999');
    expect(info.counter).toBe(String(Number.MAX_SAFE_INTEGER - 1));
  });

  it('refuses at start-up an identity that would not fit', () => {
    expect(() => createRig({ config: { model: 'M'.repeat(13), hardware: 'test' } })).toThrow(/model/);
    expect(() => createRig({ config: { model: 'NV1', hardware: 'test', factorySerial: 'has space' } })).toThrow(/serial/);
  });

  it('refuses a clock setting past the year 9999', () => {
    const rig = createRig();
    expect(rig.send('settime', { at: '253402300800000' })).toMatchObject([{ ok: false, fields: { code: 'bad_argument', detail: 'at' } }]);
  });
});

describe('the speaker (the audio code reader, and a plain token told to speak)', () => {
  const READER = { ...TEST_CONFIG, ...TOKEN_MODELS.reader };

  function speaking(rig: ReturnType<typeof createRig>): Utterance[] {
    const said: Utterance[] = [];
    rig.token.speaker.onSay((utterance) => said.push(utterance));
    return said;
  }

  function enrolledReader(flash = new SimFlash()) {
    const rig = createRig({ flash, config: READER });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    return rig;
  }

  const digits = (code: string) => [...code];

  it('a plain token says nothing, and reports its speaker silent at the normal speed', () => {
    const rig = enrolledRig();
    const said = speaking(rig);
    rig.press();
    rig.token.advance(DEFAULT_TIMINGS.displayMs);
    rig.token.hold();
    rig.send('wipe');
    expect(said).toEqual([]);
    expect(rig.ok('info')).toMatchObject({ model: 'NV1', volume: '0', speed: '3' });
  });

  it('the reader says each code as it shows it, at its volume and speed, and says it again on a press while it is on', () => {
    const rig = enrolledReader();
    expect(rig.ok('hello').model).toBe('NV1-READER');
    expect(rig.ok('info')).toMatchObject({ volume: '3', speed: '3' });
    const said = speaking(rig);
    const first = rig.press();
    expect(first.display.trim()).toBe(RFC4226_CODES[0]);
    expect(said).toEqual([{ words: digits(RFC4226_CODES[0]!), volume: 3, speed: 3 }]);
    // A press a moment later (not a double press): the same code, said again, no new counter.
    rig.token.advance(DEFAULT_TIMINGS.doublePressMs + 100);
    const again = rig.press();
    expect(again.display.trim()).toBe(RFC4226_CODES[0]);
    expect(again.event).toBeUndefined();
    expect(said).toEqual([
      { words: digits(RFC4226_CODES[0]!), volume: 3, speed: 3 },
      { words: digits(RFC4226_CODES[0]!), volume: 3, speed: 3 },
    ]);
    expect(rig.ok('status').counter).toBe('1');
    rig.token.advance(DEFAULT_TIMINGS.displayMs);
    expect(rig.press().display.trim()).toBe(RFC4226_CODES[1]);
    expect(said.at(-1)!.words).toEqual(digits(RFC4226_CODES[1]!));
  });

  it('a double press steps the volume, says it, and neither makes a code nor burns a counter; the step is kept across a power cycle', () => {
    const flash = new SimFlash();
    const rig = enrolledReader(flash);
    const said = speaking(rig);
    const first = rig.press();
    const second = rig.press();
    expect(first.event?.fields).toEqual({ code: RFC4226_CODES[0], counter: '0' });
    expect(second.event).toBeUndefined();
    expect(second.display.trim()).toBe(RFC4226_CODES[0]);
    expect(said.map((u) => [u.words.join(' '), u.volume])).toEqual([
      [digits(RFC4226_CODES[0]!).join(' '), 3],
      ['volume 4', 4],
    ]);
    expect(rig.ok('info')).toMatchObject({ counter: '1', volume: '4' });
    // A third press right after is a press again: the code, said at the new volume.
    rig.press();
    expect(said.at(-1)).toEqual({ words: digits(RFC4226_CODES[0]!), volume: 4, speed: 3 });
    rig.token.powerOff();
    const again = createRig({ flash, config: READER });
    expect(again.ok('info')).toMatchObject({ counter: '1', volume: '4' });
  });

  it('double presses step the volume round from the loudest to 1, never to silent', () => {
    const rig = enrolledReader();
    const said = speaking(rig);
    const levels: number[] = [];
    for (let i = 0; i < 4; i++) {
      rig.press();
      rig.press();
      levels.push(said.at(-1)!.volume);
      rig.token.advance(1000);
    }
    expect(levels).toEqual([4, 5, 1, 2]);
    expect(said.at(-1)!.words).toEqual(['volume', '2']);
    expect(rig.ok('status').counter).toBe('1');
  });

  it('a silent token takes no double press: its second press only keeps the code on', () => {
    const rig = enrolledRig();
    rig.press();
    rig.press();
    expect(rig.ok('info')).toMatchObject({ counter: '1', volume: '0' });
  });

  it('a press that cancels a wipe begins no double press', () => {
    const rig = enrolledReader();
    rig.send('wipe');
    const said = speaking(rig);
    rig.token.press();
    rig.token.press();
    rig.drain();
    expect(rig.ok('info')).toMatchObject({ volume: '3', enrolled: '1' });
    expect(said.map((u) => u.words.join(' '))).toEqual(['cancelled', digits(RFC4226_CODES[0]!).join(' ')]);
  });

  it('says each message the display shows: no seed, the serial number, ready, low battery, the wipe', () => {
    const rig = createRig({ config: READER });
    const said = speaking(rig);
    const words = () => said.map((u) => u.words.join(' '));
    rig.token.press();
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    rig.token.hold();
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    rig.token.power.percent = 5;
    rig.press();
    rig.token.advance(DEFAULT_TIMINGS.displayMs);
    rig.token.power.percent = 1;
    rig.press();
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    rig.token.power.percent = 80;
    rig.send('wipe');
    rig.token.hold();
    expect(words()).toEqual([
      'no-seed',
      `serial ${[...TEST_CONFIG.factorySerial!].join(' ')}`,
      'ready',
      `${digits(RFC4226_CODES[0]!).join(' ')} low-battery`,
      'low-battery',
      'hold-to-clear',
      'cleared',
    ]);
  });

  it('says "error" when a press finds the flash worn out', () => {
    const rig = createRig({ flash: new SimFlash({ geometry: { pageSize: 256, pageCount: 4 }, endurance: 2 }), config: READER });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    const said = speaking(rig);
    const storageError = textToSegments(MESSAGES.storageError);
    for (let press = 0; press < 300 && !Buffer.from(rig.token.display.segments).equals(Buffer.from(storageError)); press++) {
      rig.token.advance(DEFAULT_TIMINGS.displayMs);
      rig.press();
    }
    expect(rig.token.display.segments).toEqual(storageError);
    expect(said.at(-1)).toEqual({ words: ['error'], volume: 3, speed: 3 });
  });

  it('the host sets volume and speed with audio; they are kept across power cycles and wipes, and refused while a wipe waits', () => {
    const flash = new SimFlash();
    const rig = createRig({ flash });
    expect(rig.ok('audio')).toEqual({ volume: '0', speed: '3' });
    expect(rig.ok('audio', { volume: '2' })).toEqual({ volume: '2', speed: '3' });
    expect(rig.ok('audio', { speed: '5' })).toEqual({ volume: '2', speed: '5' });
    rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6' });
    rig.token.advance(DEFAULT_TIMINGS.messageMs);
    const said = speaking(rig);
    rig.press();
    expect(said).toEqual([{ words: digits(RFC4226_CODES[0]!), volume: 2, speed: 5 }]);
    // Told to speak, a plain token takes a double press too.
    rig.press();
    expect(said.at(-1)).toEqual({ words: ['volume', '3'], volume: 3, speed: 5 });
    expect(rig.send('audio', { volume: '9' })).toMatchObject([{ ok: false, fields: { code: 'bad_argument', detail: 'volume' } }]);
    expect(rig.send('audio', { speed: '0' })).toMatchObject([{ ok: false, fields: { code: 'bad_argument', detail: 'speed' } }]);
    rig.send('wipe');
    expect(rig.send('audio', { volume: '1' })).toMatchObject([{ ok: false, fields: { code: 'busy' } }]);
    rig.token.hold();
    rig.drain();
    expect(rig.ok('info')).toMatchObject({ enrolled: '0', volume: '3', speed: '5' });
    rig.token.powerOff();
    const again = createRig({ flash });
    expect(again.ok('info')).toMatchObject({ volume: '3', speed: '5', push: '1' });
    // Volume 0 silences it again; push and audio live in one record and do not undo each other.
    expect(again.ok('audio', { volume: '0' })).toEqual({ volume: '0', speed: '5' });
    expect(again.ok('push', { on: '0' })).toEqual({ push: '0' });
    again.token.powerOff();
    expect(createRig({ flash }).ok('info')).toMatchObject({ volume: '0', speed: '5', push: '0' });
  });

  it('a settings record from before the speaker (one byte, press events only) keeps its push setting and takes the model\'s audio defaults', () => {
    const flash = new SimFlash();
    createRig({ flash, config: READER }).token.powerOff();
    new FlashStore(flash).put(TAG.settings, Uint8Array.of(0));
    expect(createRig({ flash, config: READER }).ok('info')).toMatchObject({ push: '0', volume: '3', speed: '3' });
  });

  it('refuses at start-up audio defaults out of range', () => {
    expect(() => createRig({ config: { ...TEST_CONFIG, audioDefaults: { volume: 6 } } })).toThrow(/audio defaults/);
    expect(() => createRig({ config: { ...TEST_CONFIG, audioDefaults: { speed: 0 } } })).toThrow(/audio defaults/);
  });
});

describe('the firmware version', () => {
  it('is the same in hello (text) and in the HID INIT reply (numbers)', () => {
    expect(FIRMWARE_VERSION_PARTS.join('.')).toBe(FIRMWARE_VERSION);
    expect(createRig().ok('hello').firmware).toBe(FIRMWARE_VERSION);
  });
});
