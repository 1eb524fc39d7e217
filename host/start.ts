/**
 * Starting the host: the one place that puts its parts together. It opens the database (SQLite in
 * the data directory), gives the token side and the login service each its own store on it,
 * starts the validation server's token API, registers the login service (and whatever else a
 * caller adds, such as the lab's page) on the same app, and listens. The parts do not know each
 * other's insides: the token side learns who may own a token through the `OwnerDirectory` handed
 * to it here, and the service uses the token service through its methods.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { DEFAULT_PORT, defaultDbFile } from './server/defaults.ts';
import type { VerifyPolicy } from './server/policy.ts';
import type { Role } from './server/secrets.ts';
import { databaseFailure, keyOpensStore, openTokenServer, prepareDataDir, type TokenServer } from './server/server.ts';
import { SqliteTokenStore } from './server/store/sqlite-token-store.ts';
import type { TokenStore } from './server/store/types.ts';
import type { TokenService } from './server/token-service.ts';
import type { RadiusFront } from './radius/front.ts';
import { startRadiusFront, type RadiusOptions } from './radius/start.ts';
import { loginAsUserPasswords, peopleAsOwners } from './service/owners.ts';
import { createNemIdService, type NemIdService } from './service/service.ts';
import type { ServicePolicy } from './service/service-policy.ts';
import { PostgresServiceStore } from './service/store/postgres-service-store.ts';
import { SqliteServiceStore } from './service/store/sqlite-service-store.ts';
import type { ServiceStore } from './service/store/types.ts';
import { registerOidc, type OidcProvider } from './service/oidc/oidc.ts';
import { SqliteOidcStore } from './service/oidc/store/sqlite-oidc-store.ts';
import { PostgresOidcStore } from './service/oidc/store/postgres-oidc-store.ts';
import type { OidcStore } from './service/oidc/store/types.ts';
import { registerService } from './service/web/register.ts';
import type { LetterStore } from './service/outbox/letter-store.ts';
import { PostgresLetterStore } from './service/outbox/postgres-letter-store.ts';
import { SqliteLetterStore } from './service/outbox/sqlite-letter-store.ts';
import { MemoryLoginWindows, type LoginWindows } from './service/web/login-windows.ts';
import { PostgresLoginWindows } from './service/web/postgres-login-windows.ts';
import { SqliteDatabase } from './store/sqlite-database.ts';
import { CodedError } from '../protocol/coded-error.ts';
import { PostgresTokenStore } from './server/store/postgres-token-store.ts';
import { isPostgresUrl, parsePostgresUrl } from './store/postgres/connection-url.ts';
import { PostgresDatabase } from './store/postgres/postgres-database.ts';
import type { MigrationOutcome } from './store/migration-outcome.ts';
import { BadDatabaseSettingError, StoreUnavailableError } from './store/store-errors.ts';
import { copyIntoPostgres, SqliteSource, StoreCopyError, type CopiedTable } from './store/copy.ts';
import { resealAndRecord, resealStore, unreadableLine, version1Gone, type ResealReport } from './store/reseal/reseal.ts';
/** The one line `store reseal` prints for the values that did not open (the CLI reaches the stores only through this module). */
export { unreadableLine };
import type { SealedRows } from './store/reseal/sealed-rows.ts';
import { SqliteSealedRows } from './store/reseal/sqlite-sealed-rows.ts';
import { PostgresSealedRows } from './store/reseal/postgres-sealed-rows.ts';
import { findMasterKey, masterKeyFile } from './server/secrets.ts';
import { SeedVault } from './server/seed-vault.ts';

