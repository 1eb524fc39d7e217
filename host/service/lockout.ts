/**
 * Who may still come in: wrong passwords, keys and codes all count toward one lockout (the login
 * steps and the self-service password change alike), and a locked or blocked person is refused
 * wherever they are, a session already under way too.
 */
import { AccessEnds } from './access-ends.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { auditEntry, type Actor } from '../store/audit.ts';
import type { ServicePolicy } from './service-policy.ts';
import type { PersonRecord, ServiceStore } from './store/types.ts';

/** Step 1's one answer for every failure, so that it never tells whether a user-id exists or a password was right. */
export const LOGIN_FAILED = () =>
  new CodedError('NV_LOGIN_FAILED', 'The user-id or password is wrong, or your NemID is locked (spærret). After 5 wrong attempts, contact support or your administrator.', 401);

export class Lockout {
  constructor(
    private readonly store: Pick<ServiceStore, 'getPerson' | 'recordPersonFailure'>,
    private readonly policy: Pick<ServicePolicy, 'maxFailures'>,
    private readonly now: () => number,
    private readonly accessEnds = new AccessEnds(),
  ) {}

  /** The person, still allowed in (a lockout or block during a session ends it). */
  async current(personId: string): Promise<PersonRecord> {
    const person = await this.store.getPerson(personId);
    if (!person) throw LOGIN_FAILED();
    this.refuseUnusable(person);
    return person;
  }

  refuseUnusable(person: PersonRecord): void {
    if (person.state === 'locked') throw new CodedError('NV_LOCKED', 'Your NemID is locked (spærret) after too many wrong attempts. Contact support or your administrator.', 403);
    if (person.state === 'blocked') throw new CodedError('NV_BLOCKED', 'Your NemID is blocked (spærret). Contact support or your administrator.', 403);
  }

  /**
   * Counts a failure; throws `error` (or the lockout, when this failure caused it). The audit says
   * `locked` only for the failure that locked the person, judged from the atomic count: the one that
   * reached maxFailures (every way back to active starts the count at 0). Failures racing it, or
   * made on a person already locked, are `failed`.
   */
  async fail(person: PersonRecord, action: string, actor: Actor, error: CodedError = LOGIN_FAILED()): Promise<never> {
    const counted = await this.store.recordPersonFailure(person.id, this.policy.maxFailures, (p) =>
      auditEntry(actor, action, person.id, p.state === 'locked' && p.failCount === this.policy.maxFailures ? 'locked' : 'failed', { failCount: p.failCount }, this.now()),
    );
    if (counted?.state === 'locked' && counted.failCount === this.policy.maxFailures) await this.accessEnds.ended(person.id, 'locked');
    if (counted?.state === 'locked' && error.code !== 'NV_LOGIN_FAILED') this.refuseUnusable(counted);
    throw error;
  }
}
