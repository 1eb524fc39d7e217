/**
 * Starting the host: the one place that puts its parts together. It opens the database (SQLite in
 * the data directory), gives the token side and the login service each its own store on it,
 * starts the validation server's token API, registers the login service (and whatever else a
 * caller adds, such as the lab's page) on the same app, and listens. The parts do not know each
 * other's insides: the token side learns who may own a token through the `OwnerDirectory` handed
 * to it here, and the service uses the token service through its methods.
 */
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { DEFAULT_PORT, defaultDbFile } from './server/defaults.ts';
import type { VerifyPolicy } from './server/policy.ts';
import type { Role } from './server/secrets.ts';
import { databaseFailure, openTokenServer, prepareDataDir, type TokenServer } from './server/server.ts';
import { SqliteTokenStore } from './server/store/sqlite-token-store.ts';
import type { TokenStore } from './server/store/types.ts';
import type { TokenService } from './server/token-service.ts';
import { peopleAsOwners } from './service/owners.ts';
import { createNemIdService, type NemIdService } from './service/service.ts';
import type { ServicePolicy } from './service/service-policy.ts';
import { SqliteServiceStore } from './service/store/sqlite-service-store.ts';
import { registerOidc, type OidcProvider } from './service/oidc/oidc.ts';
import { SqliteOidcStore } from './service/oidc/store/sqlite-oidc-store.ts';
import { registerService } from './service/web/register.ts';
import { SqliteDatabase } from './store/sqlite-database.ts';

export interface HostOptions {
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
  /** The OpenID Connect provider's public URL (its path is /oidc); default: the listen address + /oidc. */
  readonly issuer?: string;
  /** How often the provider's expired rows are swept (default: every 10 minutes). */
  readonly oidcSweepEveryMs?: number;
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
  close(): Promise<void>;
}

export async function startHost(options: HostOptions = {}): Promise<RunningHost> {
  const env = options.env ?? process.env;
  const dbFile = path.resolve(options.dbFile ?? defaultDbFile(env));
  const dataDir = prepareDataDir(dbFile);
  // The database first: a path that cannot hold one is refused before a master key is made for it.
  const { database, tokenStore, serviceStore, oidcStore } = openStores(dbFile);
  let server: TokenServer | undefined;
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
    });
    const service = createNemIdService({
      store: serviceStore,
      vault: server.vault,
      tokens: server.tokens,
      outboxDir: options.outboxDir ?? path.join(dataDir, 'outbox'),
      policy: options.servicePolicy,
      now: options.now,
    });
    await registerService(server.app, service, serviceStore, { secureCookies: options.secureCookies });
    const oidc = await registerOidc(server.app, { service, store: oidcStore, vault: server.vault, issuer: options.issuer, sweepEveryMs: options.oidcSweepEveryMs });
    // A person's access ending (a credential blocked, a lockout, a new password) ends their sessions at the sites.
    service.accessEnds.subscribe((personId) => oidc.endSessionsOf(personId));
    await options.extend?.(server.app, { service, tokens: server.tokens, oidc });
    const url = await server.listen(options.host ?? '127.0.0.1', options.port ?? DEFAULT_PORT);
    await oidc.start(url);
    const running = server;
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
      close: async () => {
        await running.close();
        await database.close();
      },
    };
  } catch (error) {
    await server?.close().catch(() => {});
    await database.close();
    throw error;
  }
}

/** The database with each side's store on it (their tables brought up to date); a file that cannot be one is NV_BAD_DB. */
function openStores(dbFile: string): { database: SqliteDatabase; tokenStore: SqliteTokenStore; serviceStore: SqliteServiceStore; oidcStore: SqliteOidcStore } {
  let database: SqliteDatabase | undefined;
  try {
    database = SqliteDatabase.open(dbFile);
    return { database, tokenStore: new SqliteTokenStore(database), serviceStore: new SqliteServiceStore(database), oidcStore: new SqliteOidcStore(database) };
  } catch (error) {
    void database?.close();
    throw databaseFailure(dbFile, error);
  }
}
