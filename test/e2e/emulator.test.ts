/**
 * End to end through real processes: the emulator as `noegleviser device emulate`, the bridge as
 * `noegleviser info|enroll|code|…`, the lab's finger as `noegleviser device press`. The same suite
 * runs over each transport: the emulator's pty (the line framing) and its HID over UDP (64-byte
 * reports); only the address the bridge is given differs. And it runs on each engine: the firmware
 * core on V8 in the emulator's process, and the firmware bundle inside QuickJS-NG.
 */
import { terminalQr } from '../../host/seed-files/otpauth-qr.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { pressNewCodes } from '../support/debug-presses.ts';
import { ENGINE_RUNS } from '../support/engines.ts';
import { cli, cliInBackground, startEmulatorProcess, tempDir, type EmulatorProcess } from '../support/processes.ts';

const SEED_HEX = Buffer.from('12345678901234567890').toString('hex');
/** RFC 4226 appendix D, counters 0..9. */
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

const TRANSPORTS = [
  { transport: 'serial (pty, line framing)', address: (emulator: EmulatorProcess) => emulator.port },
  { transport: 'HID over UDP (64-byte reports)', address: (emulator: EmulatorProcess) => emulator.hid },
];

const RUNS = ENGINE_RUNS.flatMap((run) => TRANSPORTS.map((transport) => ({ ...run, ...transport })));

