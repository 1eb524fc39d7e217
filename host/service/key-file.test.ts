/**
 * The key file end to end in Node: the browser module (web/assets/key-file.js, run on Node's Web
 * Crypto) makes a file and signs, the server side checks. The file's format is checked
 * independently with node:crypto (PBKDF2 + AES-256-GCM by hand), and so is the server's verifier
 * (signatures made by node:crypto, not by Web Crypto).
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, pbkdf2Sync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CodedError } from '../../protocol/coded-error.ts';
import { KeyFileVerifier, newChallenge, parsePublicKey, verifySignature } from './key-file.ts';
import { createKeyFile, readKeyFile, signChallenge, type KeyFile } from './web/assets/key-file.js';

const PASSWORD = 'correct horse 42';
const CONTEXT = 'noegleviser-key-file/1 login:';

let made: { fileText: string; publicKey: string };
let other: { fileText: string; publicKey: string };

beforeAll(async () => {
  [made, other] = await Promise.all([
    createKeyFile({ personId: 'PABCDEFGHJKLM', label: 'Anna Hansen, Firma A/S', password: PASSWORD }),
    createKeyFile({ personId: 'PZZZZZZZZZZZZ', label: 'Bo', password: PASSWORD }),
  ]);
});

/** Opens a key file with node:crypto alone, following the format its module comment describes. */
function openWithNode(file: KeyFile, password: string): KeyObject {
  const key = pbkdf2Sync(password, Buffer.from(file.kdf.salt, 'base64url'), file.kdf.iterations, 32, 'sha256');
  const sealed = Buffer.from(file.privateKey, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.cipher.iv, 'base64url'));
  decipher.setAAD(Buffer.from(JSON.stringify([file.format, file.personId, file.label, file.publicKey]), 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const pkcs8 = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

function withFile(fileText: string, change: (file: Record<string, unknown>) => void): string {
  const file = JSON.parse(fileText) as Record<string, unknown>;
  change(file);
  return JSON.stringify(file);
}

function flipBit(base64url: string, bit: number): string {
  const bytes = Buffer.from(base64url, 'base64url');
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return bytes.toString('base64url');
}

function expectBadKey(run: () => unknown): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CodedError);
  expect((error as CodedError).status).toBe(400);
  expect((error as CodedError).code).toBe('NV_BAD_KEY');
}

