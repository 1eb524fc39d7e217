/**
 * The firmware bundle inside QuickJS-NG, against the same core on V8: one scripted session that
 * walks every command, both framings, the button's gestures, every algorithm, low battery, flash
 * compactions and a power cut, recorded byte for byte (every report and line sent, every display
 * frame, every flash write, the final image). The firmware in process (V8), the bundle in a V8
 * context and the bundle in QuickJS (loaded as stripped bytecode) must leave the same record; a
 * builtin the bundle needs and QuickJS lacks fails the QuickJS run (shown with a fixture that
 * reaches for Intl).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToAscii } from '../../../protocol/bytes.ts';
import { encodeLine } from '../../../protocol/framing/line.ts';
import type { Fields } from '../../../protocol/message.ts';
import { BROADCAST, CMD, SEED_HEX, contReport, initReport, refReports, refSeal } from '../../../test/support/hid-rig.ts';
import { seededBytes } from '../../../test/support/random.ts';
import { TEST_CONFIG } from '../../../test/support/rig.ts';
import { FIRMWARE_ENTRY, INTERNAL_PROPERTIES, ROOT, buildFirmwareBundle, firmwareBundle } from '../../build/firmware-bundle.ts';
import { bundleOnV8 } from '../../build/bundle-on-v8.ts';
import { segmentsToText } from '../../firmware/segments.ts';
import type { Transport } from '../../hal/transport.ts';
import { SimFlash } from '../../sim/sim-flash.ts';
import { SimPower, SimRng } from '../../sim/sim-parts.ts';
import { SimToken, inProcessCore, type CoreFactory } from '../../sim/sim-token.ts';
import { EngineFault, QUICKJS_STACK_LIMIT, QuickJsEngine } from './quickjs-engine.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Everything the token did that anyone outside it could see, in order. */
function recordSession(core: CoreFactory): string[] {
  const record: string[] = [];
  const note = (entry: string) => record.push(entry);
  const flash = new SimFlash({ geometry: { pageSize: 256, pageCount: 4 }, onChange: (change) => note(`flash ${JSON.stringify(change)}`) });
  let lastReport = new Uint8Array(0);
  const line: Transport = { framing: 'line', send: (bytes) => note(`line ${bytesToAscii(bytes)}`) };
  const hid: Transport = {
    framing: 'hid',
    send: (bytes) => {
      lastReport = bytes.slice();
      note(`hid ${hex(bytes)}`);
    },
  };
  const token = new SimToken({ config: TEST_CONFIG, core, flash, transports: [line, hid], rng: new SimRng(seededBytes(16)), power: new SimPower(100) });
  token.display.onChange((segments) => note(`display ${segmentsToText(segments)} ${hex(segments)}`));
  token.speaker.onSay(({ words, volume, speed }) => note(`say ${words.join(' ')} volume ${volume} speed ${speed}`));
  token.onPowerChange((on) => note(`power ${on ? 'on' : 'off'} after ${flash.operations} flash operations`));

  let id = 1;
  const request = (name: string, fields: Fields = {}) => token.receive(0, new TextEncoder().encode(encodeLine({ kind: 'request', id: id++, name, fields }) + '\n'));
  const raw = (text: string) => token.receive(0, new TextEncoder().encode(text));
  const reports = (list: Uint8Array[]) => list.forEach((report) => token.receive(1, report));
  const hidRequest = (channel: number, body: string) => reports(refReports(channel, CMD.MESSAGE, refSeal(body)));
  const pressShown = () => {
    token.press();
    token.advance(31_000);
  };

  token.powerOn();
  // The line link: every command, and what a host gets wrong.
  request('hello', { proto: '1' });
  request('hello', { proto: '9' });
  request('info');
  request('status');
  request('time');
  request('push', { on: '0' });
  request('push', { on: '1' });
  request('settime', { at: String(Date.UTC(2025, 0, 1)) });
  request('settime', { at: String(Date.UTC(2027, 5, 1)), force: '1' });
  request('launch');
  request('enroll', { secret: 'zz', mode: 'hotp', algorithm: 'sha1', digits: '6' });
  raw('>77 info*00000000\n');
  raw('garbage\n');
  raw(`>1 info ${'x'.repeat(300)}\n`);
  raw('\n');
  token.press();
  token.advance(3000);

  // HOTP SHA-1: codes, a press while one is shown, a hold for the serial number.
  request('enroll', { secret: SEED_HEX, mode: 'hotp', algorithm: 'sha1', digits: '6' });
  token.advance(3000);
  for (let i = 0; i < 3; i++) pressShown();
  token.press();
  token.press();
  token.advance(31_000);
  token.hold();
  token.advance(31_000);

  // The speaker: turned up by the host, codes said and said again, a double press stepping the volume; it stays on from here.
  request('audio', { volume: '2', speed: '4' });
  request('audio', { volume: '6' });
  pressShown();
  token.press();
  token.advance(1000);
  token.press();
  token.press();
  token.advance(31_000);
  token.hold();
  token.advance(31_000);
  request('audio');

  // HID: a channel, ping across CONT packets, a message, and packet faults.
  reports([initReport(BROADCAST, CMD.INIT, 8, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))]);
  const channel = new DataView(lastReport.buffer).getUint32(15);
  reports(refReports(channel, CMD.PING, Uint8Array.from({ length: 150 }, (_, i) => i)));
  hidRequest(channel, '>5 info');
  reports([contReport(channel, 3)]);
  reports([initReport(0x01020304, CMD.MESSAGE, 10, refSeal('>6 info'))]);
  reports([initReport(channel, 0x55, 0)]);
  reports(refReports(channel, CMD.MESSAGE, refSeal(`>7 enroll secret=${'ab'.repeat(64)} mode=hotp algorithm=sha512 digits=8`)).slice(0, 2));
  token.advance(600);
  pressShown();

  // Wipe: confirmed by a hold (line), cancelled by a press (HID, with keepalives), timed out.
  request('wipe');
  token.advance(500);
  token.hold();
  hidRequest(channel, '>8 enroll secret=3132333435363738393031323334353637383930 mode=totp algorithm=sha256 digits=8 period=60');
  token.advance(3000);
  pressShown();
  token.advance(120_000);
  pressShown();
  hidRequest(channel, '>9 wipe');
  token.advance(350);
  token.press();
  request('wipe');
  token.advance(31_000);
  request('wipe');
  token.hold();

  // HOTP SHA-512, 7 digits, from counter 5, through several compactions of the small flash.
  request('enroll', { secret: 'ab'.repeat(64), mode: 'hotp', algorithm: 'sha512', digits: '7', counter: '5' });
  token.advance(3000);
  for (let i = 0; i < 40; i++) pressShown();

  // Low battery: the mark and the event field, then no codes at all.
  token.power.percent = 5;
  pressShown();
  token.power.percent = 1;
  pressShown();
  request('status');
  token.power.percent = 80;

  // A power cut in the middle of the counter write, and the press after it.
  token.armPowerCut({ atOperation: 1, fraction: 0.5 });
  token.press();
  token.powerOn();
  token.advance(100);
  pressShown();
  request('info');

  note(`image ${createHash('sha256').update(flash.image).digest('hex')} erases ${[...flash.eraseCounts].join(',')}`);
  return record;
}

