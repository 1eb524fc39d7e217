/**
 * Every format round trip: export → import gives the same tokens, whose codes are oathtool's for
 * the original seeds; what each format refuses to carry; and no seed in any error or note.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createOathKey, hotpCode, totpCode } from '../../protocol/oath/index.ts';
import { debianTool } from '../../test/support/debian-tools.ts';
import { encodeBase32 } from './base32.ts';
import { SeedFileError, dryRunRow, exportSeedFile, importSeedFile, type ExportOptions, type ExportToken, type SeedFileImport } from './index.ts';
import { exportOathcsv } from './oathcsv.ts';
import { exportOtpauth, readUri } from './otpauth.ts';
import { exportUsersOath } from './users-oath.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const seed = (n: number) => new Uint8Array(crypto.randomBytes(n));

function token(fields: Partial<ExportToken> & Pick<ExportToken, 'serial' | 'kind'>): ExportToken {
  return { algorithm: 'sha1', digits: 6, counter: 0, period: fields.kind === 'totp' ? 30 : 0, seed: seed(20), user: null, validUntil: null, ...fields };
}

/** Tokens every format carries: SHA-1 with 20-byte seeds, SHA-256 with 32, SHA-512 with 64 (oathcsv tells the hash by the seed's length). */
const COMMON = [
  token({ serial: 'NV-0001', kind: 'hotp', counter: 5 }),
  token({ serial: 'NV-0002', kind: 'hotp', digits: 8, counter: 0, user: 'jens' }),
  token({ serial: 'NV-0003', kind: 'totp', period: 30 }),
  token({ serial: 'NV-0004', kind: 'totp', digits: 8, period: 60, user: 'karen' }),
];
const SHA2 = [token({ serial: 'NV-0005', kind: 'totp', algorithm: 'sha256', digits: 8, period: 60, seed: seed(32) }), token({ serial: 'NV-0006', kind: 'hotp', algorithm: 'sha512', counter: 42, seed: seed(64) })];

const CASES: ReadonlyArray<{ name: string; options: ExportOptions; tokens: readonly ExportToken[]; open?: { password?: Uint8Array; key?: Uint8Array } }> = [
  { name: 'PSKC under a password (PBKDF2, AES-128-CBC, HMAC-SHA1)', options: { format: 'pskc', protection: { kind: 'password', password: bytes('correct horse'), iterations: 2000 } }, tokens: [...COMMON, ...SHA2], open: { password: bytes('correct horse') } },
  { name: 'PSKC under a password, AES-256 and SHA-256 throughout', options: { format: 'pskc', protection: { kind: 'password', password: bytes('correct horse'), iterations: 2000, strong: true } }, tokens: [...COMMON, ...SHA2], open: { password: bytes('correct horse') } },
  { name: 'PSKC under a 256-bit pre-shared key', options: { format: 'pskc', protection: { kind: 'key', key: new Uint8Array(32).fill(9) } }, tokens: [...COMMON, ...SHA2], open: { key: new Uint8Array(32).fill(9) } },
  { name: 'plain PSKC', options: { format: 'pskc', protection: { kind: 'plain' } }, tokens: [...COMMON, ...SHA2] },
  { name: 'otpauth URIs', options: { format: 'otpauth' }, tokens: [...COMMON, ...SHA2] },
  { name: 'oathcsv (version 1)', options: { format: 'oathcsv' }, tokens: [...COMMON, ...SHA2] },
  { name: 'oathcsv (version 2, with users)', options: { format: 'oathcsv', withUsers: true }, tokens: [...COMMON, ...SHA2] },
  { name: 'users.oath', options: { format: 'users.oath' }, tokens: COMMON },
];

const essentials = (t: ExportToken) => ({ serial: t.serial, kind: t.kind, algorithm: t.algorithm, digits: t.digits, counter: t.counter, period: t.period, seed: Buffer.from(t.seed).toString('hex') });

