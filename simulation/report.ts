/**
 * A simulation's report: JSON (the data, the invariants, the event digest, and the timings apart,
 * so two runs of one seed compare equal without them), a summary table for the terminal, and an
 * HTML page whose plots Chart.js draws, its UMD build inlined so the page works offline.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { SimulationData } from './run.ts';

export interface Timings {
  readonly wallSeconds: number;
  readonly daysPerSecond: number;
}

export interface SimulationReport extends SimulationData {
  readonly format: 'noegleviser-simulation/1';
  readonly timings: Timings;
}

export const REPORT_JSON = 'report.json';
export const REPORT_HTML = 'report.html';

export function buildReport(data: SimulationData, timings: Timings): SimulationReport {
  return { format: 'noegleviser-simulation/1', ...data, timings };
}

/** Writes report.json and report.html into `dir` (made if missing); answers their paths. */
export function writeReport(dir: string, report: SimulationReport): { json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, REPORT_JSON);
  const html = path.join(dir, REPORT_HTML);
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(html, reportHtml(report));
  return { json, html };
}

/** The terminal's summary: one table of what happened, one of the invariants. */
export function summaryTable(report: SimulationReport): string {
  const t = report.totals;
  const p = report.parameters;
  const rows: [string, string][] = [
    ['tokens × days', `${p.tokens} × ${p.days} (seed ${p.seed})`],
    ['logins (accepted)', `${t.logins} (${t.loginsAccepted})`],
    ['codes accepted / rejected', `${t.accepted} / ${t.rejected}`],
    ['forms sent twice, refused', String(t.replaysRefused)],
    ['resyncs', String(t.resynced)],
    ['lockouts (unlocked by holder)', `${t.locked} (${t.holderUnlocks})`],
    ['support counter syncs', String(t.supportSyncs)],
    ['presses (in pockets)', `${t.presses} (${t.pocketPresses})`],
    ['tokens lost', String(t.lost)],
    ['batteries run out (doomed by the model)', `${t.ranOut} (${t.doomed})`],
    ['worst flash page wear', `${Math.max(0, ...report.tokens.map((x) => (100 * x.maxEraseCount) / x.endurance)).toFixed(1)} % of its rating`],
    ['events (sha256)', `${report.events.count} (${report.events.sha256.slice(0, 16)}…)`],
    ['time', `${report.timings.wallSeconds.toFixed(1)} s, ${report.timings.daysPerSecond.toFixed(1)} days/s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  lines.push('', 'invariant'.padEnd(width) + '  checks  broken');
  for (const invariant of report.invariants) {
    lines.push(`${invariant.name.padEnd(width)}  ${String(invariant.checked).padStart(6)}  ${invariant.broken === 0 ? 'held' : `BROKEN ${invariant.broken}`}`);
  }
  return lines.join('\n') + '\n';
}

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // The package exports no path to its UMD build; it sits beside the CommonJS entry, in dist/.
  return fs.readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

/** JSON inside a script element: nothing in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function reportHtml(report: SimulationReport): string {
  const p = report.parameters;
  const plots = {
    weekly: report.weekly,
    offsets: report.offsets.length > 3000 ? report.offsets.filter((_, i) => i % Math.ceil(report.offsets.length / 3000) === 0) : report.offsets,
    battery: report.battery,
    flashWear: report.flashWear,
    ahead: report.ahead,
  };
  const invariants = report.invariants
    .map((i) => `<tr><td>${escape(i.name)}</td><td>${escape(i.description)}</td><td>${i.checked}</td><td class="${i.broken ? 'broken' : 'held'}">${i.broken ? `broken ${i.broken}` : 'held'}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>noegleviser simulation: ${p.tokens} tokens × ${p.days} days</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2330; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 1.5rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .4rem; }
canvas { max-height: 320px; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccd; padding: .25rem .5rem; text-align: left; }
.held { color: #16692c; } .broken { color: #b00020; font-weight: 700; }
</style>
</head>
<body>
<h1>A year in a pocket: ${p.tokens} tokens × ${p.days} days</h1>
<p>Seed <code>${escape(p.seed)}</code>, from ${escape(p.start.slice(0, 10))}; the server's rules: look-ahead ${p.policy.hotpWindow}, TOTP ±${p.policy.totpSteps} step, resync window ${p.policy.resyncWindow}, lockout after ${p.policy.maxFail}. Events: ${report.events.count} (sha256 <code>${report.events.sha256}</code>).</p>
<table id="invariants"><thead><tr><th>invariant</th><th>what it says</th><th>checks</th><th>result</th></tr></thead><tbody>
${invariants}
</tbody></table>
<div class="plots">
<figure><figcaption>Logins per week</figcaption><canvas id="plot-weekly" role="img" aria-label="codes accepted, rejected, resynced and locked per week"></canvas></figure>
<figure><figcaption>TOTP: clock offset the server learned against the token's true offset</figcaption><canvas id="plot-offsets" role="img" aria-label="learned offset against true offset"></canvas></figure>
<figure><figcaption>Battery charge over the year</figcaption><canvas id="plot-battery" role="img" aria-label="battery charge per week"></canvas></figure>
<figure><figcaption>Flash wear over the year (worst page, % of its erase rating)</figcaption><canvas id="plot-flash" role="img" aria-label="flash wear per week"></canvas></figure>
<figure><figcaption>How far ahead of the server HOTP counters ran, at each login</figcaption><canvas id="plot-ahead" role="img" aria-label="distribution of counters ahead"></canvas></figure>
</div>
<script id="simulation-data" type="application/json">${scriptJson(plots)}</script>
<script>${chartJsSource()}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('simulation-data').textContent);
  var noAnimation = { animation: false, responsive: true };
  function chart(id, config) { config.options = Object.assign({}, noAnimation, config.options || {}); return new Chart(document.getElementById(id), config); }
  var weeks = data.weekly.map(function (w) { return 'week ' + (w.week + 1); });
  chart('plot-weekly', { type: 'bar', data: { labels: weeks, datasets: [
    { label: 'accepted', data: data.weekly.map(function (w) { return w.accepted; }), backgroundColor: '#2e7d32' },
    { label: 'rejected', data: data.weekly.map(function (w) { return w.rejected; }), backgroundColor: '#c62828' },
    { label: 'resynced', data: data.weekly.map(function (w) { return w.resynced; }), backgroundColor: '#1565c0' },
    { label: 'locked', data: data.weekly.map(function (w) { return w.locked; }), backgroundColor: '#f9a825' }
  ] }, options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'codes' } } } } });
  var extent = data.offsets.reduce(function (m, o) { return Math.max(m, Math.abs(o.trueSeconds), Math.abs(o.learnedSeconds)); }, 30);
  chart('plot-offsets', { type: 'scatter', data: { datasets: [
    { label: 'login (true, learned)', data: data.offsets.map(function (o) { return { x: o.trueSeconds, y: o.learnedSeconds }; }), pointRadius: 2, backgroundColor: '#6a1b9a' },
    { label: 'learned = true', type: 'line', data: [{ x: -extent, y: -extent }, { x: extent, y: extent }], borderColor: '#999', pointRadius: 0 }
  ] }, options: { scales: { x: { title: { display: true, text: "token's true offset (s)" } }, y: { title: { display: true, text: 'offset the server learned (s)' } } } } });
  var bweeks = data.battery.map(function (b) { return 'week ' + b.week; });
  chart('plot-battery', { type: 'line', data: { labels: bweeks, datasets: [
    { label: 'median %', data: data.battery.map(function (b) { return b.median; }), borderColor: '#2e7d32' },
    { label: '10th percentile %', data: data.battery.map(function (b) { return b.p10; }), borderColor: '#f9a825' },
    { label: 'lowest %', data: data.battery.map(function (b) { return b.min; }), borderColor: '#c62828' },
    { label: 'run out (tokens)', data: data.battery.map(function (b) { return b.ranOut; }), borderColor: '#455a64', yAxisID: 'count' }
  ] }, options: { scales: { y: { min: 0, max: 100, title: { display: true, text: 'charge %' } }, count: { position: 'right', beginAtZero: true, title: { display: true, text: 'tokens run out' } } } } });
  chart('plot-flash', { type: 'line', data: { labels: data.flashWear.map(function (f) { return 'week ' + f.week; }), datasets: [
    { label: 'small flash: worst page', data: data.flashWear.map(function (f) { return f.smallMax; }), borderColor: '#c62828' },
    { label: 'small flash: median token', data: data.flashWear.map(function (f) { return f.smallMedian; }), borderColor: '#f9a825' },
    { label: 'standard flash: worst page', data: data.flashWear.map(function (f) { return f.standardMax; }), borderColor: '#2e7d32' }
  ] }, options: { scales: { y: { beginAtZero: true, title: { display: true, text: '% of erase rating' } } } } });
  chart('plot-ahead', { type: 'bar', data: { labels: data.ahead.map(function (a) { return a.bucket; }), datasets: [
    { label: 'logins', data: data.ahead.map(function (a) { return a.logins; }), backgroundColor: '#1565c0' }
  ] }, options: { scales: { x: { title: { display: true, text: 'counters ahead of the server' } }, y: { type: 'logarithmic', title: { display: true, text: 'logins' } } } } });
  document.body.dataset.charts = String(Object.keys(Chart.instances).length);
})();
</script>
</body>
</html>
`;
}
