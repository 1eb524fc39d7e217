/**
 * The two-step login (log på i to trin) and what a signed-in person may change. Step 1: user-id
 * (or NemID number) and password. Step 2: the key beside the number shown, from a code card, or the
 * code a token shows after a press (verified by the validation server, with its window, replay
 * guard and lockout). A key file instead signs a challenge in the browser. Wrong passwords, keys
 * and signatures all count toward one lockout, and a failed step 1 never says whether the user-id
 * exists (an unknown one costs the same scrypt as a wrong password).
 */
import { CodedError } from '../../protocol/coded-error.ts';
import { DuplicatePersonError, type PersonRecord, type Scope } from './store/types.ts';
import type { ServiceStore } from './store/types.ts';
import type { TokenService } from '../server/token-service.ts';
import { type CodeCards } from './cards.ts';
import { parsePublicKey, type KeyFileVerifier } from './key-file.ts';
import { activationDigest, type People } from './people.ts';
import { checkNewPassword, checkUserId, hashPassword, verifyPassword } from './passwords.ts';
import type { ServicePolicy } from './service-policy.ts';
import { auditEntry, type Actor } from '../store/audit.ts';
import { AccessEnds } from './access-ends.ts';

export type LoginMethod = 'card' | 'token' | 'temporary-password' | 'key-file';

/** Who logged in, as a relying party sees it: the scope travels with every login. */
export interface LoginPrincipal {
  readonly nemIdNumber: string;
  readonly userId: string | null;
  readonly name: string;
  readonly scope: Scope;
  /** How this login was made (absent when a session is read back later). */
  readonly method?: LoginMethod;
  readonly organisation: { readonly cvr: string; readonly name: string } | null;
  readonly role: PersonRecord['role'];
}

/**
 * What step 2 asked for: a key of the card whose number was shown, the token's code, or the
 * temporary password that stands in for a token reported lost (the validation server keeps it as
 * the lost token's replacement, `LOST-<serial>`, valid for a while).
 */
export type AskedStep = { readonly method: 'card'; readonly cardSerial: string } | { readonly method: 'token' | 'temporary-password'; readonly tokenSerial: string };

/** Step 2 as the page shows it: for a card, the number and the person's other cards; for a temporary password, the lost token and until when it works. */
export type SecondStep =
  | { readonly method: 'card'; readonly cardSerial: string; readonly number: string; readonly otherCards: readonly string[] }
  | { readonly method: 'token'; readonly tokenSerial: string }
  | { readonly method: 'temporary-password'; readonly tokenSerial: string; readonly lostToken: string; readonly validUntil: string };

type TokenStep = Exclude<SecondStep, { method: 'card' }>;

/** What a wrong, used or locked answer to a token step is told. */
const TOKEN_ANSWERS: Readonly<Record<TokenStep['method'], { wrong: () => CodedError; locked: () => CodedError }>> = {
  token: {
    wrong: () => new CodedError('NV_WRONG_CODE', 'The code is wrong. Press the button on your code token and type the new code.', 401),
    locked: () => new CodedError('NV_TOKEN_LOCKED', 'Your code token is locked after too many wrong codes; contact support.', 403),
  },
  'temporary-password': {
    wrong: () => new CodedError('NV_WRONG_CODE', 'The temporary password is wrong. Type its 12 letters and digits exactly as you were given them.', 401),
    locked: () => new CodedError('NV_TOKEN_LOCKED', 'Your temporary password is locked after too many wrong tries; contact support.', 403),
  },
};
const REPLACEMENT_EXPIRED = () => new CodedError('NV_REPLACEMENT_EXPIRED', 'The temporary password for your lost code token has expired; contact support for a new one.', 403);

/** After a right key: a first login still has to choose its user-id and password. */
export type KeyResult = { readonly next: 'choose-credentials'; readonly person: PersonRecord } | { readonly next: 'done'; readonly person: PersonRecord };

const LOGIN_FAILED = () =>
  new CodedError('NV_LOGIN_FAILED', 'The user-id or password is wrong, or your NemID is locked (spærret). After 5 wrong attempts, contact support or your administrator.', 401);
const KEY_FILE_FAILED = () => new CodedError('NV_KEY_FILE_FAILED', 'The key file could not be verified.', 401);

export class LoginFlow {
  constructor(
    private readonly store: ServiceStore,
    private readonly cards: CodeCards,
    private readonly people: People,
    private readonly tokens: TokenService,
    private readonly policy: ServicePolicy,
    private readonly keyFileVerifier: KeyFileVerifier,
    private readonly now: () => number,
    private readonly accessEnds = new AccessEnds(),
  ) {}

