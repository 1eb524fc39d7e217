/** The re-seal's rows on the host's SQLite file (see sealed-rows.ts). */
import type { SqliteDatabase } from '../sqlite-database.ts';
import type { SealedColumn } from './sealed-columns.ts';
import { blobOf, quote, stored, type Replacement, type RowKey, type SealedRow, type SealedRows } from './sealed-rows.ts';

/** A version-1 blob begins with the byte 1; in base64, with `A` and a second letter from `Q` to `f` (BINARY collation: byte order). */
function version1(column: SealedColumn): string {
  const c = quote(column.column);
  return column.encoding === 'base64' ? `substr(${c}, 1, 1) = 'A' AND substr(${c}, 2, 1) BETWEEN 'Q' AND 'f'` : `substr(${c}, 1, 1) = x'01'`;
}

export class SqliteSealedRows implements SealedRows {
  constructor(private readonly database: SqliteDatabase) {}

  async version1Page(column: SealedColumn, after: RowKey | undefined, limit: number): Promise<SealedRow[]> {
    const keys = column.keys.map(quote).join(', ');
    const past = after ? ` AND (${keys}) > (${after.map(() => '?').join(', ')})` : '';
    const sql = `SELECT ${keys}, ${quote(column.column)} AS sealed FROM ${quote(column.table)} WHERE ${version1(column)}${past} ORDER BY ${keys} LIMIT ?`;
    const rows = this.database.prepare<unknown[], Record<string, string | number | Buffer>>(sql).all(...(after ?? []), limit);
    return rows.map((row) => ({ key: column.keys.map((key) => row[key] as string | number), sealed: blobOf(column, row.sealed as Buffer | string) }));
  }

  async current(column: SealedColumn, key: RowKey): Promise<Uint8Array | undefined> {
    const row = this.database.prepare<unknown[], { sealed: Buffer | string }>(`SELECT ${quote(column.column)} AS sealed FROM ${quote(column.table)} WHERE ${this.keyMatch(column)}`).get(...key);
    return row && blobOf(column, row.sealed);
  }

  replace(column: SealedColumn, replacements: readonly Replacement[]): Promise<boolean[]> {
    const update = this.database.prepare(`UPDATE ${quote(column.table)} SET ${quote(column.column)} = ? WHERE ${this.keyMatch(column)} AND ${quote(column.column)} = ?`);
    return this.database.write(() => {
      const applied = replacements.map(({ key, from, to }) => update.run(stored(column, to), ...key, stored(column, from)).changes === 1);
      // Rows changed round the stores: whatever a store kept of them (the token store's records) is forgotten.
      if (applied.includes(true)) this.database.forgetCaches();
      return applied;
    });
  }

  private keyMatch(column: SealedColumn): string {
    return column.keys.map((key) => `${quote(key)} = ?`).join(' AND ');
  }
}
