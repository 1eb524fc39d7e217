/**
 * Choosing a token the way ykman users expect, through the real CLI against real emulator
 * processes (one alone, and a rack of two beside another): no --port when one token is attached,
 * --serial among several, `list` by process; questions before a wipe and a batch enrolment (on a
 * real terminal), refused without one; and a clock a few milliseconds ahead set without --force.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { connectToken } from '../../host/bridge/operations.ts';
import { api, cli, startEmulatorProcess, startServerProcess, tempDir, type CliResult, type EmulatorProcess, type ServerProcess } from '../support/processes.ts';
import { startRackProcess, type RackProcess } from '../support/rack-process.ts';
import { onTerminal, type Terminal } from '../support/terminal.ts';

const SEED_HEX = '3132333435363738393031323334353637383930';

function expectOneLineError(result: CliResult, code: string, exitCode: number): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
}

describe('choosing a token', () => {
  const dir = tempDir('choice');
  /** A runtime folder with one emulator, and one with three tokens in two processes. */
  const runOne = path.join(dir, 'run-one');
  const runMany = path.join(dir, 'run-many');
  let alone: EmulatorProcess;
  let other: EmulatorProcess;
  let rack: RackProcess;
  let server: ServerProcess;
  /** No server and no config file of the user's. */
  const one = { NOEGLEVISER_RUNTIME_DIR: runOne, XDG_CONFIG_HOME: path.join(dir, 'config') };
  const many = { NOEGLEVISER_RUNTIME_DIR: runMany, XDG_CONFIG_HOME: path.join(dir, 'config') };
  const terminals: Terminal[] = [];
  const terminalFor = (args: string[], env: NodeJS.ProcessEnv) => {
    const terminal = onTerminal(args, env);
    terminals.push(terminal);
    return terminal;
  };

  beforeAll(async () => {
    [alone, other, rack, server] = await Promise.all([
      startEmulatorProcess({ profile: path.join(dir, 'alone'), runtimeDir: runOne }),
      startEmulatorProcess({ profile: path.join(dir, 'other'), runtimeDir: runMany }),
      startRackProcess({ profile: path.join(dir, 'rack'), runtimeDir: runMany, count: 2 }),
      startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet'] }),
    ]);
  });
  afterEach(async () => {
    await Promise.all(terminals.splice(0).map((terminal) => terminal.stop('SIGKILL')));
  });
  afterAll(async () => {
    await Promise.all([alone?.stop('SIGKILL'), other?.stop('SIGKILL'), rack?.stop('SIGKILL'), server?.stop('SIGKILL')]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const enrolled = async (env: NodeJS.ProcessEnv, port: string) => JSON.parse((await cli(['info', '--port', port, '--json'], { env })).stdout).enrolled as boolean;

  it('with one token attached, a bridge command needs no --port', async () => {
    const result = await cli(['info', '--json'], { env: one });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).serial).toBe(alone.serial);
  });

  it('with several, --serial picks one; none chosen is a usage error naming each; a serial nobody has is NV_NO_SUCH_TOKEN', async () => {
    const serials = [other.serial, ...rack.tokens.map((t) => t.serial)];
    const unchosen = await cli(['info'], { env: many });
    expectOneLineError(unchosen, 'NV_SEVERAL_TOKENS', 2);
    for (const serial of serials) expect(unchosen.stderr).toContain(serial);
    expect(unchosen.stderr).toContain('--serial');

    const picked = await cli(['info', '--serial', rack.tokens[1]!.serial, '--json'], { env: many });
    expect(picked.code, picked.stderr).toBe(0);
    expect(JSON.parse(picked.stdout).serial).toBe(rack.tokens[1]!.serial);

    expectOneLineError(await cli(['info', '--serial', '99999999'], { env: many }), 'NV_NO_SUCH_TOKEN', 1);
  });

  it('list says which emulators belong to which process, and which run in a rack', async () => {
    const json = await cli(['list', '--json'], { env: many });
    expect(json.code, json.stderr).toBe(0);
    const emulators = (JSON.parse(json.stdout).ports as { kind: string; serial: string; pid: number; rackSize: number }[]).filter((p) => p.kind === 'emulator');
    expect(emulators).toHaveLength(3);
    expect(emulators.find((e) => e.serial === other.serial)).toMatchObject({ pid: other.pid, rackSize: 1 });
    for (const token of rack.tokens) expect(emulators.find((e) => e.serial === token.serial)).toMatchObject({ pid: rack.ready.pid, rackSize: 2 });

    const text = (await cli(['list'], { env: many })).stdout;
    const rackBlock = new RegExp(`^emulator process ${rack.ready.pid}, a rack of 2 tokens:\\n(  \\d+ .*\\n){2}`, 'm').exec(text)?.[0] ?? '';
    for (const token of rack.tokens) expect(rackBlock, text).toContain(token.serial);
    expect(text).toMatch(new RegExp(`^emulator process ${other.pid}:\\n  ${other.serial} `, 'm'));
  });

  it('wipe asks first: refused without a terminal or --force before the token is touched; on a terminal "n" keeps the seed, "y" wipes after the hold', async () => {
    expect((await cli(['enroll', '--port', alone.port, '--seed', SEED_HEX], { env: one })).code).toBe(0);

    expectOneLineError(await cli(['wipe'], { env: one }), 'NV_NOT_CONFIRMED', 2);
    expect(await enrolled(one, alone.port)).toBe(true);

    const declined = terminalFor(['wipe'], one);
    await declined.waitFor('[y/N]');
    expect(declined.output()).toContain(`erase the seed of token ${alone.serial}?`);
    declined.answer('n');
    const no = await declined.exited;
    expect(no.code, no.output).toBe(1);
    expect(no.output).toContain('[NV_DECLINED]');
    expect(await enrolled(one, alone.port)).toBe(true);

    const accepted = terminalFor(['wipe'], one);
    await accepted.waitFor('[y/N]');
    accepted.answer('y');
    await accepted.waitFor('hold the button');
    await debugCall(alone.debug, 'hold');
    const yes = await accepted.exited;
    expect(yes.code, yes.output).toBe(0);
    expect(yes.output).toContain(`token ${alone.serial} wiped`);
    expect(await enrolled(one, alone.port)).toBe(false);
  });

  it('enroll --all shows the tokens it found and asks; refused without a terminal or --yes; "n" enrols nothing, "y" all', async () => {
    const env = { ...many, NOEGLEVISER_SERVER: server.url, NOEGLEVISER_ADMIN_KEY: server.adminKey };
    const records = async () => ((await api(server, 'GET', '/v1/tokens', { key: server.adminKey })).body.tokens as { serial: string }[]).map((t) => t.serial).sort();

    expectOneLineError(await cli(['enroll', '--all'], { env }), 'NV_NOT_CONFIRMED', 2);

    const declined = terminalFor(['enroll', '--all'], env);
    await declined.waitFor('[y/N]');
    const shown = declined.output();
    expect(shown).toContain('3 tokens to enrol');
    for (const serial of [other.serial, ...rack.tokens.map((t) => t.serial)]) expect(shown).toContain(serial);
    declined.answer('n');
    expect((await declined.exited).code).toBe(1);
    expect(await records()).toEqual([]);

    const accepted = terminalFor(['enroll', '--all'], env);
    await accepted.waitFor('[y/N]');
    accepted.answer('y');
    const yes = await accepted.exited;
    expect(yes.code, yes.output).toBe(0);
    expect(await records()).toEqual([other.serial, ...rack.tokens.map((t) => t.serial)].sort());
  });

  it('time sync sets a clock a few milliseconds ahead without --force; seconds ahead is refused with how far and the flag that sets it back', async () => {
    const skew = async (aheadMs: number) => {
      const token = await connectToken(alone.hid);
      try {
        await token.session.request('settime', { at: Date.now() + aheadMs, force: true });
      } finally {
        await token.close();
      }
    };
    for (const aheadMs of [2, 80]) {
      await skew(aheadMs);
      const synced = await cli(['time', 'sync', '--json'], { env: one });
      expect(synced.code, `${aheadMs} ms ahead: ${synced.stderr}`).toBe(0);
      const sync = JSON.parse(synced.stdout);
      expect(sync.offsetBeforeMs).toBeGreaterThan(-50);
      expect(Math.abs(sync.offsetAfterMs)).toBeLessThan(250);
    }
    await skew(5_000);
    const refused = await cli(['time', 'sync'], { env: one });
    expectOneLineError(refused, 'NV_CLOCK_AHEAD', 1);
    expect(refused.stderr).toMatch(/clock is [45]\.\d{3} s ahead of this host's.*--force sets it back/);
    expect((await cli(['time', 'sync', '--force'], { env: one })).code).toBe(0);
  });
});
