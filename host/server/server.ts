/**
 * Starting the validation server: data directory, master key, store, API keys, HTTP. The store
 * is SQLite in the data directory unless a store is handed in (a PostgreSQL store, later).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { DEFAULT_PORT, defaultDbFile } from './defaults.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { buildApp } from './http/app.ts';
import { ServerMetrics } from './metrics.ts';
import { FolderError, ensurePrivateDir, whyNot } from '../store/private-files.ts';
import { DEFAULT_POLICY, type VerifyPolicy } from './policy.ts';
import { ApiKeys, loadMasterKey, type Role } from './secrets.ts';
import { SeedVault } from './seed-vault.ts';
import { SqliteDatabase } from '../store/sqlite-database.ts';
import { SqliteServiceStore } from '../service/store/sqlite-service-store.ts';
import { SqliteTokenStore } from './store/sqlite-token-store.ts';
import { TokenService } from './token-service.ts';
import { peopleAsOwners } from './owners.ts';
import { createNemIdService, type NemIdService } from '../service/service.ts';
import type { ServicePolicy } from '../service/service-policy.ts';
import { registerService } from '../service/web/register.ts';

export interface ServerOptions {
  /** The SQLite file; its folder is the data directory. Default: $XDG_DATA_HOME/noegleviser/server/tokens.db */
  readonly dbFile?: string;
  readonly host?: string;
  readonly port?: number;
  readonly policy?: Partial<VerifyPolicy>;
  /** API keys set by the operator (also taken from NOEGLEVISER_ADMIN_KEY / NOEGLEVISER_CLIENT_KEY). */
  readonly apiKeys?: Partial<Record<Role, string>>;
  readonly rateLimitPerSecond?: number;
  readonly logger?: FastifyServerOptions['logger'];
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
  /** The login service's rules (lockout, threshold, extra cards, login rate…). */
  readonly servicePolicy?: Partial<ServicePolicy>;
  /** Where the service's letters go; default: `outbox` in the data directory. */
  readonly outboxDir?: string;
  /** Mark the session cookie Secure (default true). */
  readonly secureCookies?: boolean;
  /** Adds routes to the app before it listens (the lab's page), with the login service they may read. */
  readonly extend?: (app: FastifyInstance, parts: { readonly service: NemIdService }) => Promise<void> | void;
}

export interface RunningServer {
  readonly url: string;
  readonly dbFile: string;
  /** API keys made on this start: shown once, never stored in the clear. */
  readonly createdKeys: Partial<Record<Role, string>>;
  readonly masterKey: { readonly origin: string; readonly created: boolean };
  readonly app: FastifyInstance;
  /** The login service on this server (people, cards, outbox). */
  readonly service: NemIdService;
  /** The database, for the lab's own settings. */
  readonly database: SqliteDatabase;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const dbFile = path.resolve(options.dbFile ?? defaultDbFile(env));
  const dataDir = prepareDataDir(dbFile);