describe('round trips: export → import gives the same tokens', () => {
  it.each(CASES)('$name', ({ options, tokens, open }) => {
    const file = exportSeedFile(tokens, options);
    const result = importSeedFile(bytes(file), { format: options.format, now: Date.now(), ...open });
    expect(result.refused).toEqual([]);
    // users.oath has no serial: its tokens come back named after their user (the owner, else the serial).
    const expected = options.format === 'users.oath' ? tokens.map((t) => ({ ...essentials(t), serial: t.user ?? t.serial })) : tokens.map(essentials);
    expect(result.tokens.map(essentials)).toEqual(expected);
    if (options.format !== 'users.oath' && !(options.format === 'oathcsv' && !options.withUsers)) {
      expect(result.tokens.map((t) => t.user)).toEqual(tokens.map((t) => t.user));
    }
  });

  it('an encrypted PSKC export holds no seed in the clear, and each export uses a fresh salt, IVs and MAC key', () => {
    const options: ExportOptions = { format: 'pskc', protection: { kind: 'password', password: bytes('pw'), iterations: 1000 } };
    const a = exportSeedFile(COMMON, options);
    const b = exportSeedFile(COMMON, options);
    for (const t of COMMON) {
      for (const encoded of [Buffer.from(t.seed).toString('hex'), Buffer.from(t.seed).toString('base64'), encodeBase32(t.seed)]) expect(a).not.toContain(encoded);
    }
    const cipherValues = (text: string) => [...text.matchAll(/<xenc:CipherValue>([^<]+)</g)].map((m) => m[1]);
    expect(cipherValues(a).filter((v) => cipherValues(b).includes(v))).toEqual([]);
  });

  it('a PSKC export under a key of a size AES has not is refused (NV_EXPORT_PROTECTION)', () => {
    expect(() => exportSeedFile(COMMON, { format: 'pskc', protection: { kind: 'key', key: new Uint8Array(20) } })).toThrow(expect.objectContaining({ code: 'NV_EXPORT_PROTECTION' }));
  });
});

const HAVE_OATHTOOL = debianTool('oathtool', 'oathtool', "checking imported seeds' codes against oath-toolkit");

describe.skipIf(!HAVE_OATHTOOL)('imported seeds make the codes oathtool makes for the original ones', () => {
  const at = 1_800_000_000_000;
  function oathtool(t: ExportToken): string[] {
    const args =
      t.kind === 'hotp'
        ? ['--hotp', `--counter=${t.counter}`, '--window=4']
        : [`--totp=${t.algorithm.toUpperCase()}`, `--time-step-size=${t.period}s`, `--now=@${at / 1000}`];
    if (t.kind === 'hotp' && t.algorithm !== 'sha1') return [];
    return execFileSync('oathtool', [...args, `--digits=${t.digits}`, Buffer.from(t.seed).toString('hex')], { encoding: 'utf8' }).trim().split('\n');
  }
  it.each(CASES)('$name', ({ options, tokens, open }) => {
    const result = importSeedFile(bytes(exportSeedFile(tokens, options)), { format: options.format, ...open });
    for (const [i, original] of tokens.entries()) {
      const expected = oathtool(original);
      if (expected.length === 0) continue; // oathtool makes HOTP codes with SHA-1 only
      const imported = result.tokens[i]!;
      const key = createOathKey(imported.seed, imported.algorithm);
      const ours = imported.kind === 'hotp' ? expected.map((_, k) => hotpCode(key, imported.counter + k, imported.digits)) : [totpCode(key, at, imported.period, imported.digits)];
      expect(ours).toEqual(expected);
    }
  });
});

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SeedFileError) return error.code;
    throw error;
  }
  return 'none';
}

