/**
 * The re-seal: every value a store keeps sealed under the master key in version 1 of the sealing
 * (bound to a bare name, host/server/seed-vault.ts) opened and sealed again in version 2 (bound to
 * its purpose and name), column by column (sealed-columns.ts), a page of rows at a time, each row
 * replaced only while it still holds the blob that was read: a node at work that writes a row
 * meanwhile keeps what it wrote (it writes version 2 already). A row missed so is read again and,
 * if it still holds a version-1 blob, re-sealed again.
 *
 * A version-1 blob that does not open (tampered with, or a seed under a name another kind's
 * records had: the vault never opens those) is reported by its kind and row id, never its content,
 * and left as it is. No node reads it either way, so it does not keep the store from being marked
 * as holding no version-1 blob to read (`VERSION_1_META`): a node starting on a store so marked
 * scans nothing and reads version 2 only (`SeedVault.withoutVersion1`), so a version-1 row put back
 * later (from an older backup) is refused until `store reseal` re-seals it.
 */
import { auditEntry, type Actor } from '../audit.ts';
import { sealedVersion, VaultError, type SeedVault, type VaultRefusal } from '../../server/seed-vault.ts';
import type { TokenStore } from '../../server/store/types.ts';
import { SEALED_COLUMNS, type SealedColumn, type SealedKind } from './sealed-columns.ts';
import type { Replacement, RowKey, SealedRow, SealedRows } from './sealed-rows.ts';

/** Set in meta once a re-seal has left no version-1 blob that opens: later starts scan nothing, and read version 2 only. */
export const VERSION_1_META = 'sealing.version1';
const NONE_LEFT = 'none';

/** Rows re-sealed per transaction. */
export const DEFAULT_BATCH = 500;
/** How often a row changed meanwhile is tried again before it is left for the next run. */
const RETRIES = 3;

export interface ResealCount {
  readonly kind: SealedKind;
  /** Version-1 blobs sealed again as version 2 (in a dry run: that would be). */
  resealed: number;
  /** Rows written by someone else between the read and the re-seal, and left as that writer left them. */
  changedMeanwhile: number;
  /** Version-1 blobs that do not open, left as they are. */
  unreadable: number;
}

/** A version-1 blob that did not open: its kind and its row's key, never its content. */
export interface UnreadableBlob {
  readonly kind: SealedKind;
  readonly id: string;
  readonly reason: VaultRefusal | 'unknown';
}

export interface ResealReport {
  readonly dryRun: boolean;
  readonly kinds: readonly ResealCount[];
  readonly resealed: number;
  readonly unreadable: readonly UnreadableBlob[];
  /** A version-1 blob that opens is still there (a row rewritten in version 1 again and again meanwhile): the store is not marked. */
  readonly version1Left: boolean;
}

export interface ResealOptions {
  readonly dryRun?: boolean;
  readonly batch?: number;
  readonly columns?: readonly SealedColumn[];
}

const idOf = (key: RowKey) => key.map(String).join('/');

/** Re-seals every version-1 blob of the store (`rows`) with `vault`, which must read version 1; a dry run opens them and writes nothing. */
export async function resealStore(rows: SealedRows, vault: SeedVault, options: ResealOptions = {}): Promise<ResealReport> {
  if (!vault.readsVersion1) throw new Error('the re-seal needs a vault that reads version 1');
  const dryRun = options.dryRun === true;
  const batch = options.batch ?? DEFAULT_BATCH;
  const kinds: ResealCount[] = [];
  const unreadable: UnreadableBlob[] = [];
  let version1Left = false;
  for (const column of options.columns ?? SEALED_COLUMNS) {
    const count: ResealCount = { kind: column.kind, resealed: 0, changedMeanwhile: 0, unreadable: 0 };
    kinds.push(count);
    /** The version-2 blob of a row's version-1 blob; undefined (and reported) when it does not open. */
    const sealAgain = (row: SealedRow): Replacement | undefined => {
      const name = column.name(row.key.map(String));
      let secret: Uint8Array;
      try {
        secret = vault.open(column.purpose, name, row.sealed);
      } catch (error) {
        count.unreadable += 1;
        unreadable.push({ kind: column.kind, id: idOf(row.key), reason: error instanceof VaultError ? (error.reason ?? 'unknown') : 'unknown' });
        return undefined;
      }
      try {
        return { key: row.key, from: row.sealed, to: vault.seal(column.purpose, name, secret) };
      } finally {
        secret.fill(0);
      }
    };
    let after: RowKey | undefined;
    for (;;) {
      const page = await rows.version1Page(column, after, batch);
      if (page.length === 0) break;
      after = page[page.length - 1]!.key;
      const todo = page.filter((row) => sealedVersion(row.sealed) === 1).flatMap((row) => sealAgain(row) ?? []);
      if (dryRun) {
        count.resealed += todo.length;
        continue;
      }
      const applied = todo.length === 0 ? [] : await rows.replace(column, todo);
      for (const [i, replacement] of todo.entries()) {
        if (applied[i]) count.resealed += 1;
        else if (await retry(rows, column, replacement.key, sealAgain)) count.resealed += 1;
        else {
          count.changedMeanwhile += 1;
          if (sealedVersion((await rows.current(column, replacement.key)) ?? new Uint8Array([2])) === 1) version1Left = true;
        }
      }
    }
  }
  return { dryRun, kinds, resealed: kinds.reduce((sum, kind) => sum + kind.resealed, 0), unreadable, version1Left };
}

