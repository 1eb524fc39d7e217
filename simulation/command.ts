/**
 * `noegleviser simulate`: a fleet's year in a pocket against the real validation server, in
 * minutes. Prints a summary table (or the JSON report with --json), writes report.json and
 * report.html to --report, and fails (exit 1, NV_SIM_INVARIANT naming each broken invariant)
 * when the year broke one.
 */
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { usageError, wholeNumber } from '../host/cli/errors.ts';
import { DEFAULT_SIMULATION_REPORT_DIR } from '../host/lab/simulation-report.ts';
import type { SimulationOptions } from './run.ts';

interface SimulateCommandOptions {
  tokens: number;
  days: number;
  seed?: string;
  db?: string;
  report: string;
  progress?: boolean;
  json?: boolean;
}

/** What tests may put between the simulation and its parts (a server that misbehaves, a flash rated too low). */
export type SimulationSeams = Pick<SimulationOptions, 'wrapApi' | 'flashEndurance'>;

export function simulateCommand(seams: SimulationSeams = {}, streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Command {
  return new Command('simulate')
    .description('a fleet of simulated tokens lives through a year of use against a real validation server, every invariant checked; a report with plots')
    .addOption(new Option('--tokens <n>', 'tokens in the fleet').argParser(wholeNumber('--tokens', 1, 100_000)).makeOptionMandatory())
    .addOption(new Option('--days <n>', 'days to simulate').argParser(wholeNumber('--days', 1, 3660)).makeOptionMandatory())
    .addOption(new Option('--seed <seed>', 'every random choice comes from it (default: a new one, printed)'))
    .addOption(new Option('--db <file>', "the server's database: a new SQLite file (default: a temporary one)"))
    .addOption(new Option('--report <dir>', 'where report.json and report.html go').default(DEFAULT_SIMULATION_REPORT_DIR))
    .addOption(new Option('--progress', 'a progress bar with days simulated per second'))
    .addOption(new Option('--json', 'print the JSON report instead of the table'))
    .action(async (options: SimulateCommandOptions) => {
      const seed = options.seed ?? randomBytes(6).toString('hex');
      if (!/^[\x21-\x7e]{1,64}$/.test(seed)) throw usageError('NV_BAD_ARGUMENT', '--seed takes 1 to 64 printable characters without spaces');
      // The simulation (a server, the firmware core, the report's parts) loads when it runs, not on every start of the CLI.
      const [{ simulate }, { buildReport, summaryTable, writeReport }, { invariantFailure }] = await Promise.all([import('./run.ts'), import('./report.ts'), import('./invariants.ts')]);
      const progress = options.progress ? startProgress(options.days, streams.stderr) : undefined;
      const started = performance.now();
      let data;
      try {
        data = await simulate({ tokens: options.tokens, days: options.days, seed, db: options.db, onDay: progress?.tick, ...seams });
      } finally {
        progress?.stop();
      }
      const wallSeconds = (performance.now() - started) / 1000;
      const report = buildReport(data, { wallSeconds: Math.round(wallSeconds * 1000) / 1000, daysPerSecond: Math.round((options.days / wallSeconds) * 100) / 100 });
      const written = writeReport(options.report, report);
      streams.stdout.write(options.json ? JSON.stringify(report) + '\n' : `${summaryTable(report)}report: ${written.html}\n`);
      const failure = invariantFailure(report.invariants);
      if (failure) throw failure;
    });
}

function startProgress(days: number, stream: NodeJS.WritableStream): { tick: (daysDone: number) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    { stream: stream as NodeJS.WriteStream, format: 'simulating {bar} {value}/{total} days | {speed} days/s | {eta_formatted}', hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(days, 0, { speed: '0.0' });
  return {
    tick: (daysDone) => bar.update(daysDone, { speed: (daysDone / Math.max(0.001, (performance.now() - started) / 1000)).toFixed(1) }),
    stop: () => bar.stop(),
  };
}
