/** JSON schemas of the API's requests: unknown fields are refused, not dropped. */
const serial = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,32}$' } as const;
const owner = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' } as const;
/** Query strings arrive as text: whole numbers are checked as digits and converted by the route. */
const wholeText = { type: 'string', pattern: '^[0-9]{1,9}$' } as const;

/** A code or temporary password: its exact form is checked against the token. */
const code = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const serialParams = { type: 'object', properties: { serial }, required: ['serial'], additionalProperties: false } as const;

export const enrollBody = {
  type: 'object',
  properties: {
    serial,
    kind: { enum: ['hotp', 'totp'] },
    algorithm: { enum: ['sha1', 'sha256', 'sha512'] },
    digits: { type: 'integer', minimum: 6, maximum: 8 },
    period: { type: 'integer', minimum: 1, maximum: 3600 },
    counter: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    seed: { type: 'string', pattern: '^([0-9a-fA-F]{2}){1,64}$' },
    owner: { anyOf: [owner, { type: 'null' }] },
    allowShortSeed: { type: 'boolean' },
  },
  required: ['serial', 'kind', 'seed'],
  additionalProperties: false,
} as const;

export interface EnrollBody {
  serial: string;
  kind: 'hotp' | 'totp';
  algorithm?: 'sha1' | 'sha256' | 'sha512';
  digits?: number;
  period?: number;
  counter?: number;
  seed: string;
  owner?: string | null;
  /** Enrol a seed under RECOMMENDED_MIN_SECRET_BYTES anyway (the CLI's --allow-short-seed). */
  allowShortSeed?: boolean;
}

export const listQuery = {
  type: 'object',
  properties: {
    owner,
    state: { enum: ['active', 'disabled', 'locked', 'lost', 'revoked'] },
    limit: wholeText,
    offset: wholeText,
  },
  additionalProperties: false,
} as const;

export const emptyBody = { anyOf: [{ type: 'object', additionalProperties: false }, { type: 'null' }] } as const;

export const lostBody = {
  anyOf: [
    {
      type: 'object',
      properties: { replacement: { type: 'boolean' }, validDays: { type: 'integer', minimum: 1, maximum: 90 } },
      additionalProperties: false,
    },
    { type: 'null' },
  ],
} as const;

export const assignBody = { type: 'object', properties: { owner: { anyOf: [owner, { type: 'null' }] } }, required: ['owner'], additionalProperties: false } as const;

export const counterBody = {
  type: 'object',
  properties: { counter: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
  required: ['counter'],
  additionalProperties: false,
} as const;

/** An ISO 8601 date, or date and time (a time without a zone is the server's local time). */
export const ISO_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})?)?$';
const isoTime = { type: 'string', pattern: ISO_TIME_PATTERN } as const;

export const auditQuery = {
  type: 'object',
  properties: {
    /** The subject's id, whatever its kind (`serial` is its older name, kept working). */
    subject: serial,
    serial,
    /** Every action the audit records: the token service's (`verify`, `sync_counter`) and the login service's (`login.password`, `key-file.block`). */
    action: { type: 'string', pattern: '^[a-z][a-z0-9_.-]{0,63}$' },
    since: isoTime,
    order: { enum: ['asc', 'desc'] },
    after: wholeText,
    before: wholeText,
    limit: wholeText,
  },
  additionalProperties: false,
} as const;

export interface AuditQuery {
  subject?: string;
  serial?: string;
  action?: string;
  since?: string;
  order?: 'asc' | 'desc';
  after?: string;
  before?: string;
  limit?: string;
}

export const verifyBody = {
  type: 'object',
  properties: { serial, user: owner, code },
  required: ['code'],
  additionalProperties: false,
} as const;

export const resyncBody = {
  type: 'object',
  properties: { serial, codes: { type: 'array', items: code, minItems: 2, maxItems: 2 } },
  required: ['serial', 'codes'],
  additionalProperties: false,
} as const;
