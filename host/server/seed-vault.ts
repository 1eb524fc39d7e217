/**
 * Secrets at rest: AES-256-GCM under the master key, each sealed with a fresh nonce and bound (as
 * additional data) to its purpose and its name, so a sealed blob copied onto another record — of
 * the same kind or of another — does not open.
 *
 *   sealed = version (1 byte) | nonce (12) | tag (16) | ciphertext
 *
 * Version 2 (written now): the additional data is `noegleviser:sealed:v2` followed by the purpose
 * and each part of the name, each as its UTF-8 length (4 bytes, big-endian) and its bytes, so no
 * two (purpose, name) pairs give the same additional data, whatever characters a name holds.
 *
 * Version 1 (written before): the additional data was `noegleviser:seed:v1:` and one name that
 * each caller prefixed by hand (`card:…`, `letter:…`, `oidc:…`), while a token's serial came
 * bare — and a serial may hold `:` (an otpauth label is `Issuer:account`), so a token named
 * `card:X` had the additional data of card X's secret. A version-1 blob is read only under the
 * name its own purpose wrote it with (`LEGACY_NAMES`); every blob sealed from now on is version 2.
 * A version-1 seed or temporary password whose name begins as another kind's did (`card:`,
 * `letter:`, `oidc:`) is not read at all: anyone who can write to the store could have put that
 * kind's blob there under a row so named, and it would open as a seed.
 *
 * Stored version-1 blobs are sealed again as version 2 by the re-seal (host/store/reseal/); a
 * vault for a store it has left with none (`withoutVersion1`) refuses version 1 altogether.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION_1 = 1;
const VERSION = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

/** What a sealed blob is for; a blob sealed for one purpose never opens for another. */
export type SealPurpose =
  /** A token's seed, named by its serial. */
  | 'seed'
  /** A lost token's temporary password, named by its replacement's id. */
  | 'replacement-password'
  /** A code card's secret, named by the card's serial. */
  | 'card-secret'
  /** A letter's body, named by its number. */
  | 'letter-body'
  /** A letter's attachment, named by the letter's number and the file's name. */
  | 'letter-file'
  /** An OpenID Connect signing key (a private JWK), named by its kid. */
  | 'oidc-signing-key'
  /** A secret the provider's nodes share (cookie keys, pairwise salt), named by its name. */
  | 'oidc-secret'
  /** A registered site's client secret, named by its client id. */
  | 'oidc-client-secret'
  /** A provider record's payload, named by its model and the key it is kept under. */
  | 'oidc-record';

/** A name: one string, or its parts (each kept apart in the binding). */
export type SealName = string | readonly string[];

/** How the other kinds' version-1 names began; a bare name (a serial, a replacement's id) so spelled is ambiguous. */
const LEGACY_PREFIXES = ['card:', 'letter:', 'oidc:'];
const unambiguous = (name: string | undefined) => (name === undefined || LEGACY_PREFIXES.some((prefix) => name.startsWith(prefix)) ? undefined : name);

/** The name each purpose bound its version-1 blobs to, as its caller wrote it before version 2; undefined: none is read under this name. */
const LEGACY_NAMES: Readonly<Record<SealPurpose, (parts: readonly string[]) => string | undefined>> = {
  seed: ([serial]) => unambiguous(serial),
  'replacement-password': ([id]) => unambiguous(id),
  'card-secret': ([serial]) => `card:${serial}`,
  'letter-body': ([number]) => `letter:${number}`,
  'letter-file': ([number, file]) => `letter:${number}:${file}`,
  'oidc-signing-key': ([kid]) => `oidc:signing-key:${kid}`,
  'oidc-secret': ([name]) => `oidc:secret:${name}`,
  'oidc-client-secret': ([id]) => `oidc:client-secret:${id}`,
  'oidc-record': ([model, key]) => `oidc:${model}:${key}`,
};

/** How many parts each purpose's name has. */
const NAME_PARTS: Readonly<Record<SealPurpose, number>> = {
  seed: 1,
  'replacement-password': 1,
  'card-secret': 1,
  'letter-body': 1,
  'letter-file': 2,
  'oidc-signing-key': 1,
  'oidc-secret': 1,
  'oidc-client-secret': 1,
  'oidc-record': 2,
};

/** Why a sealed blob did not open (no secret in it: it may be reported with the record's kind and id). */
export type VaultRefusal =
  /** Too short, or a version this code does not know. */
  | 'unreadable'
  /** Version 1 under a name another kind's records had too (see above): never opened. */
  | 'ambiguous-version-1'
  /** Version 1, and this vault reads version 2 only (its store holds no version-1 blob any more). */
  | 'version-1-refused'
  /** The tag does not match: another master key, another record's blob, or changed bytes. */
  | 'does-not-open';

