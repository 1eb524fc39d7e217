/**
 * Passwords and user-ids at the service: slow salted hashes (scrypt), the rules a new password and
 * a chosen user-id must meet, and the temporary password of a welcome letter. No message here
 * ever contains the password.
 *
 *   stored = scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>
 */
import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';

const LOG_N = 14;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 64;

function scryptAsync(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  // 128·N·r bytes of memory, plus room; the default 32 MiB cap would refuse larger stored parameters.
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, LOG_N, R, P);
  return `scrypt$${LOG_N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

interface StoredHash {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

// Spent on a missing or unreadable stored hash so that such a check costs what a real one does.
const DUMMY: StoredHash = { logN: LOG_N, r: R, p: P, salt: Buffer.alloc(SALT_BYTES, 0x5a), hash: Buffer.alloc(KEY_BYTES, 0) };

/**
 * Whether `password` is the one `stored` was made from. For a null or malformed `stored` it still
 * runs one scrypt and answers false, so an unknown user-id takes as long as a wrong password.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored === null ? undefined : parseStored(stored);
  const target = parsed ?? DUMMY;
  const key = await scryptAsync(password, target.salt, target.logN, target.r, target.p);
  const same = timingSafeEqual(key, target.hash);
  return parsed !== undefined && same;
}

function parseStored(stored: string): StoredHash | undefined {
  const match = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!match) return undefined;
  const [logN, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Bounds keep a corrupted row from asking for gigabytes of memory.
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(match[4] ?? '', 'base64url');
  const hash = Buffer.from(match[5] ?? '', 'base64url');
  if (salt.length < 8 || hash.length !== KEY_BYTES) return undefined;
  return { logN, r, p, salt, hash };
}

const weak = (message: string) => new CodedError('NV_WEAK_PASSWORD', message, 400);

/** NemID-like rules for a password a person chooses; NV_WEAK_PASSWORD naming the rule broken. */
export function checkNewPassword(password: string, context: { userId?: string | null }): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN) throw weak(`a password has at least ${PASSWORD_MIN} characters`);
  if (length > PASSWORD_MAX) throw weak(`a password has at most ${PASSWORD_MAX} characters`);
  if (/\p{Cc}/u.test(password)) throw weak('a password may not contain control characters (such as line breaks or tabs)');
  if (!/\p{L}/u.test(password)) throw weak('a password must contain at least one letter');
  if (!/\p{Nd}/u.test(password)) throw weak('a password must contain at least one digit');
  const userId = context.userId?.trim().toLowerCase();
  if (userId && password.toLowerCase() === userId) throw weak('a password may not be the same as the user-id');
}

export const USER_ID_MIN = 6;
export const USER_ID_MAX = 40;

const badUserId = (message: string) => new CodedError('NV_BAD_USER_ID', message, 400);

/** The user-id a person chose, normalised to lower case; NV_BAD_USER_ID naming the rule broken. */
export function checkUserId(userId: string): string {
  const id = userId.trim();
  if (id.length < USER_ID_MIN || id.length > USER_ID_MAX) throw badUserId(`a user-id has ${USER_ID_MIN}–${USER_ID_MAX} characters`);
  // Checked before lower-casing: some non-ASCII letters (the Kelvin sign K) lower-case to ASCII ones.
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw badUserId('a user-id may contain only the letters a–z, digits and . _ -');
  if (/^[0-9]+$/.test(id)) throw badUserId('a user-id may not be only digits (it could be mistaken for a CPR number)');
  if (!/^[A-Za-z]/.test(id)) throw badUserId('a user-id starts with a letter');
  return id.toLowerCase();
}

/** No 0/O, 1/l/I: letters and digits that cannot be misread on a printed letter. */
export const TEMPORARY_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const TEMPORARY_LENGTH = 10;

/**
 * A welcome letter's temporary password: 10 random characters of TEMPORARY_ALPHABET with at least
 * one letter and one digit, drawn uniformly among such strings (redrawn until both are present).
 */
export function temporaryPassword(): string {
  for (;;) {
    let password = '';
    for (let i = 0; i < TEMPORARY_LENGTH; i++) password += TEMPORARY_ALPHABET[randomInt(TEMPORARY_ALPHABET.length)];
    if (/[a-zA-Z]/.test(password) && /[0-9]/.test(password)) return password;
  }
}