describe('otpauth URIs (Key Uri Format)', () => {
  it("reads the format's own example: issuer and account from the label, the serial made from it", () => {
    const token = readUri('otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example', 'line 1');
    expect(token).toMatchObject({ kind: 'totp', algorithm: 'sha1', digits: 6, period: 30, user: 'alice@google.com', serial: 'Example:alice_google.com' });
    expect('seed' in token && Buffer.from(token.seed).toString('hex')).toBe('48656c6c6f21deadbeef'); // "Hello!" and DE AD BE EF
  });

  it('a 7-digit token is refused by default and flagged on request; a URI with 7 digits imports with a note', () => {
    const seven = [token({ serial: 'NV-7', kind: 'hotp', digits: 7 })];
    expect(codeOf(() => exportOtpauth(seven))).toBe('NV_EXPORT_UNSUPPORTED');
    const flagged = exportOtpauth(seven, { sevenDigits: 'flag' });
    expect(flagged.split('\n')[0]).toMatch(/^# NV-7: 7 digits, outside the Key Uri Format/);
    const back = importSeedFile(bytes(flagged), { format: 'otpauth' });
    expect(back.tokens.map((t) => [t.serial, t.digits])).toEqual([['NV-7', 7]]);
    expect(back.tokens[0]!.notes.join(' ')).toMatch(/7 digits is outside the Key Uri Format/);
  });

  it('an unknown type or algorithm refuses the file; a missing or broken secret too', () => {
    expect(codeOf(() => importSeedFile(bytes('otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP\notpauth://steam/b?secret=JBSWY3DPEHPK3PXP\n')))).toBe('NV_SEED_FILE_UNKNOWN_ALGORITHM');
    expect(codeOf(() => importSeedFile(bytes('otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5\n')))).toBe('NV_SEED_FILE_UNKNOWN_ALGORITHM');
    expect(codeOf(() => importSeedFile(bytes('otpauth://totp/a?issuer=x\n')))).toBe('NV_SEED_FILE_MALFORMED');
    expect(codeOf(() => importSeedFile(bytes('otpauth://totp/a?secret=JBSWY3DPEHPK3PX1\n')))).toBe('NV_SEED_FILE_MALFORMED');
    expect(codeOf(() => importSeedFile(bytes('otpauth://totp/a?secret=JBSWY3DPEHPK3PXP\nhttps://example.com/\n'), { format: 'otpauth' }))).toBe('NV_SEED_FILE_MALFORMED');
  });
});

describe("privacyIDEA's oathcsv", () => {
  it('reads the documented layouts: type defaulting to HOTP, the fifth column a counter or a time step, the hash from the seed length', () => {
    const hex20 = '3132333435363738393031323334353637383930';
    const hex32 = '3132333435363738393031323334353637383930313233343536373839303132';
    const file = [`hotp1, ${hex20}`, `hotp2, ${hex20}, HOTP, 8, 12`, `totp1, ${hex32}, TOTP, 6, 60`, `ocra1, ${hex20}, OCRA, OCRA-1:HOTP-SHA1-6:QN08`].join('\n');
    const result = importSeedFile(bytes(file), { format: 'oathcsv' });
    expect(result.tokens.map((t) => [t.serial, t.kind, t.algorithm, t.digits, t.counter, t.period])).toEqual([
      ['hotp1', 'hotp', 'sha1', 6, 0, 0],
      ['hotp2', 'hotp', 'sha1', 8, 12, 0],
      ['totp1', 'totp', 'sha256', 6, 0, 60],
    ]);
    expect(result.refused.map((r) => [r.serial, r.code])).toEqual([['ocra1', 'NV_KEY_UNSUPPORTED']]);
  });

  it('version 2 puts user, resolver and realm first; the user comes through', () => {
    const result = importSeedFile(bytes('# version: 2\nkaren, resolver1, realm1, T1, 3132333435363738393031323334353637383930, TOTP, 6, 30\n'), { format: 'oathcsv' });
    expect(result.tokens.map((t) => [t.serial, t.user, t.kind])).toEqual([['T1', 'karen', 'totp']]);
  });

  it('a token whose hash privacyIDEA would misread from its seed length is not exported (NV_EXPORT_UNSUPPORTED)', () => {
    expect(codeOf(() => exportOathcsv([token({ serial: 'X', kind: 'totp', algorithm: 'sha256', seed: seed(20) })]))).toBe('NV_EXPORT_UNSUPPORTED');
    expect(codeOf(() => exportOathcsv([token({ serial: 'Y', kind: 'hotp', algorithm: 'sha1', seed: seed(32) })]))).toBe('NV_EXPORT_UNSUPPORTED');
  });
});

describe("pam_oath's users.oath", () => {
  it('a HOTP line pam_oath has written (its last counter and code) resumes after that counter; a fresh one at its moving factor', () => {
    const hex = '3132333435363738393031323334353637383930';
    const file = `HOTP\talice\t-\t${hex}\t5\t254676\t2026-12-02T14:57:20L\nHOTP/E/8 bob - ${hex} 7\nHOTP/T60/8 carl - ${hex}\n`;
    const result = importSeedFile(bytes(file), { format: 'users.oath' });
    expect(result.tokens.map((t) => [t.serial, t.user, t.kind, t.digits, t.counter, t.period])).toEqual([
      ['alice', 'alice', 'hotp', 6, 6, 0],
      ['bob', 'bob', 'hotp', 8, 7, 0],
      ['carl', 'carl', 'totp', 8, 0, 60],
    ]);
  });

  it('SHA-256 or a step other than 30 or 60 s is not exported: pam_oath cannot verify it (NV_EXPORT_UNSUPPORTED)', () => {
    expect(codeOf(() => exportUsersOath([token({ serial: 'S', kind: 'totp', algorithm: 'sha256', seed: seed(32) })]))).toBe('NV_EXPORT_UNSUPPORTED');
    expect(codeOf(() => exportUsersOath([token({ serial: 'P', kind: 'totp', period: 45 })]))).toBe('NV_EXPORT_UNSUPPORTED');
  });

  it('writes HOTP, HOTP/E/8 and HOTP/T30/6 lines with the counter pam_oath starts from', () => {
    const file = exportUsersOath([token({ serial: 'A', kind: 'hotp', counter: 9, user: 'anna' }), token({ serial: 'B', kind: 'hotp', digits: 8 }), token({ serial: 'C', kind: 'totp' })]);
    const lines = file.trim().split('\n').filter((l) => !l.startsWith('#')).map((l) => l.split('\t'));
    expect(lines.map((f) => [f[0], f[1], f[2], f[4]])).toEqual([
      ['HOTP', 'anna', '-', '9'],
      ['HOTP/E/8', 'B', '-', '0'],
      ['HOTP/T30/6', 'C', '-', undefined],
    ]);
  });
});

describe('format detection', () => {
  it.each([
    ['vendor.pskc', '', 'pskc'],
    ['x.txt', '<?xml version="1.0"?>\n<KeyContainer/>', 'pskc'],
    ['x.txt', '# exported\notpauth://totp/a?secret=JBSWY3DPEHPK3PXP\n', 'otpauth'],
    ['users', 'HOTP/T30 bob - 3132 \n', 'users.oath'],
    ['tokens', 'serial1, 3132333435363738393031323334353637383930, TOTP, 6, 30\n', 'oathcsv'],
  ])('%s with %j is %s', async (fileName, text, format) => {
    const { detectFormat } = await import('./index.ts');
    expect(detectFormat(text, fileName)).toBe(format);
  });

  it('a file it cannot tell is NV_SEED_FILE_FORMAT', () => {
    expect(codeOf(() => importSeedFile(bytes('just some words\n'), { fileName: 'notes' }))).toBe('NV_SEED_FILE_FORMAT');
  });
});

describe('seeds never appear in an error, a refusal, a note or a dry-run row', () => {
  it('for every format and failure', () => {
    const secret = seed(20);
    const hex = Buffer.from(secret).toString('hex');
    const b64 = secret.length ? Buffer.from(secret).toString('base64') : '';
    const b32 = encodeBase32(secret);
    const texts: string[] = [];
    const collect = (run: () => SeedFileImport | string) => {
      try {
        const result = run();
        if (typeof result !== 'string') {
          texts.push(...result.notes, ...result.refused.map((r) => r.message), ...result.tokens.map((t) => JSON.stringify(dryRunRow(t))));
        }
      } catch (error) {
        texts.push((error as Error).message);
      }
    };
    const files: Array<[string, string]> = [
      ['otpauth', `otpauth://totp/a?secret=${b32}&algorithm=SHA3`],
      ['otpauth', `otpauth://totp/a?secret=${b32}&digits=9`],
      ['otpauth', `otpauth://totp/a?secret=${b32}x1`],
      ['otpauth', `otpauth://totp/${b32}?secret=${b32}&period=0`],
      ['oathcsv', `s1, ${hex}, TOTP, x`],
      ['oathcsv', `s1, ${hex}, FOO, 6`],
      ['oathcsv', `s1, ${hex}zz, TOTP, 6`],
      ['oathcsv', `s1, ${hex}, TOTP, 9`],
      ['users.oath', `HOTP/X alice - ${hex}`],
      ['users.oath', `HOTP alice - ${hex}q 0`],
      ['users.oath', `HOTP/T30/9 alice - ${hex}`],
      ['users.oath', `HOTP alice ${hex} ${hex} 0 123456`],
      ['pskc', `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><Key Id="a" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue>${b64}!</PlainValue></Secret></Data></Key></KeyPackage></KeyContainer>`],
      ['pskc', `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><Key Id="${hex}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue>${b64}</PlainValue></Secret></Data></Key></KeyPackage></KeyContainer>`],
      ['pskc', `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><Key Id="a" Algorithm="urn:${b64}"><Data/></Key></KeyPackage></KeyContainer>`],
      ['pskc', `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><${b32}><PlainValue>${b64}</PlainValue></Secret></KeyContainer>`],
    ];
    for (const [format, text] of files) collect(() => importSeedFile(bytes(text), { format: format as 'pskc' }));
    collect(() => exportSeedFile([token({ serial: 'Z', kind: 'hotp', digits: 7, seed: secret })], { format: 'otpauth' }));
    collect(() => exportSeedFile([token({ serial: 'Z', kind: 'hotp', algorithm: 'sha256', seed: secret })], { format: 'users.oath' }));
    collect(() => exportSeedFile([token({ serial: 'Z', kind: 'hotp', algorithm: 'sha256', seed: secret })], { format: 'oathcsv' }));
    expect(texts.length).toBeGreaterThanOrEqual(files.length + 3);
    for (const text of texts) {
      expect(text).not.toContain(hex);
      expect(text).not.toContain(b32);
      expect(text).not.toContain(b64.slice(0, 20));
    }
  });
});