  /**
   * Step 1 (trin 1). Every failure here gets one answer, whether the user-id is unknown, the
   * password wrong, or the person locked or blocked: otherwise a locked account would still tell
   * a guesser when the password is right. The person is read again after the (slow) hash, so
   * guesses racing a lockout see it.
   */
  async password(login: string, password: string, actor: Actor): Promise<PersonRecord> {
    const found = await this.find(login);
    const right = await verifyPassword(password, found?.passwordHash ?? null);
    const person = found && (await this.store.getPerson(found.id));
    if (!person) {
      await this.store.appendAudit(auditEntry(actor, 'login.password', null, 'unknown-user', {}, this.now()));
      throw LOGIN_FAILED();
    }
    if (!right) await this.fail(person, 'login.password', actor, LOGIN_FAILED());
    if (person.state === 'locked' || person.state === 'blocked') {
      await this.store.appendAudit(auditEntry(actor, 'login.password', person.id, `refused-${person.state}`, {}, this.now()));
      throw LOGIN_FAILED();
    }
    await this.store.appendAudit(auditEntry(actor, 'login.password', person.id, 'ok', {}, this.now()));
    return person;
  }

  /** What step 2 asks for: a token's code (or the temporary password of a lost one) if the person has an active token, else a card key. */
  async secondStep(person: PersonRecord, preferredCard: string | null): Promise<SecondStep> {
    const token = await this.tokenStep(person.id);
    if (token) return token;
    const challenge = await this.cards.challenge(person.id, preferredCard);
    return { method: 'card', cardSerial: challenge.card.serial, number: challenge.number, otherCards: challenge.otherCards };
  }

  /** What step 2 asked of this person: a key of `shownCard` if its number is still waiting, else the token's code. */
  async askedStep(personId: string, shownCard: string | null): Promise<AskedStep> {
    const person = await this.current(personId);
    if (shownCard) {
      const card = await this.store.getCard(shownCard);
      if (card && card.personId === person.id && card.pendingIndex !== null) return { method: 'card', cardSerial: card.serial };
    }
    const token = await this.tokenStep(person.id);
    if (token) return { method: token.method, tokenSerial: token.tokenSerial };
    throw new CodedError('NV_NO_CHALLENGE', 'The number shown has changed; type the key for the number now shown.', 409);
  }

  /**
   * The person's active code token, or else the temporary password issued for a lost one (an
   * expired one ends the login: support issues a new one).
   */
  private async tokenStep(personId: string): Promise<TokenStep | undefined> {
    const token = (await this.tokens.list({ owner: personId })).find((t) => t.state === 'active');
    if (token) return { method: 'token', tokenSerial: token.serial };
    const replacement = (await this.tokens.replacementsOf(personId)).find((r) => r.state === 'active');
    if (!replacement) return undefined;
    if (this.now() > Date.parse(replacement.validUntil)) throw REPLACEMENT_EXPIRED();
    return { method: 'temporary-password', tokenSerial: replacement.serial, lostToken: replacement.replaces, validUntil: replacement.validUntil };
  }

  /** Step 2 (trin 2): `answer` is the card key, the token's code or the temporary password; `step` what was asked. */
  async key(personId: string, step: AskedStep, answer: string, actor: Actor): Promise<KeyResult> {
    const person = await this.current(personId);
    if (step.method === 'card') {
      const result = await this.cards.answer(person, step.cardSerial, answer.trim(), actor);
      if (result.result === 'wrong') await this.fail(person, 'login.key', actor, new CodedError('NV_WRONG_KEY', 'The key is wrong. Find the number on your code card and type the key beside it.', 401));
      if (result.result === 'accepted' && result.successor) await this.people.sendSuccessorCard(person, actor);
    } else {
      const answers = TOKEN_ANSWERS[step.method];
      // The validation server judges the answer, its form too: a code or password of the wrong form counts as wrong.
      const check = step.method === 'token' ? this.tokens.verify(step.tokenSerial, answer.trim(), actor) : this.tokens.verifyReplacement(step.tokenSerial, answer.trim(), actor);
      const outcome = await check.catch(async (error: unknown) => {
        if (error instanceof CodedError && error.code === 'NV_BAD_CODE') return this.fail(person, 'login.code', actor, answers.wrong());
        throw error;
      });
      if (outcome.result === 'rejected') {
        if (outcome.reason === 'expired') throw REPLACEMENT_EXPIRED();
        const reason =
          outcome.reason === 'replayed'
            ? new CodedError('NV_CODE_USED', 'This code has been used already. Press the button for a new one.', 401)
            : outcome.locked || outcome.reason === 'locked'
              ? answers.locked()
              : answers.wrong();
        await this.fail(person, 'login.code', actor, reason);
      }
    }
    return this.succeed(person, actor);
  }

