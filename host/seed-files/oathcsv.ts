/**
 * privacyIDEA's "OATH CSV" seed file, as privacyIDEA 3.x documents it (Import → OATH CSV, and
 * "Import format version 2"; checked against 3.14's importotp.parseOATHcsv):
 *
 *     <serial>, <seed hex>, HOTP, <otp length>, <counter>
 *     <serial>, <seed hex>, TOTP, <otp length>, <time step>
 *
 * type defaulting to HOTP, length to 6, the time step to 30. A file whose first line is
 * `# version: 2` puts `<user>, <resolver>, <realm>` before those columns. There is no hash
 * column: privacyIDEA takes SHA-256 for a 32-byte seed, SHA-512 for 64 bytes (SHA-224 and
 * SHA-384 for 28 and 48) and SHA-1 otherwise; this reader does the same, and the writer refuses
 * a token whose hash that rule would misread.
 */
import { bytesToHex, hexToBytes } from '../../protocol/bytes.ts';
import type { OathAlgorithm } from '../../protocol/oath/parameters.ts';
import { SeedFileError } from './errors.ts';
import { digitsSupported, finishImport, periodSupported, quotedName, validSerial, type ImportRules } from './records.ts';
import type { ExportToken, ImportedToken, KeyRefusal, SeedFileImport } from './types.ts';

/** The hash privacyIDEA infers from a seed's length in bytes. */
export function oathcsvHash(seedBytes: number): OathAlgorithm | 'sha224' | 'sha384' {
  switch (seedBytes) {
    case 32:
      return 'sha256';
    case 64:
      return 'sha512';
    case 28:
      return 'sha224';
    case 48:
      return 'sha384';
    default:
      return 'sha1';
  }
}

export function importOathcsv(text: string, rules: ImportRules): SeedFileImport {
  const lines = text.split(/\r?\n/);
  const version = /^#\s*version:\s*(\d+)/.exec(lines[0] ?? '')?.[1] ?? '1';
  if (version !== '1' && version !== '2') throw new SeedFileError('NV_SEED_FILE_FORMAT', `oathcsv version ${version.slice(0, 5)}; this server reads versions 1 and 2`);
  const tokens: ImportedToken[] = [];
  const refused: KeyRefusal[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const source = `line ${index + 1}`;
    const malformed = (why: string) => new SeedFileError('NV_SEED_FILE_MALFORMED', `${source}: ${why}`);
    const columns = line.split(',').map((c) => c.trim());
    const user = version === '2' ? columns.splice(0, 3)[0] || null : null;
    if (version === '2' && columns.length === 0) throw malformed('a version 2 line needs user, resolver and realm before the serial');
    const [serial = '', seedHex = '', typeText = 'hotp', lengthText, fifth] = columns;
    if (columns.length < 2 || seedHex === '') throw malformed('a line needs at least a serial and a seed');
    const refuse = (code: KeyRefusal['code'], message: string): KeyRefusal => ({ source, serial: serial || null, code, message });
    const type = (typeText || 'hotp').toLowerCase();
    if (type === 'ocra' || type === 'tan') {
      refused.push(refuse('NV_KEY_UNSUPPORTED', `a ${type.toUpperCase()} token; the server verifies HOTP and TOTP`));
      return;
    }
    if (type !== 'hotp' && type !== 'totp') throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `${source}: unknown token type ${quotedName(type)} (HOTP or TOTP)`);
    const seed = hexToBytes(seedHex);
    if (!seed || seed.length === 0) throw malformed('the seed is not hexadecimal');
    const number = (value: string | undefined, what: string, fallback: number): number => {
      if (value === undefined || value === '') return fallback;
      if (!/^\d{1,15}$/.test(value)) throw malformed(`the ${what} is not a whole number`);
      return Number(value);
    };
    const digits = number(lengthText, 'OTP length', 6);
    const hash = oathcsvHash(seed.length);
    const counter = type === 'hotp' ? number(fifth, 'counter', 0) : 0;
    const period = type === 'totp' ? number(fifth, 'time step', 30) : 0;
    const refusal =
      hash === 'sha224' || hash === 'sha384'
        ? refuse('NV_KEY_UNSUPPORTED', `a ${seed.length}-byte seed, which privacyIDEA reads as ${hash.toUpperCase()}; the server verifies SHA-1, SHA-256 and SHA-512`)
        : !digitsSupported(digits)
          ? refuse('NV_KEY_UNSUPPORTED', `${digits}-digit codes; the server verifies 6 to 8 digits`)
          : type === 'totp' && !periodSupported(period)
            ? refuse('NV_KEY_UNSUPPORTED', `a time step of ${period} s; the server takes 1 to 86400`)
            : !validSerial(serial)
              ? refuse('NV_KEY_BAD_SERIAL', serial ? 'its serial is not 1 to 32 of A-Z a-z 0-9 . _ : -' : 'no serial')
              : undefined;
    if (refusal || hash === 'sha224' || hash === 'sha384') {
      seed.fill(0);
      if (refusal) refused.push(refusal);
      return;
    }
    const notes = [`${hash.toUpperCase()}, as privacyIDEA infers it from the seed's length`];
    tokens.push({ serial, kind: type, algorithm: hash, digits, counter, period, seed, user, validUntil: null, source, notes });
  });
  return finishImport('oathcsv', tokens, refused, [`oathcsv version ${version}`], rules);
}

export interface OathcsvExportOptions {
  /** Write version 2, with each token's user (owner) in the first column (resolver and realm left empty). */
  readonly withUsers?: boolean;
}

export function exportOathcsv(tokens: readonly ExportToken[], options: OathcsvExportOptions = {}): string {
  const misread = tokens.filter((t) => oathcsvHash(t.seed.length) !== t.algorithm);
  if (misread.length > 0) {
    const list = misread.map((t) => `${t.serial} (${t.algorithm.toUpperCase()}, ${t.seed.length}-byte seed, read as ${oathcsvHash(t.seed.length).toUpperCase()})`).join(', ');
    throw new SeedFileError('NV_EXPORT_UNSUPPORTED', `oathcsv has no hash column and privacyIDEA infers the hash from the seed's length: ${list}; export PSKC or otpauth instead`);
  }
  const lines = options.withUsers ? ['# version: 2'] : [];
  for (const t of tokens) {
    const columns = [t.serial, bytesToHex(t.seed), t.kind.toUpperCase(), String(t.digits), String(t.kind === 'hotp' ? t.counter : t.period)];
    if (options.withUsers) columns.unshift(t.user ?? '', '', '');
    lines.push(columns.join(', '));
  }
  return lines.join('\n') + '\n';
}
