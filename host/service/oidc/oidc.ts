/**
 * The login service's OpenID Connect provider, put together: its store, keys and sites, its
 * routes on the app (registered before the app listens), and the provider itself, made once the
 * issuer is known (given, or the listen address with the prefix).
 */
import type { FastifyInstance } from 'fastify';
import type { Provider } from 'oidc-provider';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { SeedVault } from '../../server/seed-vault.ts';
import type { Actor } from '../../store/audit.ts';
import type { NemIdService } from '../service.ts';
import { endSessionsOf, fillAccounts, sessionsOf } from './account-records.ts';
import { SiteRegistry } from './clients.ts';
import { keysOutdated, loadProviderKeys, rotateSigningKey, type ProviderKeys } from './keys.ts';
import { checkIssuer, OIDC_PREFIX } from '../../api/oidc-issuer.ts';
import { registerOidcAdminRoutes } from './admin-routes.ts';
import { registerOidcRoutes } from './routes.ts';
import type { WebGuards } from '../web/register.ts';
import type { OidcStore } from './store/types.ts';


export interface OidcProvider {
  readonly sites: SiteRegistry;
  readonly prefix: string;
  /** The issuer, once started. */
  issuer(): string | undefined;
  /** Makes the provider (keys loaded or made); `listenUrl` gives the issuer when none was set. */
  start(listenUrl: string): Promise<void>;
  /**
   * Makes a new signing key and signs with it from now on (the provider is made again on the
   * keys); the retired key stays in the JWKS until its ID tokens have expired. Every other node of
   * a cluster sees the new key set at its next check of the store's keys (every few seconds) and
   * signs with the new key and publishes it from then.
   */
  rotateKeys(actor: Actor): Promise<{ kid: string; retired: string[] }>;
  /** A person's live sessions at the provider: when they logged in, and the sites (client ids) they used it for (found by the keyed digest of `accountId`, see account-records.ts). */
  sessionsOf(accountId: string): Promise<{ loginAt: number | null; clientIds: string[] }[]>;
  /**
   * Ends every provider session of the person: each site they used it for is sent a back-channel
   * logout, the grants behind them are revoked (their tokens with them), the sessions destroyed;
   * and every other grant of the person too (an offline_access grant outlives its session), so no
   * refresh token of theirs is taken any more.
   */
  endSessionsOf(accountId: string): Promise<void>;
  /** The key id new ID tokens are signed with. */
  signingKid(): string | undefined;
}