export interface HostOptions {
  /**
   * The database: a SQLite file (its folder is the data directory), or a postgres:// URL naming
   * the cluster's hosts. Default: NOEGLEVISER_DB, else $XDG_DATA_HOME/noegleviser/server/tokens.db.
   */
  readonly dbFile?: string;
  /** With PostgreSQL: what this node keeps of its own (master.key unless given); default the SQLite file's folder. */
  readonly dataDir?: string;
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
  /** Lets an administrator export seeds (`server --allow-export`); off by default. */
  readonly allowExport?: boolean;
  /** Networks whose callers may use /validate/check without the client key (`server --validate-allow CIDR`). */
  readonly validateAllow?: readonly string[];
  /** The RADIUS front (`server --radius-port N --radius-clients FILE`); none without it. */
  readonly radius?: RadiusOptions;
  /** Mark the session cookie Secure (default true). */
  readonly secureCookies?: boolean;
  /** Sees the app before the login service and `extend` add their routes (a census of them with fastify's onRoute). */
  readonly beforeRoutes?: (app: FastifyInstance) => void;
  /** The OpenID Connect provider's public URL (its path is /oidc); default: the listen address + /oidc. */
  readonly issuer?: string;
  /** How often the provider's expired rows are swept (default: every 10 minutes). */
  readonly oidcSweepEveryMs?: number;
  /** How often this node checks the store for signing keys rotated on another node or retired keys past their time (default: every 5 s). */
  readonly oidcKeyCheckEveryMs?: number;
  /** Adds routes to the app before it listens (the lab's page), with the parts they may use. */
  readonly extend?: (app: FastifyInstance, parts: { readonly service: NemIdService; readonly tokens: TokenService; readonly oidc: OidcProvider }) => Promise<void> | void;
}

export interface RunningHost {
  readonly url: string;
  readonly dbFile: string;
  /** API keys made on this start: shown once, never stored in the clear. */
  readonly createdKeys: Partial<Record<Role, string>>;
  readonly masterKey: { readonly origin: string; readonly created: boolean };
  readonly app: FastifyInstance;
  /** The validation server's token service. */
  readonly tokens: TokenService;
  /** The login service on this host (people, cards, outbox). */
  readonly service: NemIdService;
  /** The login service's OpenID Connect provider (its sites, its issuer). */
  readonly oidc: OidcProvider;
  /** The host's own settings (the lab keeps which person is its own here). */
  readonly settings: Pick<TokenStore, 'getMeta' | 'setMeta'>;
  /** Where the RADIUS front listens, when it was asked for. */
  readonly radius?: { readonly address: string; readonly port: number };
  /** What the operator should know of this start (files an older version left that are read no more). */
  readonly warnings: readonly StartWarning[];
  close(): Promise<void>;
}

/**
 * Files an older version kept in the data directory that this one reads no more: the letters of
 * the outbox as files (now in the store), and on PostgreSQL the login service's node-local SQLite
 * file (now on PostgreSQL). They are left alone (a start deletes nothing), and said once.
 */
export interface StartWarning {
  /** NV_RESEAL_UNREADABLE: the start's re-seal found version-1 sealed values that do not open (left as they are). */
  readonly code: 'NV_LEFTOVER_FILES' | 'NV_RESEAL_UNREADABLE';
  readonly message: string;
}

function leftoverWarnings(choice: DatabaseChoice): StartWarning[] {
  const warnings: StartWarning[] = [];
  const outbox = path.join(choice.dataDir, 'outbox');
  if (fs.existsSync(outbox)) {
    warnings.push({
      code: 'NV_LEFTOVER_FILES',
      message: `${outbox} holds letters kept as files by an earlier version; the outbox is in the store now and they are not read: they hold temporary passwords and card keys in the clear, so keep what is needed elsewhere and delete the folder`,
    });
  }
  const serviceFile = path.join(choice.dataDir, 'service.db');
  if (choice.kind === 'postgres' && fs.existsSync(serviceFile)) {
    warnings.push({
      code: 'NV_LEFTOVER_FILES',
      message: `${serviceFile} holds this node's login-service people, cards and sessions from an earlier version; they are on PostgreSQL now and this file is not read`,
    });
  }
  return warnings;
}