describe('a key file made in the browser module', () => {
  it('has the documented shape, and readKeyFile gives it back', () => {
    const file = readKeyFile(made.fileText);
    expect(file).toMatchObject({
      format: 'noegleviser-key-file/1',
      personId: 'PABCDEFGHJKLM',
      label: 'Anna Hansen, Firma A/S',
      publicKey: made.publicKey,
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 310000 },
      cipher: { name: 'AES-GCM' },
    });
    expect(Buffer.from(file.kdf.salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(file.cipher.iv, 'base64url')).toHaveLength(12);
    expect(JSON.parse(made.fileText)).toEqual(file);
  });

  it('signs a challenge that the server verifies', async () => {
    const challenge = newChallenge();
    const signature = await signChallenge(made.fileText, PASSWORD, challenge);
    expect(Buffer.from(signature, 'base64url')).toHaveLength(64);
    expect(verifySignature(parsePublicKey(made.publicKey), challenge, signature)).toBe(true);
  });

  it('a signature does not pass for another challenge, with a bit flipped, or under another key', async () => {
    const challenge = newChallenge();
    const signature = await signChallenge(made.fileText, PASSWORD, challenge);
    const publicKey = parsePublicKey(made.publicKey);
    expect(verifySignature(publicKey, newChallenge(), signature)).toBe(false);
    for (const bit of [0, 7, 255, 256, 511]) expect(verifySignature(publicKey, challenge, flipBit(signature, bit))).toBe(false);
    expect(verifySignature(parsePublicKey(other.publicKey), challenge, signature)).toBe(false);
  });

  it('a wrong password does not open it', async () => {
    await expect(signChallenge(made.fileText, 'correct horse 43', newChallenge())).rejects.toThrow(new Error('wrong key-file password'));
    await expect(signChallenge(made.fileText, '', newChallenge())).rejects.toThrow(new Error('wrong key-file password'));
  });

  it('an edited header does not open either (the header is bound to the sealed key)', async () => {
    const edited = withFile(made.fileText, (file) => {
      file.personId = 'PZZZZZZZZZZZZ';
    });
    await expect(signChallenge(edited, PASSWORD, newChallenge())).rejects.toThrow('wrong key-file password');
  });

  it('holds no private key in the clear, and opens by the documented format with node:crypto', async () => {
    const file = readKeyFile(made.fileText);
    const sealed = Buffer.from(file.privateKey, 'base64url');
    expect(() => createPrivateKey({ key: sealed, format: 'der', type: 'pkcs8' })).toThrow();

    const privateKey = openWithNode(file, PASSWORD);
    expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    for (const encoding of ['base64url', 'base64', 'hex'] as const) expect(made.fileText).not.toContain(pkcs8.toString(encoding).slice(0, 40));
    // The key inside is the one whose public half the file (and the server) holds.
    expect(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64url')).toBe(made.publicKey);
    expect(() => openWithNode(file, 'not the password')).toThrow();
  });

  it('uses a fresh salt, iv and key each time', async () => {
    const a = readKeyFile(made.fileText);
    const b = readKeyFile(other.fileText);
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.cipher.iv).not.toBe(b.cipher.iv);
    expect(a.publicKey).not.toBe(b.publicKey);
  });

  it('refuses a password shorter than 8 characters and a missing person', async () => {
    await expect(createKeyFile({ personId: 'P1', label: 'x', password: 'short' })).rejects.toThrow(/at least 8/);
    await expect(createKeyFile({ personId: '', label: 'x', password: PASSWORD })).rejects.toThrow(/personId/);
  });
});

describe('readKeyFile', () => {
  it.each([
    ['not JSON', () => 'hello'],
    ['a JSON array', () => '[]'],
    ['another format', withFileText((f) => (f.format = 'something-else/1'))],
    ['no person', withFileText((f) => delete f.personId)],
    ['another KDF', withFileText((f) => (f.kdf = { name: 'scrypt', hash: 'SHA-256', iterations: 310000, salt: 'AAAAAAAAAAAAAAAAAAAAAA' }))],
    ['too few iterations', withFileText((f) => ((f.kdf as Record<string, unknown>).iterations = 1000))],
    ['a short iv', withFileText((f) => ((f.cipher as Record<string, unknown>).iv = 'AAAA'))],
    ['no sealed key', withFileText((f) => delete f.privateKey)],
    ['a sealed key that is not base64url', withFileText((f) => (f.privateKey = 'not base64url!'))],
  ] as [string, () => string][])('refuses %s with a clear error', (_, text) => {
    expect(() => readKeyFile(text())).toThrow(/^this is not a noegleviser key file \(nøglefil\): /);
  });

  function withFileText(change: (file: Record<string, unknown>) => void): () => string {
    return () => withFile(made.fileText, change);
  }
});

