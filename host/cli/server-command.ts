/** `noegleviser server`: the validation server, until SIGINT/SIGTERM. */
import { Command, Option } from 'commander';
import { DEFAULT_POLICY } from '../server/policy.ts';
import { DEFAULT_PORT, LOG_REDACTIONS, defaultDbFile } from '../server/defaults.ts';
import { usageError, wholeNumber } from './errors.ts';

interface ServerCommandOptions {
  db?: string;
  listen: string;
  window: number;
  maxFail: number;
  resyncWindow: number;
  autoResync?: boolean;
  rateLimit: number;
  quiet?: boolean;
  issuer?: string;
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw usageError('NV_BAD_ARGUMENT', `--listen takes HOST:PORT (e.g. 127.0.0.1:${DEFAULT_PORT}), not "${text}"`);
  return { host: match[1] ?? match[2]!, port };
}

export function serverCommand(): Command {
  return new Command('server')
    .description('run the validation server (HTTP JSON API, SQLite store)')
    .addOption(new Option('--db <path>', 'the SQLite file; its folder holds master.key too').default(undefined, defaultDbFile()))
    .addOption(new Option('--listen <host:port>', 'where to listen').default(`127.0.0.1:${DEFAULT_PORT}`))
    .addOption(new Option('--window <n>', 'HOTP look-ahead window').argParser(wholeNumber('--window', 1, 1000)).default(DEFAULT_POLICY.hotpWindow))
    .addOption(new Option('--resync-window <n>', 'counters a resync searches').argParser(wholeNumber('--resync-window', 2, 100_000)).default(DEFAULT_POLICY.resyncWindow))
    .addOption(new Option('--max-fail <n>', 'wrong codes that lock a token').argParser(wholeNumber('--max-fail', 1, 1000)).default(DEFAULT_POLICY.maxFail))
    .addOption(new Option('--auto-resync', 'resync by itself on a code beyond the window followed by the next one'))
    .addOption(new Option('--rate-limit <n>', 'requests a second per client (0: no limit)').argParser(wholeNumber('--rate-limit', 0, 1_000_000)).default(200))
    .addOption(new Option('--quiet', 'no request log on stderr'))
    .addOption(new Option('--issuer <url>', "the OpenID Connect provider's public URL, ending in /oidc (default: the listen address + /oidc)"))
    .action(async (options: ServerCommandOptions) => {
      const { host, port } = parseListen(options.listen);
      // A wrong --issuer is refused before a database or master key is made for it.
      if (options.issuer !== undefined) (await import('../service/oidc/issuer.ts')).checkIssuer(options.issuer);
      // Loaded here: fastify and SQLite are for this command only, not for every start of the CLI.
      const { startHost } = await import('../start.ts');
      const server = await startHost({
        dbFile: options.db,
        host,
        port,
        policy: { hotpWindow: options.window, resyncWindow: options.resyncWindow, maxFail: options.maxFail, autoResync: Boolean(options.autoResync) },
        rateLimitPerSecond: options.rateLimit,
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        logger: options.quiet ? false : { level: 'info', stream: process.stderr, redact: LOG_REDACTIONS },
      });
      // The server listens now (a start that failed kept no key nobody saw): the keys it made come
      // first, so whoever waits for the ready line has them too.
      if (server.createdKeys.admin || server.createdKeys.client) {
        process.stdout.write(
          JSON.stringify({ event: 'api-keys', ...server.createdKeys, note: 'shown this once: only their hashes are stored' }) + '\n',
        );
      }
      process.stdout.write(JSON.stringify({ event: 'ready', url: server.url, db: server.dbFile, pid: process.pid }) + '\n');
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
