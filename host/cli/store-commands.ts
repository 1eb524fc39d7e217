/** `noegleviser store …`: the server's database itself, for an operator: `store migrate` brings its tables up to date. */
import { Command, Option } from 'commander';
import { CodedError } from '../../protocol/coded-error.ts';
import { defaultDbFile } from '../start-defaults.ts';
import { usageError } from './errors.ts';
import { createOutput } from './output.ts';

interface MigrateOptions {
  db?: string;
  dataDir?: string;
  json?: boolean;
}

export function storeCommand(): Command {
  const store = new Command('store').description("the server's database: bring its tables up to date");
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
        // A --db that names no database it can use is the command line's fault: a usage error.
        if (error instanceof CodedError && error.code === 'NV_BAD_DB') throw usageError(error.code, error.message);
        throw error;
      }
      const applied = result.migrations.filter((step) => step.to !== step.from);
      createOutput(Boolean(options.json)).result({ db: result.db, applied, schema: result.migrations.map(({ owner, to }) => ({ owner, version: to })) }, () =>
        applied.length === 0
          ? [`${result.db}: nothing to do, its tables are up to date (${result.migrations.map((step) => `${step.owner} ${step.to}`).join(', ')})`]
          : [`${result.db}: migrated`, ...applied.map((step) => `  ${step.owner}: version ${step.from} → ${step.to}`)],
      );
    });
  return store;
}
