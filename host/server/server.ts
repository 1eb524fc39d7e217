/**
 * The validation server's start: its data directory, its master key and seed vault, the API keys,
 * and the token API on fastify, over a token store it is handed (SQLite in the data directory,
 * later PostgreSQL). What else shares the app (the login service, the lab) is added by the start
 * module that composes them (host/start.ts); this side knows nothing of them. Where the token side
 * needs the people side (an owner must be a known person), it is handed an `OwnerDirectory`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { CodedError } from '../../protocol/coded-error.ts';
import { FolderError, ensurePrivateDir, whyNot } from '../store/private-files.ts';
import { buildApp } from './http/app.ts';
import { registerSeedFileRoutes } from './http/seed-file-routes.ts';
import { ServerMetrics } from './metrics.ts';
import { SeedTransfer } from './seed-transfer.ts';
import { registerValidateCheckRoutes } from './http/validate-check-routes.ts';
import type { UserPasswords } from './user-passwords.ts';
import { ValidateCheck } from './validate-check.ts';
import { DEFAULT_POLICY, type VerifyPolicy } from './policy.ts';
import { ApiKeys, createMasterKey, findMasterKey, masterKeyFile, type MasterKeySource, type Role } from './secrets.ts';
import { SeedVault, VaultError } from './seed-vault.ts';
import type { TokenStore } from './store/types.ts';
import { TokenService, type OwnerDirectory } from './token-service.ts';

export interface TokenServerOptions {
  /** Where the token records are kept. */
  readonly store: TokenStore;
  /** The database file, for messages (a master key that does not match it). */
  readonly dbFile: string;
  /** Where the master key is kept unless the environment gives it. */
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly policy?: Partial<VerifyPolicy>;
  /** API keys set by the operator (also taken from NOEGLEVISER_ADMIN_KEY / NOEGLEVISER_CLIENT_KEY). */
  readonly apiKeys?: Partial<Record<Role, string>>;
  readonly rateLimitPerSecond?: number;
  readonly logger?: FastifyServerOptions['logger'];
  readonly now?: () => number;
  /** Who a token may belong to; without it, any owner is taken as given. */
  readonly owners?: OwnerDirectory;
  /** Lets an administrator export seeds (`POST /v1/tokens/export`); off by default. */
  readonly allowExport?: boolean;
  /** The people's own passwords, for a password before the code (/validate/check, RADIUS). */
  readonly userPasswords?: UserPasswords;
  /** Networks whose callers may use /validate/check without a key (privacyIDEA's plugins send none). */
  readonly validateAllow?: readonly string[];
  /**
   * Run under the cluster lock once the master key is known to be the store's: answers the vault
   * the node uses (the start module re-seals the store's version-1 blobs here, and answers a
   * vault that reads version 2 only once none is left).
   */
  readonly settleVault?: (vault: SeedVault) => Promise<SeedVault>;
}

/** The token API, ready to listen: more routes may be added to `app` until then. */
export interface TokenServer {
  readonly app: FastifyInstance;
  readonly tokens: TokenService;
  /** Seals seeds, and whatever else the host keeps sealed under the master key. */
  readonly vault: SeedVault;
  /** API keys made on this start: shown once, never stored in the clear (and kept only once the server listens). */
  readonly createdKeys: Partial<Record<Role, string>>;
  readonly masterKey: { readonly origin: string; readonly created: boolean };
  /** Listens; the API keys made on this start are kept only then. Answers the address. */
  listen(host: string, port: number): Promise<string>;
  /** Stops the app and destroys the keys prepared in memory; the store is its owner's to close. */
  close(): Promise<void>;
}

