/**
 * The cryptography of RFC 6030 section 6: AES-CBC with the IV before the ciphertext (xmlenc),
 * AES key wrap (RFC 3394, and RFC 5649 with padding), HMAC over the encrypted value, PBKDF2 keys
 * from a password. Algorithms by their XML identifiers; anything else is NV_SEED_FILE_UNKNOWN_ALGORITHM.
 */
import crypto from 'node:crypto';
import { SeedFileError } from './errors.ts';
import { quotedName } from './records.ts';

const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
const XMLENC11 = 'http://www.w3.org/2009/xmlenc11#';
const XMLDSIG = 'http://www.w3.org/2000/09/xmldsig#';
const XMLDSIG_MORE = 'http://www.w3.org/2001/04/xmldsig-more#';
export const PBKDF2_URI = 'http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2';

export type CipherName = 'aes128-cbc' | 'aes192-cbc' | 'aes256-cbc' | 'kw-aes128' | 'kw-aes192' | 'kw-aes256' | 'kw-aes128-pad' | 'kw-aes192-pad' | 'kw-aes256-pad';
export type MacName = 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

interface CipherSpec {
  readonly uri: string;
  readonly keyBytes: number;
  readonly mode: 'cbc' | 'wrap' | 'wrap-pad';
  /** Node's cipher name. */
  readonly node: string;
  readonly label: string;
}

export const CIPHERS: Readonly<Record<CipherName, CipherSpec>> = {
  'aes128-cbc': { uri: `${XMLENC}aes128-cbc`, keyBytes: 16, mode: 'cbc', node: 'aes-128-cbc', label: 'AES-128-CBC' },
  'aes192-cbc': { uri: `${XMLENC}aes192-cbc`, keyBytes: 24, mode: 'cbc', node: 'aes-192-cbc', label: 'AES-192-CBC' },
  'aes256-cbc': { uri: `${XMLENC}aes256-cbc`, keyBytes: 32, mode: 'cbc', node: 'aes-256-cbc', label: 'AES-256-CBC' },
  'kw-aes128': { uri: `${XMLENC}kw-aes128`, keyBytes: 16, mode: 'wrap', node: 'id-aes128-wrap', label: 'AES-128 key wrap (RFC 3394)' },
  'kw-aes192': { uri: `${XMLENC}kw-aes192`, keyBytes: 24, mode: 'wrap', node: 'id-aes192-wrap', label: 'AES-192 key wrap (RFC 3394)' },
  'kw-aes256': { uri: `${XMLENC}kw-aes256`, keyBytes: 32, mode: 'wrap', node: 'id-aes256-wrap', label: 'AES-256 key wrap (RFC 3394)' },
  'kw-aes128-pad': { uri: `${XMLENC11}kw-aes-128-pad`, keyBytes: 16, mode: 'wrap-pad', node: 'id-aes128-wrap-pad', label: 'AES-128 key wrap with padding (RFC 5649)' },
  'kw-aes192-pad': { uri: `${XMLENC11}kw-aes-192-pad`, keyBytes: 24, mode: 'wrap-pad', node: 'id-aes192-wrap-pad', label: 'AES-192 key wrap with padding (RFC 5649)' },
  'kw-aes256-pad': { uri: `${XMLENC11}kw-aes-256-pad`, keyBytes: 32, mode: 'wrap-pad', node: 'id-aes256-wrap-pad', label: 'AES-256 key wrap with padding (RFC 5649)' },
};

interface MacSpec {
  readonly uri: string;
  readonly hash: string;
  readonly label: string;
}

export const MACS: Readonly<Record<MacName, MacSpec>> = {
  'hmac-sha1': { uri: `${XMLDSIG}hmac-sha1`, hash: 'sha1', label: 'HMAC-SHA1' },
  'hmac-sha224': { uri: `${XMLDSIG_MORE}hmac-sha224`, hash: 'sha224', label: 'HMAC-SHA224' },
  'hmac-sha256': { uri: `${XMLDSIG_MORE}hmac-sha256`, hash: 'sha256', label: 'HMAC-SHA256' },
  'hmac-sha384': { uri: `${XMLDSIG_MORE}hmac-sha384`, hash: 'sha384', label: 'HMAC-SHA384' },
  'hmac-sha512': { uri: `${XMLDSIG_MORE}hmac-sha512`, hash: 'sha512', label: 'HMAC-SHA512' },
};

