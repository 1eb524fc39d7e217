/**
 * The seed-file routes' contract: `POST /v1/tokens/import` (a PSKC, otpauth, oathcsv or
 * users.oath file, whole or not at all) and `POST /v1/tokens/export` (off unless the server runs
 * with --allow-export). Both need the admin key. A file travels as base64; a PSKC's password as
 * text and its pre-shared key as hex, in the body only, never in a URL.
 */
import type { KeyRefusal, SeedFileFormat } from '../seed-files/types.ts';
import type { ImportedTokenReport } from '../server/seed-transfer.ts';

export const IMPORT_ROUTE = '/v1/tokens/import';
export const EXPORT_ROUTE = '/v1/tokens/export';

/** The largest import body: a 32 MiB file as base64, and the fields beside it. */
export const IMPORT_BODY_LIMIT = 44 * 1024 * 1024;

const format = { enum: ['pskc', 'otpauth', 'oathcsv', 'users.oath'] } as const;
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

export interface ImportAnswer {
  readonly format: SeedFileFormat;
  readonly dryRun: boolean;
  readonly imported: number;
  readonly tokens: readonly ImportedTokenReport[];
  readonly refused: readonly KeyRefusal[];
  readonly notes: readonly string[];
}

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

export interface ExportAnswer {
  readonly format: SeedFileFormat;
  readonly plain: boolean;
  readonly serials: readonly string[];
  /** The file's text. */
  readonly file: string;
}