  let database: SqliteDatabase | undefined;
  let app: FastifyInstance | undefined;
  try {
    // The database first: a path that cannot hold one is refused before a master key is made for it.
    const opened = openDatabase(dbFile);
    database = opened.database;
    const { store, serviceStore } = opened;
    const master = loadMasterKey(dataDir, env);
    const vault = new SeedVault(master.key);
    master.key.fill(0);
    const check = await store.getMeta('master_key_check');
    if (check === undefined) await store.setMeta('master_key_check', vault.keyCheck());
    else if (!vault.matches(check)) {
      throw new CodedError('NV_MASTER_KEY_MISMATCH', `the master key (${master.origin}) is not the one ${dbFile} was sealed with`, 500);
    }
    const { keys, created, keepCreated } = await ApiKeys.load(store, {
      admin: options.apiKeys?.admin ?? (env.NOEGLEVISER_ADMIN_KEY || undefined),
      client: options.apiKeys?.client ?? (env.NOEGLEVISER_CLIENT_KEY || undefined),
    });
    const metrics = new ServerMetrics(store);
    const service = new TokenService(store, vault, { ...DEFAULT_POLICY, ...options.policy }, options.now, {
      verified: (outcome) => metrics.verified(outcome),
      resynced: (outcome) => metrics.resynced(outcome),
    }, peopleAsOwners(serviceStore));
    app = await buildApp({ service, store, keys, metrics, logger: options.logger ?? false, rateLimitPerSecond: options.rateLimitPerSecond });
    const nemId = createNemIdService({ store: serviceStore, vault, tokens: service, outboxDir: options.outboxDir ?? path.join(dataDir, 'outbox'), policy: options.servicePolicy, now: options.now });
    await registerService(app, nemId, { secureCookies: options.secureCookies });
    await options.extend?.(app, { service: nemId });
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? DEFAULT_PORT;
    const address = await app.listen({ host, port }).catch((error: unknown) => {
      throw listenFailure(error, host, port);
    });
    // Only a start that listens keeps the keys it made: one that failed before showing them leaves
    // none behind, so the next start makes (and shows) new ones.
    await keepCreated();
    const openApp = app;
    const openedDatabase = database;
    return {
      url: address,
      dbFile,
      createdKeys: created,
      masterKey: { origin: master.origin, created: master.created },
      app: openApp,
      service: nemId,
      database: openedDatabase,
      close: async () => {
        await openApp.close();
        service.forgetKeys();
        await openedDatabase.close();
      },
    };
  } catch (error) {
    await app?.close().catch(() => {});
    await database?.close();
    throw error;
  }
}

function badDb(dbFile: string, what: string): CodedError {
  return new CodedError('NV_BAD_DB', `cannot use the database ${dbFile}: ${what}`, 500);
}

/** The database's folder, made (0700) if missing; a path that cannot hold a database is refused, at once and in words. */
function prepareDataDir(dbFile: string): string {
  let stats: fs.Stats | undefined;
  try {
    stats = fs.statSync(dbFile);
  } catch {
    stats = undefined; // missing (it is made), or a folder on the way is missing or a file (found below)
  }
  if (stats?.isDirectory()) throw badDb(dbFile, `it is a folder; give a file in it, e.g. ${path.join(dbFile, 'tokens.db')}`);
  if (stats && !stats.isFile()) throw badDb(dbFile, 'it is not a regular file');
  const dataDir = path.dirname(dbFile);
  try {
    ensurePrivateDir(dataDir);
  } catch (error) {
    if (error instanceof FolderError) throw badDb(dbFile, error.message);
    throw error;
  }
  return dataDir;
}

function openDatabase(dbFile: string): { database: SqliteDatabase; store: SqliteTokenStore; serviceStore: SqliteServiceStore } {
  let database: SqliteDatabase | undefined;
  try {
    database = SqliteDatabase.open(dbFile);
    return { database, store: new SqliteTokenStore(database), serviceStore: new SqliteServiceStore(database) };
  } catch (error) {
    void database?.close();
    const failure = error as NodeJS.ErrnoException;
    if (failure.code === 'SQLITE_NOTADB') throw badDb(dbFile, 'it is not a SQLite database');
    if (failure.code === 'SQLITE_CANTOPEN') throw badDb(dbFile, 'SQLite cannot open it');
    if (failure.syscall !== undefined) throw badDb(dbFile, `it cannot be created or opened (${whyNot(failure)})`);
    throw badDb(dbFile, failure.message);
  }
}

/** Why the server could not listen, in one line that says what to do. */
function listenFailure(error: unknown, host: string, port: number): CodedError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'the port is in use (by another server?); choose another with --listen HOST:PORT'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'this machine has no such address'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'the host name does not resolve'
            : (code ?? (error as Error).message);
  return new CodedError('NV_LISTEN', `cannot listen on ${where}: ${why}`, 500);
}
