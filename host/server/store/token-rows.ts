/**
 * A token store's rows as both drivers read them (the same columns on SQLite and on PostgreSQL):
 * their types, the table shapes the one compare-and-set writes by, and the records they become.
 */
import type { ReplacementChanges, ReplacementRecord, ReplacementState, TokenChanges, TokenRecord, TokenState } from './types.ts';

/** A table the compare-and-set writes: its key and each change's column (both databases take this shape). */
interface TableShape {
  readonly table: string;
  readonly key: string;
  readonly columns: Readonly<Record<string, string>>;
}

export interface TokenRow {
  serial: string;
  kind: string;
  algorithm: string;
  digits: number;
  period: number;
  counter: number;
  last_step: number;
  drift_steps: number;
  state: string;
  fail_count: number;
  owner: string | null;
  sealed_seed: Buffer;
  pending_counter: number | null;
  pending_at: number | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  exported_at: number | null;
  version: number;
}

export const TOKENS: TableShape = {
  table: 'tokens',
  key: 'serial',
  columns: {
    counter: 'counter',
    lastStep: 'last_step',
    driftSteps: 'drift_steps',
    state: 'state',
    failCount: 'fail_count',
    owner: 'owner',
    pendingCounter: 'pending_counter',
    pendingAt: 'pending_at',
    lastUsedAt: 'last_used_at',
  } satisfies Record<keyof TokenChanges, string>,
};

export function toRecord(row: TokenRow): TokenRecord {
  return {
    serial: row.serial,
    kind: row.kind as TokenRecord['kind'],
    algorithm: row.algorithm as TokenRecord['algorithm'],
    digits: row.digits,
    period: row.period,
    counter: row.counter,
    lastStep: row.last_step,
    driftSteps: row.drift_steps,
    state: row.state as TokenState,
    failCount: row.fail_count,
    owner: row.owner,
    sealedSeed: new Uint8Array(row.sealed_seed),
    pendingCounter: row.pending_counter,
    pendingAt: row.pending_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
    exportedAt: row.exported_at,
    version: row.version,
  };
}

export interface ReplacementRow {
  id: string;
  replaces: string;
  owner: string | null;
  sealed_password: Buffer;
  state: string;
  fail_count: number;
  valid_until: number;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  version: number;
}

export const REPLACEMENTS: TableShape = {
  table: 'replacements',
  key: 'id',
  columns: { state: 'state', failCount: 'fail_count', lastUsedAt: 'last_used_at' } satisfies Record<keyof ReplacementChanges, string>,
};

export function toReplacement(row: ReplacementRow): ReplacementRecord {
  return {
    id: row.id,
    replaces: row.replaces,
    owner: row.owner,
    sealedPassword: new Uint8Array(row.sealed_password),
    state: row.state as ReplacementState,
    failCount: row.fail_count,
    validUntil: row.valid_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
    version: row.version,
  };
}