  /** First login: the person's own user-id and password; the temporary password stops working. */
  async chooseCredentials(personId: string, input: { userId: string; password: string; passwordAgain: string }, actor: Actor): Promise<PersonRecord> {
    const person = await this.current(personId);
    if (!person.passwordTemporary) throw new CodedError('NV_BAD_STATE', 'your user-id and password are chosen already', 409);
    const userId = checkUserId(input.userId);
    checkNewPassword(input.password, { userId });
    if (input.password !== input.passwordAgain) throw new CodedError('NV_PASSWORDS_DIFFER', 'The two passwords are not the same.', 400);
    const changes = { userId, passwordHash: await hashPassword(input.password), passwordTemporary: false, state: 'active' as const };
    try {
      if (!(await this.store.updatePerson(person.id, person.version, changes, auditEntry(actor, 'person.choose-credentials', person.id, 'ok', {}, this.now())))) {
        throw new CodedError('NV_CONFLICT', 'your NemID changed meanwhile; log in again', 409);
      }
    } catch (error) {
      if (!(error instanceof DuplicatePersonError)) throw error;
      await this.store.appendAudit(auditEntry(actor, 'person.choose-credentials', person.id, 'user-id-taken', {}, this.now()));
      throw new CodedError('NV_USER_ID_TAKEN', 'This user-id is taken; choose another.', 409);
    }
    return { ...person, ...changes, version: person.version + 1 };
  }

  /**
   * Key-file login: the signature of `challenge` by the person's active key file (re-issuing blocks
   * the old one, so there is at most one; the newest counts). A P-256 signature cannot be guessed,
   * so a bad one is audited but not counted toward the lockout (that would only let anyone lock
   * anyone), and every failure gets one answer, known NemID number or not. Every attempt does the
   * same work: one signature verification, against a key nobody holds when the number is unknown or
   * has no active key file, so its time does not tell which numbers have one.
   */
  async keyFile(personId: string, challenge: string, signature: string, actor: Actor): Promise<PersonRecord> {
    const wellFormed = /^\d{10}$/.test(personId);
    const person = wellFormed ? await this.store.getPerson(personId) : undefined;
    const keyFiles = wellFormed ? await this.store.listKeyFiles(personId) : [];
    const keyFile = keyFiles.filter((k) => k.state === 'active' && k.publicKey).sort((a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0))[0];
    const right = this.keyFileVerifier.verify(keyFile?.publicKey ?? null, challenge, signature);
    if (!person || !right) {
      await this.store.appendAudit(auditEntry(actor, 'login.key-file', null, 'failed', {}, this.now()));
      throw KEY_FILE_FAILED();
    }
    this.refuseUnusable(person);
    return (await this.succeed(person, actor)).person;
  }

  /** The first half of activating a key file: who it is for (the browser puts it in the file). */
  async activationBegin(code: string, actor: Actor): Promise<{ personId: string; label: string }> {
    const { person } = await this.activation(code, actor);
    return { personId: person.id, label: person.name };
  }

  /** The second half: the public key made in the browser; the activation code stops working. */
  async activationComplete(code: string, publicKey: string, actor: Actor): Promise<PersonRecord> {
    const { person, keyFile } = await this.activation(code, actor);
    const spki = parsePublicKey(publicKey);
    const now = this.now();
    if (!(await this.store.updateKeyFile(keyFile.id, keyFile.version, { state: 'active', publicKey: spki, activationDigest: null, activationExpiresAt: null, activatedAt: now }, auditEntry(actor, 'key-file.activate', keyFile.id, 'ok', { person: person.id }, now)))) {
      throw new CodedError('NV_ACTIVATION_USED', 'This activation code has been used already.', 409);
    }
    if (person.state === 'pending') await this.store.updatePerson(person.id, person.version, { state: 'active' }, null);
    return person;
  }

  async principal(person: PersonRecord, method?: LoginMethod): Promise<LoginPrincipal> {
    const organisation = person.organisationId ? await this.store.getOrganisation(person.organisationId) : undefined;
    return {
      nemIdNumber: person.id,
      userId: person.userId,
      name: person.name,
      scope: person.scope,
      ...(method ? { method } : {}),
      organisation: organisation ? { cvr: organisation.cvr, name: organisation.name } : null,
      role: person.role,
    };
  }

