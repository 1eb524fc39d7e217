/**
 * A signed-in person's own account (selvbetjening): what they hold (code cards, code tokens, key
 * files, and how many keys are left), the keys left at which a new card is sent, a new personal
 * password (the current one asked for; a wrong one counts toward the lockout), and blocking one of
 * their own credentials at once when it is lost. Only their own: another's card, token or key file
 * is "no such … of yours".
 */
import { AccessEnds } from './access-ends.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import type { TokenService, TokenView } from '../server/token-service.ts';
import { auditEntry, type Actor } from '../store/audit.ts';
import type { CodeCards } from './cards.ts';
import type { KeyFiles } from './key-files.ts';
import type { Lockout } from './lockout.ts';
import type { Organisations } from './organisations.ts';
import { checkNewPassword, hashPassword, verifyPassword } from './passwords.ts';
import { CARD_KEYS, type CardState, type KeyFileState, type PersonRecord, type ServiceStore } from './store/types.ts';

export type CredentialKind = 'card' | 'token' | 'key-file';

/** What the self-service page shows of a person: never a hash, a secret or a key. */
export interface AccountOverview {
  readonly person: PersonRecord;
  readonly organisation: { readonly cvr: string; readonly name: string } | null;
  readonly cards: readonly { readonly serial: string; readonly state: CardState; readonly keysLeft: number; readonly extra: boolean }[];
  readonly tokens: readonly Pick<TokenView, 'serial' | 'state'>[];
  readonly keyFiles: readonly { readonly id: string; readonly state: KeyFileState }[];
}

/** One of the person's own credentials, found: blocking it is asked about first, then done with `block`. */
export interface OwnCredential {
  readonly kind: CredentialKind;
  readonly id: string;
  block(actor: Actor): Promise<void>;
}

export class Account {
  constructor(
    private readonly store: ServiceStore,
    private readonly lockout: Lockout,
    private readonly cards: CodeCards,
    private readonly keyFiles: KeyFiles,
    private readonly organisations: Organisations,
    private readonly tokens: TokenService,
    private readonly now: () => number,
    private readonly accessEnds = new AccessEnds(),
  ) {}

  /** The person (still allowed in) and what they hold. */
  async overview(personId: string): Promise<AccountOverview> {
    const person = await this.lockout.current(personId);
    const organisation = await this.organisations.of(person);
    return {
      person,
      organisation: organisation ? { cvr: organisation.cvr, name: organisation.name } : null,
      cards: (await this.cards.ofPerson(person.id)).map(({ serial, state, keysLeft, extra }) => ({ serial, state, keysLeft, extra })),
      tokens: (await this.tokens.list({ owner: person.id })).map(({ serial, state }) => ({ serial, state })),
      keyFiles: (await this.keyFiles.ofPerson(person.id)).map(({ id, state }) => ({ id, state })),
    };
  }

  /** A new personal password (the current one is asked for; a wrong one counts). */
  async changePassword(personId: string, input: { current: string; password: string; passwordAgain: string }, actor: Actor): Promise<void> {
    const person = await this.lockout.current(personId);
    if (person.passwordHash === null) throw new CodedError('NV_BAD_STATE', 'a key-file employee has no password at the service', 409);
    if (!(await verifyPassword(input.current, person.passwordHash))) {
      await this.lockout.fail(person, 'person.password', actor, new CodedError('NV_WRONG_PASSWORD', 'The current password is wrong.', 401));
    }
    checkNewPassword(input.password, { userId: person.userId });
    if (input.password !== input.passwordAgain) throw new CodedError('NV_PASSWORDS_DIFFER', 'The two passwords are not the same.', 400);
    if (!(await this.store.updatePerson(person.id, person.version, { passwordHash: await hashPassword(input.password), failCount: 0 }, auditEntry(actor, 'person.password', person.id, 'ok', {}, this.now())))) {
      throw new CodedError('NV_CONFLICT', 'your NemID changed meanwhile; try again', 409);
    }
    await this.accessEnds.ended(person.id, 'password-changed');
  }

  /** The keys left at which a new card is sent. */
  async setThreshold(personId: string, threshold: number, actor: Actor): Promise<void> {
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > CARD_KEYS - 1) throw new CodedError('NV_BAD_FIELD', 'the threshold is a whole number from 0 to 147', 400);
    const person = await this.lockout.current(personId);
    if (!(await this.store.updatePerson(person.id, person.version, { cardThreshold: threshold }, auditEntry(actor, 'person.threshold', person.id, 'ok', { threshold }, this.now())))) {
      throw new CodedError('NV_CONFLICT', 'your NemID changed meanwhile; try again', 409);
    }
  }

  /** The person's own card, token or key file `id`, to be blocked at once (a lost one); anyone else's is not found. */
  async credential(person: PersonRecord, kind: string, id: string): Promise<OwnCredential> {
    if (kind === 'card') {
      if (!(await this.cards.ofPerson(person.id)).some((card) => card.serial === id)) throw new CodedError('NV_NO_CARD', 'no such code card of yours', 404);
      return { kind, id, block: async (actor) => void (await this.cards.block(id, actor, person.id)) };
    }
    if (kind === 'token') {
      if (!(await this.tokens.list({ owner: person.id })).some((t) => t.serial === id)) throw new CodedError('NV_NO_TOKEN', 'no such code token of yours', 404);
      return { kind, id, block: async (actor) => {
          await this.tokens.reportLost(id, { replacement: false }, actor);
          await this.accessEnds.ended(person.id, 'token-blocked');
        },
      };
    }
    if (kind === 'key-file') {
      const keyFile = (await this.keyFiles.ofPerson(person.id)).find((k) => k.id === id);
      if (!keyFile) throw new CodedError('NV_NO_KEY_FILE', 'no such key file of yours', 404);
      return { kind, id, block: (actor) => this.keyFiles.block(keyFile, actor) };
    }
    throw new CodedError('NV_BAD_FIELD', 'kind is card, token or key-file', 400);
  }
}
