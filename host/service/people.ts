/**
 * People and their credentials, as support and an organisation's administrator handle them: a
 * person ordered with a code card or a code token (checked against the seed's eligibility rules),
 * employees issued with a card or a key file, and what may be done to a person afterwards (block,
 * unblock, re-issue, extra cards, unlock). Every letter goes to the outbox; every act to the audit
 * log. Which organisation's people an administrator may see is the organisations' room's to say.
 */
import { randomInt } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';
import type { SeedVault } from '../server/seed-vault.ts';
import { DuplicatePersonError, type OrganisationRecord, type OrganisationRole, type PersonRecord } from './store/types.ts';
import { AccessEnds } from './access-ends.ts';
import type { ServiceStore } from './store/types.ts';
import type { TokenService } from '../server/token-service.ts';
import { type CodeCards } from './cards.ts';
import type { KeyFiles } from './key-files.ts';
import type { Outbox } from './outbox/outbox.ts';
import { employeeCardLetter, employeeWelcomeLetter, keyFileActivationLetter, newCardLetter, welcomeLetter } from './outbox/letters.ts';
import { hashPassword, temporaryPassword } from './passwords.ts';
import { parseCpr } from './rules/cpr.ts';
import { eligibility } from './rules/eligibility.ts';
import type { ServicePolicy } from './service-policy.ts';
import { auditEntry, type Actor } from '../store/audit.ts';

export type CredentialOrder = { readonly kind: 'card' } | { readonly kind: 'token'; readonly serial: string };

export interface PersonOrder {
  readonly name: string;
  readonly cpr?: string;
  readonly birthDate?: string;
  readonly credential: CredentialOrder;
}

export interface Issued {
  readonly person: PersonRecord;
  /** The outbox letter that carries the temporary password or activation code. */
  readonly letterId: string;
  /** An employee's code card comes in a letter of its own. */
  readonly cardLetterId?: string;
}

