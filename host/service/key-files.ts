/**
 * Employee key files (nøglefiler) through their life: issued with a one-time activation code (kept
 * as its digest, valid for a while), activated by the public key the employee's browser makes,
 * signing in with a signature of the login challenge, blocked for good. The private key never
 * reaches the server (key-file.ts has the crypto).
 */
import { AccessEnds } from './access-ends.ts';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';
import { auditEntry, type Actor } from '../store/audit.ts';
import { parsePublicKey, type KeyFileVerifier } from './key-file.ts';
import type { Lockout } from './lockout.ts';
import type { ServicePolicy } from './service-policy.ts';
import type { KeyFileRecord, PersonRecord, ServiceStore } from './store/types.ts';

const KEY_FILE_FAILED = () => new CodedError('NV_KEY_FILE_FAILED', 'The key file could not be verified.', 401);

export class KeyFiles {
  constructor(
    private readonly store: ServiceStore,
    private readonly lockout: Lockout,
    private readonly verifier: KeyFileVerifier,
    private readonly policy: Pick<ServicePolicy, 'activationValidMs'>,
    private readonly now: () => number,
    private readonly accessEnds = new AccessEnds(),
  ) {}

  /** A key file awaiting activation for `person`: the activation code (for the letter, never kept) and until when it works. */
  async issue(person: PersonRecord, actor: Actor): Promise<{ activationCode: string; expiresAt: number }> {
    const activationCode = newActivationCode();
    const expiresAt = this.now() + this.policy.activationValidMs;
    await this.store.insertKeyFile(
      { id: `F${randomBytes(6).toString('hex').toUpperCase()}`, personId: person.id, activationDigest: activationDigest(activationCode), activationExpiresAt: expiresAt },
      auditEntry(actor, 'key-file.issue', person.id, 'ok', {}, this.now()),
    );
    return { activationCode, expiresAt };
  }

  async ofPerson(personId: string): Promise<KeyFileRecord[]> {
    return this.store.listKeyFiles(personId);
  }

  async hasActive(personId: string): Promise<boolean> {
    return (await this.store.listKeyFiles(personId)).some((k) => k.state === 'active');
  }

  /** Blocks (spærrer) a key file for good; its activation code stops working too. */
  async block(keyFile: KeyFileRecord, actor: Actor): Promise<void> {
    if (keyFile.state === 'blocked') return;
    await this.store.updateKeyFile(keyFile.id, keyFile.version, { state: 'blocked', activationDigest: null }, auditEntry(actor, 'key-file.block', keyFile.id, 'ok', { person: keyFile.personId }, this.now()));
    await this.accessEnds.ended(keyFile.personId, 'key-file-blocked');
  }

  /** The first half of activating a key file: who it is for (the browser puts it in the file). */
  async beginActivation(code: string, actor: Actor): Promise<{ personId: string; label: string }> {
    const { person } = await this.awaitingActivation(code, actor);
    return { personId: person.id, label: person.name };
  }

  /** The second half: the public key made in the browser; the activation code stops working. */
  async activate(code: string, publicKey: string, actor: Actor): Promise<PersonRecord> {
    const { person, keyFile } = await this.awaitingActivation(code, actor);
    const spki = parsePublicKey(publicKey);
    const now = this.now();
    if (!(await this.store.updateKeyFile(keyFile.id, keyFile.version, { state: 'active', publicKey: spki, activationDigest: null, activationExpiresAt: null, activatedAt: now }, auditEntry(actor, 'key-file.activate', keyFile.id, 'ok', { person: person.id }, now)))) {
      throw new CodedError('NV_ACTIVATION_USED', 'This activation code has been used already.', 409);
    }
    if (person.state === 'pending') await this.store.updatePerson(person.id, person.version, { state: 'active' }, null);
    return person;
  }

  /**
   * Signing in: the person whose active key file signed `challenge` (re-issuing blocks the old one,
   * so there is at most one; the newest counts). A P-256 signature cannot be guessed, so a bad one
   * is audited but not counted toward the lockout (that would only let anyone lock anyone), and
   * every failure gets one answer, known NemID number or not. Every attempt does the same work: one
   * signature verification, against a key nobody holds when the number is unknown or has no active
   * key file, so its time does not tell which numbers have one.
   */
  async signedBy(personId: string, challenge: string, signature: string, actor: Actor): Promise<PersonRecord> {
    const wellFormed = /^\d{10}$/.test(personId);
    const person = wellFormed ? await this.store.getPerson(personId) : undefined;
    const keyFiles = wellFormed ? await this.store.listKeyFiles(personId) : [];
    const keyFile = keyFiles.filter((k) => k.state === 'active' && k.publicKey).sort((a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0))[0];
    const right = this.verifier.verify(keyFile?.publicKey ?? null, challenge, signature);
    if (!person || !right) {
      await this.store.appendAudit(auditEntry(actor, 'login.key-file', null, 'failed', {}, this.now()));
      throw KEY_FILE_FAILED();
    }
    return person;
  }

  private async awaitingActivation(code: string, actor: Actor): Promise<{ person: PersonRecord; keyFile: KeyFileRecord }> {
    const digest = activationDigest(code);
    // The activation code is looked up by its digest among the key files awaiting one; listing by person is not possible here.
    const keyFile = await this.store.getKeyFileByActivation(digest);
    if (!keyFile || keyFile.state !== 'awaiting-activation' || (keyFile.activationExpiresAt ?? 0) <= this.now()) {
      await this.store.appendAudit(auditEntry(actor, 'key-file.activate', null, 'refused', {}, this.now()));
      throw new CodedError('NV_BAD_ACTIVATION', 'This activation code is unknown, used or expired; ask your administrator for a new one.', 404);
    }
    const person = await this.lockout.current(keyFile.personId);
    return { person, keyFile };
  }
}

export function activationDigest(code: string): string {
  return createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest('hex');
}

/** 16 characters in four groups, from an alphabet without look-alikes. */
function newActivationCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let code = '';
  for (let i = 0; i < 16; i++) code += (i > 0 && i % 4 === 0 ? '-' : '') + alphabet[randomInt(alphabet.length)];
  return code;
}
