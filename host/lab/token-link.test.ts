/**
 * The lab's line to a token's debug link, against a real in-process emulator enrolled with a known
 * seed: presses show the RFC 4226 codes (node:crypto reference), the segments spell them, the link
 * comes back after the emulator restarts, and every failure is a coded CodedError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../device/targets/emulator/emulator.ts';
import { debugCall } from '../bridge/debug-link.ts';
import { connectToken, enroll } from '../bridge/operations.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { tempDir } from '../../test/support/processes.ts';
import { TokenLink } from './token-link.ts';

/** The common 7-segment digits, bits 0..6 = segments a..g, written out here rather than taken from the firmware's font. */
const DIGIT_SEGMENTS: Readonly<Record<string, string>> = {
  '0': 'abcdef', '1': 'bc', '2': 'abdeg', '3': 'abcdg', '4': 'bcfg',
  '5': 'acdfg', '6': 'acdefg', '7': 'abc', '8': 'abcdefg', '9': 'abcdfg',
};
const patternOf = (digit: string) => [...DIGIT_SEGMENTS[digit]!].reduce((bits, segment) => bits | (1 << (segment.charCodeAt(0) - 97)), 0);

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<CodedError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(CodedError);
  expect(error).toMatchObject({ status, code });
  return error as CodedError;
}

describe('TokenLink against an emulated token', () => {
  const dir = tempDir('toklink');
  const seed = new Uint8Array(randomBytes(20));
  const options = { profileDir: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') };
  let emulator: RunningEmulator;
  let link: TokenLink;
  let counter = 0;

  beforeAll(async () => {
    emulator = await startEmulator(options);
    const bridge = await connectToken(emulator.port);
    try {
      await enroll(bridge.session, { secret: seed, mode: 'hotp', algorithm: 'sha1', digits: 6 });
    } finally {
      await bridge.close();
    }
    link = new TokenLink(emulator.debug);
  });
  afterAll(async () => {
    link?.close();
    await emulator?.close();
  });

  /** Lets the shown code time out, so the next press makes a new one. */
  const letCodeExpire = () => debugCall(emulator.debug, 'advance', { ms: 31_000 });

  it('a press shows the next HOTP code, and the segments spell it', async () => {
    const face = await link.press();
    expect(face.on).toBe(true);
    expect(face.display).toBe(referenceHotp(seed, counter++));
    const digits = face.segments.filter((pattern) => pattern !== 0);
    expect(digits).toEqual([...face.display].map(patternOf));
    expect(await link.read()).toEqual(face);
    await letCodeExpire();
    expect((await link.read()).display).not.toBe(face.display);
  });

  it('presses while a code is shown keep showing it; the next code comes after it expires', async () => {
    const first = await link.press();
    const again = await link.press();
    expect(again.display).toBe(first.display);
    expect(first.display).toBe(referenceHotp(seed, counter++));
    await letCodeExpire();
    expect((await link.press()).display).toBe(referenceHotp(seed, counter++));
    await letCodeExpire();
  });

  it('opens a new connection after the emulator restarts on the same socket', async () => {
    expect((await link.read()).on).toBe(true);
    const socket = emulator.debug;
    await emulator.close();
    emulator = await startEmulator(options);
    expect(emulator.debug).toBe(socket);
    expect((await link.press()).display).toBe(referenceHotp(seed, counter++));
    await letCodeExpire();
  });

  it("passes the token's own refusal on: a powered-off token", async () => {
    await debugCall(emulator.debug, 'power-cut', { offMs: 3_600_000 });
    try {
      await expectApiError(link.press(), 409, 'NV_DEBUG_POWERED_OFF');
      expect((await link.read()).on).toBe(false);
    } finally {
      await debugCall(emulator.debug, 'power-on');
    }
    expect((await link.read()).on).toBe(true);
  });
});

describe('TokenLink failures', () => {
  const dir = tempDir('toklink-bad');

  it('no emulator at the address: NV_LAB_TOKEN_UNREACHABLE, naming the address', async () => {
    const address = path.join(dir, 'nobody.sock');
    const link = new TokenLink(address);
    const error = await expectApiError(link.press(), 502, 'NV_LAB_TOKEN_UNREACHABLE');
    expect(error.message).toContain(address);
    await expectApiError(link.read(), 502, 'NV_LAB_TOKEN_UNREACHABLE');
  });

  it('a link that never answers: NV_LAB_TOKEN_TIMEOUT, then a fresh connection is tried', async () => {
    const address = path.join(dir, 'silent.sock');
    let connections = 0;
    const silent = net.createServer((socket) => {
      connections++;
      socket.on('error', () => {});
      socket.resume(); // reads and ignores, so the socket sees the lab's side close
    });
    await new Promise<void>((resolve) => silent.listen(address, resolve));
    const link = new TokenLink(address, { timeoutMs: 200 });
    try {
      await expectApiError(link.press(), 504, 'NV_LAB_TOKEN_TIMEOUT');
      await expectApiError(link.read(), 504, 'NV_LAB_TOKEN_TIMEOUT');
      expect(connections).toBe(2);
    } finally {
      link.close();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      fs.rmSync(address, { force: true });
    }
  });

  it('an answer without a display: NV_LAB_TOKEN_ANSWER', async () => {
    const address = path.join(dir, 'odd.sock');
    const odd = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.setEncoding('utf8');
      socket.on('data', (line: string) => {
        const { id } = JSON.parse(line.trim()) as { id: number };
        socket.write(JSON.stringify({ id, ok: true, result: { display: 42 } }) + '\n');
      });
    });
    await new Promise<void>((resolve) => odd.listen(address, resolve));
    const link = new TokenLink(address);
    try {
      await expectApiError(link.read(), 502, 'NV_LAB_TOKEN_ANSWER');
    } finally {
      link.close();
      await new Promise<void>((resolve) => odd.close(() => resolve()));
    }
  });
});