export class VaultError extends Error {
  constructor(
    message: string,
    readonly reason?: VaultRefusal,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

/** The version a sealed blob says it is (its first byte), undefined for an empty one; says nothing of whether it opens. */
export function sealedVersion(sealed: Uint8Array): number | undefined {
  return sealed[0];
}

export class SeedVault {
  readonly #key: Buffer;
  readonly #version1: boolean;

  /** `version1: false` refuses every version-1 blob (a store the re-seal has left with none: host/store/reseal/). */
  constructor(masterKey: Uint8Array, options: { readonly version1?: boolean } = {}) {
    if (masterKey.length !== MASTER_KEY_BYTES) throw new VaultError(`the master key must be ${MASTER_KEY_BYTES} bytes`);
    this.#key = Buffer.from(masterKey);
    this.#version1 = options.version1 ?? true;
  }

  /** Whether a version-1 blob is opened at all. */
  get readsVersion1(): boolean {
    return this.#version1;
  }

  /** The same master key, reading version 2 only: for a store that holds no version-1 blob, so none put there later (an old backup's row) is read. */
  withoutVersion1(): SeedVault {
    return new SeedVault(this.#key, { version1: false });
  }

  seal(purpose: SealPurpose, name: SealName, secret: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(additionalData(purpose, partsOf(purpose, name)));
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
    return new Uint8Array(Buffer.concat([Buffer.of(VERSION), nonce, cipher.getAuthTag(), ciphertext]));
  }

  /** The secret; the caller wipes it (`fill(0)`) as soon as it has used it. */
  open(purpose: SealPurpose, name: SealName, sealed: Uint8Array): Uint8Array {
    const parts = partsOf(purpose, name);
    const bytes = Buffer.from(sealed);
    const version = bytes[0];
    if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || (version !== VERSION && version !== VERSION_1)) throw new VaultError(`the sealed ${purpose} of ${parts.join(' ')} is not readable`, 'unreadable');
    if (version === VERSION_1 && !this.#version1) {
      throw new VaultError(`the sealed ${purpose} of ${parts.join(' ')} is of version 1, which this store no longer reads (it was re-sealed): \`noegleviser store reseal\` re-seals one put back from an older copy`, 'version-1-refused');
    }
    const legacyName = version === VERSION_1 ? LEGACY_NAMES[purpose](parts) : undefined;
    if (version === VERSION_1 && legacyName === undefined) {
      throw new VaultError(`the sealed ${purpose} of ${parts.join(' ')} was sealed by an older version under a name another kind's records had too: it is not opened (enroll or issue it again)`, 'ambiguous-version-1');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(legacyName === undefined ? additionalData(purpose, parts) : legacyAdditionalData(legacyName));
    decipher.setAuthTag(bytes.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES));
    try {
      return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]));
    } catch {
      throw new VaultError(`the sealed ${purpose} of ${parts.join(' ')} does not open with this master key`, 'does-not-open');
    }
  }

  /** A keyed digest of `value` for `purpose` (e.g. a CPR number, to find a person without storing it). */
  digest(purpose: string, value: string): string {
    return createHmac('sha256', this.#key).update(`noegleviser:${purpose}:v1:`).update(value, 'utf8').digest('hex');
  }

  /** A value that identifies the master key without revealing it, stored to refuse a wrong key at start-up. */
  keyCheck(): string {
    return createHmac('sha256', this.#key).update('noegleviser master key check v1').digest('hex');
  }

  matches(check: string): boolean {
    const expected = Buffer.from(this.keyCheck(), 'hex');
    const given = Buffer.from(check, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  toJSON(): string {
    return 'SeedVault';
  }
}

function partsOf(purpose: SealPurpose, name: SealName): readonly string[] {
  const parts = typeof name === 'string' ? [name] : name;
  if (parts.length !== NAME_PARTS[purpose]) throw new VaultError(`a sealed ${purpose} is named by ${NAME_PARTS[purpose]} part(s), not ${parts.length}`);
  return parts;
}

function additionalData(purpose: SealPurpose, parts: readonly string[]): Buffer {
  const fields = [purpose, ...parts].map((text) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  });
  return Buffer.concat([Buffer.from('noegleviser:sealed:v2', 'utf8'), ...fields]);
}

function legacyAdditionalData(name: string): Buffer {
  return Buffer.from(`noegleviser:seed:v1:${name}`, 'utf8');
}
