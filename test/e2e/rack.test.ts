/**
 * A rack: `noegleviser device emulate --count N` runs N tokens in one process, each with its own
 * serial number, pty, HID port, flash image (a profile subfolder), debug link and announcement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { connectToken, readInfo } from '../../host/bridge/operations.ts';
import { pressNewCodes } from '../support/debug-presses.ts';
import { cli, tempDir } from '../support/processes.ts';
import { startRackProcess, type RackProcess, type RackToken } from '../support/rack-process.ts';

const COUNT = 20;
const SEED_HEX = '3132333435363738393031323334353637383930';

async function info(port: string) {
  const token = await connectToken(port);
  try {
    return await readInfo(token.session);
  } finally {
    await token.close();
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether this UDP port on loopback is free again (nothing is bound to it). */
function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

describe(`a rack of ${COUNT} emulated tokens in one process`, () => {
  const dir = tempDir('rack');
  const runtimeDir = path.join(dir, 'run');
  const profile = path.join(dir, 'rack');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  let rack: RackProcess;
  let tokens: RackToken[];
  const others: RackProcess[] = [];

  beforeAll(async () => {
    rack = await startRackProcess({ profile, runtimeDir, count: COUNT });
    tokens = rack.tokens;
  });
  afterAll(async () => {
    await rack?.stop('SIGKILL');
    for (const other of others) await other.stop('SIGKILL');
  });

  it('prints one ready line listing every token, each with its own serial number, pty, HID port, debug link and profile', () => {
    expect(rack.ready).toMatchObject({ event: 'ready', count: COUNT, pid: rack.child.pid });
    expect(Object.keys(rack.ready).sort()).toEqual(['count', 'event', 'pid', 'tokens']);
    expect(tokens).toHaveLength(COUNT);
    for (const [i, token] of tokens.entries()) {
      expect(Object.keys(token).sort()).toEqual(['debug', 'hid', 'port', 'profile', 'serial']);
      expect(token.port).toMatch(/^\/dev\/pts\/\d+$/);
      expect(token.hid).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
      expect(token.serial).toMatch(/^[1-9]\d{7}$/);
      expect(token.profile).toBe(path.join(profile, `token-${String(i + 1).padStart(3, '0')}`));
      expect(fs.existsSync(path.join(token.profile, 'flash.bin'))).toBe(true);
    }
    for (const key of ['port', 'hid', 'debug', 'serial', 'profile'] as const) {
      expect(new Set(tokens.map((token) => token[key])).size, `distinct ${key}s`).toBe(COUNT);
    }
    expect(rack.stdout().trim().split('\n')).toHaveLength(1);
  });

  it('`list --json` shows all of them, each with its HID address and debug link', async () => {
    const listed = await cli(['list', '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const emulators = (JSON.parse(listed.stdout) as { ports: { kind: string; port: string; hid?: string; serial?: string; debug?: string }[] }).ports.filter(
      (p) => p.kind === 'emulator',
    );
    expect(emulators).toHaveLength(COUNT);
    for (const token of tokens) {
      expect(emulators).toContainEqual(expect.objectContaining({ port: token.port, hid: `hid+${token.hid}`, serial: token.serial, debug: token.debug }));
    }
  });

  it('each token answers for itself, over its serial port and over its HID port', async () => {
    for (const i of [0, 7, COUNT - 1]) {
      const result = await cli(['info', '--port', tokens[i]!.port, '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ serial: tokens[i]!.serial, enrolled: false, hardware: 'emulator' });
    }
    for (const i of [1, 11, COUNT - 2]) {
      const result = await cli(['info', '--port', `hid+${tokens[i]!.hid}`, '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ serial: tokens[i]!.serial, enrolled: false });
    }
    // …and all of them at once, from one host process.
    const infos = await Promise.all(tokens.map((token, i) => info(i % 2 ? `hid+${token.hid}` : token.port)));
    expect(infos.map((i) => i.serial)).toEqual(tokens.map((token) => token.serial));
  });

  it("pressing one token's button (its debug link) moves only that token's counter", async () => {
    const [a, b] = [tokens[3]!, tokens[4]!];
    for (const token of [a, b]) {
      const enrolled = await cli(['enroll', '--port', token.port, '--seed', SEED_HEX, '--token-only', '--json'], { env });
      expect(enrolled.code, enrolled.stderr).toBe(0);
    }
    const { display } = await debugCall(a.debug, 'press');
    expect(String(display).trim()).toBe('755224');
    expect(await info(a.port)).toMatchObject({ serial: a.serial, enrolled: true, counter: 1 });
    expect(await info(b.port)).toMatchObject({ serial: b.serial, enrolled: true, counter: 0 });
    expect(String((await debugCall(b.debug, 'display')).display).trim()).not.toMatch(/^\d{6}$/);
    const state = await debugCall(tokens[5]!.debug, 'state');
    expect(state).toMatchObject({ serial: tokens[5]!.serial, port: tokens[5]!.port });
  });

  it('device commands pick a token by --serial; several running and none chosen is a coded error that names them', async () => {
    const chosen = tokens[6]!;
    const state = await cli(['device', 'state', '--serial', chosen.serial], { env });
    expect(state.code, state.stderr).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ serial: chosen.serial, port: chosen.port });
    // An unenrolled token says so when pressed; the one beside it stays dark.
    const pressed = await cli(['device', 'press', '--serial', tokens[8]!.serial], { env });
    expect(pressed.code, pressed.stderr).toBe(0);
    expect(pressed.stdout.trim()).toBe('no 5EEd');
    expect(String((await debugCall(tokens[8]!.debug, 'display')).display).trim()).toBe('no 5EEd');
    expect(String((await debugCall(tokens[9]!.debug, 'display')).display).trim()).toBe('');

    const unchosen = await cli(['device', 'press'], { env });
    expect(unchosen.code).toBe(1);
    expect(unchosen.stdout).toBe('');
    expect(unchosen.stderr).toMatch(/^noegleviser: 20 emulators are running: .+; choose one with --serial \[NV_SEVERAL_EMULATORS\]\n$/);
    const sorted = tokens.map((token) => token.serial).sort();
    for (const serial of sorted.slice(0, 8)) expect(unchosen.stderr).toContain(`${serial} (pid ${rack.child.pid})`);
    expect(unchosen.stderr).toContain('and 12 more');

    const unknown = await cli(['device', 'display', '--serial', '49999999'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^noegleviser: no running emulator has serial number 49999999; running: .+ \[NV_NO_SUCH_EMULATOR\]\n$/);
    for (const args of [['--serial', chosen.serial, '--debug', chosen.debug], ['--serial', '123']]) {
      const refused = await cli(['device', 'display', ...args], { env });
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(/^noegleviser: .+ \[NV_BAD_ARGUMENT\]\n$/);
    }
  });

  it('SIGTERM closes every token cleanly: announcements, debug sockets, HID ports and profile locks go; a restart brings back the same serial numbers', async () => {
    expect(await rack.stop('SIGTERM')).toBe(0);
    expect(rack.stderr()).toBe('');
    const left = fs.existsSync(runtimeDir) ? fs.readdirSync(runtimeDir) : [];
    expect(left.filter((name) => name.startsWith('emulator-') || name.startsWith('debug-'))).toEqual([]);
    for (const token of tokens) {
      expect(await canConnect(token.debug)).toBe(false);
      expect(await udpPortFree(Number(new URL(token.hid).port))).toBe(true);
      expect(fs.existsSync(path.join(token.profile, 'emulator.lock'))).toBe(false);
    }
    const listed = await cli(['list', '--json'], { env });
    expect((JSON.parse(listed.stdout) as { ports: { kind: string }[] }).ports.filter((p) => p.kind === 'emulator')).toEqual([]);

    const again = await startRackProcess({ profile, runtimeDir, count: COUNT });
    others.push(again);
    expect(again.tokens.map((token) => token.serial)).toEqual(tokens.map((token) => token.serial));
    expect(again.tokens.map((token) => token.profile)).toEqual(tokens.map((token) => token.profile));
    // The flash came back too: the pressed token still counts from where it was.
    expect(await info(again.tokens[3]!.port)).toMatchObject({ enrolled: true, counter: 1 });
    expect(await info(again.tokens[0]!.port)).toMatchObject({ enrolled: false });
    expect(await again.stop('SIGINT')).toBe(0);
  });

  it('--serial FIRST numbers new tokens consecutively; a profile already in use is refused and nothing is left running', async () => {
    const numbered = await startRackProcess({ profile: path.join(dir, 'numbered'), runtimeDir, count: 3, args: ['--serial', '41000001'] });
    others.push(numbered);
    expect(numbered.tokens.map((token) => token.serial)).toEqual(['41000001', '41000002', '41000003']);

    // A second rack over the same folder: token-001 is locked by the first, so it starts none.
    const clash = await startRackProcess({ profile: path.join(dir, 'numbered'), runtimeDir, count: 5 }).catch((error: Error) => error);
    expect(clash).toBeInstanceOf(Error);
    expect(String(clash)).toMatch(/NV_PROFILE_BUSY/);
    expect(fs.existsSync(path.join(dir, 'numbered', 'token-005', 'emulator.lock'))).toBe(false);
    const listed = await cli(['list', '--json'], { env });
    expect((JSON.parse(listed.stdout) as { ports: { kind: string; serial?: string }[] }).ports.filter((p) => p.kind === 'emulator').map((p) => p.serial)).toEqual([
      '41000001',
      '41000002',
      '41000003',
    ]);
    expect(await numbered.stop()).toBe(0);
  });

  it('bad counts and serial ranges are usage errors', async () => {
    for (const args of [['--count', '0'], ['--count', '1001'], ['--count', 'x'], ['--count', '5', '--serial', '99999998']]) {
      const result = await cli(['device', 'emulate', '--headless', '--profile', path.join(dir, 'bad'), ...args], { env });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/\[NV_BAD_ARGUMENT\]\n$/);
    }
  });
});

describe('a rack in which one token is pressed with nobody reading its serial port', () => {
  const dir = tempDir('rack-unread');
  const runtimeDir = path.join(dir, 'run');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  let rack: RackProcess | undefined;

  afterAll(async () => {
    await rack?.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('freezes none of its tokens: both still answer over their ptys and debug links, and SIGTERM ends the rack', async () => {
    rack = await startRackProcess({ profile: path.join(dir, 'rack'), runtimeDir, count: 2 });
    const [pressed, other] = rack.tokens as [RackToken, RackToken];
    const enrolled = await cli(['enroll', '--port', pressed.port, '--seed', SEED_HEX, '--token-only'], { env });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    // Far more press events than a pty holds (a frozen emulator stopped at about 450).
    await pressNewCodes(pressed.debug, 1500);

    expect(await info(other.port)).toMatchObject({ serial: other.serial, enrolled: false });
    expect(await debugCall(other.debug, 'state')).toMatchObject({ serial: other.serial, powered: true });
    expect(await info(pressed.port)).toMatchObject({ serial: pressed.serial, counter: 1500 });
    expect(Number((await debugCall(pressed.debug, 'state')).droppedOutputBytes)).toBeGreaterThan(0);
    expect(await rack.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
