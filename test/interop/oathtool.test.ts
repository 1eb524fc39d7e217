/**
 * Debian's oathtool as an independent referee: the codes a real emulator process shows must be
 * the codes oath-toolkit computes for the same seed, with the firmware core on V8 and as the
 * firmware bundle inside QuickJS-NG. Skipped with a message where oathtool is missing; in CI
 * (CI=true) a missing oathtool is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connectToken, enroll, wipe, type ConnectedToken } from '../../host/bridge/operations.ts';
import { DebugClient } from '../../host/bridge/debug-link.ts';
import { ENGINE_RUNS } from '../support/engines.ts';
import { reportMissingPackage } from '../support/required-package.ts';
import { startEmulatorProcess, tempDir, toolAvailable, type EmulatorProcess } from '../support/processes.ts';

const HAVE_OATHTOOL = toolAvailable('oathtool');

reportMissingPackage(HAVE_OATHTOOL ? '' : 'oathtool is not installed (apt-get install oathtool)', 'oathtool is installed', 'the interop test against oath-toolkit is skipped');

describe.skipIf(!HAVE_OATHTOOL).each(ENGINE_RUNS)('the emulated token on $engine agrees with oathtool', ({ args }) => {
  const dir = tempDir('oath');
  let emulator: EmulatorProcess;
  let token: ConnectedToken;
  let debug: DebugClient;

  beforeAll(async () => {
    emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run'), args: [...args] });
    token = await connectToken(emulator.port);
    debug = await DebugClient.connect(emulator.debug);
  });
  afterAll(async () => {
    debug?.close();
    await token?.close();
    await emulator?.stop('SIGKILL');
  });

  /** Presses once through the debug link and returns the code pushed over the pty and the one on the display. */
  async function press(): Promise<{ event: string; display: string }> {
    const event = new Promise<string>((resolve) => {
      const stop = token.session.onEvent((e) => {
        if (e.name !== 'press') return;
        stop();
        resolve(e.fields.code);
      });
    });
    const result = await debug.call('press');
    await debug.call('advance', { ms: 31_000 });
    return { event: await event, display: String(result.display).trim() };
  }

  it('HOTP SHA-1, counters 0..99, a random seed', async () => {
    const seed = randomBytes(20);
    await enroll(token.session, { secret: new Uint8Array(seed), mode: 'hotp', algorithm: 'sha1', digits: 6 });
    const expected = execFileSync('oathtool', ['--hotp', '--counter=0', '--window=99', seed.toString('hex')], { encoding: 'utf8' }).trim().split('\n');
    expect(expected).toHaveLength(100);
    const shown: string[] = [];
    for (let counter = 0; counter < 100; counter++) {
      const { event, display } = await press();
      expect(display).toBe(event);
      shown.push(display);
    }
    expect(shown).toEqual(expected);
  });

  it('TOTP SHA-256, 8 digits, 60 s steps, at the token clock', async () => {
    await wipe(token.session, () => void debug.call('hold'));
    const seed = randomBytes(32);
    await enroll(token.session, { secret: new Uint8Array(seed), mode: 'totp', algorithm: 'sha256', digits: 8, period: 60 });
    for (const at of [1_700_000_000_000, 1_800_000_030_000, 2_000_000_000_000]) {
      await token.session.request('settime', { at, force: true });
      const { event } = await press();
      const { clock } = await token.session.request('time', {});
      // The press itself takes a moment of token time; both readings lie in the same 60 s step here.
      const pressedAt = Math.floor((clock - 31_000) / 1000);
      const expected = execFileSync('oathtool', ['--totp=sha256', '--digits=8', '--time-step-size=60s', `--now=@${pressedAt}`, seed.toString('hex')], {
        encoding: 'utf8',
      }).trim();
      expect(event).toBe(expected);
    }
  });
});
