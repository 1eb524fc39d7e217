/** The login service's people as the token service's owners: a NemID number or a user-id names a person; the NemID number is kept. */
import type { ServiceStore } from '../service/store/types.ts';
import type { OwnerDirectory } from './token-service.ts';

export function peopleAsOwners(store: Pick<ServiceStore, 'getPerson' | 'getPersonByUserId'>): OwnerDirectory {
  return {
    async resolve(owner) {
      return (await store.getPerson(owner))?.id ?? (await store.getPersonByUserId(owner))?.id;
    },
  };
}
