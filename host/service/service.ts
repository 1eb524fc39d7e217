/**
 * The service the codes are for, put together on its own store, the host's seed vault and the
 * validation server's token service, in rooms of one job each: code cards, key files, people,
 * organisations, a person's own account, the login and the outbox. Its store stays inside: what the web
 * layer and the lab need, the rooms offer.
 */
import type { SeedVault } from '../server/seed-vault.ts';
import type { ServiceStore } from './store/types.ts';
import type { TokenService } from '../server/token-service.ts';
import { Account } from './account.ts';
import { AccessEnds } from './access-ends.ts';
import { CodeCards } from './cards.ts';
import { KeyFileVerifier } from './key-file.ts';
import { KeyFiles } from './key-files.ts';
import { Lockout } from './lockout.ts';
import { LoginFlow } from './login.ts';
import { Organisations } from './organisations.ts';
import type { LetterStore } from './outbox/letter-store.ts';
import { StoredOutbox, type Outbox } from './outbox/outbox.ts';
import { People } from './people.ts';
import { DEFAULT_SERVICE_POLICY, type ServicePolicy } from './service-policy.ts';

export interface NemIdService {
  /** Code cards: issued, asked for one key at a time, each key accepted once, blocked. */
  readonly cards: CodeCards;
  /** Key files: issued, activated, signing in, blocked. */
  readonly keyFiles: KeyFiles;
  /** People: ordered, issued as employees, blocked, unblocked, unlocked, re-issued, extra cards. */
  readonly people: People;
  /** Organisations and what their administrators see. */
  readonly organisations: Organisations;
  /** A signed-in person's own account: what they hold, password, threshold, blocking a lost credential. */
  readonly account: Account;
  /** The two-step login, the key-file login and the first login's own credentials. */
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
  /** Where the outbox keeps its letters (the host's store, shared by a cluster's nodes). */
  letters: LetterStore;
  policy?: Partial<ServicePolicy>;
  keyFileVerifier?: KeyFileVerifier;
  now?: () => number;
}): NemIdService {
  const { store, tokens } = options;
  const now = options.now ?? Date.now;
  const policy = { ...DEFAULT_SERVICE_POLICY, ...options.policy };
  const outbox = new StoredOutbox(options.letters, options.vault, { now });
  const keyFileVerifier = options.keyFileVerifier ?? new KeyFileVerifier();
  const accessEnds = new AccessEnds();
  const lockout = new Lockout(store, policy, now, accessEnds);
  const cards = new CodeCards(store, options.vault, now, accessEnds);
  const keyFiles = new KeyFiles(store, lockout, keyFileVerifier, policy, now, accessEnds);
  const people = new People(store, options.vault, cards, keyFiles, tokens, outbox, policy, now, accessEnds);
  const organisations = new Organisations(store, people, cards, keyFiles, lockout, now);
  const account = new Account(store, lockout, cards, keyFiles, organisations, tokens, now, accessEnds);
  const login = new LoginFlow(store, lockout, cards, keyFiles, people, organisations, tokens, now);
  return { cards, keyFiles, people, organisations, account, login, keyFileVerifier, outbox, policy, accessEnds, now };
}
