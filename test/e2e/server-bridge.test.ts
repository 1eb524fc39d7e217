/**
 * The bridge against a real server process: the full chain from a press on an emulated token to
 * the server's verdict, enrolment as one operation (and what happens when either half fails),
 * sync, verify and resync from the command line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import {
  api,
  cli,
  cliInBackground,
  startEmulatorProcess,
  startServerProcess,
  startVirtualBoardProcess,
  tempDir,
  type EmulatorProcess,
  type ServerProcess,
} from '../support/processes.ts';
import { startSerialProxy } from '../support/serial-proxy.ts';
import { debugCall } from '../../host/bridge/debug-link.ts';

/** The lab's finger, through the debug link (the CLI's `device press` is tested in emulator.test.ts). */
async function press(token: EmulatorProcess): Promise<string> {
  const { display } = await debugCall(token.debug, 'press');
  await debugCall(token.debug, 'advance', { ms: 31_000 });
  return String(display).trim();
}

const SEED_HEX = '3132333435363738393031323334353637383930';

describe('bridge and server', () => {
  const dir = tempDir('chain');
  const runtimeDir = path.join(dir, 'run');
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  const emulators: EmulatorProcess[] = [];

  async function newToken(name: string): Promise<EmulatorProcess> {
    const emulator = await startEmulatorProcess({ profile: path.join(dir, name), runtimeDir });
    emulators.push(emulator);
    return emulator;
  }

  async function serverRecord(serial: string) {
    return api(server, 'GET', `/v1/tokens/${serial}`, { key: server.adminKey });
  }

  async function tokenInfo(emulator: EmulatorProcess) {
    const result = await cli(['info', '--port', emulator.port, '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  }

  beforeAll(async () => {
    server = await startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet'] });
    env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir, NOEGLEVISER_SERVER: server.url, NOEGLEVISER_ADMIN_KEY: server.adminKey, NOEGLEVISER_CLIENT_KEY: server.clientKey };
  });
  afterAll(async () => {
    for (const emulator of emulators) await emulator.stop('SIGKILL');
    await server?.stop('SIGKILL');
  });

  it.each([
    { transport: 'serial', address: (token: EmulatorProcess) => token.port },
    { transport: 'HID over UDP', address: (token: EmulatorProcess) => token.hid },
  ])('the full chain over $transport: enroll through the bridge, press on the token, `watch` sees the server accept the code', async ({ transport, address }) => {
    const token = await newToken(`chain-${transport.replace(/\W/g, '')}`);
    // The owner is a person of the login service (by NemID number).
    const ordered = await api(server, 'POST', '/v1/people', { key: server.adminKey, body: { name: 'Alice Andersen', birthDate: '1990-01-01', credential: 'card' } });
    const owner = ordered.body.person.nemIdNumber as string;
    const enrolled = await cli(['enroll', '--port', address(token), '--seed-file', '-', '--owner', owner, '--json'], { env, input: SEED_HEX });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(JSON.parse(enrolled.stdout)).toMatchObject({ serial: token.serial, server: server.url, counter: 0 });
    expect((await serverRecord(token.serial)).body.token).toMatchObject({ serial: token.serial, kind: 'hotp', counter: 0, owner, state: 'active' });

    const watching = cliInBackground(['watch', '--port', address(token), '--json'], { env });
    await watching.stderrIncludes('watching token');
    const verdicts: string[] = [];
    for (let i = 0; i < 3; i++) verdicts.push(await press(token));
    await new Promise((resolve) => setTimeout(resolve, 300));
    watching.child.kill('SIGINT');
    const result = await watching.result;
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual(verdicts.map((code, counter) => ({ code, result: 'accepted', serial: token.serial, counter })));
    // The same code once more, from the command line: replayed.
    const replay = await cli(['verify', '--serial', token.serial, verdicts[2]!], { env });
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('rejected: replayed');
  });

  it.each([
    { name: 'MAX7219', display: 'max7219', lcd: undefined, read: (result: Record<string, any>) => String(result.driver.display).trim() },
    { name: 'HD44780 LCD, parallel', display: 'lcd', lcd: 'parallel', read: (result: Record<string, any>) => String(result.driver.lines[0]).trim() },
    { name: 'HD44780 LCD on an I2C backpack', display: 'lcd', lcd: 'i2c', read: (result: Record<string, any>) => String(result.driver.lines[0]).trim() },
  ] as const)(
    'the same chain on the johnny-five target over the virtual board, $name: the digits decoded from the display driver are the code the server accepted',
    async ({ display, lcd, read }) => {
      const board = await startVirtualBoardProcess({ profile: path.join(dir, `board-${display}-${lcd ?? ''}`), runtimeDir, display, lcd });
      emulators.push(board);
      expect((await cli(['info', '--port', board.port, '--json'], { env })).stdout).toContain('"hardware":"johnny-five"');
      const enrolled = await cli(['enroll', '--port', board.port, '--seed', SEED_HEX], { env });
      expect(enrolled.code, enrolled.stderr).toBe(0);
      const watching = cliInBackground(['watch', '--port', board.port, '--json'], { env });
      await watching.stderrIncludes('watching token');
      const driverShown: string[] = [];
      for (let i = 0; i < 2; i++) {
        // The press is a pin pulled low on the virtual board, in real time, through johnny-five's Button.
        driverShown.push(read(await debugCall(board.debug, 'press')));
        await debugCall(board.debug, 'advance', { ms: 31_000 });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      watching.child.kill('SIGINT');
      const verdicts = (await watching.result).stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(verdicts.map((v) => v.result)).toEqual(['accepted', 'accepted']);
      expect(driverShown).toEqual(verdicts.map((v) => v.code));
      expect(driverShown).toEqual(['755224', '287082']);
    },
  );

  it('enroll --allow-short-seed: a seed under 16 bytes reaches the server (which refuses it unasked) and its codes verify', async () => {
    const token = await newToken('short-seed');
    const shortSeed = '3132333435363738'; // 8 bytes
    const refused = await cli(['enroll', '--port', token.port, '--seed-file', '-'], { env, input: shortSeed });
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('NV_SHORT_SEED')]);
    const enrolled = await cli(['enroll', '--port', token.port, '--seed-file', '-', '--allow-short-seed', '--json'], { env, input: shortSeed });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect((await serverRecord(token.serial)).body.token).toMatchObject({ serial: token.serial, state: 'active', counter: 0 });
    const code = await press(token);
    const verified = await cli(['verify', '--serial', token.serial, code], { env });
    expect([verified.code, verified.stdout]).toEqual([0, expect.stringContaining('accepted')]);
  });

  it('half-enrolment: the server unreachable — nothing is written to the token', async () => {
    const token = await newToken('unreachable');
    const result = await cli(['enroll', '--port', token.port, '--seed', SEED_HEX, '--server', 'http://127.0.0.1:9'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/could not be reached.*\[NV_SERVER_UNREACHABLE\]\n$/);
    expect((await tokenInfo(token)).enrolled).toBe(false);
    expect((await serverRecord(token.serial)).status).toBe(404);
  });

  it("half-enrolment: the token's port closes while the seed is on its way — the server record is removed", async () => {
    const token = await newToken('cut');
    const cable = await startSerialProxy(token.port, (line) => line.includes(' enroll '));
    const result = await cli(['enroll', '--port', cable.path, '--seed', SEED_HEX], { env });
    expect(await cable.cut).toContain(' enroll ');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/server record was removed.*\[NV_ENROLL_(ROLLED_BACK|UNCERTAIN)\]\n$/);
    expect((await serverRecord(token.serial)).status).toBe(404);
    expect((await tokenInfo(token)).enrolled).toBe(false);
  });

  it('half-enrolment: the token loses power while writing the seed — it boots without it, and the record is removed', async () => {
    const token = await newToken('power');
    await debugCall(token.debug, 'power-cut', { atOperation: 1, fraction: 0.5 });
    const result = await cli(['enroll', '--port', token.port, '--seed', SEED_HEX], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/restarted before it answered.*neither side holds the seed \[NV_ENROLL_ROLLED_BACK\]\n$/);
    expect((await serverRecord(token.serial)).status).toBe(404);
    expect((await tokenInfo(token)).enrolled).toBe(false);
    // And the token enrols normally afterwards.
    expect((await cli(['enroll', '--port', token.port, '--seed', SEED_HEX], { env })).code).toBe(0);
  });

  it('sync, HOTP: the server counter moves up to the token after offline presses, never down', async () => {
    const token = await newToken('sync-hotp');
    await cli(['enroll', '--port', token.port, '--seed', SEED_HEX], { env });
    for (let i = 0; i < 15; i++) await press(token);
    // 15 presses unseen by the server: the next code lies beyond its window of 10.
    const next = await press(token);
    expect((await cli(['verify', '--serial', token.serial, next], { env })).stdout).toContain('rejected');
    const synced = await cli(['sync', '--port', token.port, '--json'], { env });
    expect(synced.code, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout)).toMatchObject({ tokenCounter: 16, serverCounter: 16, moved: true });
    const after = await press(token);
    expect((await cli(['verify', '--serial', token.serial, after], { env })).stdout).toContain('accepted (counter 16)');
    const again = JSON.parse((await cli(['sync', '--port', token.port, '--json'], { env })).stdout);
    expect(again).toMatchObject({ moved: false, serverCounter: 17 });
  });

  it('sync, TOTP: a token clock 2 minutes fast is set from the host and its learned drift forgotten', async () => {
    const token = await newToken('sync-totp');
    expect((await cli(['enroll', '--port', token.port, '--seed', SEED_HEX, '--totp'], { env })).code).toBe(0);
    await debugCall(token.debug, 'advance', { ms: 120_000 });
    const fast = await press(token);
    expect((await cli(['verify', '--serial', token.serial, fast], { env })).stdout).toContain('rejected');
    const synced = await cli(['sync', '--port', token.port, '--force', '--json'], { env });
    expect(synced.code, synced.stderr).toBe(0);
    const sync = JSON.parse(synced.stdout);
    expect(sync.offsetBeforeMs).toBeGreaterThan(110_000);
    expect(Math.abs(sync.offsetAfterMs)).toBeLessThan(1000);
    expect((await serverRecord(token.serial)).body.token.driftSteps).toBe(0);
    // The clock is right again: ten seconds on (within one step either way, wherever in its step the
    // host clock is), a fresh code verifies (the server allows ±1 step).
    await debugCall(token.debug, 'advance', { ms: 10_000 });
    const code = await press(token);
    expect((await cli(['verify', '--serial', token.serial, code], { env })).stdout).toContain('accepted');
  });

  it('resync from the command line, for a token that is not connected', async () => {
    const token = await newToken('resync');
    await cli(['enroll', '--port', token.port, '--seed', SEED_HEX], { env });
    const codes: string[] = [];
    for (let i = 0; i < 14; i++) codes.push(await press(token));
    await token.stop('SIGTERM');
    expect((await cli(['resync', '--serial', token.serial, codes[12]!, codes[11]!], { env })).code).toBe(1);
    const result = await cli(['resync', '--serial', token.serial, codes[11]!, codes[12]!, '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ result: 'resynced', counter: 13 });
    expect((await cli(['verify', '--serial', token.serial, codes[13]!], { env })).stdout).toContain('accepted (counter 13)');
  });

  it('resync, TOTP: a token whose clock runs 2 minutes fast is recovered by two consecutive codes, then verifies normally', async () => {
    const token = await newToken('resync-totp');
    expect((await cli(['enroll', '--port', token.port, '--seed', SEED_HEX, '--totp'], { env })).code).toBe(0);
    // Two minutes fast, and in the middle of a 30-second step, so that the next press 30 s on is in the
    // very next step however long the verification between them takes (a loaded machine: seconds).
    const { clock } = await debugCall(token.debug, 'advance', { ms: 120_000 });
    await debugCall(token.debug, 'advance', { ms: (45_000 - (clock % 30_000)) % 30_000 });
    const first = String((await debugCall(token.debug, 'press')).display).trim();
    expect((await cli(['verify', '--serial', token.serial, first], { env })).stdout).toContain('rejected');
    await debugCall(token.debug, 'advance', { ms: 30_000 });
    const second = String((await debugCall(token.debug, 'press')).display).trim();
    const resynced = await cli(['resync', '--serial', token.serial, first, second, '--json'], { env });
    expect(resynced.code, resynced.stderr).toBe(0);
    // The pair lies 4 and 5 steps ahead of the server's clock (give or take the step the host is in).
    expect(JSON.parse(resynced.stdout).driftSteps).toBeGreaterThanOrEqual(4);
    await debugCall(token.debug, 'advance', { ms: 30_000 });
    const next = String((await debugCall(token.debug, 'press')).display).trim();
    expect((await cli(['verify', '--serial', token.serial, next], { env })).stdout).toContain('accepted');
  });
});
