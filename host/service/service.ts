/**
 * The service the codes are for, put together on the validation server's store, seed vault and
 * token service: people and their credentials, the login, and the outbox their letters go to.
 */
import type { SeedVault } from '../server/seed-vault.ts';
import type { Store } from '../server/store/store.ts';
import type { TokenService } from '../server/token-service.ts';
import { CodeCards } from './cards.ts';
import { LoginFlow } from './login.ts';
import { Outbox } from './outbox/outbox.ts';
import { People } from './people.ts';
import { DEFAULT_SERVICE_POLICY, type ServicePolicy } from './service-policy.ts';

export interface NemIdService {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly cards: CodeCards;
  readonly people: People;
  readonly login: LoginFlow;
  readonly outbox: Outbox;
  readonly policy: ServicePolicy;
  readonly now: () => number;
}

export function createNemIdService(options: {
  store: Store;
  vault: SeedVault;
  tokens: TokenService;
  outboxDir: string;
  policy?: Partial<ServicePolicy>;
  now?: () => number;
}): NemIdService {
  const now = options.now ?? Date.now;
  const policy = { ...DEFAULT_SERVICE_POLICY, ...options.policy };
  const outbox = new Outbox(options.outboxDir);
  const cards = new CodeCards(options.store, options.vault, now);
  const people = new People(options.store, options.vault, cards, options.tokens, outbox, policy, now);
  const login = new LoginFlow(options.store, cards, people, options.tokens, policy, now);
  return { store: options.store, tokens: options.tokens, cards, people, login, outbox, policy, now };
}