export async function openTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const { store, env } = options;
  // Held while this node does what is done once for every node on the store: the master key's
  // check, and the first API keys, which it keeps only once it listens (so until then).
  const lock = await store.lockCluster();
  try {
    const opened = await openVault(store, options);
    const master = opened.master;
    const vault = options.settleVault ? await options.settleVault(opened.vault) : opened.vault;
    const { keys, created, keepCreated } = await ApiKeys.load(store, {
      admin: options.apiKeys?.admin ?? (env.NOEGLEVISER_ADMIN_KEY || undefined),
      client: options.apiKeys?.client ?? (env.NOEGLEVISER_CLIENT_KEY || undefined),
    });
    if (Object.keys(created).length === 0) await lock.release();
    const metrics = new ServerMetrics(store);
    const tokens = new TokenService(
      store,
      vault,
      { ...DEFAULT_POLICY, ...options.policy },
      options.now,
      { verified: (outcome) => metrics.verified(outcome), resynced: (outcome) => metrics.resynced(outcome) },
      options.owners,
    );
    const app = await buildApp({ service: tokens, store, keys, metrics, logger: options.logger ?? false, rateLimitPerSecond: options.rateLimitPerSecond });
    registerSeedFileRoutes(app, new SeedTransfer(store, vault, { allowExport: options.allowExport === true, owners: options.owners, now: options.now }));
    registerValidateCheckRoutes(app, new ValidateCheck(tokens, { owners: options.owners, passwords: options.userPasswords, now: options.now }), { allow: options.validateAllow ?? [] });
    return {
      app,
      tokens,
      vault,
      createdKeys: created,
      masterKey: { origin: master.origin, created: master.created },
      async listen(host, port) {
        const address = await app.listen({ host, port }).catch((error: unknown) => {
          throw listenFailure(error, host, port);
        });
        // Only a start that listens keeps the keys it made: one that failed before showing them leaves
        // none behind, so the next start makes (and shows) new ones.
        await keepCreated();
        await lock.release();
        return address;
      },
      async close() {
        await lock.release();
        await app.close();
        tokens.forgetKeys();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

const MASTER_KEY_CHECK = 'master_key_check';

/**
 * The seed vault under this node's master key, once the key is known to open the store's seeds:
 * it must match the key check the store keeps, and a store with no check yet (a new one, or one
 * from before checks were kept) gets this key's, after one of its sealed seeds has opened with it.
 * A node with no key of its own makes one only for a store that has sealed nothing: one that
 * has must be given the key it was sealed with. Run under the cluster lock: two nodes starting
 * together on a new store cannot each keep a key of their own.
 */
async function openVault(store: TokenStore, options: TokenServerOptions): Promise<{ vault: SeedVault; master: MasterKeySource }> {
  const { env, dataDir, dbFile } = options;
  const check = await store.getMeta(MASTER_KEY_CHECK);
  const [sealed] = check === undefined ? await store.listTokens({ limit: 1 }) : [];
  const given = findMasterKey(dataDir, env);
  if (!given && (check !== undefined || sealed !== undefined)) {
    throw new CodedError(
      'NV_MASTER_KEY_MISMATCH',
      `this node has no master key (NOEGLEVISER_MASTER_KEY, or the file ${masterKeyFile(dataDir, env)}) and ${dbFile} was sealed with one: give every node the key the first one made`,
    );
  }
  const master = given ?? createMasterKey(dataDir, env);
  const vault = new SeedVault(master.key);
  master.key.fill(0);
  if (!(await keyOpensStore(store, vault))) throw new CodedError('NV_MASTER_KEY_MISMATCH', `the master key (${master.origin}) is not the one ${dbFile} was sealed with`);
  if (check === undefined) await store.setMeta(MASTER_KEY_CHECK, vault.keyCheck());
  return { vault, master };
}

/**
 * Whether `vault` holds the key `store` was sealed with: its key check, or for a store from before
 * checks were kept its first sealed seed; a store that has sealed nothing says nothing against it.
 */
export async function keyOpensStore(store: Pick<TokenStore, 'getMeta' | 'listTokens'>, vault: SeedVault): Promise<boolean> {
  const check = await store.getMeta(MASTER_KEY_CHECK);
  if (check !== undefined) return vault.matches(check);
  const [sealed] = await store.listTokens({ limit: 1 });
  return sealed === undefined || opensSeed(vault, sealed.serial, sealed.sealedSeed);
}

function opensSeed(vault: SeedVault, serial: string, sealed: Uint8Array): boolean {
  try {
    vault.open('seed', serial, sealed).fill(0);
    return true;
  } catch (error) {
    if (error instanceof VaultError) return false;
    throw error;
  }
}

function badDb(dbFile: string, what: string): CodedError {
  return new CodedError('NV_BAD_DB', `cannot use the database ${dbFile}: ${what}`);
}

/** The database's folder, made (0700) if missing; a path that cannot hold a database is refused, at once and in words. */
export function prepareDataDir(dbFile: string): string {
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

/** Why `dbFile` could not be opened as the database (or its tables brought up to date), in one coded line. */
export function databaseFailure(dbFile: string, error: unknown): CodedError {
  const failure = error as NodeJS.ErrnoException;
  if (failure.code === 'SQLITE_NOTADB') return badDb(dbFile, 'it is not a SQLite database');
  if (failure.code === 'SQLITE_CANTOPEN') return badDb(dbFile, 'SQLite cannot open it');
  if (failure.syscall !== undefined) return badDb(dbFile, `it cannot be created or opened (${whyNot(failure)})`);
  return badDb(dbFile, failure.message);
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
  return new CodedError('NV_LISTEN', `cannot listen on ${where}: ${why}`);
}
