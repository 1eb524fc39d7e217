/**
 * `noegleviser store …`: the server's database itself, for an operator: `store migrate` brings its
 * tables up to date, `store copy` moves a lab's SQLite file to a new PostgreSQL database.
 */
import { Command, Option } from 'commander';
import { CodedError } from '../../protocol/coded-error.ts';
import { defaultDbFile } from '../start-defaults.ts';
import { CommandExit, usageError } from './errors.ts';
import { columns, createOutput } from './output.ts';

interface CopyOptions {
  from: string;
  to: string;
  json?: boolean;
}

/** A --db / --to that names no database it can use, or a --from that is no lab's database, is the command line's fault: a usage error (exit 2). */
const USAGE_CODES = new Set(['NV_BAD_DB', 'NV_STORE_COPY_SOURCE']);

function asUsage(error: unknown): unknown {
  return error instanceof CodedError && USAGE_CODES.has(error.code) ? usageError(error.code, error.message) : error;
}

interface MigrateOptions {
  db?: string;
  dataDir?: string;
  json?: boolean;
}

export function storeCommand(): Command {
  const store = new Command('store').description("the server's database: bring its tables up to date, move a lab's to PostgreSQL");
  store
    .command('migrate')
    .description('apply the migrations the database lacks (as a server does when it starts), then stop; run it again and there is nothing to do')
    .addOption(new Option('--db <path|url>', 'the SQLite file, or postgres://USER:PASSWORD@HOST1:PORT,HOST2:PORT/DB; also NOEGLEVISER_DB').default(undefined, defaultDbFile()))
    .addOption(new Option('--data-dir <dir>', "with PostgreSQL: this node's own folder"))
    .addOption(new Option('--json', 'print JSON'))
    .action(async (options: MigrateOptions) => {
      // Loaded here: the database drivers are for this command only, not for every start of the CLI.
      const { migrateDatabase } = await import('../start.ts');
      let result: Awaited<ReturnType<typeof migrateDatabase>>;
      try {
        result = await migrateDatabase({ dbFile: options.db, dataDir: options.dataDir });
      } catch (error) {
        throw asUsage(error);
      }
      const applied = result.migrations.filter((step) => step.to !== step.from);
      createOutput(Boolean(options.json)).result({ db: result.db, applied, schema: result.migrations.map(({ owner, to }) => ({ owner, version: to })) }, () =>
        applied.length === 0
          ? [`${result.db}: nothing to do, its tables are up to date (${result.migrations.map((step) => `${step.owner} ${step.to}`).join(', ')})`]
          : [`${result.db}: migrated`, ...applied.map((step) => `  ${step.owner}: version ${step.from} → ${step.to}`)],
      );
    });
  store
    .command('reseal')
    .description('seal again, in the current version, every value the store keeps sealed in the first version (seeds, passwords, cards, letters, the OpenID Connect keys and records); says how many of each kind')
    .addOption(new Option('--db <path|url>', 'the SQLite file, or postgres://USER:PASSWORD@HOST1:PORT,HOST2:PORT/DB; also NOEGLEVISER_DB').default(undefined, defaultDbFile()))
    .addOption(new Option('--data-dir <dir>', "with PostgreSQL: this node's own folder (its master.key, unless NOEGLEVISER_MASTER_KEY)"))
    .addOption(new Option('--dry-run', 'open them and count, writing nothing'))
    .addOption(new Option('--json', 'print JSON'))
    .action(async (options: MigrateOptions & { dryRun?: boolean }) => {
      const { resealDatabase, unreadableLine } = await import('../start.ts');
      let report: Awaited<ReturnType<typeof resealDatabase>>;
      try {
        report = await resealDatabase({ dbFile: options.db, dataDir: options.dataDir, dryRun: options.dryRun === true });
      } catch (error) {
        throw asUsage(error);
      }
      const output = createOutput(Boolean(options.json));
      const verb = report.dryRun ? 'would re-seal' : 're-sealed';
      output.result(report, () => [
        `${report.db}: ${verb} ${report.resealed} value(s) of version 1 as version 2${report.dryRun ? ' (dry run: nothing written)' : ''}`,
        ...columns(
          ['kind', report.dryRun ? 'would re-seal' : 're-sealed', 'changed meanwhile', 'not opening'],
          report.kinds.map((kind) => [kind.kind, String(kind.resealed), String(kind.changedMeanwhile), String(kind.unreadable)]),
        ).map((line) => `  ${line}`),
        report.marked
          ? 'the store is marked as holding no version-1 value to read: nodes read version 2 only'
          : report.dryRun
            ? 'the store is not marked yet: a run without --dry-run marks it once no version-1 value that opens is left'
            : 'the store still holds version-1 values (rows rewritten meanwhile): run it again; nodes read version 1 too',
      ]);
      if (report.unreadable.length > 0) {
        output.note(`noegleviser: ${unreadableLine(report.unreadable)} [NV_RESEAL_UNREADABLE]`);
        throw new CommandExit(1);
      }
    });
  store
    .command('copy')
    .description(
      "copy a lab's SQLite database (tokens with their sealed seeds, people, cards, key files, organisations, sessions, API-key hashes, audit, settings) into a new PostgreSQL database, in one transaction; refused if the target holds anything",
    )
    .requiredOption('--from <file>', "the lab's SQLite database file (read only)")
    .requiredOption('--to <url>', 'postgres://USER:PASSWORD@HOST:PORT/DB, a new (empty) database; its tables are made as a server makes them')
    .addOption(new Option('--json', 'print JSON'))
    .action(async (options: CopyOptions) => {
      const { copyDatabase } = await import('../start.ts');
      let report: Awaited<ReturnType<typeof copyDatabase>>;
      try {
        report = await copyDatabase({ from: options.from, to: options.to });
      } catch (error) {
        throw asUsage(error);
      }
      const keyAdvice = report.masterKeyFile
        ? `the seeds are still sealed with the lab's master key: give every node the same NOEGLEVISER_MASTER_KEY, or a copy of ${report.masterKeyFile} (mode 0600) in its --data-dir`
        : "the seeds are still sealed with the lab's master key: give every node the same NOEGLEVISER_MASTER_KEY (or key file) the lab used";
      createOutput(Boolean(options.json)).result({ ...report, masterKey: keyAdvice }, () => [
        `${report.from} → ${report.to}: ${report.rows} rows in ${report.tables.length} tables, one transaction, ${(report.ms / 1000).toFixed(1)} s`,
        ...columns(['table', 'rows'], report.tables.map(({ table, rows }) => [table, String(rows)])).map((line) => `  ${line}`),
        keyAdvice,
      ]);
    });
  return store;
}