describe.each(RUNS)('an emulated token on $engine, driven through the CLI over $transport', ({ address, engine, args }) => {
  const dir = tempDir('e2e');
  const runtimeDir = path.join(dir, 'run');
  const profile = path.join(dir, 'token');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  let emulator: EmulatorProcess;
  /** Every code the token showed, in order, across restarts. */
  const shown: string[] = [];

  beforeAll(async () => {
    emulator = await startEmulatorProcess({ profile, runtimeDir, args: [...args, '--serial', '40012345'] });
  });
  afterAll(async () => {
    await emulator?.stop('SIGKILL');
  });

  async function pressAndRead(): Promise<{ event: { code: string; counter: number }; display: string }> {
    const waiting = cliInBackground(['code', '--port', address(emulator), '--json', '--timeout', '20'], { env });
    await waiting.stderrIncludes('press the button');
    const pressed = await cli(['device', 'press', '--debug', emulator.debug], { env });
    expect(pressed.code).toBe(0);
    const result = await waiting.result;
    expect(result.code, result.stderr).toBe(0);
    const display = await cli(['device', 'display', '--debug', emulator.debug], { env });
    expect(display.stdout.trim()).toBe(pressed.stdout.trim());
    shown.push(display.stdout.trim());
    return { event: JSON.parse(result.stdout), display: display.stdout.trim() };
  }

  it('prints a ready line naming a real pty and its debug link, and is listed', async () => {
    expect(emulator.port).toMatch(/^\/dev\/pts\/\d+$/);
    const state = JSON.parse((await cli(['device', 'state', '--debug', emulator.debug], { env })).stdout);
    expect(state.engine.name).toBe(engine === 'quickjs' ? 'quickjs-ng' : 'v8');
    // QuickJS's own report: the firmware's share of the runtime, its code and its data.
    if (engine === 'quickjs') expect(state.engine.memory).toMatchObject({ firmwareBytes: expect.any(Number), codeBytes: expect.any(Number), dataBytes: expect.any(Number) });
    expect(emulator.serial).toBe('40012345');
    const listed = await cli(['list', '--json'], { env });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).ports).toContainEqual(
      expect.objectContaining({ kind: 'emulator', port: emulator.port, hid: emulator.hid, serial: '40012345', debug: emulator.debug }),
    );
  });

  it('device commands need no --debug when one emulator runs, take its --serial, and say when none runs', async () => {
    const display = await cli(['device', 'display', '--json'], { env });
    expect(display.code, display.stderr).toBe(0);
    expect(JSON.parse(display.stdout)).toMatchObject({ on: true });
    const state = await cli(['device', 'state', '--serial', '40012345'], { env });
    expect(state.code, state.stderr).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ serial: '40012345', port: emulator.port });

    const nowhere = path.join(dir, 'run-empty');
    const none = await cli(['device', 'press'], { env: { NOEGLEVISER_RUNTIME_DIR: nowhere } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^noegleviser: no emulator is running .*device emulate.*--debug \[NV_NO_EMULATOR\]\n$/);
    const other = await cli(['device', 'press', '--serial', '40012399'], { env });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^noegleviser: no running emulator has serial number 40012399; running: 40012345 \(pid \d+\) \[NV_NO_SUCH_EMULATOR\]\n$/);
  });

  it('info: an unenrolled token, with identity, battery and clock', async () => {
    const result = await cli(['info', '--port', address(emulator), '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info).toMatchObject({ proto: 1, model: 'NV1', hardware: 'emulator', serial: '40012345', enrolled: false, push: true, battery: 100 });
    expect(Math.abs(info.clock - Date.now())).toBeLessThan(5000);
  });

  it('enroll: reads the seed from standard input, and never prints it', async () => {
    const result = await cli(['enroll', '--port', address(emulator), '--seed-file', '-'], { env, input: SEED_HEX + '\n' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('enrolled token 40012345: HOTP SHA1 6 digits');
    expect(result.stdout + result.stderr).not.toContain(SEED_HEX);
    const again = await cli(['enroll', '--port', address(emulator), '--seed', SEED_HEX], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a seed.*\[NV_TOKEN_ALREADY_ENROLLED\]\n$/);
    expect(again.stderr).not.toContain(SEED_HEX);
  });

  it('a press through the debug link reaches the bridge as an event, and the display shows the same code', async () => {
    const first = await pressAndRead();
    expect(first.event).toMatchObject({ code: RFC4226_CODES[0], counter: 0 });
    expect(first.display).toBe(RFC4226_CODES[0]);
    await cli(['device', 'advance', '31s', '--debug', emulator.debug], { env });
    const second = await pressAndRead();
    expect(second.event).toMatchObject({ code: RFC4226_CODES[1], counter: 1 });
  });

  it('after a clean restart from the same profile the counter continues', async () => {
    expect(await emulator.stop('SIGTERM')).toBe(0);
    emulator = await startEmulatorProcess({ profile, runtimeDir, args: [...args] });
    expect(emulator.serial).toBe('40012345');
    const info = JSON.parse((await cli(['info', '--port', address(emulator), '--json'], { env })).stdout);
    expect(info).toMatchObject({ enrolled: true, mode: 'hotp', algorithm: 'sha1', digits: 6, counter: 2 });
    expect((await pressAndRead()).event).toMatchObject({ code: RFC4226_CODES[2], counter: 2 });
  });

  it('after kill -9 the next emulator takes over the profile and still never repeats a code', async () => {
    await emulator.stop('SIGKILL');
    emulator = await startEmulatorProcess({ profile, runtimeDir, args: [...args] });
    expect((await pressAndRead()).event).toMatchObject({ code: RFC4226_CODES[3], counter: 3 });
  });

  it('a power cut in the middle of the press that commits the counter shows no code, and the next press shows an unseen one', async () => {
    await cli(['device', 'advance', '31s', '--debug', emulator.debug], { env });
    const armed = await cli(['device', 'power-cut', '--debug', emulator.debug, '--at-write', '1', '--fraction', '0.5'], { env });
    expect(armed.stdout).toContain('armed');
    const cut = await cli(['device', 'press', '--debug', emulator.debug], { env });
    expect(cut.code).toBe(0);
    expect(cut.stdout.trim()).toBe('');
    // Power comes back by itself; the torn counter write is skipped and the press is as if it never was.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const state = JSON.parse((await cli(['device', 'state', '--debug', emulator.debug], { env })).stdout);
    expect(state).toMatchObject({ powered: true, boots: 2 });
    const next = await pressAndRead();
    expect(next.event.counter).toBeGreaterThanOrEqual(4);
    expect(next.event.code).toBe(RFC4226_CODES[next.event.counter]);
    // Every code ever shown is the RFC code of a counter higher than the one before it.
    const counters = shown.map((code) => RFC4226_CODES.indexOf(code));
    expect(counters.every((counter) => counter >= 0)).toBe(true);
    expect(counters.every((counter, i) => i === 0 || counter > counters[i - 1]!)).toBe(true);
  });

  it('time sync sets the clock; wipe waits for a hold on the device', async () => {
    await cli(['device', 'advance', '2m', '--debug', emulator.debug], { env });
    const refused = await cli(['time', 'sync', '--port', address(emulator)], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[NV_CLOCK_AHEAD]');
    const forced = await cli(['time', 'sync', '--port', address(emulator), '--force', '--json'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    const sync = JSON.parse(forced.stdout);
    expect(sync.offsetBeforeMs).toBeGreaterThan(100_000);
    expect(Math.abs(sync.offsetAfterMs)).toBeLessThan(1000);

    const wiping = cliInBackground(['wipe', '--port', address(emulator), '--force'], { env });
    await wiping.stderrIncludes('hold the button');
    expect((await cli(['device', 'display', '--debug', emulator.debug], { env })).stdout.trim()).toBe('HoLd CLr');
    await cli(['device', 'hold', '--debug', emulator.debug], { env });
    const wiped = await wiping.result;
    expect(wiped.code, wiped.stderr).toBe(0);
    expect(wiped.stdout).toContain('wiped');
    const info = JSON.parse((await cli(['info', '--port', address(emulator), '--json'], { env })).stdout);
    expect(info.enrolled).toBe(false);
  });

  it('enroll --generate shows the URI as a QR code for an authenticator app, and flags a 7-digit token instead of drawing one', async () => {
    const wipeByHold = async () => {
      const wiping = cliInBackground(['wipe', '--port', address(emulator), '--force'], { env });
      await wiping.stderrIncludes('hold the button');
      await cli(['device', 'hold', '--debug', emulator.debug], { env });
      expect((await wiping.result).code).toBe(0);
    };
    await wipeByHold();
    const shown = await cli(['enroll', '--port', address(emulator), '--generate', '--hotp'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    const uri = /uri:\s+(otpauth:\/\/\S+)/.exec(shown.stdout)?.[1];
    expect(uri, shown.stdout).toBeDefined();
    expect(shown.stdout).toContain('scan it into an authenticator app');
    // The code drawn is the one of the URI printed above it (the drawing itself is host/seed-files/otpauth-qr.test.ts's).
    expect(shown.stdout).toContain(terminalQr(uri!).trimEnd());
    await wipeByHold();
    const seven = await cli(['enroll', '--port', address(emulator), '--generate', '--hotp', '--digits', '7'], { env });
    expect(seven.code, seven.stderr).toBe(0);
    expect(seven.stdout).toContain('no QR code: the Key Uri Format allows 6 or 8 digits');
    expect(seven.stdout).not.toMatch(/[\u2580\u2584\u2588]{4}/);
    await wipeByHold(); // as the tests after this one expect it: wiped
  });

  it('enroll --generate prints the new seed once, with an otpauth:// URI for it', async () => {
    const result = await cli(['enroll', '--port', address(emulator), '--generate', '--totp', '--algorithm', 'sha256', '--digits', '8', '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const enrolled = JSON.parse(result.stdout);
    expect(enrolled.seed.hex).toMatch(/^[0-9a-f]{64}$/);
    const uri = new URL(enrolled.seed.uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(uri.searchParams.get('secret')).toBe(enrolled.seed.base32);
    expect(uri.searchParams.get('algorithm')).toBe('SHA256');
    expect(uri.searchParams.get('digits')).toBe('8');
    const info = JSON.parse((await cli(['info', '--port', address(emulator), '--json'], { env })).stdout);
    expect(info).toMatchObject({ enrolled: true, mode: 'totp', algorithm: 'sha256', digits: 8, period: 30 });
    expect(JSON.stringify(info)).not.toContain(enrolled.seed.hex);
  });

  it('a wipe interrupted by a power cut fails at once with NV_TOKEN_RESTARTED, leaving the token whole or wiped', async () => {
    await cli(['device', 'power-cut', '--debug', emulator.debug, '--at-write', '1'], { env });
    const wiping = cliInBackground(['wipe', '--port', address(emulator), '--force'], { env });
    await wiping.stderrIncludes('hold the button');
    await cli(['device', 'hold', '--debug', emulator.debug], { env });
    const result = await wiping.result;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/restarted.*\[NV_TOKEN_RESTARTED\]\n$/);
    const info = JSON.parse((await cli(['info', '--port', address(emulator), '--json'], { env })).stdout);
    if (info.enrolled) expect(info).toMatchObject({ mode: 'totp', algorithm: 'sha256' });
    else expect(info.mode).toBeUndefined();
  });
});

describe('an emulated token whose serial port nobody reads', () => {
  const dir = tempDir('unread');
  const runtimeDir = path.join(dir, 'run');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  let emulator: EmulatorProcess | undefined;

  afterAll(async () => {
    await emulator?.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('drops the output nobody reads and counts it: after 5,000 presses info over the pty and display over the debug link answer, and SIGTERM ends it', async () => {
    emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir });
    const enrolled = await cli(['enroll', '--port', emulator.port, '--seed', SEED_HEX, '--token-only'], { env });
    expect(enrolled.code, enrolled.stderr).toBe(0);

    // Each press pushes an event line to a pty nobody has open: far more than its buffer holds.
    await pressNewCodes(emulator.debug, 5000);

    const display = await debugCall(emulator.debug, 'display');
    expect(String(display.display).trim()).toMatch(/^\d{6}$/);
    const info = await cli(['info', '--port', emulator.port, '--json'], { env });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ serial: emulator.serial, enrolled: true, counter: 5000 });
    const state = await debugCall(emulator.debug, 'state');
    expect(state.droppedOutputBytes).toBeGreaterThan(0);

    expect(await emulator.stop('SIGTERM')).toBe(0);
    expect(emulator.stderr()).toBe('');
  }, 180_000);
});
