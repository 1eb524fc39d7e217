/** How strictly codes are judged. Defaults follow privacyIDEA/LinOTP practice. */
export interface VerifyPolicy {
  /** HOTP look-ahead: a code is accepted for the next `hotpWindow` counters. */
  readonly hotpWindow: number;
  /** TOTP: steps accepted either side of the token's expected step. */
  readonly totpSteps: number;
  /** Counters searched by a resync (for TOTP, the same number of steps, half either side). */
  readonly resyncWindow: number;
  /** Wrong codes in a row that lock a token. */
  readonly maxFail: number;
  /** Resync without an administrator: a code beyond the window followed in time by its successor. */
  readonly autoResync: boolean;
  readonly autoResyncTimeoutMs: number;
  /** Counters behind the current one searched to tell a replayed code from a wrong one. */
  readonly replayLookback: number;
  /** Days a lost token's temporary replacement works, unless the administrator says otherwise. */
  readonly replacementValidDays: number;
}

export const DEFAULT_POLICY: VerifyPolicy = {
  hotpWindow: 10,
  totpSteps: 1,
  resyncWindow: 1000,
  maxFail: 5,
  autoResync: false,
  autoResyncTimeoutMs: 5 * 60_000,
  replayLookback: 10,
  replacementValidDays: 7,
};