export async function registerOidc(
  app: FastifyInstance,
  options: { service: NemIdService; web: WebGuards; store: OidcStore; vault: SeedVault; issuer?: string; sweepEveryMs?: number; keyCheckEveryMs?: number },
): Promise<OidcProvider> {
  let provider: Provider | undefined;
  // A wrong --issuer is refused before the app listens.
  const given = options.issuer === undefined ? undefined : checkIssuer(options.issuer);
  let issuer: string | undefined;
  let keys: ProviderKeys | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let keyCheck: NodeJS.Timeout | undefined;
  let filling: Promise<void> | undefined;
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    clearInterval(keyCheck);
  });
  const sites = new SiteRegistry(options.store, options.vault, options.service.now);
  // The provider is made one make at a time (a rotation here and a check of the store's keys may
  // meet). A request already in oidc-provider's hands finishes on the provider it started on (the
  // routes take the provider per request); what it left in the store the new one reads alike.
  let making: Promise<void> = Promise.resolve();
  const make = (at: string, why: string): Promise<void> => {
    const made = making.then(async () => {
      const loaded = await loadProviderKeys(options.store, options.vault, options.service.now());
      const { createProvider } = await loadProviderModule();
      provider = createProvider({ issuer: at, prefix: OIDC_PREFIX, store: options.store, vault: options.vault, service: options.service, keys: loaded });
      const before = keys;
      keys = loaded;
      if (before) logKeyChange(app, before, loaded, why);
    });
    making = made.catch(() => undefined);
    return made;
  };
  /** Makes the provider again when the store's key set is not the one it was made on, or a retired key it publishes has passed its time. */
  const followStoredKeys = async () => {
    if (issuer === undefined || keys === undefined) return;
    if (keysOutdated(keys, await options.store.signingKeyStamps(), options.service.now())) await make(issuer, 'the signing keys in the store changed');
  };
  await registerOidcRoutes(app, { prefix: OIDC_PREFIX, provider: () => provider, service: options.service, web: options.web, store: options.store, sites });
  const oidc: OidcProvider = {
    sites,
    prefix: OIDC_PREFIX,
    issuer: () => issuer,
    signingKid: () => keys?.signingKid,
    sessionsOf: (accountId) => sessionsOf(options.store, options.vault, accountId, Math.floor(Date.now() / 1000)),
    async endSessionsOf(accountId) {
      await endSessionsOf(options.store, options.vault, accountId, Math.floor(Date.now() / 1000), async (clientId, sid) => {
        const client = provider && (await provider.Client.find(clientId));
        if (!client?.backchannelLogoutUri) return;
        await client.backchannelLogout(accountId, sid).catch((error: unknown) => {
          app.log.warn({ clientId, error: error instanceof Error ? error.message : String(error) }, 'a site did not take its back-channel logout');
        });
      });
    },
    async start(listenUrl) {
      issuer = given ?? `${listenUrl}${OIDC_PREFIX}`;
      await make(issuer, 'start');
      sweeper ??= every(app, options.sweepEveryMs ?? SWEEP_EVERY_MS, () => options.store.sweepModels(Math.floor(options.service.now() / 1000)), 'the expired OpenID Connect rows could not be swept');
      // The records kept before the store knew their person get their account digest, in the background (see fillAccounts).
      filling ??= fillAccounts(options.store, options.vault, Math.floor(Date.now() / 1000))
        .then((filled) => void (filled > 0 && app.log.info({ event: 'oidc-accounts', filled }, `${filled} OpenID Connect record(s) kept before were given their person's digest`)))
        .catch((error: unknown) => app.log.warn({ error: error instanceof Error ? error.message : String(error) }, "the OpenID Connect records kept before could not be given their person's digest"));
      keyCheck ??= every(app, options.keyCheckEveryMs ?? KEY_CHECK_EVERY_MS, followStoredKeys, "the store's OpenID Connect signing keys could not be checked");
    },
    async rotateKeys(actor) {
      if (issuer === undefined) throw new CodedError('NV_STARTING', 'the login service is starting; try again in a moment', 503);
      const rotated = await rotateSigningKey(options.store, options.vault, actor, options.service.now());
      await make(issuer, 'a rotation on this node');
      return rotated;
    },
  };
  registerOidcAdminRoutes(app, oidc);
  return oidc;
}

/**
 * provider.ts and oidc-provider with it, loaded when a provider is made, never with the module
 * graph of start.ts: a CLI command that only imports the start (simulate, or one that fails before
 * starting) does not load oidc-provider. oidc-provider 9 prints one warning on stderr as it loads
 * on a Node release older than 22 ("Unsupported runtime", from `process.release.lts`); it runs on
 * Node 20.20 (BRIEF.md), and the CLI's stderr carries its errors one line each, so exactly that
 * line (plain or in a terminal's colours) is dropped while the module loads; any other is printed.
 */
const UNSUPPORTED_RUNTIME = 'oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.';

async function loadProviderModule(): Promise<typeof import('./provider.ts')> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    // eslint-disable-next-line no-control-regex
    if (args.length === 1 && typeof args[0] === 'string' && args[0].replace(/\x1b\[[0-9;]*m/g, '') === UNSUPPORTED_RUNTIME) return;
    warn(...args);
  };
  try {
    return await import('./provider.ts');
  } finally {
    console.warn = warn;
  }
}

/** How often expired codes, sessions, grants, tokens and interaction logins are deleted. */
export const SWEEP_EVERY_MS = 10 * 60 * 1000;

/**
 * How often a node compares the store's signing keys (ids and retirements: one small read, nothing
 * unsealed) with the ones its provider was made on: a rotation on another node is followed, and a
 * retired key dropped once its time has passed, within this.
 */
export const KEY_CHECK_EVERY_MS = 5_000;

/** Runs `work` every `everyMs`, never two at once; a failure is logged and tried again next time. */
function every(app: FastifyInstance, everyMs: number, work: () => Promise<unknown>, failure: string): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    work()
      .catch((error: unknown) => app.log.warn({ error: error instanceof Error ? error.message : String(error) }, failure))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return timer;
}

/** Says which key signs and which are published now, and which were dropped: key ids only, never key material. */
function logKeyChange(app: FastifyInstance, before: ProviderKeys, after: ProviderKeys, why: string): void {
  const published = after.stamps.map((stamp) => stamp.kid);
  const dropped = before.stamps.map((stamp) => stamp.kid).filter((kid) => !published.includes(kid));
  app.log.info(
    { event: 'oidc-keys', why, signingKid: after.signingKid, previousSigningKid: before.signingKid, published, dropped },
    `the OpenID Connect provider signs with key ${after.signingKid} and publishes ${published.length} key(s)`,
  );
}
