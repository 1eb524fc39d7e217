/**
 * Batch enrolment: `noegleviser enroll --all` against a rack of emulated tokens and a real server
 * process. Every token gets a seed of its own, on the token and on the server and nowhere else;
 * a second run finds them all enrolled; a token that cannot be reached fails alone, with its code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { debugCall } from '../../host/bridge/debug-link.ts';
import { connectToken, readInfo } from '../../host/bridge/operations.ts';
import { ROOT, api, cli, startServerProcess, tempDir, toolAvailable, type CliResult, type ServerProcess } from '../support/processes.ts';
import { startRackProcess, type RackProcess, type RackToken } from '../support/rack-process.ts';

const COUNT = 30;

interface Summary {
  enrolled: string[];
  alreadyEnrolled: string[];
  failed: { port: string; serial?: string; code: string; message: string }[];
}

async function info(port: string) {
  const token = await connectToken(port);
  try {
    return await readInfo(token.session);
  } finally {
    await token.close();
  }
}

/** A seed as it would be printed: hex of 20 bytes or more, or base32 of 32 characters or more. */
function expectNoSeed(text: string): void {
  expect(text).not.toMatch(/[0-9a-fA-F]{40}/);
  expect(text).not.toMatch(/[A-Z2-7]{32}/);
  expect(text).not.toMatch(/otpauth:/);
}

