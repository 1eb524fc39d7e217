/**
 * What the token side needs of the people side to check a person's own password before a code
 * (privacyIDEA's "otppin=userstore", and RADIUS's PAP): the start module hands in the login
 * service's check, since the validation server never imports the service.
 */
import type { Actor } from '../store/audit.ts';

export interface UserPasswords {
  /**
   * The NemID number of the person `user` (a user-id or NemID number) names, if `password` is
   * theirs and they may log in; undefined otherwise. A wrong password counts toward the person's
   * lockout there, and every refusal looks the same (unknown, wrong or locked).
   */
  check(user: string, password: string, actor: Actor): Promise<string | undefined>;
}