const NAME_PATTERN = /^[\p{L}\p{M}][\p{L}\p{M} .'-]{0,99}$/u;
const ORGANISATION_PATTERN = /^[^\p{C}<>]{1,100}$/u;

export class People {
  constructor(
    private readonly store: ServiceStore,
    private readonly vault: SeedVault,
    private readonly cards: CodeCards,
    private readonly keyFiles: KeyFiles,
    private readonly tokens: TokenService,
    private readonly outbox: Outbox,
    private readonly policy: ServicePolicy,
    private readonly now: () => number,
    private readonly accessEnds = new AccessEnds(),
  ) {}

  /** A private person's NemID (with the seed's eligibility rules): a temporary password and a card or a code token. */
  async order(order: PersonOrder, actor: Actor): Promise<Issued> {
    const name = checkName(order.name);
    const cpr = order.cpr === undefined ? undefined : parseCpr(order.cpr, new Date(this.now()));
    const scope = eligibility({ cpr, birthDate: order.birthDate }, new Date(this.now()));
    if (order.credential.kind === 'token') await this.claimableToken(order.credential.serial);
    const password = temporaryPassword();
    const person = await this.insertPerson(
      {
        name,
        cprDigest: cpr ? this.vault.digest('cpr', cpr.digits) : null,
        birthDate: cpr?.birthDate ?? order.birthDate ?? null,
        scope,
        organisationId: null,
        role: null,
        passwordHash: await hashPassword(password),
        passwordTemporary: true,
        state: 'pending',
        cardThreshold: this.policy.defaultCardThreshold,
      },
      actor,
    );
    if (order.credential.kind === 'token') {
      await this.tokens.assign(order.credential.serial, person.id, actor);
      const letter = await this.outbox.post({
        ...welcomeLetter({ recipient: name, nemIdNumber: person.id, temporaryPassword: password, token: { serial: order.credential.serial }, scope }),
        personId: person.id,
      });
      return { person, letterId: letter.id };
    }
    const { card, pairs } = await this.cards.issue(person, 'welcome', actor);
    const letter = await this.outbox.post({
      ...welcomeLetter({ recipient: name, nemIdNumber: person.id, temporaryPassword: password, card: { serial: card.serial, pairs }, scope }),
      personId: person.id,
    });
    return { person, letterId: letter.id };
  }

  /** An employee credential (medarbejdersignatur) with a code card or a key file. */
  async issueEmployee(organisation: OrganisationRecord, input: { name: string; role: OrganisationRole; credential: 'card' | 'key-file' }, actor: Actor): Promise<Issued> {
    const name = checkName(input.name);
    const withCard = input.credential === 'card';
    const password = withCard ? temporaryPassword() : null;
    const person = await this.insertPerson(
      {
        name,
        cprDigest: null,
        birthDate: null,
        scope: 'full',
        organisationId: organisation.id,
        role: input.role,
        passwordHash: password === null ? null : await hashPassword(password),
        passwordTemporary: password !== null,
        state: 'pending',
        cardThreshold: this.policy.defaultCardThreshold,
      },
      actor,
    );
    return { person, ...(await this.sendCredential(person, organisation, password, actor)) };
  }

  /** The person with this NemID number, if there is one. */
  async find(personId: string): Promise<PersonRecord | undefined> {
    return this.store.getPerson(personId);
  }

  /** An organisation's people, in the order they were ordered. */
  async ofOrganisation(organisationId: string): Promise<PersonRecord[]> {
    return this.store.listPeople({ organisationId, limit: 1000 });
  }

  async get(personId: string): Promise<PersonRecord> {
    const person = await this.store.getPerson(personId);
    if (!person) throw new CodedError('NV_NO_PERSON', `no person with NemID number ${personId}`, 404);
    return person;
  }

  /** Blocks (spærrer) a person on suspected misuse: every session ends, no login until unblocked. */
  async block(person: PersonRecord, actor: Actor): Promise<PersonRecord> {
    const changed = await this.setState(person, 'blocked', actor, 'person.block');
    await this.store.deleteSessionsOf(person.id);
    await this.accessEnds.ended(person.id, 'person-blocked');
    return changed;
  }

  async unblock(person: PersonRecord, actor: Actor): Promise<PersonRecord> {
    if (person.state !== 'blocked') throw new CodedError('NV_BAD_STATE', 'only a blocked person is unblocked', 409);
    return this.setState(person, await this.usableState(person), actor, 'person.unblock', { failCount: 0 });
  }

  /** Lifts a lockout after too many wrong attempts. */
  async unlock(person: PersonRecord, actor: Actor): Promise<PersonRecord> {
    if (person.state !== 'locked') throw new CodedError('NV_BAD_STATE', 'the person is not locked', 409);
    return this.setState(person, await this.usableState(person), actor, 'person.unlock', { failCount: 0 });
  }

  /** What an unblocked or unlocked person returns to: `pending` until their first login is made (or their key file activated). */
  private async usableState(person: PersonRecord): Promise<'pending' | 'active'> {
    if (person.passwordTemporary) return 'pending';
    if (person.passwordHash === null) return (await this.keyFiles.hasActive(person.id)) ? 'active' : 'pending';
    return 'active';
  }

  /**
   * Re-issues (genudsteder) a credential: every card and key file of the person is blocked, sessions
   * end, and a new temporary password with a new card (or a new key-file activation code) goes out.
   */
  async reissue(person: PersonRecord, organisation: OrganisationRecord | null, actor: Actor): Promise<Issued> {
    // The person changes first: an extra-card order that read them before inserts nothing after
    // (the store's rule, on any node), and a card it inserted before is among those blocked below.
    const withKeyFile = person.passwordHash === null;
    const password = withKeyFile ? null : temporaryPassword();
    const changes = { state: 'pending' as const, failCount: 0, passwordTemporary: !withKeyFile, passwordHash: password === null ? null : await hashPassword(password) };
    if (!(await this.store.updatePerson(person.id, person.version, changes, auditEntry(actor, 'person.reissue', person.id, 'ok', {}, this.now())))) {
      throw new CodedError('NV_CONFLICT', 'the person changed meanwhile; reload and try again', 409);
    }
    for (const card of await this.store.listCards(person.id)) if (card.state !== 'blocked' && card.state !== 'replaced' && card.state !== 'used-up') await this.cards.block(card.serial, actor);
    for (const keyFile of await this.keyFiles.ofPerson(person.id)) await this.keyFiles.block(keyFile, actor);
    for (const token of await this.tokens.list({ owner: person.id })) {
      if (token.state === 'active' || token.state === 'disabled' || token.state === 'locked') await this.tokens.reportLost(token.serial, { replacement: false }, actor);
    }
    await this.tokens.revokeReplacementsOf(person.id, actor);
    await this.store.deleteSessionsOf(person.id);
    await this.accessEnds.ended(person.id, 'reissued');
    const updated = { ...person, ...changes, version: person.version + 1 };
    if (organisation) return { person: updated, ...(await this.sendCredential(updated, organisation, password, actor, 'reissue')) };
    const { card, pairs } = await this.cards.issue(updated, 'reissue', actor);
    const letter = await this.outbox.post({
      ...welcomeLetter({ recipient: person.name, nemIdNumber: person.id, temporaryPassword: password!, card: { serial: card.serial, pairs }, scope: person.scope }),
      personId: person.id,
    });
    return { person: updated, letterId: letter.id };
  }

  /**
   * Extra cards (ekstra nøglekort): at most `maxExtraCards` alive at a time, never more — the
   * store's rule, counted and inserted in one atomic write, so orders racing on any node cannot
   * both pass the count.
   */
  async orderExtraCards(person: PersonRecord, count: number, actor: Actor): Promise<string[]> {
    if (!Number.isInteger(count) || count < 1 || count > this.policy.maxExtraCards) {
      throw new CodedError('NV_BAD_FIELD', `order from 1 to ${this.policy.maxExtraCards} extra cards`, 400);
    }
    if (person.passwordHash === null) throw new CodedError('NV_BAD_STATE', 'a key-file employee has no code cards', 409);
    if (person.state === 'blocked') throw new CodedError('NV_BAD_STATE', 'a blocked person gets no new cards; unblock or re-issue first', 409);
    const outcome = await this.cards.issueExtra(person, count, this.policy.maxExtraCards, actor);
    if ('changed' in outcome) throw new CodedError('NV_CONFLICT', 'the person changed meanwhile; reload and try again', 409);
    if ('refused' in outcome) {
      const allowed = Math.max(0, this.policy.maxExtraCards - outcome.alive);
      throw new CodedError('NV_TOO_MANY_CARDS', `${person.name} may have ${allowed} more extra card(s) now; at most ${this.policy.maxExtraCards} at a time`, 409);
    }
    const letters: string[] = [];
    for (const { card, pairs } of outcome.issued) {
      const letter = await this.outbox.post({ ...newCardLetter({ recipient: person.name, card: { serial: card.serial, pairs }, reason: 'extra', employee: person.organisationId !== null }), personId: person.id });
      letters.push(letter.id);
    }
    return letters;
  }

  /** How many extra cards may be ordered for `person` now (0 for a blocked or key-file person). */
  async extraCardsAllowed(person: PersonRecord): Promise<number> {
    if (person.state === 'blocked' || person.passwordHash === null) return 0;
    return Math.max(0, this.policy.maxExtraCards - (await this.cards.extraAlive(person.id)));
  }

  /** The threshold successor, once `CodeCards.answer` said it is due. */
  async sendSuccessorCard(person: PersonRecord, actor: Actor): Promise<string> {
    const { card, pairs } = await this.cards.issue(person, 'threshold', actor);
    const letter = await this.outbox.post({ ...newCardLetter({ recipient: person.name, card: { serial: card.serial, pairs }, reason: 'threshold', employee: person.organisationId !== null }), personId: person.id });
    return letter.id;
  }

  /** An employee's letters: the temporary password and, in a letter of its own, the card; or the key file's activation code. */
  private async sendCredential(
    person: PersonRecord,
    organisation: OrganisationRecord,
    password: string | null,
    actor: Actor,
    reason: 'welcome' | 'reissue' = 'welcome',
  ): Promise<{ letterId: string; cardLetterId?: string }> {
    const org = { name: organisation.name, cvr: organisation.cvr };
    if (password !== null) {
      const { card, pairs } = await this.cards.issue(person, reason, actor);
      const letter = await this.outbox.post({
        ...employeeWelcomeLetter({ recipient: person.name, nemIdNumber: person.id, organisation: org, temporaryPassword: password, cardSerial: card.serial }),
        personId: person.id,
      });
      const cardLetter = await this.outbox.post({ ...employeeCardLetter({ recipient: person.name, organisation: org, card: { serial: card.serial, pairs } }), personId: person.id });
      return { letterId: letter.id, cardLetterId: cardLetter.id };
    }
    const { activationCode, expiresAt } = await this.keyFiles.issue(person, actor);
    const letter = await this.outbox.post({
      ...keyFileActivationLetter({ recipient: person.name, organisation: org, activationCode, expiresAt: new Date(expiresAt).toISOString() }),
      personId: person.id,
    });
    return { letterId: letter.id };
  }

  private async insertPerson(person: Omit<PersonRecord, 'id' | 'userId' | 'version' | 'createdAt' | 'updatedAt' | 'lastLoginAt' | 'failCount'>, actor: Actor): Promise<PersonRecord> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const id = newNemIdNumber();
      if (await this.store.getPerson(id)) continue;
      try {
        return await this.store.insertPerson({ ...person, id, userId: null }, auditEntry(actor, 'person.order', id, 'ok', { scope: person.scope, organisation: person.organisationId ?? undefined }, this.now()));
      } catch (error) {
        if (error instanceof DuplicatePersonError && error.field === 'cpr') {
          throw new CodedError('NV_ALREADY_HAS_NEMID', 'a person with this CPR number already has a NemID; block it or re-issue it instead', 409);
        }
        throw error;
      }
    }
    throw new CodedError('NV_INTERNAL', 'could not find a free NemID number', 500);
  }

  private async claimableToken(serial: string): Promise<void> {
    const token = await this.tokens.get(serial);
    if (token.state !== 'active') throw new CodedError('NV_BAD_STATE', `token ${serial} is ${token.state}; only an active token is issued`, 409);
    if (token.owner !== null) throw new CodedError('NV_TOKEN_TAKEN', `token ${serial} is already someone's`, 409);
  }

  private async setState(person: PersonRecord, state: PersonRecord['state'], actor: Actor, action: string, extra: { failCount?: number } = {}): Promise<PersonRecord> {
    const changes = { state, ...extra };
    if (!(await this.store.updatePerson(person.id, person.version, changes, auditEntry(actor, action, person.id, 'ok', {}, this.now())))) {
      throw new CodedError('NV_CONFLICT', 'the person changed meanwhile; reload and try again', 409);
    }
    return { ...person, ...changes, version: person.version + 1 };
  }
}

function newNemIdNumber(): string {
  return String(randomInt(1, 10)) + String(randomInt(0, 1e9)).padStart(9, '0');
}

export function checkName(name: string, what: 'name' | 'organisation name' = 'name'): string {
  const trimmed = name.trim().replace(/\s+/g, ' ');
  const ok = what === 'name' ? NAME_PATTERN.test(trimmed) : ORGANISATION_PATTERN.test(trimmed);
  if (!ok) {
    throw new CodedError('NV_BAD_NAME', what === 'name' ? 'a name is 1–100 letters, spaces, dots, apostrophes and hyphens' : 'an organisation name is 1–100 characters without control characters or < >', 400);
  }
  return trimmed;
}
