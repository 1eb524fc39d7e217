/**
 * Many compare-and-sets on one table, with their audit records, in ONE statement: the group
 * commit's writes of a turn cost one round trip and one statement of PostgreSQL's, not one each.
 *
 * Each write is a row of a JSON array (key, expected version, time, the columns it sets); the
 * UPDATE joins the table to those rows and applies a row's changes only where the table's row is
 * still at its expected version, so the condition holds per write exactly as in the one-write
 * compare-and-set. When two writes of a batch name the same row at the same version, PostgreSQL
 * updates that row once, from one of them (a row already updated by the same command is skipped),
 * and RETURNING names the write that applied: exactly one wins. A row locked by another node's
 * transaction is waited for, then read again at its new version (READ COMMITTED), which fails the
 * condition. The audit records of the writes that applied are inserted by the same statement.
 *
 * Run alone (no BEGIN), the statement is its own transaction: its answer arrives after its commit.
 */
import { subjectKindOfAction, type NewAuditEntry } from '../audit.ts';
import type { Queryable, TableShape } from './postgres-database.ts';

/** One compare-and-set of a batch. */
export interface CompareAndSetWrite {
  readonly shape: TableShape;
  readonly key: string;
  readonly expectedVersion: number;
  /** Fields of `shape.columns` to set (undefined: left as it is). */
  readonly changes: object;
  readonly audit: NewAuditEntry | null;
  readonly updatedAt: number;
}

const statements = new Map<string, { readonly name: string; readonly text: string }>();

/** The statement of `shape` (the same text every time, so it is prepared once per connection). */
function statementOf(shape: TableShape): { readonly name: string; readonly text: string } {
  const columns = [...new Set(Object.values(shape.columns))].sort();
  const signature = `${shape.table}(${columns.join(',')})`;
  const known = statements.get(signature);
  if (known) return known;
  const assignments = columns.map((column) => `${column} = CASE WHEN i.given ? '${column}' THEN (i.c).${column} ELSE t.${column} END`);
  const text = `WITH input AS MATERIALIZED (
      SELECT e.n::int AS n, e.v->>'k' AS k, (e.v->>'v')::int AS expected, (e.v->>'u')::bigint AS at, e.v->'s' AS given,
        jsonb_populate_record(NULL::${shape.table}, e.v->'s') AS c
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n)
    ),
    changed AS (
      UPDATE ${shape.table} t SET ${assignments.join(', ')}, version = t.version + 1, updated_at = i.at
      FROM input i
      WHERE t.${shape.key} = ANY($4::text[]) AND t.${shape.key} = i.k AND t.version = i.expected AND (SELECT set_config('lock_timeout', coalesce($3, current_setting('lock_timeout')), true)) IS NOT NULL
      RETURNING i.n
    ),
    logged AS (
      INSERT INTO audit (at, actor, action, serial, subject_kind, result, detail)
      SELECT a.at, a.actor, a.action, a.serial, a.subject_kind, a.result, a.detail
      FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(v, o), jsonb_populate_record(NULL::audit, e.v) a
      WHERE (e.v->>'n')::int IN (SELECT n FROM changed)
      ORDER BY e.o
    )
    SELECT n FROM changed`;
  // One name per text (a name prepared with another text is refused): the table and a count.
  const statement = { name: `nv_cas_${shape.table}_${statements.size}`, text };
  statements.set(signature, statement);
  return statement;
}

/** A change's value as JSON can carry it to its column: numbers, text, booleans, null. */
function jsonValue(column: string, value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new TypeError(`the batched compare-and-set cannot carry the value of ${column} (${typeof value})`);
}

/**
 * Runs `writes` (all on the same table) as one statement on `client`: for each write, whether it
 * applied. `lockTimeout` ('100ms'; null: the server's setting) bounds each wait for a row another
 * transaction holds, to the end of the transaction.
 */
export async function compareAndSetMany(client: Queryable, writes: readonly CompareAndSetWrite[], lockTimeout: string | null): Promise<boolean[]> {
  const shape = writes[0]!.shape;
  const rows: unknown[] = [];
  const audits: unknown[] = [];
  // The keys again as an array, which the planner estimates as the few rows they are (an index
  // scan), where it takes a JSON array for a hundred (a scan of the whole table, once it is small).
  const keys = writes.map((write) => write.key);
  writes.forEach((write, index) => {
    if (write.shape.table !== shape.table) throw new Error(`a batched compare-and-set is on one table, not ${shape.table} and ${write.shape.table}`);
    const given: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(write.changes)) {
      if (value === undefined || !Object.hasOwn(shape.columns, field)) continue;
      const column = shape.columns[field]!;
      given[column] = jsonValue(column, value);
    }
    rows.push({ k: write.key, v: write.expectedVersion, u: write.updatedAt, s: given });
    const audit = write.audit;
    if (audit) {
      const subjectKind = audit.serial === null ? null : (audit.subjectKind ?? subjectKindOfAction(audit.action));
      // n: the write's place in `rows`, 1-based like the ordinality the UPDATE returns.
      audits.push({ n: index + 1, at: audit.at, actor: audit.actor, action: audit.action, serial: audit.serial, subject_kind: subjectKind, result: audit.result, detail: JSON.stringify(audit.detail) });
    }
  });
  const statement = statementOf(shape);
  const { rows: applied } = await client.query<{ n: number }>({ ...statement, values: [JSON.stringify(rows), JSON.stringify(audits), lockTimeout, keys] });
  const done = new Array<boolean>(writes.length).fill(false);
  for (const { n } of applied) done[n - 1] = true;
  return done;
}
