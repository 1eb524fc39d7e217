/**
 * The seed-file routes' contract: `POST /v1/tokens/import` (a PSKC, otpauth, oathcsv or
 * users.oath file, whole or not at all) and `POST /v1/tokens/export` (off unless the server runs
 * with --allow-export). Both need the admin key. A file travels as base64; a PSKC's password as
 * text and its pre-shared key as hex, in the body only, never in a URL.
 */
import { ERROR_ANSWERS } from './errors.ts';
import type { FromSchema } from './schema.ts';

export const IMPORT_ROUTE = '/v1/tokens/import';
export const EXPORT_ROUTE = '/v1/tokens/export';

/** The largest import body: a 32 MiB file as base64, and the fields beside it. */
export const IMPORT_BODY_LIMIT = 44 * 1024 * 1024;

const FORMATS = ['pskc', 'otpauth', 'oathcsv', 'users.oath'] as const;
const format = { type: 'string', enum: FORMATS } as const;
export type SeedFileFormat = (typeof FORMATS)[number];
const serial = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,32}$' } as const;
/** A PSKC password (UTF-8) or a pre-shared key (hex: 16, 24 or 32 bytes). */
const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const keyHex = { type: 'string', pattern: '^([0-9a-fA-F]{2}){16,32}$' } as const;

export const importBody = {
  type: 'object',
  properties: {
    file: { type: 'string', minLength: 1, maxLength: IMPORT_BODY_LIMIT - 4096, pattern: '^[A-Za-z0-9+/]*={0,2}$' },
    fileName: { type: 'string', minLength: 1, maxLength: 255 },
    format,
    password,
    key: keyHex,
    dryRun: { type: 'boolean' },
    replace: { type: 'boolean' },
    allowShortSeed: { type: 'boolean' },
  },
  required: ['file'],
  additionalProperties: false,
} as const;

export interface ImportBody {
  /** The file's bytes, base64. */
  file: string;
  /** Its name, for its extension (the format is told from it, else from the content). */
  fileName?: string;
  format?: SeedFileFormat;
  password?: string;
  key?: string;
  dryRun?: boolean;
  replace?: boolean;
  allowShortSeed?: boolean;
}

const nullableString = { type: ['string', 'null'] } as const;
const texts = { type: 'array', items: { type: 'string' } } as const;

/** One key of the file as imported (or, on a dry run, as it would be): never its seed, only its length. */
const importedTokenSchema = {
  type: 'object',
  properties: {
    serial: { type: 'string' },
    kind: { type: 'string', enum: ['hotp', 'totp'] },
    algorithm: { type: 'string', enum: ['sha1', 'sha256', 'sha512'] },
    digits: { type: 'integer' },
    counter: { type: ['integer', 'null'] },
    period: { type: ['integer', 'null'] },
    seedBytes: { type: 'integer' },
    user: nullableString,
    validUntil: nullableString,
    source: { type: 'string' },
    notes: texts,
    /** The NemID number of the person the file's user names, or null when the service knows nobody by it. */
    owner: nullableString,
    /** Whether it takes the place of a token of that serial already on the server (replace). */
    replaces: { type: 'boolean' },
  },
  required: ['serial', 'kind', 'algorithm', 'digits', 'counter', 'period', 'seedBytes', 'user', 'validUntil', 'source', 'notes', 'owner', 'replaces'],
  additionalProperties: false,
} as const;

/** A key of the file that cannot be imported, and why (its code). */
const keyRefusalSchema = {
  type: 'object',
  properties: { source: { type: 'string' }, serial: nullableString, code: { type: 'string' }, message: { type: 'string' } },
  required: ['source', 'serial', 'code', 'message'],
  additionalProperties: false,
} as const;

export const importAnswer = {
  type: 'object',
  properties: {
    format,
    dryRun: { type: 'boolean' },
    imported: { type: 'integer' },
    tokens: { type: 'array', items: importedTokenSchema },
    refused: { type: 'array', items: keyRefusalSchema },
    notes: texts,
  },
  required: ['format', 'dryRun', 'imported', 'tokens', 'refused', 'notes'],
  additionalProperties: false,
} as const;
export type ImportAnswer = FromSchema<typeof importAnswer>;

export const exportBody = {
  type: 'object',
  properties: {
    format,
    serials: { type: 'array', items: serial, minItems: 1, maxItems: 10_000 },
    owner: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' },
    all: { const: true },
    password,
    key: keyHex,
    /** Seeds in the clear: needed for every format but PSKC, and for a PSKC without password or key. */
    plain: { type: 'boolean' },
    /** otpauth: write a 7-digit token with a comment flagging it instead of refusing the export. */
    flagSevenDigits: { type: 'boolean' },
  },
  required: ['format'],
  additionalProperties: false,
} as const;

export interface ExportBody {
  format: SeedFileFormat;
  serials?: string[];
  owner?: string;
  all?: true;
  password?: string;
  key?: string;
  plain?: boolean;
  flagSevenDigits?: boolean;
}

export const exportAnswer = {
  type: 'object',
  properties: {
    format,
    /** Whether seeds are in the clear (every format but an encrypted PSKC). */
    plain: { type: 'boolean' },
    serials: { type: 'array', items: { type: 'string' } },
    /** The file's text. */
    file: { type: 'string' },
  },
  required: ['format', 'plain', 'serials', 'file'],
  additionalProperties: false,
} as const;
export type ExportAnswer = FromSchema<typeof exportAnswer>;

export const seedFileRoutes = {
  import: { body: importBody, response: { 200: importAnswer, ...ERROR_ANSWERS } },
  export: { body: exportBody, response: { 200: exportAnswer, ...ERROR_ANSWERS } },
} as const;