  /** Self-service: a new personal password (the current one is asked for; a wrong one counts). */
  async changePassword(personId: string, input: { current: string; password: string; passwordAgain: string }, actor: Actor): Promise<void> {
    const person = await this.current(personId);
    if (person.passwordHash === null) throw new CodedError('NV_BAD_STATE', 'a key-file employee has no password at the service', 409);
    if (!(await verifyPassword(input.current, person.passwordHash))) {
      await this.fail(person, 'person.password', actor, new CodedError('NV_WRONG_PASSWORD', 'The current password is wrong.', 401));
    }
    checkNewPassword(input.password, { userId: person.userId });
    if (input.password !== input.passwordAgain) throw new CodedError('NV_PASSWORDS_DIFFER', 'The two passwords are not the same.', 400);
    if (!(await this.store.updatePerson(person.id, person.version, { passwordHash: await hashPassword(input.password), failCount: 0 }, auditEntry(actor, 'person.password', person.id, 'ok', {}, this.now())))) {
      throw new CodedError('NV_CONFLICT', 'your NemID changed meanwhile; try again', 409);
    }
    await this.accessEnds.ended(person.id, 'password-changed');
  }

  /** Self-service: the keys left at which a new card is sent. */
  async setThreshold(personId: string, threshold: number, actor: Actor): Promise<void> {
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > 147) throw new CodedError('NV_BAD_FIELD', 'the threshold is a whole number from 0 to 147', 400);
    const person = await this.current(personId);
    if (!(await this.store.updatePerson(person.id, person.version, { cardThreshold: threshold }, auditEntry(actor, 'person.threshold', person.id, 'ok', { threshold }, this.now())))) {
      throw new CodedError('NV_CONFLICT', 'your NemID changed meanwhile; try again', 409);
    }
  }

  /** The person, still allowed in (a lockout or block during a session ends it). */
  async current(personId: string): Promise<PersonRecord> {
    const person = await this.store.getPerson(personId);
    if (!person) throw LOGIN_FAILED();
    this.refuseUnusable(person);
    return person;
  }

  private async activation(code: string, actor: Actor) {
    const digest = activationDigest(code);
    // The activation code is looked up by its digest among the key files awaiting one; listing by person is not possible here.
    const keyFile = await this.store.getKeyFileByActivation(digest);
    if (!keyFile || keyFile.state !== 'awaiting-activation' || (keyFile.activationExpiresAt ?? 0) <= this.now()) {
      await this.store.appendAudit(auditEntry(actor, 'key-file.activate', null, 'refused', {}, this.now()));
      throw new CodedError('NV_BAD_ACTIVATION', 'This activation code is unknown, used or expired; ask your administrator for a new one.', 404);
    }
    const person = await this.current(keyFile.personId);
    return { person, keyFile };
  }

  private refuseUnusable(person: PersonRecord): void {
    if (person.state === 'locked') throw new CodedError('NV_LOCKED', 'Your NemID is locked (spærret) after too many wrong attempts. Contact support or your administrator.', 403);
    if (person.state === 'blocked') throw new CodedError('NV_BLOCKED', 'Your NemID is blocked (spærret). Contact support or your administrator.', 403);
  }

  /** A right key: the fail count starts over. Refused if the person was locked or blocked meanwhile. */
  private async succeed(person: PersonRecord, actor: Actor): Promise<KeyResult> {
    for (let current = person, attempt = 0; attempt < 4; attempt++) {
      const now = this.now();
      if (await this.store.updatePerson(current.id, current.version, { failCount: 0, lastLoginAt: now }, auditEntry(actor, 'login', current.id, 'ok', { scope: current.scope }, now))) {
        const updated = { ...current, failCount: 0, lastLoginAt: now, version: current.version + 1 };
        return current.passwordTemporary ? { next: 'choose-credentials', person: updated } : { next: 'done', person: updated };
      }
      current = await this.current(current.id);
    }
    throw new CodedError('NV_BUSY', 'your NemID is being changed elsewhere; log in again', 503);
  }

  /**
   * Counts a failure; throws `error` (or the lockout, when this failure caused it). The audit says
   * `locked` only for the failure that locked the person, judged from the atomic count: the one that
   * reached maxFailures (every way back to active starts the count at 0). Failures racing it, or
   * made on a person already locked, are `failed`.
   */
  private async fail(person: PersonRecord, action: string, actor: Actor, error: CodedError = LOGIN_FAILED()): Promise<never> {
    const counted = await this.store.recordPersonFailure(person.id, this.policy.maxFailures, (p) =>
      auditEntry(actor, action, person.id, p.state === 'locked' && p.failCount === this.policy.maxFailures ? 'locked' : 'failed', { failCount: p.failCount }, this.now()),
    );
    if (counted?.state === 'locked' && counted.failCount === this.policy.maxFailures) await this.accessEnds.ended(person.id, 'locked');
    if (counted?.state === 'locked' && error.code !== 'NV_LOGIN_FAILED') this.refuseUnusable(counted);
    throw error;
  }

  private async find(login: string): Promise<PersonRecord | undefined> {
    const text = login.trim();
    if (text.length === 0 || text.length > 64) return undefined;
    return /^\d{10}$/.test(text) ? this.store.getPerson(text) : this.store.getPersonByUserId(text.toLowerCase());
  }
}
