/** Printing results: aligned `key: value` lines for people, one JSON document with --json. */
export interface Output {
  readonly json: boolean;
  /** Prints a result: the object as JSON, or its lines for a person. */
  result(value: unknown, human: () => string[]): void;
  /** A progress or prompt line for a person, on stderr (kept out of --json output). */
  note(line: string): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(value, human) {
      stdout.write(json ? JSON.stringify(value) + '\n' : human().map((line) => line + '\n').join(''));
    },
    note(line) {
      stderr.write(line + '\n');
    },
  };
}

/** `key: value` lines with the values aligned; undefined values are left out. */
export function table(rows: Record<string, string | number | boolean | undefined>): string[] {
  const entries = Object.entries(rows).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined);
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${(key + ':').padEnd(width + 2)}${typeof value === 'boolean' ? (value ? 'yes' : 'no') : value}`);
}

/** Rows under a header, each column as wide as its widest cell (the last column is left ragged). */
export function columns(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}
