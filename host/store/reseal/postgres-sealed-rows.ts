/** The re-seal's rows on PostgreSQL (see sealed-rows.ts): the same SQL as on SQLite but for the first-byte test. */
import type { PostgresDatabase } from '../postgres/postgres-database.ts';
import type { SealedColumn } from './sealed-columns.ts';
import { blobOf, quote, stored, type Replacement, type RowKey, type SealedRow, type SealedRows } from './sealed-rows.ts';

/** A version-1 blob begins with the byte 1; in base64, with `A` and a second letter from `Q` to `f` (in byte order: COLLATE "C"). */
function version1(column: SealedColumn): string {
  const c = quote(column.column);
  return column.encoding === 'base64' ? `substr(${c}, 1, 1) = 'A' AND substr(${c}, 2, 1) COLLATE "C" BETWEEN 'Q' AND 'f'` : `substring(${c} from 1 for 1) = '\\x01'::bytea`;
}

const placeholders = (from: number, count: number) => Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');

export class PostgresSealedRows implements SealedRows {
  constructor(private readonly database: PostgresDatabase) {}

  async version1Page(column: SealedColumn, after: RowKey | undefined, limit: number): Promise<SealedRow[]> {
    const keys = column.keys.map(quote).join(', ');
    const values: unknown[] = [...(after ?? []).map(String), limit];
    const past = after ? ` AND (${keys}) > (${placeholders(1, after.length)})` : '';
    const sql = `SELECT ${keys}, ${quote(column.column)} AS sealed FROM ${quote(column.table)} WHERE ${version1(column)}${past} ORDER BY ${keys} LIMIT $${values.length}`;
    const rows = await this.database.read<Record<string, string | number | Buffer>>(sql, values);
    return rows.map((row) => ({ key: column.keys.map((key) => row[key] as string | number), sealed: blobOf(column, row.sealed as Buffer | string) }));
  }

  async current(column: SealedColumn, key: RowKey): Promise<Uint8Array | undefined> {
    const rows = await this.database.read<{ sealed: Buffer | string }>(`SELECT ${quote(column.column)} AS sealed FROM ${quote(column.table)} WHERE ${this.keyMatch(column)}`, key.map(String));
    return rows[0] && blobOf(column, rows[0].sealed);
  }

  replace(column: SealedColumn, replacements: readonly Replacement[]): Promise<boolean[]> {
    const n = column.keys.length;
    const sql = `UPDATE ${quote(column.table)} SET ${quote(column.column)} = $${n + 1} WHERE ${this.keyMatch(column)} AND ${quote(column.column)} = $${n + 2}`;
    return this.database.write(async (client) => {
      const applied: boolean[] = [];
      for (const { key, from, to } of replacements) applied.push((await client.query(sql, [...key.map(String), stored(column, to), stored(column, from)])).rowCount === 1);
      return applied;
    });
  }

  private keyMatch(column: SealedColumn): string {
    return column.keys.map((key, i) => `${quote(key)} = $${i + 1}`).join(' AND ');
  }
}
