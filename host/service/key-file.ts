/**
 * The employee key file (nøglefil), on the server: the login challenge, the public key an
 * employee's browser registers at activation, and the check of a login signature. The private key
 * is made and kept in the browser (web/assets/key-file.js); the server never has it.
 *
 * A login signature is ECDSA P-256 with SHA-256, raw r|s (IEEE P1363, as Web Crypto gives it),
 * over the UTF-8 bytes of `noegleviser-key-file/1 login:` followed by the challenge as sent.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';

const LOGIN_CONTEXT = 'noegleviser-key-file/1 login:';
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** An SPKI P-256 key is 91 bytes (uncompressed point), 59 compressed: anything far larger is not one. */
const MAX_PUBLIC_KEY_CHARS = 256;
const SIGNATURE_BYTES = 64;

const badKey = () => new CodedError('NV_BAD_KEY', 'the public key is not an EC P-256 public key (SPKI DER, base64url)', 400);

/** 32 random bytes, base64url: what the browser signs to log in with a key file. */
export function newChallenge(): string {
  return randomBytes(32).toString('base64url');
}

/** The SPKI DER bytes of an EC P-256 public key (as the server keeps them), re-encoded canonically. */
export function parsePublicKey(base64url: string): Uint8Array {
  if (typeof base64url !== 'string' || base64url.length > MAX_PUBLIC_KEY_CHARS || !BASE64URL.test(base64url)) throw badKey();
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(base64url, 'base64url'), format: 'der', type: 'spki' });
  } catch {
    throw badKey();
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw badKey();
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.buffer, der.byteOffset, der.byteLength);
}

/** A P-256 public key nobody holds the private half of (made here and thrown away): what an attempt without a key is checked against. */
const UNHELD_KEY: Uint8Array = (() => {
  const der = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.buffer, der.byteOffset, der.byteLength);
})();

/**
 * The check of key-file login signatures, counting the signature verifications it makes. A
 * well-formed signature costs exactly one verification whatever the NemID number: against the
 * person's key, or, for an unknown number or one without an active key file, against a key nobody
 * holds, through the same steps. So the time an attempt takes does not tell which numbers have a
 * key file (a malformed signature is refused before any, for every number alike).
 */
export class KeyFileVerifier {
  #verifications = 0;

  /** Signature verifications made so far. */
  get verifications(): number {
    return this.#verifications;
  }

  /** True when `signature` (base64url) is the login signature of `publicKey` over `challenge`; false for anything else (and always for `null`), never a throw. */
  verify(publicKey: Uint8Array | null, challenge: string, signature: string): boolean {
    try {
      if (typeof challenge !== 'string' || typeof signature !== 'string' || !BASE64URL.test(challenge) || !BASE64URL.test(signature)) return false;
      const raw = Buffer.from(signature, 'base64url');
      if (raw.length !== SIGNATURE_BYTES) return false;
      const key = createPublicKey({ key: Buffer.from(publicKey ?? UNHELD_KEY), format: 'der', type: 'spki' });
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
      this.#verifications++;
      const right = verify('sha256', Buffer.from(LOGIN_CONTEXT + challenge, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, raw);
      return publicKey !== null && right;
    } catch {
      return false;
    }
  }
}

/** True when `signature` (base64url) is the key's login signature over `challenge`; false for anything else, never a throw. */
export function verifySignature(publicKey: Uint8Array, challenge: string, signature: string): boolean {
  return new KeyFileVerifier().verify(publicKey ?? null, challenge, signature);
}