describe('server side', () => {
  it('newChallenge is 32 random bytes, base64url', () => {
    const a = newChallenge();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(newChallenge()).not.toBe(a);
  });

  it('parsePublicKey gives the SPKI bytes of a P-256 key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    expect(Buffer.from(parsePublicKey(spki.toString('base64url'))).equals(spki)).toBe(true);
    expect(parsePublicKey(made.publicKey)).toBeInstanceOf(Uint8Array);
  });

  it('parsePublicKey refuses garbage, other curves, RSA and private keys with NV_BAD_KEY', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' });
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateDer = p256.privateKey.export({ format: 'der', type: 'pkcs8' });
    const truncated = p256.publicKey.export({ format: 'der', type: 'spki' }).subarray(0, 60);
    for (const text of [
      '',
      'garbage',
      'not base64url!',
      randomBytes(91).toString('base64url'),
      p384.toString('base64url'),
      rsa.toString('base64url'),
      ed.toString('base64url'),
      privateDer.toString('base64url'),
      truncated.toString('base64url'),
      'A'.repeat(10_000),
    ]) {
      expectBadKey(() => parsePublicKey(text));
    }
  });

  it('verifySignature accepts node:crypto signatures in the same form, and only over the login message', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const challenge = newChallenge();
    const good = sign('sha256', Buffer.from(CONTEXT + challenge), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    expect(verifySignature(spki, challenge, good)).toBe(true);
    // A signature over the bare challenge (no login context) is not a login.
    const bare = sign('sha256', Buffer.from(challenge), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    expect(verifySignature(spki, challenge, bare)).toBe(false);
    // DER-encoded signatures are not the agreed form.
    const der = sign('sha256', Buffer.from(CONTEXT + challenge), privateKey).toString('base64url');
    expect(verifySignature(spki, challenge, der)).toBe(false);
  });

  it('verifySignature is false, never a throw, for malformed input', async () => {
    const challenge = newChallenge();
    const signature = await signChallenge(made.fileText, PASSWORD, challenge);
    const spki = parsePublicKey(made.publicKey);
    const cases: [Uint8Array, string, string][] = [
      [new Uint8Array(0), challenge, signature],
      [new Uint8Array(randomBytes(91)), challenge, signature],
      [spki, challenge, ''],
      [spki, challenge, 'not base64url!'],
      [spki, challenge, signature.slice(0, 40)],
      [spki, challenge, signature + 'AAAA'],
      [spki, '', signature],
      [spki, 'with spaces', signature],
      [spki, challenge, Buffer.alloc(64).toString('base64url')],
      [spki, undefined as unknown as string, signature],
      [undefined as unknown as Uint8Array, challenge, signature],
    ];
    for (const [key, c, s] of cases) expect(verifySignature(key, c, s)).toBe(false);
  });

  it('KeyFileVerifier makes one verification per well-formed signature, also with no key (which it never accepts), and none for a malformed one', async () => {
    const verifier = new KeyFileVerifier();
    const challenge = newChallenge();
    const signature = await signChallenge(made.fileText, PASSWORD, challenge);
    expect(verifier.verify(parsePublicKey(made.publicKey), challenge, signature)).toBe(true);
    expect(verifier.verifications).toBe(1);
    expect(verifier.verify(null, challenge, signature)).toBe(false);
    expect(verifier.verifications).toBe(2);
    expect(verifier.verify(null, challenge, 'not base64url!')).toBe(false);
    expect(verifier.verify(parsePublicKey(made.publicKey), challenge, signature.slice(0, 40))).toBe(false);
    expect(verifier.verifications).toBe(2);
  });

  it('an RSA key never verifies a login', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    expect(verifySignature(spki, newChallenge(), Buffer.alloc(64, 1).toString('base64url'))).toBe(false);
  });
});

// A key file sealed by node:crypto with the same format opens in the browser module: the format
// is the documented one, not merely whatever the module writes.
describe('a key file written by hand to the documented format', () => {
  it('opens and signs', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const header = { format: 'noegleviser-key-file/1', personId: 'P1', label: 'hand made', publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url') };
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', pbkdf2Sync(PASSWORD, salt, 310000, 32, 'sha256'), iv);
    cipher.setAAD(Buffer.from(JSON.stringify([header.format, header.personId, header.label, header.publicKey])));
    const body = Buffer.concat([cipher.update(privateKey.export({ format: 'der', type: 'pkcs8' })), cipher.final(), cipher.getAuthTag()]);
    const fileText = JSON.stringify({
      ...header,
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 310000, salt: salt.toString('base64url') },
      cipher: { name: 'AES-GCM', iv: iv.toString('base64url') },
      privateKey: body.toString('base64url'),
    });
    const challenge = newChallenge();
    const signature = await signChallenge(fileText, PASSWORD, challenge);
    expect(verifySignature(parsePublicKey(header.publicKey), challenge, signature)).toBe(true);
  });
});