describe('enroll --all: a batch of tokens, each with its own generated seed, registered with the server', () => {
  const dir = tempDir('batch');
  const runtimeDir = path.join(dir, 'run');
  let server: ServerProcess;
  let rack: RackProcess;
  let env: NodeJS.ProcessEnv;
  const outputs: CliResult[] = [];
  const racks: RackProcess[] = [];

  async function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
    const result = await cli(args, { env: { ...env, ...extraEnv }, timeoutMs });
    outputs.push(result);
    return result;
  }

  beforeAll(async () => {
    [server, rack] = await Promise.all([
      startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet'] }),
      startRackProcess({ profile: path.join(dir, 'rack'), runtimeDir, count: COUNT }),
    ]);
    racks.push(rack);
    env = {
      NOEGLEVISER_RUNTIME_DIR: runtimeDir,
      NOEGLEVISER_SERVER: server.url,
      NOEGLEVISER_ADMIN_KEY: server.adminKey,
      NOEGLEVISER_CLIENT_KEY: server.clientKey,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
    };
  });
  afterAll(async () => {
    for (const r of racks) await r.stop('SIGKILL');
    await server?.stop('SIGKILL');
  });

  it(`enrolls all ${COUNT} tokens it finds: the server holds ${COUNT} records, and every token says it is enrolled`, async () => {
    const result = await run(['enroll', '--all', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(Object.keys(summary).sort()).toEqual(['alreadyEnrolled', 'enrolled', 'failed']);
    expect([...summary.enrolled].sort()).toEqual(rack.tokens.map((t) => t.serial).sort());
    expect(summary.alreadyEnrolled).toEqual([]);
    expect(summary.failed).toEqual([]);

    const listed = await api(server, 'GET', '/v1/tokens', { key: server.adminKey });
    expect(listed.status).toBe(200);
    const records = listed.body.tokens as { serial: string; kind: string; algorithm: string; digits: number; counter: number }[];
    expect(records.map((r) => r.serial).sort()).toEqual(rack.tokens.map((t) => t.serial).sort());
    for (const record of records) expect(record).toMatchObject({ kind: 'hotp', algorithm: 'sha1', digits: 6, counter: 0 });

    const infos = await Promise.all(rack.tokens.map((t) => info(t.port)));
    for (const [i, tokenInfo] of infos.entries()) {
      expect(tokenInfo).toMatchObject({ serial: rack.tokens[i]!.serial, enrolled: true, mode: 'hotp', algorithm: 'sha1', digits: 6, counter: 0 });
    }
  });

  it("the seeds are real and each token's own: a code pressed on a token is accepted for it, and only for it", async () => {
    const [a, b] = [rack.tokens[0]!, rack.tokens[1]!];
    const { display } = await debugCall(a.debug, 'press');
    const code = String(display).trim();
    expect(code).toMatch(/^\d{6}$/);
    const elsewhere = await api(server, 'POST', '/v1/verify', { key: server.clientKey, body: { serial: b.serial, code } });
    expect(elsewhere.body.result).toBe('rejected');
    const accepted = await api(server, 'POST', '/v1/verify', { key: server.clientKey, body: { serial: a.serial, code } });
    expect(accepted.body).toMatchObject({ result: 'accepted', counter: 0 });
  });

  it(`a second run finds all ${COUNT} already enrolled, which is no failure`, async () => {
    const result = await run(['enroll', '--all', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.enrolled).toEqual([]);
    expect([...summary.alreadyEnrolled].sort()).toEqual(rack.tokens.map((t) => t.serial).sort());
    expect(summary.failed).toEqual([]);
    // …and the same, as a person reads it.
    const human = await run(['enroll', '--all', '--yes']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^enrolled: +0\nalready enrolled: +30 \(\d{8}( \d{8}){29}\)\nfailed: +0\n$/);
  });

  describe('with a token that cannot be reached', () => {
    const otherRuntime = path.join(dir, 'run2');
    let fresh: RackProcess;
    let otherEnv: NodeJS.ProcessEnv;

    beforeAll(async () => {
      fresh = await startRackProcess({ profile: path.join(dir, 'fresh'), runtimeDir: otherRuntime, count: 4 });
      racks.push(fresh);
      otherEnv = { NOEGLEVISER_RUNTIME_DIR: otherRuntime };
    });

    it('--ports with a bogus path among good ones: that one fails with its code, the others are enrolled, the exit code is 1', async () => {
      const [t1, t2] = fresh.tokens as [RackToken, RackToken];
      const bogus = path.join(dir, 'no-such-tty');
      const result = await run(['enroll', '--all', '--yes', '--ports', `${t1.port},${bogus},hid+${t2.hid}`, '--json'], otherEnv);
      expect(result.code, result.stderr).toBe(1);
      const summary = JSON.parse(result.stdout) as Summary;
      expect([...summary.enrolled].sort()).toEqual([t1.serial, t2.serial].sort());
      expect(summary.alreadyEnrolled).toEqual([]);
      expect(summary.failed).toEqual([{ port: bogus, code: 'NV_PORT_OPEN', message: expect.stringContaining(bogus) }]);
      expect((await api(server, 'GET', `/v1/tokens/${t1.serial}`, { key: server.adminKey })).status).toBe(200);
    });

    it("--all with an announced token whose port is gone: it fails alone, by serial; the rest are enrolled (one whose serial port is busy, over its HID) or already enrolled", async () => {
      const [t1, t2, t3, t4] = fresh.tokens as [RackToken, RackToken, RackToken, RackToken];
      // An emulator that is listed (its process runs: this one) but whose pty is gone.
      const ghost = {
        format: 1,
        pid: process.pid,
        port: path.join(dir, 'gone-pty'),
        debug: path.join(dir, 'gone.sock'),
        serial: '99999999',
        model: 'NV1',
        profile: path.join(dir, 'gone'),
        startedAt: new Date().toISOString(),
      };
      fs.writeFileSync(path.join(otherRuntime, `emulator-${process.pid}-99999999.json`), JSON.stringify(ghost));
      // Another program holds t3's serial port (a port has one host at a time): the batch reaches it over its HID instead.
      const holder = new SerialPort({ path: t3.port, baudRate: 115_200, autoOpen: false });
      await new Promise<void>((resolve, reject) => holder.open((error) => (error ? reject(error) : resolve())));
      try {
        const result = await run(['enroll', '--all', '--yes', '--concurrency', '2', '--json'], otherEnv);
        expect(result.code, result.stderr).toBe(1);
        const summary = JSON.parse(result.stdout) as Summary;
        expect([...summary.enrolled].sort()).toEqual([t3.serial, t4.serial].sort());
        expect([...summary.alreadyEnrolled].sort()).toEqual([t1.serial, t2.serial].sort());
        expect(summary.failed).toEqual([{ port: ghost.port, serial: '99999999', code: 'NV_PORT_OPEN', message: expect.any(String) }]);
        // As a person reads it: the failure with its serial, port, reason and code.
        const human = await run(['enroll', '--all', '--yes'], otherEnv);
        expect(human.code).toBe(1);
        expect(human.stdout).toContain(`failed:           1\n  99999999 ${ghost.port}: cannot open ${ghost.port}: No such file or directory [NV_PORT_OPEN]\n`);
      } finally {
        fs.rmSync(path.join(otherRuntime, `emulator-${process.pid}-99999999.json`), { force: true });
        await new Promise<void>((resolve) => holder.close(() => resolve()));
      }
      const records = (await api(server, 'GET', '/v1/tokens', { key: server.adminKey })).body.tokens as { serial: string }[];
      expect(records).toHaveLength(COUNT + 4);
    });
  });

  it('a batch needs a server (its seeds go nowhere else) and its admin key, takes no seed of its own and no --port; a wrong key is one error', async () => {
    const noServer = await run(['enroll', '--all', '--yes'], { NOEGLEVISER_SERVER: undefined, XDG_CONFIG_HOME: path.join(dir, 'empty-config') });
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toMatch(/\[NV_NO_SERVER\]\n$/);
    for (const args of [
      ['--seed', '3132333435363738393031323334353637383930'],
      ['--seed-file', '-'],
      ['--token-only'],
      ['--owner', 'alice'],
      ['--port', rack.tokens[0]!.port],
      ['--period', '30'],
      ['--concurrency', '0'],
    ]) {
      const result = await run(['enroll', '--all', '--yes', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/\[NV_(BAD_ARGUMENT|USAGE)\]\n$/);
    }
    const unreachable = await run(['enroll', '--all', '--yes', '--server', 'http://127.0.0.1:9']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/\[NV_SERVER_UNREACHABLE\]\n$/);
    // A wrong key: the server's first refusal stops the batch, as one error; no token is written.
    const unwritten = await startRackProcess({ profile: path.join(dir, 'wrong-key'), runtimeDir: path.join(dir, 'run4'), count: 3 });
    racks.push(unwritten);
    const wrongKey = await run(['enroll', '--all', '--yes', '--concurrency', '1'], {
      NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run4'),
      NOEGLEVISER_ADMIN_KEY: 'nv_admin_wrong_key_0000000000000000',
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toBe('');
    expect(wrongKey.stderr).toMatch(/^noegleviser: [^\n]*\[NV_UNAUTHORIZED\]\n$/);
    for (const token of unwritten.tokens) expect(await info(token.port)).toMatchObject({ enrolled: false });
    const noKey = await run(['enroll', '--all', '--yes'], { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run4'), NOEGLEVISER_ADMIN_KEY: undefined });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/\[NV_NO_API_KEY\]\n$/);
    const none = await run(['enroll', '--all', '--yes'], { NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'empty-run') });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no tokens found.*\[NV_NO_TOKENS\]\n$/);
    const noPort = await run(['enroll', '--generate']);
    expect(noPort.code).toBe(2);
  });

  it.skipIf(!toolAvailable('script'))('on a terminal, a progress bar on stderr (through script(1), a real pty); TOTP options apply to every token', async () => {
    const more = await startRackProcess({ profile: path.join(dir, 'tty'), runtimeDir: path.join(dir, 'run3'), count: 3 });
    racks.push(more);
    const command = [process.execPath, path.join(ROOT, 'bin', 'noegleviser.mjs'), 'enroll', '--all', '--yes', '--totp', '--algorithm', 'sha256', '--digits', '8', '--period', '60']
      .map((a) => `'${a}'`)
      .join(' ');
    const shown = spawnSync('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, ...env, NOEGLEVISER_RUNTIME_DIR: path.join(dir, 'run3') },
      encoding: 'utf8',
      timeout: 60_000,
    });
    outputs.push({ code: shown.status, stdout: shown.stdout, stderr: shown.stderr });
    expect(shown.status, shown.stdout + shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/enrolling .* 3\/3 tokens \| 3 enrolled, 0 already enrolled, 0 failed/);
    expect(shown.stdout).toMatch(/enrolled: +3/);
    for (const token of more.tokens) {
      expect((await api(server, 'GET', `/v1/tokens/${token.serial}`, { key: server.adminKey })).body.token).toMatchObject({
        kind: 'totp',
        algorithm: 'sha256',
        digits: 8,
        period: 60,
      });
      expect(await info(token.port)).toMatchObject({ enrolled: true, mode: 'totp', algorithm: 'sha256', digits: 8, period: 60 });
    }
  });

  it('no output of any run carries a seed', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(15);
    for (const output of outputs) {
      expectNoSeed(output.stdout);
      expectNoSeed(output.stderr);
    }
  });
});
