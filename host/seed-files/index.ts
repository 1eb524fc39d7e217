/**
 * Standard seed files in and out: PSKC (RFC 6030), otpauth:// URI lists, privacyIDEA's oathcsv
 * and pam_oath's users.oath, all to and from one shape (types.ts). Importing reads the whole
 * file before anything is returned: a SeedFileError means nothing of it may be imported; the
 * result's `refused` lists keys the rules turned away while the rest imports.
 */
import path from 'node:path';
import { SeedFileError } from './errors.ts';
import { exportOathcsv, importOathcsv, type OathcsvExportOptions } from './oathcsv.ts';
import { exportOtpauth, importOtpauth, type OtpauthExportOptions } from './otpauth.ts';
import { importPskc } from './pskc.ts';
import { exportPskc, type PskcProtection } from './pskc-export.ts';
import type { ImportRules } from './records.ts';
import { SEED_FILE_FORMATS, type ExportToken, type SeedFileFormat, type SeedFileImport } from './types.ts';
import { exportUsersOath, importUsersOath } from './users-oath.ts';

export { SeedFileError, type SeedFileErrorCode } from './errors.ts';
export { dryRunRow, wipeSeeds, SERIAL_PATTERN } from './records.ts';
export type { PskcProtection } from './pskc-export.ts';
export * from './types.ts';

/** Larger files are refused before they are read as text (a vendor's PSKC of 10,000 tokens is about 10 MB). */
export const MAX_SEED_FILE_BYTES = 32 * 1024 * 1024;

export interface ImportOptions extends ImportRules {
  /** The format; otherwise told from the file's name, then its content. */
  readonly format?: SeedFileFormat;
  /** The file's name, for its extension. */
  readonly fileName?: string;
  /** A PBKDF2-encrypted PSKC's password (UTF-8 bytes; read from a file or standard input, never the command line). */
  readonly password?: Uint8Array;
  /** A PSKC's pre-shared key. */
  readonly key?: Uint8Array;
  /** Unix ms expiry is judged at; now by default. */
  readonly now?: number;
}

const BY_EXTENSION: Readonly<Record<string, SeedFileFormat>> = {
  '.pskc': 'pskc',
  '.pskcxml': 'pskc',
  '.xml': 'pskc',
  '.csv': 'oathcsv',
  '.oath': 'users.oath',
};

export function parseFormat(name: string): SeedFileFormat {
  const format = SEED_FILE_FORMATS.find((f) => f === name.toLowerCase());
  if (!format) throw new SeedFileError('NV_SEED_FILE_FORMAT', `unknown seed file format ${JSON.stringify(name.slice(0, 20))} (${SEED_FILE_FORMATS.join(', ')})`);
  return format;
}

/** The format of a file: by its extension, else by its first line that is not blank or a comment. */
export function detectFormat(text: string, fileName?: string): SeedFileFormat {
  const byName = fileName ? BY_EXTENSION[path.extname(fileName).toLowerCase()] : undefined;
  if (byName) return byName;
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('<')) return 'pskc';
  const first = trimmed.split(/\r?\n/).find((line) => line.trim() !== '' && !line.startsWith('#'))?.trim() ?? '';
  if (/^otpauth:\/\//i.test(first)) return 'otpauth';
  if (/^HOTP(\/|\s)/.test(first)) return 'users.oath';
  if (/^#\s*version:\s*\d/.test(trimmed) || /^[^,\s]+\s*,\s*[0-9a-fA-F]+\s*(,|$)/.test(first)) return 'oathcsv';
  throw new SeedFileError('NV_SEED_FILE_FORMAT', `cannot tell the seed file's format; name it (${SEED_FILE_FORMATS.join(', ')})`);
}

export function importSeedFile(content: Uint8Array, options: ImportOptions = {}): SeedFileImport {
  if (content.length > MAX_SEED_FILE_BYTES) throw new SeedFileError('NV_SEED_FILE_TOO_LARGE', `the file is ${content.length} bytes; at most ${MAX_SEED_FILE_BYTES} are read`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    const named = options.format ?? (options.fileName ? BY_EXTENSION[path.extname(options.fileName).toLowerCase()] : undefined);
    throw new SeedFileError(named === 'pskc' ? 'NV_SEED_FILE_NOT_XML' : 'NV_SEED_FILE_MALFORMED', 'the file is not UTF-8 text');
  }
  const format = options.format ?? detectFormat(text, options.fileName);
  switch (format) {
    case 'pskc':
      return importPskc(text, { ...options, now: options.now ?? Date.now() });
    case 'otpauth':
      return importOtpauth(text, options);
    case 'oathcsv':
      return importOathcsv(text, options);
    case 'users.oath':
      return importUsersOath(text, options);
  }
}

export type ExportOptions =
  | { readonly format: 'pskc'; readonly protection: PskcProtection }
  | ({ readonly format: 'otpauth' } & OtpauthExportOptions)
  | ({ readonly format: 'oathcsv' } & OathcsvExportOptions)
  | { readonly format: 'users.oath' };

/** Writes tokens in a format; a token the format cannot carry refuses the whole export (NV_EXPORT_UNSUPPORTED). */
export function exportSeedFile(tokens: readonly ExportToken[], options: ExportOptions): string {
  switch (options.format) {
    case 'pskc':
      return exportPskc(tokens, options.protection);
    case 'otpauth':
      return exportOtpauth(tokens, options);
    case 'oathcsv':
      return exportOathcsv(tokens, options);
    case 'users.oath':
      return exportUsersOath(tokens);
  }
}

/** Whether an export writes seeds in the clear (all but an encrypted PSKC): the CLI's --plain says so. */
export function exportIsPlain(options: ExportOptions): boolean {
  return options.format !== 'pskc' || options.protection.kind === 'plain';
}
