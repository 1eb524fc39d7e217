/**
 * `npm run bench`: every speed and size figure of the project, each beside the reference measured
 * in the same run, in one table; a missed goal is marked, not hidden. With --update-readme the
 * README's benchmark section is rewritten with this run's table and machine.
 */
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { batchEnrolmentRows } from './figures/batch-enrolment.ts';
import { bridgeRttRows } from './figures/bridge-rtt.ts';
import { embeddedEngineRows } from './figures/embedded-engine.ts';
import { flashEnduranceRows } from './figures/flash-endurance.ts';
import { hotpEngineRows } from './figures/hotp-engine.ts';
import { radiusRows } from './figures/radius-load.ts';
import { serverLoadRows } from './figures/server-load.ts';
import { validateCheckRows } from './figures/validate-check.ts';
import { simulationYearRows } from './figures/simulation-year.ts';
import { verifyWindowRows } from './figures/verify-window.ts';
import { postgresFailoverRows } from './figures/postgres-failover.ts';
import { clusterLoadRows } from './figures/cluster-load.ts';
import { markdownTable, type Row } from './table.ts';
import { cleanUpTestResources } from '../test/support/processes.ts';

const FIGURES: { readonly name: string; readonly run: () => Promise<Row[]> }[] = [
  { name: 'HOTP engine', run: hotpEngineRows },
  { name: 'verify window and resync scan', run: verifyWindowRows },
  { name: 'server under load', run: serverLoadRows },
  { name: "privacyIDEA's /validate/check beside /v1/verify", run: validateCheckRows },
  { name: 'RADIUS beside FreeRADIUS', run: radiusRows },
  { name: 'bridge round trip', run: bridgeRttRows },
  { name: 'batch enrolment and rack memory', run: batchEnrolmentRows },
  { name: 'flash endurance', run: flashEnduranceRows },
  { name: 'the firmware in QuickJS-NG', run: embeddedEngineRows },
  { name: 'a simulated year', run: simulationYearRows },
  { name: 'PostgreSQL failover', run: postgresFailoverRows },
  { name: 'server nodes on PostgreSQL beside SQLite and the bare route', run: clusterLoadRows },
];

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
}

/** `--only TEXT`: just the figures whose name holds TEXT (a quick look at one figure; not with --update-readme). */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (onlyAt >= 0 && (!only || process.argv.includes('--update-readme'))) {
  process.stderr.write('bench: --only takes part of a figure\'s name, and the README takes only a whole run\n');
  process.exit(2);
}
const selected = only === undefined ? FIGURES : FIGURES.filter((figure) => figure.name.includes(only));
if (selected.length === 0) {
  process.stderr.write(`bench: no figure's name holds "${only}"; figures: ${FIGURES.map((f) => f.name).join('; ')}\n`);
  process.exit(2);
}

const started = performance.now();
const rows: Row[] = [];
try {
  for (const figure of selected) {
    process.stderr.write(`bench: ${figure.name}…\n`);
    const figureStart = performance.now();
    rows.push(...(await figure.run()));
    process.stderr.write(`bench: ${figure.name} took ${((performance.now() - figureStart) / 1000).toFixed(0)} s\n`);
  }
} finally {
  // The figures' servers, emulators and folders (test/support/processes.ts's tempDir): none outlives the run.
  await cleanUpTestResources();
}
const table = markdownTable(rows);
const missed = rows.filter((row) => row.met === false).length;
const summary = `${new Date().toISOString().slice(0, 10)}, ${machine()}; the whole run took ${((performance.now() - started) / 60_000).toFixed(1)} min; ${missed === 0 ? 'every goal met' : `${missed} goal${missed === 1 ? '' : 's'} missed`}.`;
process.stdout.write(`${table}\n\n${summary}\n`);

if (process.argv.includes('--update-readme')) {
  const readme = new URL('../README.md', import.meta.url);
  const text = readFileSync(readme, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error('README.md has no bench:begin/bench:end markers');
  writeFileSync(readme, `${text.slice(0, start + begin.length)}\n${table}\n\n${summary}\n${text.slice(stop)}`);
  process.stderr.write('bench: README.md updated\n');
}
