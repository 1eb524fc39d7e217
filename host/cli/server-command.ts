/** `noegleviser server`: the validation server, until SIGINT/SIGTERM. */
import { Command, Option } from 'commander';
import { checkIssuer } from '../api/oidc-issuer.ts';
import { DEFAULT_POLICY, DEFAULT_PORT, DEFAULT_SERVICE_POLICY, LOG_REDACTIONS, defaultDbFile } from '../start-defaults.ts';
import { usageError, wholeNumber } from './errors.ts';
import { boundServerHeap } from './server-heap.ts';

interface ServerCommandOptions {
  db?: string;
  dataDir?: string;
  listen: string;
  window: number;
  maxFail: number;
  resyncWindow: number;
  autoResync?: boolean;
  rateLimit: number;
  loginRate: number;
  quiet?: boolean;
  allowExport?: boolean;
  validateAllow: string[];
  radiusPort?: number;
  radiusClients?: string;
  issuer?: string;
  oidcKeyCheck?: number;
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw usageError('NV_BAD_ARGUMENT', `--listen takes HOST:PORT (e.g. 127.0.0.1:${DEFAULT_PORT}), not "${text}"`);
  return { host: match[1] ?? match[2]!, port };
}

export function serverCommand(): Command {
  return new Command('server')
    .description('run the validation server (HTTP JSON API, SQLite or PostgreSQL store)')
    .addOption(new Option('--db <path|url>', 'the SQLite file (its folder holds master.key too), or postgres://USER:PASSWORD@HOST1:PORT,HOST2:PORT/DB; also NOEGLEVISER_DB').default(undefined, defaultDbFile()))
    .addOption(new Option('--data-dir <dir>', "with PostgreSQL: this node's own folder (master.key unless NOEGLEVISER_MASTER_KEY is set)"))
    .addOption(new Option('--listen <host:port>', 'where to listen').default(`127.0.0.1:${DEFAULT_PORT}`))
    .addOption(new Option('--window <n>', 'HOTP look-ahead window').argParser(wholeNumber('--window', 1, 1000)).default(DEFAULT_POLICY.hotpWindow))
    .addOption(new Option('--resync-window <n>', 'counters a resync searches').argParser(wholeNumber('--resync-window', 2, 100_000)).default(DEFAULT_POLICY.resyncWindow))
    .addOption(new Option('--max-fail <n>', 'wrong codes that lock a token').argParser(wholeNumber('--max-fail', 1, 1000)).default(DEFAULT_POLICY.maxFail))
    .addOption(new Option('--auto-resync', 'resync by itself on a code beyond the window followed by the next one'))
    .addOption(new Option('--rate-limit <n>', 'requests a second per client (0: no limit)').argParser(wholeNumber('--rate-limit', 0, 1_000_000)).default(200))
    .addOption(new Option('--login-rate <n>', 'login attempts per client address and minute, for all nodes on one store').argParser(wholeNumber('--login-rate', 1, 1_000_000)).default(DEFAULT_SERVICE_POLICY.loginAttemptsPerMinute))
    .addOption(new Option('--quiet', 'no request log on stderr'))
    .addOption(new Option('--validate-allow <cidr>', 'callers from this network may use POST /validate/check without the client key (repeatable)').argParser((value: string, previous: string[]) => [...previous, value]).default([]))
    .addOption(new Option('--radius-port <port>', 'also answer RADIUS (UDP) on this port of the --listen host (0: any free port)').argParser(wholeNumber('--radius-port', 0, 65535)))
    .addOption(new Option('--radius-clients <file>', 'the RADIUS clients: a JSON array of {"name","address","secret"} (needed with --radius-port)'))
    .addOption(new Option('--allow-export', "let an administrator export tokens' seeds (token export); off by default"))
    .addOption(new Option('--issuer <url>', "the OpenID Connect provider's public URL, ending in /oidc (default: the listen address + /oidc)"))
    .addOption(
      new Option('--oidc-key-check <seconds>', "how often this node checks the store for OpenID Connect signing keys rotated on another node, or retired keys past their time (default 5)").argParser(
        wholeNumber('--oidc-key-check', 1, 3600),
      ),
    )
    .action(async (options: ServerCommandOptions) => {
      const { host, port } = parseListen(options.listen);
      // A wrong --issuer is refused before a database or master key is made for it.
      if (options.issuer !== undefined) checkIssuer(options.issuer);
      // Loaded here: fastify and SQLite are for this command only, not for every start of the CLI.
      if ((options.radiusPort === undefined) !== (options.radiusClients === undefined)) throw usageError('NV_BAD_ARGUMENT', '--radius-port and --radius-clients go together');
      boundServerHeap();
      const { startHost } = await import('../start.ts');
      const { readRadiusClients } = await import('../radius/clients-file.ts');
      const radius = options.radiusPort === undefined ? undefined : { port: options.radiusPort, clients: readRadiusClients(options.radiusClients!) };
      const server = await startHost({
        dbFile: options.db,
        dataDir: options.dataDir,
        host,
        port,
        policy: { hotpWindow: options.window, resyncWindow: options.resyncWindow, maxFail: options.maxFail, autoResync: Boolean(options.autoResync) },
        rateLimitPerSecond: options.rateLimit,
        servicePolicy: { loginAttemptsPerMinute: options.loginRate },
        allowExport: Boolean(options.allowExport),
        validateAllow: options.validateAllow,
        radius,
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.oidcKeyCheck === undefined ? {} : { oidcKeyCheckEveryMs: options.oidcKeyCheck * 1000 }),
        logger: options.quiet ? false : { level: 'info', stream: process.stderr, redact: LOG_REDACTIONS },
      });
      for (const warning of server.warnings) process.stderr.write(`noegleviser: warning: ${warning.message} [${warning.code}]\n`);
      // The server listens now (a start that failed kept no key nobody saw): the keys it made come
      // first, so whoever waits for the ready line has them too.
      if (server.createdKeys.admin || server.createdKeys.client) {
        process.stdout.write(
          JSON.stringify({ event: 'api-keys', ...server.createdKeys, note: 'shown this once: only their hashes are stored' }) + '\n',
        );
      }
      process.stdout.write(JSON.stringify({ event: 'ready', url: server.url, db: server.dbFile, pid: process.pid, ...(server.radius ? { radius: server.radius } : {}) }) + '\n');
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
