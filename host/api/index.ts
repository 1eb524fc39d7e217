/**
 * The host's HTTP contract: what every `/v1` and `/api` route takes and answers, as JSON schemas
 * with their types derived from them, and the error envelope with its codes. The server validates
 * requests and writes answers with these schemas; the bridge and the CLI compile against them. No
 * fastify, no server or service code here: only the contract.
 */
export * from './audit.ts';
export * from './defaults.ts';
export * from './errors.ts';
export * from './login.ts';
export * from './people.ts';
export * from './schema.ts';
export * from './tokens.ts';
