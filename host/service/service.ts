/**
 * The service the codes are for, put together on its own store, the host's seed vault and the
 * validation server's token service: people and their credentials, the login, and the outbox their
 * letters go to. Its store stays inside: what the web layer and the lab need, the parts offer.
 */
import type { SeedVault } from '../server/seed-vault.ts';
import type { ServiceStore } from './store/types.ts';
import type { TokenService } from '../server/token-service.ts';
import { AccessEnds } from './access-ends.ts';
import { CodeCards } from './cards.ts';
import { KeyFileVerifier } from './key-file.ts';
import { LoginFlow } from './login.ts';
import { Outbox } from './outbox/outbox.ts';
import { People } from './people.ts';
import { DEFAULT_SERVICE_POLICY, type ServicePolicy } from './service-policy.ts';

export interface NemIdService {
  readonly tokens: TokenService;
  readonly cards: CodeCards;
  readonly people: People;
  readonly login: LoginFlow;
  /** Checks key-file login signatures (and counts them). */
  readonly keyFileVerifier: KeyFileVerifier;
  readonly outbox: Outbox;
  readonly policy: ServicePolicy;
  /** Told when a person's access ends (a credential blocked, a lockout, a new password). */
  readonly accessEnds: AccessEnds;
  readonly now: () => number;
}

export function createNemIdService(options: {
  store: ServiceStore;
  vault: SeedVault;
  tokens: TokenService;
  outboxDir: string;
  policy?: Partial<ServicePolicy>;
  keyFileVerifier?: KeyFileVerifier;
  now?: () => number;
}): NemIdService {
  const now = options.now ?? Date.now;
  const policy = { ...DEFAULT_SERVICE_POLICY, ...options.policy };
  const outbox = new Outbox(options.outboxDir);
  const accessEnds = new AccessEnds();
  const cards = new CodeCards(options.store, options.vault, now, accessEnds);
  const people = new People(options.store, options.vault, cards, options.tokens, outbox, policy, now, accessEnds);
  const keyFileVerifier = options.keyFileVerifier ?? new KeyFileVerifier();
  const login = new LoginFlow(options.store, cards, people, options.tokens, policy, keyFileVerifier, now, accessEnds);
  return { tokens: options.tokens, cards, people, login, keyFileVerifier, outbox, policy, accessEnds, now };
}
