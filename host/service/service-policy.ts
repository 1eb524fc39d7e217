/** The service's rules of thumb, in one place; each has a default a NemID user would recognise. */
import { MAX_EXTRA_CARDS } from '../api/people.ts';

export interface ServicePolicy {
  /** Wrong passwords and keys in a row (both steps count alike) that lock a person. */
  readonly maxFailures: number;
  /** A new card is sent when this many keys are left, unless the person chose otherwise. */
  readonly defaultCardThreshold: number;
  /** Extra cards (ekstra nøglekort) alive at a time, never more. */
  readonly maxExtraCards: number;
  /** How long a key-file activation code works. */
  readonly activationValidMs: number;
  /** A session ends after this long without a request. */
  readonly sessionIdleMs: number;
  /** Login attempts (POSTs to the login steps) per client address per minute. */
  readonly loginAttemptsPerMinute: number;
  /**
   * Taken user-ids a first login is told of before it has to start again at step 1, so that the
   * choice of a user-id cannot be used to probe which ones exist.
   */
  readonly takenUserIdsPerFirstLogin: number;
}

export const DEFAULT_SERVICE_POLICY: ServicePolicy = {
  maxFailures: 5,
  defaultCardThreshold: 20,
  maxExtraCards: MAX_EXTRA_CARDS,
  activationValidMs: 14 * 24 * 3600_000,
  sessionIdleMs: 15 * 60_000,
  loginAttemptsPerMinute: 60,
  takenUserIdsPerFirstLogin: 3,
};
