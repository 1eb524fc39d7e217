/**
 * The re-seal's access to a sealed column (sealed-columns.ts), the same on SQLite and PostgreSQL:
 * rows read a page at a time in key order, and blobs replaced only where a row still holds the
 * blob that was read, so a value written meanwhile (by a node at work) is never overwritten.
 */
import type { SealedColumn } from './sealed-columns.ts';

/** A row's key as the database gives it (text, or an integer), in the column's `keys` order. */
export type RowKey = readonly (string | number | bigint)[];

export interface SealedRow {
  readonly key: RowKey;
  /** The blob (decoded, for a base64 column). */
  readonly sealed: Uint8Array;
}

export interface Replacement {
  readonly key: RowKey;
  /** The blob the row held when it was read. */
  readonly from: Uint8Array;
  readonly to: Uint8Array;
}

export interface SealedRows {
  /**
   * Up to `limit` rows of `column` past `after` in key order whose blob says version 1 (the store
   * may give others too; the caller checks each blob's version itself).
   */
  version1Page(column: SealedColumn, after: RowKey | undefined, limit: number): Promise<SealedRow[]>;
  /** The blob the row holds now (undefined: the row is gone). */
  current(column: SealedColumn, key: RowKey): Promise<Uint8Array | undefined>;
  /** Each blob replaced only where its row still holds `from`, in one transaction; answers which were. */
  replace(column: SealedColumn, replacements: readonly Replacement[]): Promise<boolean[]>;
}

/** The blob as a row keeps it. */
export function stored(column: SealedColumn, blob: Uint8Array): Buffer | string {
  return column.encoding === 'base64' ? Buffer.from(blob).toString('base64') : Buffer.from(blob);
}

/** The blob of a row's value. */
export function blobOf(column: SealedColumn, value: Buffer | Uint8Array | string): Uint8Array {
  return new Uint8Array(column.encoding === 'base64' ? Buffer.from(value as string, 'base64') : (value as Uint8Array));
}

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