export async function startHost(options: HostOptions = {}): Promise<RunningHost> {
  const env = options.env ?? process.env;
  const db = chooseDatabase(options.dbFile ?? (env.NOEGLEVISER_DB || undefined) ?? defaultDbFile(env), options.dataDir);
  const { dbFile, dataDir } = db;
  const warnings = leftoverWarnings(db);
  // The database first: a path that cannot hold one is refused before a master key is made for it.
  const { database, tokenStore, serviceStore, oidcStore, letters, loginWindows, sealedRows } = await openStores(db);
  let server: TokenServer | undefined;
  let service: NemIdService | undefined;
  let radius: RadiusFront | undefined;
  try {
    server = await openTokenServer({
      store: tokenStore,
      dbFile,
      dataDir,
      env,
      policy: options.policy,
      apiKeys: options.apiKeys,
      rateLimitPerSecond: options.rateLimitPerSecond,
      logger: options.logger,
      now: options.now,
      owners: peopleAsOwners(serviceStore),
      allowExport: options.allowExport,
      userPasswords: loginAsUserPasswords(() => service!.login),
      validateAllow: options.validateAllow,
      // Under the cluster lock: a store not yet marked as holding no version-1 blob is re-sealed once, by one node.
      settleVault: async (vault) => {
        if (await version1Gone(tokenStore)) return vault.withoutVersion1();
        const { report, marked } = await resealAndRecord(sealedRows, tokenStore, vault, { name: 'system' }, { recordNothing: false });
        if (report.unreadable.length > 0) warnings.push({ code: 'NV_RESEAL_UNREADABLE', message: unreadableLine(report.unreadable) });
        return marked ? vault.withoutVersion1() : vault;
      },
    });
    service = createNemIdService({
      store: serviceStore,
      vault: server.vault,
      tokens: server.tokens,
      letters,
      policy: options.servicePolicy,
      now: options.now,
    });
    options.beforeRoutes?.(server.app);
    const web = await registerService(server.app, service, serviceStore, { secureCookies: options.secureCookies, loginWindows });
    const oidc = await registerOidc(server.app, { service, web, store: oidcStore, vault: server.vault, issuer: options.issuer, sweepEveryMs: options.oidcSweepEveryMs, keyCheckEveryMs: options.oidcKeyCheckEveryMs });
    // A person's access ending (a credential blocked, a lockout, a new password) ends their sessions at the sites.
    service.accessEnds.subscribe((personId) => oidc.endSessionsOf(personId));
    // A person's token taken out of use by any route (the token API and CLI included) is such an end too.
    server.tokens.onBlocked((owner) => service!.accessEnds.ended(owner, 'token-blocked'));
    await options.extend?.(server.app, { service, tokens: server.tokens, oidc });
    radius = options.radius && (await startRadiusFront(options.radius, { service, tokens: server.tokens, audit: tokenStore, host: options.host ?? '127.0.0.1', perSecond: options.rateLimitPerSecond ?? 200 }));
    const url = await server.listen(options.host ?? '127.0.0.1', options.port ?? DEFAULT_PORT);
    await oidc.start(url);
    const running = server;
    const front = radius;
    return {
      url,
      dbFile,
      createdKeys: server.createdKeys,
      masterKey: server.masterKey,
      app: server.app,
      tokens: server.tokens,
      service,
      oidc,
      settings: tokenStore,
      ...(front ? { radius: front.address() } : {}),
      warnings,
      close: async () => {
        await front?.close();
        await running.close();
        await database.close();
      },
    };
  } catch (error) {
    await radius?.close().catch(() => {});
    await server?.close().catch(() => {});
    await database.close();
    throw error;
  }
}

/**
 * `store migrate`: opens the database `--db` names, as a start does (which brings every side's
 * tables up to date, under the migration lock on PostgreSQL), and closes it. Answers where, and
 * what each owner's migration found and did.
 */
export async function migrateDatabase(options: Pick<HostOptions, 'dbFile' | 'dataDir' | 'env'> = {}): Promise<{ readonly db: string; readonly migrations: readonly MigrationOutcome[] }> {
  const env = options.env ?? process.env;
  const choice = chooseDatabase(options.dbFile ?? (env.NOEGLEVISER_DB || undefined) ?? defaultDbFile(env), options.dataDir);
  const { database } = await openStores(choice);
  try {
    return { db: choice.dbFile, migrations: [...database.migrated] };
  } finally {
    await database.close();
  }
}

/** What `store reseal` did (or, a dry run, would do): counts per kind, and the values that did not open by kind and row id. */
export interface StoreResealReport extends ResealReport {
  readonly db: string;
  /** Whether the store is now marked as holding no version-1 value to read (nodes then read version 2 only). */
  readonly marked: boolean;
}

/**
 * `store reseal`: every version-1 sealed value of the database `--db` names re-sealed as version 2
 * (host/store/reseal/), under the cluster lock, with this node's master key (which must be the
 * store's); a dry run opens them and writes nothing.
 */
