/**
 * The login service's people as the token side's owners (its `OwnerDirectory`): a NemID number or
 * a user-id names a person, and the NemID number is what a token keeps.
 */
import type { OwnerDirectory } from '../server/token-service.ts';
import type { ServiceStore } from './store/types.ts';

export function peopleAsOwners(store: Pick<ServiceStore, 'getPerson' | 'getPersonByUserId'>): OwnerDirectory {
  return {
    async resolve(owner) {
      return (await store.getPerson(owner))?.id ?? (await store.getPersonByUserId(owner))?.id;
    },
  };
}
