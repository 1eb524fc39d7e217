/** The benchmark's one table: each figure beside its reference, the ratio, and the goal, marked met or missed. */
export interface Row {
  readonly figure: string;
  /** The project's figure, formatted with its unit. */
  readonly ours: string;
  /** The reference measured in the same run, and what it is ("—" where there is none). */
  readonly reference: string;
  readonly ratio: string;
  readonly goal: string;
  /** undefined where the row has no goal of its own. */
  readonly met: boolean | undefined;
}

export function rate(perSecond: number, unit: string): string {
  return `${Math.round(perSecond).toLocaleString('en-US')} ${unit}`;
}

export function times(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function markdownTable(rows: readonly Row[]): string {
  const mark = (row: Row) => (row.met === undefined ? '' : row.met ? '✅' : '❌ **missed**');
  const lines = [
    '| figure | noegleviser | reference (same run) | ratio | goal | |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.ours} | ${r.reference} | ${r.ratio} | ${r.goal} | ${mark(r)} |`),
  ];
  return lines.join('\n');
}
