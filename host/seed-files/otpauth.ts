/**
 * `otpauth://` URIs in the Key Uri Format (Google Authenticator's wiki; the format phone apps
 * read): `otpauth://TYPE/ISSUER:ACCOUNT?secret=BASE32&issuer=…&algorithm=SHA1|SHA256|SHA512&digits=6|8&counter=N|period=S`.
 * A file is one URI a line (blank lines and `#` comments skipped). The format has no serial:
 * this server writes one as an extra `serial=` parameter (readers ignore parameters they do not
 * know) and, reading a URI without it, takes the label, its characters outside a serial's made `_`.
 */
import type { OathAlgorithm } from '../../protocol/oath/parameters.ts';
import { decodeBase32, encodeBase32 } from './base32.ts';
import { SeedFileError } from './errors.ts';
import { DEFAULT_ISSUER, digitsSupported, finishImport, periodSupported, quotedName, validSerial, type ImportRules } from './records.ts';
import type { ExportToken, ImportedToken, KeyRefusal, OathKind, SeedFileImport } from './types.ts';

const ALGORITHMS: Readonly<Record<string, OathAlgorithm>> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

export function importOtpauth(text: string, rules: ImportRules): SeedFileImport {
  const tokens: ImportedToken[] = [];
  const refused: KeyRefusal[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const outcome = readUri(line, `line ${index + 1}`);
    if ('code' in outcome) refused.push(outcome);
    else tokens.push(outcome);
  });
  return finishImport('otpauth', tokens, refused, [], rules);
}

/** One otpauth:// URI as a token to import (or a refusal); a URI that cannot be read refuses the file. */
export function readUri(uri: string, source: string): ImportedToken | KeyRefusal {
  const malformed = (why: string) => new SeedFileError('NV_SEED_FILE_MALFORMED', `${source}: ${why}`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw malformed('not an otpauth:// URI');
  }
  if (url.protocol !== 'otpauth:') throw malformed('not an otpauth:// URI');
  const type = url.host.toLowerCase();
  if (type !== 'hotp' && type !== 'totp') throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `${source}: unknown OTP type ${quotedName(type)} (hotp or totp)`);
  const kind: OathKind = type;
  const params = url.searchParams;
  let label: string;
  try {
    label = decodeURIComponent(url.pathname.replace(/^\//, '')).trim();
  } catch {
    throw malformed('the label is not valid percent-encoding');
  }
  const colon = label.indexOf(':');
  const account = (colon >= 0 ? label.slice(colon + 1) : label).trim();
  const notes: string[] = [];

  const secretText = params.get('secret');
  if (!secretText) throw malformed('no secret parameter');
  const seed = decodeBase32(secretText);
  if (!seed || seed.length === 0) throw malformed('the secret is not base32');

  const algorithmText = (params.get('algorithm') ?? 'SHA1').toUpperCase();
  const algorithm = ALGORITHMS[algorithmText];
  if (!algorithm) throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `${source}: unknown algorithm ${quotedName(algorithmText)} (SHA1, SHA256 or SHA512)`);

  const number = (name: string, fallback: number): number => {
    const value = params.get(name);
    if (value === null) return fallback;
    if (!/^\d{1,15}$/.test(value)) throw malformed(`${name} is not a whole number`);
    return Number(value);
  };
  const explicitSerial = params.get('serial');
  const serial = explicitSerial ?? label.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 32);
  if (explicitSerial === null) notes.push('no serial= parameter: the serial is made from the label');
  const refuse = (code: KeyRefusal['code'], message: string): KeyRefusal => {
    seed.fill(0);
    return { source, serial: serial || null, code, message };
  };
  const digits = number('digits', 6);
  if (!digitsSupported(digits)) return refuse('NV_KEY_UNSUPPORTED', `${digits}-digit codes; the server verifies 6 to 8 digits`);
  if (digits === 7) notes.push('7 digits is outside the Key Uri Format (6 or 8); apps may not show these codes');
  let counter = 0;
  let period = 0;
  if (kind === 'hotp') {
    if (params.get('counter') === null) notes.push('no counter: 0 assumed');
    counter = number('counter', 0);
  } else {
    period = number('period', 30);
    if (!periodSupported(period)) return refuse('NV_KEY_UNSUPPORTED', `a time step of ${period} s; the server takes 1 to 86400`);
  }
  if (!validSerial(serial)) return refuse('NV_KEY_BAD_SERIAL', 'its serial is not 1 to 32 of A-Z a-z 0-9 . _ : -');
  const issuer = params.get('issuer');
  if (issuer !== null && colon >= 0 && label.slice(0, colon).trim() !== issuer) notes.push('the label\'s issuer and the issuer parameter differ');
  const user = account !== '' && account !== serial ? account : null;
  return { serial, kind, algorithm, digits, counter, period, seed, user, validUntil: null, source, notes };
}

export interface OtpauthExportOptions {
  /**
   * A 7-digit token, which the Key Uri Format does not allow (6 or 8): refused (the default, the
   * whole export with NV_EXPORT_UNSUPPORTED) or written with a `#` comment line flagging it.
   */
  readonly sevenDigits?: 'refuse' | 'flag';
}

/** One token's URI. */
export function otpauthUri(token: ExportToken): string {
  const issuer = token.issuer ?? DEFAULT_ISSUER;
  const account = token.user ?? token.serial;
  const params = new URLSearchParams({ secret: encodeBase32(token.seed), issuer, algorithm: token.algorithm.toUpperCase(), digits: String(token.digits) });
  if (token.kind === 'hotp') params.set('counter', String(token.counter));
  else params.set('period', String(token.period));
  params.set('serial', token.serial);
  return `otpauth://${token.kind}/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?${params.toString().replace(/\+/g, '%20')}`;
}

export function exportOtpauth(tokens: readonly ExportToken[], options: OtpauthExportOptions = {}): string {
  const seven = tokens.filter((t) => t.digits === 7);
  if (seven.length > 0 && options.sevenDigits !== 'flag') {
    throw new SeedFileError(
      'NV_EXPORT_UNSUPPORTED',
      `the Key Uri Format allows 6 or 8 digits; ${seven.map((t) => t.serial).join(', ')} ${seven.length === 1 ? 'has' : 'have'} 7 (export another format, or flag them)`,
    );
  }
  const lines: string[] = [];
  for (const token of tokens) {
    if (token.digits === 7) lines.push(`# ${token.serial}: 7 digits, outside the Key Uri Format (6 or 8); apps may not show these codes`);
    lines.push(otpauthUri(token));
  }
  return lines.join('\n') + '\n';
}