/** Identifiers other writers use for the same algorithms (RFC 6931's spellings, older drafts). */
const CIPHER_ALIASES: Readonly<Record<string, CipherName>> = {
  [`${XMLENC11}kw-aes128-pad`]: 'kw-aes128-pad',
  [`${XMLENC11}kw-aes192-pad`]: 'kw-aes192-pad',
  [`${XMLENC11}kw-aes256-pad`]: 'kw-aes256-pad',
};

function unknown(what: string, uri: string): SeedFileError {
  return new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `unknown ${what} ${quotedName(uri)}`);
}

export function cipherByUri(uri: string): CipherName {
  const found = (Object.keys(CIPHERS) as CipherName[]).find((name) => CIPHERS[name].uri === uri) ?? CIPHER_ALIASES[uri];
  if (!found) throw unknown('encryption algorithm', uri);
  return found;
}

export function macByUri(uri: string): MacName {
  const found = (Object.keys(MACS) as MacName[]).find((name) => MACS[name].uri === uri);
  if (!found) throw unknown('MAC algorithm', uri);
  return found;
}

const wrongKey = (why: string) => new SeedFileError('NV_SEED_FILE_WRONG_KEY', `the password or key does not open this file (${why})`);

/** Decrypts an xmlenc CipherValue; a key of the wrong size or a value that does not decrypt is NV_SEED_FILE_WRONG_KEY. */
export function decryptValue(cipher: CipherName, key: Uint8Array, value: Uint8Array): Uint8Array {
  const spec = CIPHERS[cipher];
  if (key.length !== spec.keyBytes) throw wrongKey(`${spec.label} takes a ${spec.keyBytes}-byte key; this one is ${key.length} bytes`);
  try {
    if (spec.mode === 'cbc') {
      if (value.length < 32 || value.length % 16 !== 0) {
        throw new SeedFileError('NV_SEED_FILE_MALFORMED', `an ${spec.label} value must be a 16-byte IV and whole 16-byte blocks; this one is ${value.length} bytes`);
      }
      const decipher = crypto.createDecipheriv(spec.node, key, value.subarray(0, 16));
      return new Uint8Array(Buffer.concat([decipher.update(value.subarray(16)), decipher.final()]));
    }
    const iv = Buffer.from(spec.mode === 'wrap' ? 'a6a6a6a6a6a6a6a6' : 'a65959a6', 'hex');
    const decipher = crypto.createDecipheriv(spec.node, key, iv);
    return new Uint8Array(Buffer.concat([decipher.update(value), decipher.final()]));
  } catch (error) {
    if (error instanceof SeedFileError) throw error;
    throw wrongKey(spec.mode === 'cbc' ? 'the padding does not check' : 'the key wrap integrity check fails');
  }
}

/** Encrypts as xmlenc writes it: for CBC a fresh random IV before the ciphertext. */
export function encryptValue(cipher: CipherName, key: Uint8Array, plain: Uint8Array, iv: Uint8Array = crypto.randomBytes(16)): Uint8Array {
  const spec = CIPHERS[cipher];
  if (key.length !== spec.keyBytes) throw new SeedFileError('NV_EXPORT_PROTECTION', `${spec.label} takes a ${spec.keyBytes}-byte key; this one is ${key.length} bytes`);
  if (spec.mode === 'cbc') {
    const c = crypto.createCipheriv(spec.node, key, iv);
    return new Uint8Array(Buffer.concat([iv, c.update(plain), c.final()]));
  }
  if (spec.mode === 'wrap' && (plain.length < 16 || plain.length % 8 !== 0)) {
    throw new SeedFileError('NV_EXPORT_UNSUPPORTED', `RFC 3394 key wrap takes whole 8-byte blocks of at least 16 bytes; use the padded wrap for ${plain.length} bytes`);
  }
  const c = crypto.createCipheriv(spec.node, key, Buffer.from(spec.mode === 'wrap' ? 'a6a6a6a6a6a6a6a6' : 'a65959a6', 'hex'));
  return new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
}

export function hmac(mac: MacName, key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHmac(MACS[mac].hash, key).update(data).digest());
}

export function macMatches(mac: MacName, key: Uint8Array, data: Uint8Array, expected: Uint8Array): boolean {
  const actual = hmac(mac, key, data);
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

/** PBKDF2 beyond this many rounds is refused: a file must not be able to pin the server's CPU for minutes. */
export const MAX_PBKDF2_ITERATIONS = 5_000_000;

export function pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number, keyLength: number, prf: MacName): Uint8Array {
  return new Uint8Array(crypto.pbkdf2Sync(password, salt, iterations, keyLength, MACS[prf].hash));
}
