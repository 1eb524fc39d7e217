/**
 * An emulated token on a flash chip that wears out, end to end: the profile describes a tiny chip
 * whose pages survive two erases, the presses come through the debug link until no page takes the
 * counter, and from then on a press shows `Err FL` instead of a code and uses no counter, on each
 * engine. (What the flash holds after a power cycle is shown in device/firmware/token.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { segmentsToText, textToSegments } from '../../device/firmware/segments.ts';
import { MESSAGES } from '../../device/firmware/token.ts';
import { pressNewCodes } from '../support/debug-presses.ts';
import { ENGINE_RUNS } from '../support/engines.ts';
import { cli, startEmulatorProcess, tempDir, type EmulatorProcess } from '../support/processes.ts';

const SEED_HEX = Buffer.from('12345678901234567890').toString('hex');
/** `Err FL` as `device press` and `device display` print it. */
const STORAGE_ERROR_TEXT = segmentsToText(textToSegments(MESSAGES.storageError)).trim();
/** Far more presses than the tiny chip below takes (it wears out after about ninety). */
const PRESSES = 300;

describe.each(ENGINE_RUNS)('an emulated token on $engine whose flash wears out', ({ args }) => {
  const dir = tempDir('worn');
  const runtimeDir = path.join(dir, 'run');
  const profile = path.join(dir, 'token');
  const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir };
  let emulator: EmulatorProcess | undefined;

  afterAll(async () => {
    await emulator?.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows Err FL instead of a code once the counter no longer commits, and counts none of those presses', async () => {
    fs.mkdirSync(profile, { recursive: true, mode: 0o700 });
    const now = Date.now();
    const chip = { format: 1, geometry: { pageSize: 256, pageCount: 4 }, endurance: 2, driftPpm: 0, battery: 100, rtc: { unixMs: now, hostMs: now } };
    fs.writeFileSync(path.join(profile, 'token.json'), JSON.stringify(chip));
    emulator = await startEmulatorProcess({ profile, runtimeDir, args: [...args] });
    const enrolled = await cli(['enroll', '--port', emulator.port, '--seed', SEED_HEX, '--token-only'], { env });
    expect(enrolled.code, enrolled.stderr).toBe(0);

    await pressNewCodes(emulator.debug, PRESSES);
    // `device press` prints what the display shows right after the press (Err FL stays on for 3 s only).
    const pressed = await cli(['device', 'press', '--debug', emulator.debug], { env });
    expect(pressed.code, pressed.stderr).toBe(0);
    expect(pressed.stdout.trim(), 'a press on the worn chip shows no code').toBe(STORAGE_ERROR_TEXT);
    // No refused press used a counter: the token did not count the presses that showed Err FL.
    const info = await cli(['info', '--port', emulator.port, '--json'], { env });
    expect(info.code, info.stderr).toBe(0);
    const { counter } = JSON.parse(info.stdout);
    expect(counter).toBeGreaterThan(10);
    expect(counter).toBeLessThan(PRESSES + 1);
  });
});
