/** Everything the server keeps: the tokens and the service, in one store (the SQLite store implements both). */
import type { ServiceStore } from './service-types.ts';
import type { TokenStore } from './types.ts';

export type Store = TokenStore & ServiceStore;