/** A row missed by its re-seal: re-sealed from what it holds now while that is version 1 (true), or left to its writer (false). */
async function retry(rows: SealedRows, column: SealedColumn, key: RowKey, sealAgain: (row: SealedRow) => Replacement | undefined): Promise<boolean> {
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const sealed = await rows.current(column, key);
    if (sealed === undefined || sealedVersion(sealed) !== 1) return false;
    const replacement = sealAgain({ key, sealed });
    if (!replacement) return false;
    if ((await rows.replace(column, [replacement]))[0]) return true;
  }
  return false;
}

/** The store's settings and audit, as the token store keeps them for every owner. */
export type ResealLedger = Pick<TokenStore, 'getMeta' | 'setMeta' | 'appendAudit'>;

/** Whether the store is marked as holding no version-1 blob to read. */
export async function version1Gone(ledger: Pick<ResealLedger, 'getMeta'>): Promise<boolean> {
  return (await ledger.getMeta(VERSION_1_META)) === NONE_LEFT;
}

export interface RecordOptions {
  /** Audit a re-seal that found nothing to do (default true: an operator's `store reseal`; a new store's first start passes false). */
  readonly recordNothing?: boolean;
}

/**
 * A re-seal that writes: its audit record (counts only), and the store marked once no version-1
 * blob that opens is left. Answers the report and whether the store is marked now.
 */
export async function resealAndRecord(rows: SealedRows, ledger: ResealLedger, vault: SeedVault, actor: Actor, options: Omit<ResealOptions, 'dryRun'> & RecordOptions = {}): Promise<{ report: ResealReport; marked: boolean }> {
  const report = await resealStore(rows, vault, options);
  const nothingFound = report.resealed === 0 && report.unreadable.length === 0 && !report.version1Left && report.kinds.every((kind) => kind.changedMeanwhile === 0);
  if (nothingFound && options.recordNothing === false) {
    if (!(await version1Gone(ledger))) await ledger.setMeta(VERSION_1_META, NONE_LEFT);
    return { report, marked: true };
  }
  const detail: Record<string, number> = { resealed: report.resealed, unreadable: report.unreadable.length };
  for (const kind of report.kinds) {
    if (kind.resealed > 0) detail[kind.kind] = kind.resealed;
    if (kind.changedMeanwhile > 0) detail[`${kind.kind}.changed`] = kind.changedMeanwhile;
    if (kind.unreadable > 0) detail[`${kind.kind}.unreadable`] = kind.unreadable;
  }
  await ledger.appendAudit(auditEntry(actor, 'store.reseal', null, report.unreadable.length === 0 && !report.version1Left ? 'ok' : 'incomplete', detail));
  if (!report.version1Left && !(await version1Gone(ledger))) await ledger.setMeta(VERSION_1_META, NONE_LEFT);
  return { report, marked: !report.version1Left || (await version1Gone(ledger)) };
}

/** One line naming the blobs that did not open (kind and row id; at most `limit`). */
export function unreadableLine(unreadable: readonly UnreadableBlob[], limit = 10): string {
  const named = unreadable.slice(0, limit).map((blob) => `${blob.kind} ${blob.id} (${blob.reason})`);
  const more = unreadable.length > limit ? `, and ${unreadable.length - limit} more` : '';
  return `${unreadable.length} sealed value(s) of version 1 did not open and were left as they are: ${named.join(', ')}${more}; no node reads them (enroll or issue them again, or delete them)`;
}
