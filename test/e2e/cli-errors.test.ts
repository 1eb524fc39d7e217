/** Bad command lines get one line on stderr with a stable code, a non-zero exit, and no stack trace. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { cli, startEmulatorProcess, tempDir, toolAvailable, type CliResult, type EmulatorProcess } from '../support/processes.ts';

const require = createRequire(import.meta.url);

function expectOneLineError(result: CliResult, code: string, exitCode = 1): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input to the CLI', () => {
  const dir = tempDir('cli');
  const env = { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run') };
  let emulator: EmulatorProcess;
  /** A pty nobody answers on: a port that is not a token. */
  let silent: { pty: string; master: number; slave: number };

  beforeAll(async () => {
    emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir: env.NOEGLEVISER_RUNTIME_DIR });
    silent = (require('node-pty') as { native: { open(c: number, r: number): typeof silent } }).native.open(80, 24);
  });
  afterAll(async () => {
    await emulator?.stop('SIGKILL');
    if (silent) for (const fd of [silent.master, silent.slave]) fs.closeSync(fd);
  });

  it('no --port and no token attached', async () => expectOneLineError(await cli(['info'], { env: { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'empty-run') } }), 'NV_NO_TOKENS'));
  it('an unknown command', async () => expectOneLineError(await cli(['frobnicate'], { env }), 'NV_USAGE', 2));
  it('a port that does not exist', async () => expectOneLineError(await cli(['info', '--port', '/dev/ttyNOPE9'], { env }), 'NV_PORT_OPEN'));
  it('a file that is not a serial port', async () => expectOneLineError(await cli(['info', '--port', '/dev/null'], { env }), 'NV_PORT_OPEN'));

  it('a port on which nothing answers like a token', async () => {
    const started = Date.now();
    expectOneLineError(await cli(['info', '--port', silent.pty], { env }), 'NV_NOT_A_TOKEN');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('malformed seeds, refused before the token is touched and never echoed', async () => {
    const secretish = 'zz11223344556677889900aabbccddeeff';
    const bad = await cli(['enroll', '--port', emulator.port, '--seed', secretish], { env });
    expectOneLineError(bad, 'NV_BAD_SEED', 2);
    expect(bad.stderr).not.toContain(secretish);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, '--seed', 'abc'], { env }), 'NV_BAD_SEED', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, '--seed', 'ab'.repeat(65)], { env }), 'NV_BAD_SEED', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, '--seed', 'abcd'], { env }), 'NV_SHORT_SEED', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, '--seed-file', path.join(dir, 'missing')], { env }), 'NV_BAD_SEED', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, '--seed-file', '-', '--seed-format', 'base32'], { env, input: '0189!!' }), 'NV_BAD_SEED', 2);
    const info = JSON.parse((await cli(['info', '--port', emulator.port, '--json'], { env })).stdout);
    expect(info.enrolled).toBe(false);
  });

  it('contradictory or out-of-range enrolment options', async () => {
    const seed = ['--seed', 'ab'.repeat(20)];
    expectOneLineError(await cli(['enroll', '--port', emulator.port, ...seed, '--generate'], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, ...seed, '--digits', '9'], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, ...seed, '--algorithm', 'md5'], { env }), 'NV_USAGE', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, ...seed, '--period', '30'], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['enroll', '--port', emulator.port, ...seed, '--hotp', '--totp'], { env }), 'NV_USAGE', 2);
  });

  it('debug-link commands: an address with no emulator, a bad duration', async () => {
    expectOneLineError(await cli(['device', 'press', '--debug', path.join(dir, 'nothing.sock')], { env }), 'NV_DEBUG_UNREACHABLE');
    expectOneLineError(await cli(['device', 'advance', 'banana', '--debug', emulator.debug], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['device', 'battery', '150', '--debug', emulator.debug], { env }), 'NV_BAD_ARGUMENT', 2);
  });

  it('a second emulator on a profile in use', async () => {
    const result = await cli(['device', 'emulate', '--headless', '--profile', path.join(dir, 'token')], { env, timeoutMs: 15_000 });
    expectOneLineError(result, 'NV_PROFILE_BUSY');
  });

  it('speaker settings out of range', async () => {
    expectOneLineError(await cli(['audio', '--port', emulator.port, '--volume', '6'], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['audio', '--port', emulator.port, '--speed', '0'], { env }), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await cli(['audio', '--port', emulator.port, '--speed', 'fast'], { env }), 'NV_BAD_ARGUMENT', 2);
  });

  it('an emulator with speech output it cannot have, a voice or model there is not', async () => {
    const emulate = (...args: string[]) => cli(['device', 'emulate', '--headless', '--profile', path.join(dir, 'speaker'), ...args], { env, timeoutMs: 15_000 });
    expectOneLineError(await emulate('--count', '2', '--audio', path.join(dir, 'said.wav')), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await emulate('--audio', ' '), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await emulate('--voice', 'fr'), 'NV_USAGE', 2);
    expectOneLineError(await emulate('--model', 'talking-clock'), 'NV_USAGE', 2);
    // A file in a folder that is not there (checked once espeak-ng is found).
    if (toolAvailable('espeak-ng')) expectOneLineError(await emulate('--audio', path.join(dir, 'no-such-folder', 'said.wav')), 'NV_AUDIO_OUTPUT');
    // None of them made a token.
    expect(fs.existsSync(path.join(dir, 'speaker', 'flash.bin'))).toBe(false);
  });

  it('the token still answers after all of it', async () => {
    const result = await cli(['info', '--port', emulator.port, '--json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).serial).toBe(emulator.serial);
  });
});
