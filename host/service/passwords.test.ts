/**
 * Passwords: hashes checked against node:crypto's scryptSync and the RFC 7914 test vector (not
 * against the module's own output), the dummy scrypt for unknown users counted (not timed), and
 * the rules for new passwords, user-ids and temporary passwords.
 */
import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { CodedError } from '../../protocol/coded-error.ts';
import { checkNewPassword, checkUserId, hashPassword, TEMPORARY_ALPHABET, temporaryPassword, verifyPassword } from './passwords.ts';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, scrypt: vi.fn(actual.scrypt) };
});
const scryptCalls = () => vi.mocked(crypto.scrypt).mock.calls.length;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function refusal(run: () => unknown): CodedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).status).toBe(400);
    return error as CodedError;
  }
  throw new Error('expected a refusal');
}

describe('hashPassword and verifyPassword', () => {
  it('stores scrypt N=2^14, r=8, p=1 with a 16-byte salt and a 32-byte key, as scryptSync computes it', async () => {
    const stored = await hashPassword('correct horse 42');
    const match = /^scrypt\$14\$8\$1\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
    expect(match).not.toBeNull();
    const salt = Buffer.from(match?.[1] ?? '', 'base64url');
    const hash = Buffer.from(match?.[2] ?? '', 'base64url');
    expect(salt.length).toBe(16);
    expect(hash.length).toBe(32);
    expect(hash.equals(crypto.scryptSync('correct horse 42', salt, 32, { N: 16384, r: 8, p: 1 }))).toBe(true);
  });

  it('salts every hash afresh', async () => {
    const [a, b] = await Promise.all([hashPassword('same password 1'), hashPassword('same password 1')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('accepts the right password only', async () => {
    const stored = await hashPassword('Tivoli2025');
    expect(await verifyPassword('Tivoli2025', stored)).toBe(true);
    expect(await verifyPassword('tivoli2025', stored)).toBe(false);
    expect(await verifyPassword('Tivoli2025 ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('verifies the RFC 7914 test vector (its first 32 bytes), so it reads the stored parameters and salt', async () => {
    const expected = Buffer.from('7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2', 'hex');
    const stored = `scrypt$14$8$1$${b64(Buffer.from('SodiumChloride'))}$${b64(expected)}`;
    expect(await verifyPassword('pleaseletmein', stored)).toBe(true);
    expect(await verifyPassword('pleaseletmeout', stored)).toBe(false);
  });

  it('honours other stored parameters', async () => {
    const salt = crypto.randomBytes(16);
    const hash = crypto.scryptSync('older hash 7', salt, 32, { N: 1024, r: 4, p: 2 });
    expect(await verifyPassword('older hash 7', `scrypt$10$4$2$${b64(salt)}$${b64(hash)}`)).toBe(true);
  });

  it('treats composed and decomposed letters alike (NFC)', async () => {
    const stored = await hashPassword('bl\u00e5b\u00e6r99');
    expect(await verifyPassword('bla\u030ab\u00e6r99', stored)).toBe(true);
  });

  it('spends exactly one scrypt on a missing or malformed stored hash, and says no', async () => {
    const salt = b64(crypto.randomBytes(16));
    const hash = b64(crypto.randomBytes(32));
    const malformed = [
      null,
      '',
      'Tivoli2025',
      `scrypt$14$8$1$${salt}`,
      `bcrypt$14$8$1$${salt}$${hash}`,
      `scrypt$14$8$1$${salt}$${b64(crypto.randomBytes(31))}`,
      `scrypt$14$8$1$${b64(crypto.randomBytes(4))}$${hash}`,
      `scrypt$31$8$1$${salt}$${hash}`, // would ask for terabytes
      `scrypt$14$8$1$${salt}$${hash}$extra`,
      `scrypt$14$8$1$${salt}$${hash}!`,
    ];
    for (const stored of malformed) {
      const before = scryptCalls();
      expect(await verifyPassword('Tivoli2025', stored)).toBe(false);
      expect(scryptCalls() - before).toBe(1);
    }
    const real = await hashPassword('Tivoli2025');
    const before = scryptCalls();
    expect(await verifyPassword('wrong one 1', real)).toBe(false);
    expect(scryptCalls() - before).toBe(1);
  });
});

describe('checkNewPassword', () => {
  it('accepts 8–64 characters with a letter and a digit', () => {
    expect(() => checkNewPassword('abcdefg1', {})).not.toThrow();
    expect(() => checkNewPassword(`${'a'.repeat(63)}1`, {})).not.toThrow();
    expect(() => checkNewPassword('Ærø 2025 æøå', { userId: 'jensen' })).not.toThrow();
    expect(() => checkNewPassword('1234567ø', { userId: null })).not.toThrow();
  });

  it('names the rule broken, never the password', () => {
    const cases: Array<[string, string | null, RegExp]> = [
      ['abcdef1', null, /at least 8/],
      [`${'a'.repeat(64)}1`, null, /at most 64/],
      ['abcdefgh', null, /digit/],
      ['12345678', null, /letter/],
      ['abc\ndef12', null, /control/],
      ['jensen2025', 'Jensen2025', /user-id/],
      ['JENSEN2025', 'jensen2025', /user-id/],
    ];
    const messages = new Set<string>();
    for (const [password, userId, rule] of cases) {
      const error = refusal(() => checkNewPassword(password, { userId }));
      expect(error.code).toBe('NV_WEAK_PASSWORD');
      expect(error.message).toMatch(rule);
      expect(error.message.toLowerCase()).not.toContain(password.toLowerCase());
      messages.add(error.message);
    }
    expect(messages.size).toBe(6);
  });

  it('counts characters, not UTF-16 units', () => {
    // 7 emoji and a digit are 8 characters (15 UTF-16 units), but no letter.
    expect(refusal(() => checkNewPassword('😀😀😀😀😀😀😀1', {})).message).toMatch(/letter/);
    expect(refusal(() => checkNewPassword('😀😀😀😀a1', {})).message).toMatch(/at least 8/);
  });
});

describe('checkUserId', () => {
  it('lower-cases an acceptable id', () => {
    expect(checkUserId('Jens.Hansen_1-a')).toBe('jens.hansen_1-a');
    expect(checkUserId('  abcdef ')).toBe('abcdef');
    expect(checkUserId(`a${'0'.repeat(39)}`)).toBe(`a${'0'.repeat(39)}`);
  });

  it('refuses each broken rule with its own message', () => {
    const cases: Array<[string, RegExp]> = [
      ['abcde', /6–40/],
      [`a${'b'.repeat(40)}`, /6–40/],
      ['jens hansen', /only/],
      ['jensæhansen', /only/],
      ['\u212Aasper1', /only/], // the Kelvin sign lower-cases to an ASCII k
      ['0101901234', /only digits/],
      ['1jensen', /starts with a letter/],
      ['_jensen', /starts with a letter/],
    ];
    const messages = new Set<string>();
    for (const [userId, rule] of cases) {
      const error = refusal(() => checkUserId(userId));
      expect(error.code).toBe('NV_BAD_USER_ID');
      expect(error.message).toMatch(rule);
      messages.add(error.message);
    }
    expect(messages.size).toBe(4);
  });
});

describe('temporaryPassword', () => {
  it('draws 10 unambiguous characters that pass the password rules', () => {
    const seen = new Set<string>();
    const drawn = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const password = temporaryPassword();
      expect(password).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{10}$/);
      expect(() => checkNewPassword(password, {})).not.toThrow();
      for (const char of password) seen.add(char);
      drawn.add(password);
    }
    expect(drawn.size).toBe(2000);
    // Every character of the alphabet turns up, and the alphabet has none of 0 O 1 l I.
    expect([...seen].sort().join('')).toBe([...TEMPORARY_ALPHABET].sort().join(''));
    expect(TEMPORARY_ALPHABET).not.toMatch(/[0O1lI]/);
    expect(TEMPORARY_ALPHABET.length).toBe(26 + 26 + 10 - 5);
  });
});
