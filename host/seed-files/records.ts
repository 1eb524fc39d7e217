/** Rules every format shares: serials, digits, short seeds, duplicates, and the dry run's view of a token. */
import { RECOMMENDED_MIN_SECRET_BYTES } from '../../protocol/commands.ts';
import { MAX_DIGITS, MIN_DIGITS } from '../../protocol/oath/parameters.ts';
import { SeedFileError } from './errors.ts';
import type { DryRunRow, ImportedToken, KeyRefusal, SeedFileFormat, SeedFileImport } from './types.ts';

/** The serials the server's API takes (host/server/http/schemas.ts says the same). */
export const SERIAL_PATTERN = /^[A-Za-z0-9._:-]{1,32}$/;

export const DEFAULT_ISSUER = 'noegleviser';

export function validSerial(serial: string): boolean {
  return SERIAL_PATTERN.test(serial);
}

export function digitsSupported(digits: number): boolean {
  return Number.isInteger(digits) && digits >= MIN_DIGITS && digits <= MAX_DIGITS;
}

/** The server verifies TOTP steps of 1 second to a day. */
export function periodSupported(period: number): boolean {
  return Number.isInteger(period) && period >= 1 && period <= 86_400;
}

export interface ImportRules {
  /** Seeds under 16 bytes (RFC 4226 asks for 128 bits) import only with this, as everywhere else. */
  readonly allowShortSeed?: boolean;
}

/**
 * The checks on a file's importable keys as a whole: two keys with one serial, or a short seed
 * without allowShortSeed, refuse the file (nothing of it is imported).
 */
export function finishImport(
  format: SeedFileFormat,
  tokens: readonly ImportedToken[],
  refused: readonly KeyRefusal[],
  notes: readonly string[],
  rules: ImportRules,
): SeedFileImport {
  const seen = new Map<string, string>();
  for (const token of tokens) {
    const earlier = seen.get(token.serial);
    if (earlier !== undefined) {
      throw new SeedFileError('NV_SEED_FILE_DUPLICATE_SERIAL', `${earlier} and ${token.source} both carry serial ${token.serial}`);
    }
    seen.set(token.serial, token.source);
  }
  if (!rules.allowShortSeed) {
    const short = tokens.filter((t) => t.seed.length < RECOMMENDED_MIN_SECRET_BYTES);
    if (short.length > 0) {
      const list = short.map((t) => `${t.serial} (${t.seed.length} bytes)`).join(', ');
      throw new SeedFileError(
        'NV_SHORT_SEED',
        `seeds under ${RECOMMENDED_MIN_SECRET_BYTES} bytes (RFC 4226 asks for 128 bits): ${list}; import with --allow-short-seed to take them anyway`,
      );
    }
  }
  if (tokens.length === 0 && refused.length === 0) throw new SeedFileError('NV_SEED_FILE_EMPTY', `the ${format} file holds no key`);
  return { format, tokens, refused, notes };
}

/** What the dry run shows of a token: everything but the seed (only its length). */
export function dryRunRow(token: ImportedToken): DryRunRow {
  return {
    serial: token.serial,
    kind: token.kind,
    algorithm: token.algorithm,
    digits: token.digits,
    counter: token.kind === 'hotp' ? token.counter : null,
    period: token.kind === 'totp' ? token.period : null,
    seedBytes: token.seed.length,
    user: token.user,
    validUntil: token.validUntil === null ? null : new Date(token.validUntil).toISOString(),
    source: token.source,
    notes: token.notes,
  };
}

/** Overwrites every seed of an import once it has been stored (or the dry run is over). */
export function wipeSeeds(result: SeedFileImport): void {
  for (const token of result.tokens) token.seed.fill(0);
}

/**
 * An algorithm or type name a file gives, fit to quote in an error: the last part of a URI
 * (`…#tripledes-cbc` → `tripledes-cbc`) when it is a short plain name, else nothing of it. Short
 * enough that no seed (32 characters of base32 for the shortest seed allowed) fits.
 */
export function quotedName(value: string): string {
  const name = value.trim().split(/[#:/]/).pop() ?? '';
  return /^[A-Za-z][A-Za-z0-9.-]{0,23}$/.test(name) ? JSON.stringify(name) : '(not a name this server reads)';
}
