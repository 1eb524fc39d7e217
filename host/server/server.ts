/**
 * Starting the validation server: data directory, master key, store, API keys, HTTP. The store
 * is SQLite in the data directory unless a store is handed in (a PostgreSQL store, later).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { DEFAULT_PORT, defaultDbFile } from './defaults.ts';
import { ApiError } from './errors.ts';
import { buildApp } from './http/app.ts';
import { ServerMetrics } from './metrics.ts';
import { ensurePrivateDir } from './private-files.ts';
import { DEFAULT_POLICY, type VerifyPolicy } from './policy.ts';
import { ApiKeys, loadMasterKey, type Role } from './secrets.ts';
import { SeedVault } from './seed-vault.ts';
import { SqliteTokenStore } from './store/sqlite-store.ts';
import { TokenService } from './token-service.ts';
import { createNemIdService, type NemIdService } from '../service/service.ts';
import type { ServicePolicy } from '../service/service-policy.ts';
import { registerService } from '../service/web/register.ts';
import type { Store } from './store/store.ts';

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
  /** Adds routes to the app before it listens (the lab's page). */
  readonly extend?: (app: FastifyInstance) => Promise<void> | void;
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
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const dbFile = path.resolve(options.dbFile ?? defaultDbFile(env));
  const dataDir = path.dirname(dbFile);
  ensurePrivateDir(dataDir);
  const master = loadMasterKey(dataDir, env);
  const vault = new SeedVault(master.key);
  master.key.fill(0);

  let store: Store | undefined;
  try {
    store = new SqliteTokenStore(dbFile);
    const check = await store.getMeta('master_key_check');
    if (check === undefined) await store.setMeta('master_key_check', vault.keyCheck());
    else if (!vault.matches(check)) {
      throw new ApiError(500, 'NV_MASTER_KEY_MISMATCH', `the master key (${master.origin}) is not the one ${dbFile} was sealed with`);
    }
    const { keys, created } = await ApiKeys.load(store, {
      admin: options.apiKeys?.admin ?? (env.NOEGLEVISER_ADMIN_KEY || undefined),
      client: options.apiKeys?.client ?? (env.NOEGLEVISER_CLIENT_KEY || undefined),
    });
    const metrics = new ServerMetrics(store);
    const service = new TokenService(store, vault, { ...DEFAULT_POLICY, ...options.policy }, options.now, {
      verified: (outcome) => metrics.verified(outcome),
      resynced: (outcome) => metrics.resynced(outcome),
    });
    const app = await buildApp({ service, store, keys, metrics, logger: options.logger ?? false, rateLimitPerSecond: options.rateLimitPerSecond });
    const nemId = createNemIdService({ store, vault, tokens: service, outboxDir: options.outboxDir ?? path.join(dataDir, 'outbox'), policy: options.servicePolicy, now: options.now });
    await registerService(app, nemId, { secureCookies: options.secureCookies });
    await options.extend?.(app);
    const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_PORT });
    const openStore = store;
    return {
      url: address,
      dbFile,
      createdKeys: created,
      masterKey: { origin: master.origin, created: master.created },
      app,
      service: nemId,
      close: async () => {
        await app.close();
        service.forgetKeys();
        await openStore.close();
      },
    };
  } catch (error) {
    await store?.close();
    throw error;
  }
}
