/**
 * A fleet of 100 tokens lives 90 days against the real server in process, through the command
 * itself: every invariant of the issue is checked many times and holds, the battery model's
 * doomed tokens run out by the day it said and show it, small flash wears within its rating,
 * and the same seed gives the same report (timings aside), event for event.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/processes.ts';
import { buildFleet } from './model.ts';
import type { SimulationReport } from './report.ts';
import { runSimulate } from './test/run-command.ts';

const SEED = 'nv-year-1';

describe('noegleviser simulate --tokens 100 --days 90', () => {
  const dir = tempDir('sim');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runs: SimulationReport[] = [];

  async function run(name: string): Promise<SimulationReport> {
    const reportDir = path.join(dir, name);
    const result = await runSimulate(['--tokens', '100', '--days', '90', '--seed', SEED, '--report', reportDir, '--db', path.join(dir, `${name}.db`), '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as SimulationReport;
    expect(JSON.parse(fs.readFileSync(path.join(reportDir, 'report.json'), 'utf8'))).toEqual(report);
    expect(fs.readFileSync(path.join(reportDir, 'report.html'), 'utf8')).toContain('<canvas id="plot-weekly"');
    return report;
  }

  it('keeps every invariant, each checked, over the whole run', { timeout: 900_000 }, async () => {
    const report = await run('first');
    runs.push(report);
    for (const invariant of report.invariants) {
      expect(invariant.broken, `${invariant.name}: ${invariant.examples.join('; ')}`).toBe(0);
      expect(invariant.checked, invariant.name).toBeGreaterThan(0);
    }
    const t = report.totals;
    // What the year must have exercised for the invariants to mean something.
    expect(t.loginsAccepted).toBeGreaterThan(5000);
    expect(t.resynced).toBeGreaterThan(0);
    expect(t.locked).toBeGreaterThan(0);
    expect(t.holderUnlocks).toBeGreaterThan(0);
    expect(t.replaysRefused).toBeGreaterThan(0);
    expect(t.lost).toBeGreaterThan(0);
    expect(report.offsets.length).toBeGreaterThan(100);
    expect(report.ahead.find((b) => b.bucket === '50–199')!.logins).toBeGreaterThan(0);
  });

  it('every token the battery model dooms runs out by its day and shows it; no flash page past its rating', () => {
    const report = runs[0]!;
    const doomed = report.tokens.filter((token) => token.forecastEmptyDay !== null && token.forecastEmptyDay < 89);
    expect(doomed.length).toBeGreaterThan(0);
    expect(report.totals.doomed).toBe(doomed.length);
    for (const token of doomed) {
      expect(token.ranOutDay, token.serial).not.toBeNull();
      expect(token.ranOutDay!, token.serial).toBeLessThanOrEqual(token.forecastEmptyDay! + 1);
      if (token.shownEmptyDay !== null) expect(token.shownEmptyDay).toBeGreaterThanOrEqual(token.ranOutDay!);
    }
    expect(doomed.some((token) => token.shownEmptyDay !== null)).toBe(true);
    const small = report.tokens.filter((token) => token.smallFlash);
    expect(small.length).toBeGreaterThan(0);
    expect(Math.max(...small.map((token) => token.maxEraseCount))).toBeGreaterThan(0);
    for (const token of report.tokens) expect(token.maxEraseCount).toBeLessThanOrEqual(token.endurance);
  });

  it('the same seed gives the same report, event for event (timings aside)', { timeout: 900_000 }, async () => {
    const again = await run('second');
    const { timings: _first, ...first } = runs[0]!;
    const { timings: _second, ...second } = again;
    expect(second).toEqual(first);
    expect(second.events.count).toBeGreaterThan(10_000);
  });

  it('no seed, password or API key of the run is in its output', () => {
    const html = fs.readFileSync(path.join(dir, 'first', 'report.html'), 'utf8');
    const json = fs.readFileSync(path.join(dir, 'first', 'report.json'), 'utf8');
    const seeds = buildFleet(SEED, 100, 90).map((token) => Buffer.from(token.seed).toString('hex'));
    for (const text of [html, json]) {
      for (const seed of seeds) expect(text).not.toContain(seed);
      expect(text).not.toMatch(/nv_(admin|client)_/);
    }
  });
});
