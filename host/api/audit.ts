/**
 * `GET /v1/audit`: the audit log both the token service and the login service write, as the API
 * shows it (its time in ISO 8601, its subject named by kind), and the filter it takes.
 */
import { ERROR_ANSWERS } from './errors.ts';
import type { FromSchema } from './schema.ts';
import { wholeText } from './tokens.ts';

/** An ISO 8601 date, or date and time (a time without a zone is the server's local time). */
export const ISO_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})?)?$';

export const AUDIT_SUBJECT_KINDS = ['token', 'nemid', 'card', 'key_file', 'organisation'] as const;
/** What an audit record is about: a token (its serial), a person (their NemID number), a code card, a key file or an organisation. */
export type AuditSubjectKind = (typeof AUDIT_SUBJECT_KINDS)[number];

const subjectId = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,32}$' } as const;

export const auditQuerySchema = {
  type: 'object',
  properties: {
    /** The subject's id, whatever its kind (`serial` is its older name, kept working). */
    subject: subjectId,
    serial: subjectId,
    /** Every action the audit records: the token service's (`verify`, `sync_counter`) and the login service's (`login.password`, `key-file.block`). */
    action: { type: 'string', pattern: '^[a-z][a-z0-9_.-]{0,63}$' },
    since: { type: 'string', pattern: ISO_TIME_PATTERN },
    order: { type: 'string', enum: ['asc', 'desc'] },
    after: wholeText,
    before: wholeText,
    limit: wholeText,
  },
  additionalProperties: false,
} as const;
/** The query as sent: numbers as text, since a query string carries nothing else. */
export type AuditQuery = FromSchema<typeof auditQuerySchema>;

export const auditViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    /** Who: `admin`, `client`, `bridge`, `system`, an API key's name or a person's session. */
    actor: { type: 'string' },
    action: { type: 'string' },
    subject: {
      anyOf: [
        { type: 'object', properties: { kind: { type: 'string', enum: AUDIT_SUBJECT_KINDS }, id: { type: 'string' } }, required: ['kind', 'id'] },
        { type: 'null' },
      ],
    },
    result: { type: 'string' },
    /** More about it, never a seed or a code that was accepted. */
    detail: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
  },
  required: ['id', 'at', 'actor', 'action', 'subject', 'result', 'detail'],
  additionalProperties: false,
} as const;
export type AuditView = FromSchema<typeof auditViewSchema>;

export const auditRoute = {
  querystring: auditQuerySchema,
  response: { 200: { type: 'object', properties: { entries: { type: 'array', items: auditViewSchema } }, required: ['entries'], additionalProperties: false }, ...ERROR_ANSWERS },
} as const;