export async function resealDatabase(options: Pick<HostOptions, 'dbFile' | 'dataDir' | 'env'> & { readonly dryRun?: boolean }): Promise<StoreResealReport> {
  const env = options.env ?? process.env;
  const choice = chooseDatabase(options.dbFile ?? (env.NOEGLEVISER_DB || undefined) ?? defaultDbFile(env), options.dataDir);
  const { database, tokenStore, sealedRows } = await openStores(choice);
  try {
    const master = findMasterKey(choice.dataDir, env);
    if (!master) {
      throw new CodedError('NV_MASTER_KEY_MISMATCH', `no master key (NOEGLEVISER_MASTER_KEY, or the file ${masterKeyFile(choice.dataDir, env)}): give the key ${choice.dbFile} was sealed with`);
    }
    const vault = new SeedVault(master.key);
    master.key.fill(0);
    // As a start does: a wrong key would find every value unreadable and mark the store as holding no version 1 to read.
    if (!(await keyOpensStore(tokenStore, vault))) throw new CodedError('NV_MASTER_KEY_MISMATCH', `the master key (${master.origin}) is not the one ${choice.dbFile} was sealed with`);
    if (options.dryRun) return { db: choice.dbFile, ...(await resealStore(sealedRows, vault, { dryRun: true })), marked: await version1Gone(tokenStore) };
    const lock = await tokenStore.lockCluster();
    try {
      const { report, marked } = await resealAndRecord(sealedRows, tokenStore, vault, { name: 'store-reseal' });
      return { db: choice.dbFile, ...report, marked };
    } finally {
      await lock.release();
    }
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw new CodedError('NV_STORE_UNAVAILABLE', error.message);
    throw error;
  } finally {
    await database.close();
  }
}

/** What `store copy` did: from where, to where (no password), the rows per table, and the lab's master key file if it has one beside it. */
export interface StoreCopyReport {
  readonly from: string;
  readonly to: string;
  readonly tables: readonly CopiedTable[];
  readonly rows: number;
  readonly ms: number;
  readonly masterKeyFile?: string;
}

/**
 * `store copy`: a lab's SQLite file (`from`) into a new PostgreSQL database (`to`), the tables of
 * every owner by name (host/store/copy.ts). The target is opened as a node's start opens it, so
 * every owner's tables exist and are migrated before a row is copied; a `to` that is not a
 * postgres:// URL is NV_BAD_DB.
 */
