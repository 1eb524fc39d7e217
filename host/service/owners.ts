/**
 * The login service's people as the token side's owners (its `OwnerDirectory`): a NemID number or
 * a user-id names a person, and the NemID number is what a token keeps.
 */
import { CodedError } from '../../protocol/coded-error.ts';
import type { OwnerDirectory } from '../server/token-service.ts';
import type { UserPasswords } from '../server/user-passwords.ts';
import type { LoginFlow } from './login.ts';
import type { ServiceStore } from './store/types.ts';

export function peopleAsOwners(store: Pick<ServiceStore, 'getPerson' | 'getPersonByUserId'>): OwnerDirectory {
  return {
    async resolve(owner) {
      return (await store.getPerson(owner))?.id ?? (await store.getPersonByUserId(owner))?.id;
    },
  };
}

/**
 * The login's step 1 as the token side's password check (a password before the code, in
 * /validate/check and RADIUS): the person's NemID number, or undefined for the one refusal step 1
 * gives whatever the cause. Wrong passwords count toward the person's lockout, as at the login.
 */
export function loginAsUserPasswords(login: () => LoginFlow): UserPasswords {
  return {
    async check(user, password, actor) {
      try {
        return (await login().password(user, password, actor)).id;
      } catch (error) {
        if (error instanceof CodedError && (error.code === 'NV_LOGIN_FAILED' || error.code === 'NV_LOCKED')) return undefined;
        throw error;
      }
    },
  };
}
