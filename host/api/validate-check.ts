/**
 * privacyIDEA's `POST /validate/check` on this server: its request is privacyIDEA's (a form or a
 * JSON object: user or serial, pass, realm, transaction_id), read by
 * host/privacyidea/validate-check.ts rather than by a JSON schema, since plugins send fields this
 * server ignores; its answer is privacyIDEA 3.x's JSON. Callers hold the client key (Bearer), or
 * come from a network the server lists with --validate-allow (an unchanged plugin sends no key).
 */
export type { PrivacyideaResponse as ValidateCheckAnswer, ValidateCheckRequest } from '../privacyidea/validate-check.ts';

export const VALIDATE_CHECK_ROUTE = '/validate/check';

/** The bodies it takes. */
export const VALIDATE_CHECK_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded'] as const;