export async function copyDatabase(options: { readonly from: string; readonly to: string }): Promise<StoreCopyReport> {
  if (!isPostgresUrl(options.to)) {
    throw new CodedError('NV_BAD_DB', `store copy writes to PostgreSQL: --to must be a postgres:// URL, not ${options.to.replace(/\/\/[^@/]*@/, '//…@')}`);
  }
  const started = Date.now();
  const from = path.resolve(options.from);
  let source: SqliteSource | undefined;
  // A copy is no node: the open's data directory is a scratch one, removed after (it keeps nothing of a node's).
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noegleviser-copy-'));
  try {
    source = SqliteSource.open(from);
    const choice = chooseDatabase(options.to, scratch);
    if (choice.kind !== 'postgres') throw new CodedError('NV_BAD_DB', `store copy writes to PostgreSQL, not to ${choice.dbFile}`);
    const { database: migrated } = await openStores(choice);
    await migrated.close();
    // The layout a file of this build has: one made in the scratch folder, every owner's tables on it.
    const layoutFile = path.join(scratch, 'layout.db');
    await (await openStores({ kind: 'sqlite', dbFile: layoutFile, dataDir: scratch })).database.close();
    const layoutSource = SqliteSource.open(layoutFile);
    const layout = layoutSource.schemaVersions();
    layoutSource.close();
    const target = await PostgresDatabase.open(choice.url).catch((error: unknown) => {
      throw error instanceof StoreUnavailableError ? new CodedError('NV_STORE_UNAVAILABLE', error.message) : error;
    });
    try {
      const tables = await copyIntoPostgres(source, target, layout);
      const keyFile = path.join(path.dirname(from), 'master.key');
      return { from, to: choice.dbFile, tables, rows: tables.reduce((sum, table) => sum + table.rows, 0), ms: Date.now() - started, ...(fs.existsSync(keyFile) ? { masterKeyFile: keyFile } : {}) };
    } finally {
      await target.close();
    }
  } catch (error) {
    if (error instanceof StoreCopyError) throw new CodedError(error.code, error.message);
    if (error instanceof StoreUnavailableError) throw new CodedError('NV_STORE_UNAVAILABLE', error.message);
    throw error;
  } finally {
    source?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

type DatabaseChoice =
  | { readonly kind: 'sqlite'; readonly dbFile: string; readonly dataDir: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly dbFile: string; readonly dataDir: string };

/** A URL of another scheme (mysql://, sqlite://, a mistyped postgres): not a file path either. */
const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** What `--db` names: a postgres:// URL, or a SQLite file; anything that looks like another URL is refused (NV_BAD_DB). */
function chooseDatabase(db: string, dataDir: string | undefined): DatabaseChoice {
  // With SQLite the data directory is the file's folder.
  if (isPostgresUrl(db)) {
    // Parsed now, so that a bad URL is refused before anything is made; `dbFile` is what messages show (no password).
    let settings: ReturnType<typeof parsePostgresUrl>;
    try {
      settings = parsePostgresUrl(db);
    } catch (error) {
      if (error instanceof BadDatabaseSettingError) throw new CodedError('NV_BAD_DB', error.message);
      throw error;
    }
    const shown = `postgres://${settings.hosts.map((h) => `${h.host}:${h.port}`).join(',')}/${settings.database ?? ''}`;
    const dir = path.resolve(dataDir ?? path.dirname(defaultDbFile()));
    prepareDataDir(path.join(dir, 'tokens.db'));
    return { kind: 'postgres', url: db, dbFile: shown, dataDir: dir };
  }
  if (OTHER_URL.test(db)) {
    throw new CodedError('NV_BAD_DB', `cannot use the database ${db.replace(/\/\/[^@/]*@/, '//…@')}: give a SQLite file path or a postgres:// URL`);
  }
  const dbFile = path.resolve(db);
  return { kind: 'sqlite', dbFile, dataDir: prepareDataDir(dbFile) };
}

interface OpenStores {
  readonly database: { close(): Promise<void>; readonly migrated: readonly MigrationOutcome[] };
  readonly tokenStore: TokenStore;
  readonly serviceStore: ServiceStore;
  readonly oidcStore: OidcStore;
  /** The outbox's letters, in the store every node shares. */
  readonly letters: LetterStore;
  /** The login throttle's counts: in this process on SQLite (one node), in the database on PostgreSQL (the cluster's). */
  readonly loginWindows: LoginWindows;
  /** Every owner's sealed columns, for the re-seal. */
  readonly sealedRows: SealedRows;
}

/** The database with each side's store on it (their tables brought up to date); one that cannot be used is NV_BAD_DB. */
async function openStores(choice: DatabaseChoice): Promise<OpenStores> {
  if (choice.kind === 'postgres') return openPostgresStores(choice.url);
  let database: SqliteDatabase | undefined;
  try {
    database = SqliteDatabase.open(choice.dbFile);
    return { database, tokenStore: new SqliteTokenStore(database), serviceStore: new SqliteServiceStore(database), oidcStore: new SqliteOidcStore(database), letters: new SqliteLetterStore(database), loginWindows: new MemoryLoginWindows(), sealedRows: new SqliteSealedRows(database) };
  } catch (error) {
    void database?.close();
    throw databaseFailure(choice.dbFile, error);
  }
}

/**
 * Every store on PostgreSQL, one database shared by the cluster's nodes: tokens, the login
 * service's people, cards, key files and sessions (a person may take step 1 of a login on one node
 * and step 2 on another), and the OpenID Connect provider's records (a code is redeemed once,
 * whichever node gets it). A node keeps nothing of the cluster's in its data directory.
 */
async function openPostgresStores(url: string): Promise<OpenStores> {
  let database: PostgresDatabase | undefined;
  try {
    database = await PostgresDatabase.open(url);
    const tokenStore = await PostgresTokenStore.open(database);
    const serviceStore = await PostgresServiceStore.open(database);
    const oidcStore = await PostgresOidcStore.open(database);
    const letters = await PostgresLetterStore.open(database);
    const loginWindows = await PostgresLoginWindows.open(database);
    return { database, tokenStore, serviceStore, oidcStore, letters, loginWindows, sealedRows: new PostgresSealedRows(database) };
  } catch (error) {
    await database?.close().catch(() => undefined);
    if (error instanceof BadDatabaseSettingError) throw new CodedError('NV_BAD_DB', error.message);
    if (error instanceof StoreUnavailableError) throw new CodedError('NV_STORE_UNAVAILABLE', `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`);
    throw error;
  }
}
