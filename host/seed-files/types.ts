/**
 * The one shape every seed file format imports to and exports from. An import gives the tokens to
 * add and, for the dry run, what each key became (never its seed); a whole-file failure is a
 * SeedFileError instead (errors.ts).
 */
import type { OathAlgorithm } from '../../protocol/oath/parameters.ts';
import type { SeedFileErrorCode } from './errors.ts';

export type SeedFileFormat = 'pskc' | 'otpauth' | 'oathcsv' | 'users.oath';
export const SEED_FILE_FORMATS: readonly SeedFileFormat[] = ['pskc', 'otpauth', 'oathcsv', 'users.oath'];

export type OathKind = 'hotp' | 'totp';

/** A token as a file carries it: what the server needs to register it. */
export interface SeedRecord {
  /** The server's serial: PSKC's device SerialNo, else the key's Id; a column or label elsewhere. */
  readonly serial: string;
  readonly kind: OathKind;
  readonly algorithm: OathAlgorithm;
  readonly digits: number;
  /** HOTP: the next counter a code may be accepted for (0 for TOTP). */
  readonly counter: number;
  /** TOTP: the time step in seconds (0 for HOTP). */
  readonly period: number;
  /** The secret. Never printed, logged or put in an error. */
  readonly seed: Uint8Array;
  /**
   * The user the file names (users.oath's user, oathcsv version 2's user, an otpauth label's
   * account, PSKC's UserId), as written. The importer makes it the owner only when the service
   * knows the person; otherwise the token is imported without an owner.
   */
  readonly user: string | null;
  /** Unix ms after which the key no longer verifies (PSKC's ExpiryDate); null for none. */
  readonly validUntil: number | null;
}

/** One key of the file that imports, with what the dry run says about it. */
export interface ImportedToken extends SeedRecord {
  /** Where in the file: "KeyPackage 2 (Key 12345678)", "line 3". */
  readonly source: string;
  /** What the import leaves out or assumed ("its PIN policy is not used"); never a seed. */
  readonly notes: readonly string[];
}

/** One key of the file that does not import; the others still do. */
export interface KeyRefusal {
  readonly source: string;
  /** The serial it would have had, when the file says. */
  readonly serial: string | null;
  readonly code: KeyRefusalCode;
  readonly message: string;
}

export type KeyRefusalCode =
  /** PSKC's ExpiryDate is past. */
  | 'NV_KEY_EXPIRED'
  /** PSKC's StartDate is still ahead (the server has no start date to hold it to). */
  | 'NV_KEY_NOT_YET_VALID'
  /** No secret in the file: derived from a master key the server does not hold (RFC 6030 figure 4). */
  | 'NV_KEY_DERIVED'
  /** No secret in the file, and no derivation named either. */
  | 'NV_KEY_NO_SECRET'
  /** Not an OTP key (a PIN, or a key whose usage excludes OTP). */
  | 'NV_KEY_NOT_OTP'
  /** An OTP key the server cannot verify as given (digits outside 6–8, a non-decimal response, a T0 other than 0). */
  | 'NV_KEY_UNSUPPORTED'
  /** No serial the server can use (empty, or outside A-Z a-z 0-9 . _ : - and 32 characters). */
  | 'NV_KEY_BAD_SERIAL';

export interface SeedFileImport {
  readonly format: SeedFileFormat;
  readonly tokens: readonly ImportedToken[];
  readonly refused: readonly KeyRefusal[];
  /** About the file as a whole ("encrypted with AES-128-CBC under a PBKDF2 password, MAC HMAC-SHA1"). */
  readonly notes: readonly string[];
}

/** A token to export: a record the server holds, with its seed opened. */
export interface ExportToken extends SeedRecord {
  /** The issuer otpauth URIs and PSKC name; defaults to "noegleviser". */
  readonly issuer?: string;
}

/** What a dry run prints for a token: everything but the seed. */
export interface DryRunRow {
  readonly serial: string;
  readonly kind: OathKind;
  readonly algorithm: OathAlgorithm;
  readonly digits: number;
  readonly counter: number | null;
  readonly period: number | null;
  readonly seedBytes: number;
  readonly user: string | null;
  readonly validUntil: string | null;
  readonly source: string;
  readonly notes: readonly string[];
}

export type { SeedFileErrorCode };
