/**
 * A year in a pocket: 1,000 simulated tokens × 365 days against the real validation server in
 * process (`noegleviser simulate`'s own run), every invariant checked; the goal is under ten
 * minutes on the project's 2-core machine. The run's invariants must hold for the row to count.
 */
import { simulate } from '../../simulation/run.ts';
import type { Row } from '../table.ts';

export async function simulationYearRows(): Promise<Row[]> {
  const started = performance.now();
  const data = await simulate({ tokens: 1000, days: 365, seed: 'bench-year' });
  const minutes = (performance.now() - started) / 60_000;
  const broken = data.invariants.filter((invariant) => invariant.broken > 0).map((invariant) => invariant.name);
  return [
    {
      figure: `simulate: 1,000 tokens × 365 days (${data.totals.loginsAccepted!.toLocaleString('en-US')} logins, ${data.totals.presses!.toLocaleString('en-US')} presses), every invariant ${broken.length === 0 ? 'held' : `BROKEN: ${broken.join(', ')}`}`,
      ours: `${minutes.toFixed(1)} min (${(365 / (minutes * 60)).toFixed(2)} days/s)`,
      reference: '—',
      ratio: '—',
      goal: '< 10 min',
      met: minutes < 10 && broken.length === 0,
    },
  ];
}
