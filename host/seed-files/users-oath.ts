/**
 * pam_oath's users.oath (oath-toolkit's usersfile): one token a line,
 *
 *     TYPE USER PASSWORD HEXSEED [MOVING-FACTOR [LAST-OTP [LAST-TIME]]]
 *
 * TYPE `HOTP`, `HOTP/E/8` (event, 6–8 digits), `HOTP/T30/6`, `HOTP/T60/8` (time, 30 or 60 s);
 * PASSWORD `-` for none. What pam_oath 2.6.7 (Debian 12's libpam-oath) does with it, as tried
 * with pamtester: a HOTP line with moving factor M accepts codes from counter M on; after a
 * login it writes the counter it accepted as M and that code as LAST-OTP, refusing it again. It
 * verifies SHA-1 only, T30 and T60 only, and `HOTP/8` (without /E) not at all. There is no
 * serial: a token imported from here is named after its user.
 */
import { bytesToHex, hexToBytes } from '../../protocol/bytes.ts';
import { SeedFileError } from './errors.ts';
import { digitsSupported, finishImport, periodSupported, quotedName, type ImportRules } from './records.ts';
import type { ExportToken, ImportedToken, KeyRefusal, SeedFileImport } from './types.ts';

const TYPE = /^HOTP(?:\/E)?(?:\/T(\d{1,5}))?(?:\/(\d{1,2}))?$/;

export function importUsersOath(text: string, rules: ImportRules): SeedFileImport {
  const tokens: ImportedToken[] = [];
  const refused: KeyRefusal[] = [];
  const perUser = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const source = `line ${index + 1}`;
    const malformed = (why: string) => new SeedFileError('NV_SEED_FILE_MALFORMED', `${source}: ${why}`);
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) throw malformed('a line needs TYPE USER PASSWORD HEXSEED');
    const [type = '', user = '', password = '', seedHex = '', moving, lastOtp] = fields;
    const match = TYPE.exec(type.toUpperCase());
    if (!match) throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `${source}: unknown token type ${quotedName(type)} (HOTP, HOTP/E/8, HOTP/T30/6…)`);
    const seed = hexToBytes(seedHex);
    if (!seed || seed.length === 0) throw malformed('the seed is not hexadecimal');
    if (moving !== undefined && !/^\d{1,15}$/.test(moving)) throw malformed('the moving factor is not a whole number');
    const nth = (perUser.get(user) ?? 0) + 1;
    perUser.set(user, nth);
    const serial = (nth === 1 ? user : `${user}-${nth}`).replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 32);
    const kind = match[1] === undefined ? 'hotp' : 'totp';
    const digits = match[2] === undefined ? 6 : Number(match[2]);
    const period = kind === 'totp' ? Number(match[1]) : 0;
    const refuse = (message: string): void => {
      seed.fill(0);
      refused.push({ source, serial, code: 'NV_KEY_UNSUPPORTED', message });
    };
    if (!digitsSupported(digits)) return refuse(`${digits}-digit codes; the server verifies 6 to 8 digits`);
    if (kind === 'totp' && !periodSupported(period)) return refuse(`a time step of ${period} s; the server takes 1 to 86400`);
    const notes = ['users.oath has no serial: the token is named after its user'];
    if (password !== '-') notes.push('its password field is not used: the login\'s password stands in its place');
    let counter = 0;
    if (kind === 'hotp') {
      // pam_oath writes the counter it last accepted beside that code; without a code, M is the next to accept.
      counter = Number(moving ?? '0') + (lastOtp !== undefined && lastOtp !== '' ? 1 : 0);
    } else if (lastOtp !== undefined) {
      notes.push('the last code pam_oath accepted is not carried over: a code used there in the current time step would verify here once');
    }
    tokens.push({ serial, kind, algorithm: 'sha1', digits, counter, period, seed, user, validUntil: null, source, notes });
  });
  return finishImport('users.oath', tokens, refused, [], rules);
}

/** pam_oath's type for a token, or why it has none. */
export function usersOathType(token: ExportToken): string | { readonly refused: string } {
  if (token.algorithm !== 'sha1') return { refused: `${token.algorithm.toUpperCase()}; pam_oath verifies SHA-1 only` };
  if (token.kind === 'hotp') return token.digits === 6 ? 'HOTP' : `HOTP/E/${token.digits}`;
  if (token.period !== 30 && token.period !== 60) return { refused: `a ${token.period}-second step; pam_oath takes 30 or 60` };
  return `HOTP/T${token.period}/${token.digits}`;
}

/**
 * A users.oath for pam_oath. A HOTP token's moving factor is the server's counter, the next it
 * would accept, which is where pam_oath starts. The user column is the token's owner, else its
 * serial. A token pam_oath cannot verify (SHA-256/512, a step other than 30 or 60 s) refuses the
 * whole export with NV_EXPORT_UNSUPPORTED.
 */
export function exportUsersOath(tokens: readonly ExportToken[]): string {
  const refusals = tokens.map((t) => ({ t, type: usersOathType(t) })).filter((x): x is { t: ExportToken; type: { refused: string } } => typeof x.type !== 'string');
  if (refusals.length > 0) {
    throw new SeedFileError('NV_EXPORT_UNSUPPORTED', `pam_oath cannot verify ${refusals.map(({ t, type }) => `${t.serial} (${type.refused})`).join(', ')}`);
  }
  const lines = ['# users.oath for pam_oath: TYPE USER PASSWORD SEED [COUNTER]; it holds seeds, keep it mode 0600'];
  for (const token of tokens) {
    const fields = [usersOathType(token) as string, (token.user ?? token.serial).replace(/\s/g, '_'), '-', bytesToHex(token.seed)];
    if (token.kind === 'hotp') fields.push(String(token.counter));
    lines.push(fields.join('\t'));
  }
  return lines.join('\n') + '\n';
}
