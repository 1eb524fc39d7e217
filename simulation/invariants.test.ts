/**
 * The command fails when the year breaks an invariant: servers and parts that misbehave on
 * purpose, put in through the simulation's seams, and the command's one coded line naming what broke.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/processes.ts';
import type { TokenApi } from './server.ts';
import { runSimulate } from './test/run-command.ts';

/** The real API, with `change` over it. */
function around(api: TokenApi, change: Partial<TokenApi>): TokenApi {
  return {
    register: (token) => api.register(token),
    verify: (serial, code) => api.verify(serial, code),
    resync: (serial, codes) => api.resync(serial, codes),
    advanceCounter: (serial, counter) => api.advanceCounter(serial, counter),
    reportLost: (serial, options) => api.reportLost(serial, options),
    changeState: (serial, action) => api.changeState(serial, action),
    ...change,
  };
}

describe('a broken invariant fails noegleviser simulate', () => {
  const dir = tempDir('simbreak');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = (name: string) => ['--tokens', '40', '--days', '21', '--seed', 'nv-break-1', '--report', path.join(dir, name)];

  it('a server that accepts a replayed code: no-code-accepted-twice', { timeout: 300_000 }, async () => {
    const run = await runSimulate(args('replay'), {
      wrapApi: (api) => {
        const seen = new Map<string, Awaited<ReturnType<TokenApi['verify']>>>();
        return around(api, {
          verify: async (serial, code) => {
            const before = seen.get(`${serial}/${code}`);
            if (before?.result === 'accepted') return before;
            const outcome = await api.verify(serial, code);
            seen.set(`${serial}/${code}`, outcome);
            return outcome;
          },
        });
      },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^noegleviser: a simulated invariant broke: no-code-accepted-twice \(\d+ of \d+ checks; first: a login form sent twice[^\n]*\[NV_SIM_INVARIANT\]\n$/);
    expect(run.stderr).not.toMatch(/hotp-stays-usable|flash-within/);
    // The report is written all the same, the invariant marked broken.
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'replay', 'report.json'), 'utf8')) as { invariants: { name: string; broken: number }[] };
    expect(report.invariants.find((i) => i.name === 'no-code-accepted-twice')!.broken).toBeGreaterThan(0);
  });

  it('a server whose resync never finds the codes: hotp-stays-usable and totp-stays-verifiable', { timeout: 300_000 }, async () => {
    const run = await runSimulate(args('resync'), {
      wrapApi: (api) => around(api, { resync: async (serial) => ({ result: 'rejected', serial, reason: 'no_consecutive_codes', failCount: 1 }) }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('hotp-stays-usable (');
    expect(run.stderr).toContain('[NV_SIM_INVARIANT]');
  });

  it('flash rated for fewer erases than a year takes: flash-within-erase-limit', { timeout: 300_000 }, async () => {
    const run = await runSimulate(args('flash'), { flashEndurance: 1 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/flash-within-erase-limit \(\d+ of \d+ checks; first: token \d{8}: flash page \d erased \d+ times, rated for 1\)/);
  });
});