describe('the firmware bundle', () => {
  it('is one script of the firmware, the binding, the protocol and the compact OATH engine, and nothing of Node', async () => {
    const bundle = await firmwareBundle();
    expect(bundle.inputs).toEqual(
      expect.arrayContaining([
        path.relative(ROOT, FIRMWARE_ENTRY),
        'device/targets/engine/binding.ts',
        'device/firmware/token.ts',
        'protocol/commands.ts',
        'protocol/framing/hid.ts',
        'protocol/oath/engines-compact.ts',
      ]),
    );
    expect(bundle.inputs.filter((input) => /oath\/(engines|sha1-hmac|sha1-oath-digest|noble-hmac)\.ts$|@noble/.test(input))).toEqual([]);
    expect(bundle.code).toMatch(/^"use strict";\(\(\)=>\{/);
    expect(bundle.gzipBytes).toBeLessThan(bundle.bytes);
  });

  it('carries the internal property names shortened, none of them left behind as a string that the shortened code would miss', async () => {
    const { code } = await firmwareBundle();
    const full = await buildFirmwareBundle({ shortNames: false });
    const left = (text: string) => INTERNAL_PROPERTIES.filter((name) => new RegExp(`\\.${name}\\b|["'\`]${name}["'\`]`).test(text));
    expect(left(full.code).length).toBeGreaterThan(INTERNAL_PROPERTIES.length / 2);
    expect(left(code)).toEqual([]);
    expect(code.length).toBeLessThan(full.code.length);
  });
});

describe('the same core in QuickJS-NG and on V8', () => {
  let quickjs: QuickJsEngine;
  let bundleCode: string;

  beforeAll(async () => {
    bundleCode = (await firmwareBundle()).code;
    quickjs = await QuickJsEngine.load({ trackPeak: false });
  });

  it('one session, three ways to run the core, one record: in process, the bundle on V8, the bundle in QuickJS-NG', () => {
    const inProcess = recordSession(inProcessCore);
    // The session did what it says: RFC 4226's first codes, a cut that fired, a wiped seed, codes on every link.
    const text = inProcess.join('\n');
    for (const expected of [
      'display  755224 ',
      'display  287082 ',
      'press code=755224 counter=0',
      'display 40000001',
      'display CAnCEL',
      'code=denied detail=timeout',
      'battery=low',
      'display Lo bAtt',
      'power off after',
      'err code=bad_crc',
      'err code=too_long',
      'say 3 3 8 3 1 4 volume 2 speed 4',
      'say 2 5 4 6 7 6 volume 2 speed 4',
      'say volume 3 volume 3 speed 4',
      'say serial 4 0 0 0 0 0 0 1 volume 3 speed 4',
      'say cancelled volume 3 speed 4',
      'ok volume=3 speed=4',
      'err code=bad_argument detail=volume',
    ]) {
      expect(text).toContain(expected);
    }
    expect(inProcess.filter((entry) => entry.startsWith('hid ')).length).toBeGreaterThan(20);
    expect(recordSession(bundleOnV8(bundleCode))).toEqual(inProcess);
    expect(recordSession(quickjs.createCore)).toEqual(inProcess);
  });

  it('a bundle that uses a builtin QuickJS-NG lacks runs on V8 and fails in QuickJS, naming what is missing', async () => {
    const fixture = await buildFirmwareBundle({ entry: path.join(ROOT, 'test/fixtures/engine-lacks-builtin.ts') });
    expect(recordSession(bundleOnV8(fixture.code)).join('\n')).toContain('display  755224 ');
    const engine = await QuickJsEngine.load({ code: fixture.code, trackPeak: false });
    expect(() => recordSession(engine.createCore)).toThrow(EngineFault);
    expect(() => recordSession(engine.createCore)).toThrow(/Intl is not defined/);
  });

  it('loads bytecode compiled without source text or debug information, as a board does: no function can show its source, no fault its position', async () => {
    const script = `globalThis.nvFirmware = { boot() { function kept(n) { return 'marker' + n; } return String(kept); }, tick() { null.fault; } };`;
    const engine = await QuickJsEngine.load({ code: script, trackPeak: false });
    expect(engine.bytecodeBytes).toBeGreaterThan(0);
    const token = new SimToken({ config: TEST_CONFIG, core: engine.createCore, flash: new SimFlash(), transports: [] });
    token.powerOn();
    expect(token.serial).toContain('kept');
    expect(token.serial).not.toContain('marker');
    expect(() => token.input({ type: 'tick' })).toThrow(/^the firmware failed inside QuickJS: TypeError: cannot read property 'fault' of null \(at tick\)$/);
  });

  it(`runs under a stack limit of ${QUICKJS_STACK_LIMIT / 1024} KiB, which is real: a deep recursion meets it`, async () => {
    expect(quickjs.describe()).toMatchObject({ stackLimitBytes: QUICKJS_STACK_LIMIT });
    const recursing = `globalThis.nvFirmware = { boot() { const depth = (n) => (n ? 1 + depth(n - 1) : 0); return String(depth(${'$'}{N})); } };`;
    const boot = async (n: number) => {
      const engine = await QuickJsEngine.load({ code: recursing.replace('${N}', String(n)), trackPeak: false });
      const token = new SimToken({ config: TEST_CONFIG, core: engine.createCore, flash: new SimFlash(), transports: [] });
      token.powerOn();
      return token.serial;
    };
    expect(await boot(50)).toBe('50');
    await expect(boot(100_000)).rejects.toThrow(/RangeError: Maximum call stack size exceeded/);
  });

  it('reports its memory as QuickJS counts it, and a full collection frees the cycles a script leaves behind', async () => {
    const token = new SimToken({ config: TEST_CONFIG, core: quickjs.createCore, flash: new SimFlash(), transports: [], rng: new SimRng(seededBytes(3)) });
    token.powerOn();
    const booted = quickjs.memory()!;
    expect(booted.emptyContextBytes).toBeGreaterThan(30_000);
    expect(booted.loadedBytes).toBeGreaterThan(booted.emptyContextBytes);
    expect(booted.bootedBytes).toBeGreaterThan(booted.loadedBytes);
    token.powerOff();
    expect(quickjs.memory()!.usedBytes).toBe(0);

    const leaky = await QuickJsEngine.load({ code: 'globalThis.nvFirmware = { boot: () => "1", tick() { const a = {}; a.self = a; } };', trackPeak: false });
    const leaking = new SimToken({ config: TEST_CONFIG, core: leaky.createCore, flash: new SimFlash(), transports: [] });
    leaking.powerOn();
    const start = leaky.memory()!.usedBytes;
    for (let i = 0; i < 200; i++) leaking.input({ type: 'tick' });
    expect(leaky.memory()!.usedBytes).toBeGreaterThan(start + 200 * 16);
    leaky.collectGarbage();
    expect(leaky.memory()!.usedBytes).toBe(start);
  });
});
