/**
 * The master key's sealing (seed-vault.ts): a blob is bound to its purpose and its name, so one
 * copied onto a record of another kind does not open even where the names are spelled alike (a
 * token's serial may hold `:`, as `card:C1` or `oidc:secret:cookie-keys`); the blobs an older
 * version wrote still open, each only where its own kind wrote it; and no error names the secret.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealVersion1 } from '../../test/support/legacy-seal.ts';
import { findSeed } from '../../test/support/seed-search.ts';
import { SeedVault, VaultError, type SealName, type SealPurpose } from './seed-vault.ts';

const masterKey = randomBytes(32);
const vault = new SeedVault(masterKey);

/** Each purpose with a name of its shape, and the name its caller bound a version-1 blob to. */
const KINDS: readonly { purpose: SealPurpose; name: SealName; v1: string }[] = [
  { purpose: 'seed', name: 'K1', v1: 'K1' },
  { purpose: 'replacement-password', name: 'LOST-K1', v1: 'LOST-K1' },
  { purpose: 'card-secret', name: 'C1', v1: 'card:C1' },
  { purpose: 'letter-body', name: '7', v1: 'letter:7' },
  { purpose: 'letter-file', name: ['7', 'keys.pdf'], v1: 'letter:7:keys.pdf' },
  { purpose: 'oidc-signing-key', name: 'kid-1', v1: 'oidc:signing-key:kid-1' },
  { purpose: 'oidc-secret', name: 'cookie-keys', v1: 'oidc:secret:cookie-keys' },
  { purpose: 'oidc-client-secret', name: 'bank', v1: 'oidc:client-secret:bank' },
  { purpose: 'oidc-record', name: ['Session', 'sha256:abc'], v1: 'oidc:Session:sha256:abc' },
];

function refusal(open: () => unknown): VaultError {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(VaultError);
    return error as VaultError;
  }
  throw new Error('it opened');
}

describe('the master key seals each secret for one purpose and one name', () => {
  it('a blob opens for the purpose and name it was sealed for, and for no other purpose with an equal name', () => {
    for (const kind of KINDS) {
      const secret = randomBytes(20);
      const sealed = vault.seal(kind.purpose, kind.name, secret);
      expect(Buffer.from(vault.open(kind.purpose, kind.name, sealed))).toEqual(secret);
      for (const other of KINDS.filter((k) => k.purpose !== kind.purpose)) {
        // The same name, where the other kind's names have the same shape.
        if (typeof other.name === typeof kind.name) refusal(() => vault.open(other.purpose, kind.name, sealed));
      }
    }
  });

  it('a token whose serial spells another kind\'s old name (card:C1, oidc:secret:…) does not share its binding', () => {
    for (const kind of KINDS.filter((k) => k.purpose !== 'seed' && k.purpose !== 'replacement-password')) {
      const secret = randomBytes(20);
      // A seed under the serial that spells this kind's name as it was bound before, moved onto this kind's record, and back.
      refusal(() => vault.open(kind.purpose, kind.name, vault.seal('seed', kind.v1, secret)));
      refusal(() => vault.open('seed', kind.v1, vault.seal(kind.purpose, kind.name, secret)));
      refusal(() => vault.open('replacement-password', kind.v1, vault.seal(kind.purpose, kind.name, secret)));
    }
    // Within a purpose, names made of parts stay apart however their parts hold `:`.
    const sealed = vault.seal('oidc-record', ['Session', 'sha256:abc'], randomBytes(8));
    refusal(() => vault.open('oidc-record', ['Session:sha256', 'abc'], sealed));
    refusal(() => vault.open('letter-file', ['7:keys', 'pdf'], vault.seal('letter-file', ['7', 'keys:pdf'], randomBytes(8))));
  });

  it('a blob an older version wrote (version 1) still opens where its kind wrote it, and only there', () => {
    for (const kind of KINDS) {
      const secret = randomBytes(20);
      const old = sealVersion1(masterKey, kind.v1, secret);
      expect(old[0]).toBe(1);
      expect(Buffer.from(vault.open(kind.purpose, kind.name, old)), kind.purpose).toEqual(secret);
      refusal(() => vault.open(kind.purpose, kind.name, sealVersion1(randomBytes(32), kind.v1, secret)));
      // Under another name of its own kind it does not open.
      refusal(() => vault.open(kind.purpose, typeof kind.name === 'string' ? `${kind.name}x` : [kind.name[0]!, `${kind.name[1]}x`], old));
    }
    // New blobs are version 2.
    expect(vault.seal('seed', 'K1', randomBytes(20))[0]).toBe(2);
  });

  it('a version-1 blob of another kind, put in a row named as that kind was (a token card:C1), does not open as a seed or a temporary password', () => {
    for (const kind of KINDS.filter((k) => k.purpose !== 'seed' && k.purpose !== 'replacement-password')) {
      const old = sealVersion1(masterKey, kind.v1, randomBytes(20));
      for (const purpose of ['seed', 'replacement-password'] as const) {
        const error = refusal(() => vault.open(purpose, kind.v1, old));
        expect(error.message).toContain('older version under a name another kind');
      }
    }
    // A serial that only holds `:` elsewhere is read as before.
    const seed = randomBytes(20);
    expect(Buffer.from(vault.open('seed', 'Example:alice', sealVersion1(masterKey, 'Example:alice', seed)))).toEqual(seed);
  });

  it('a name of the wrong shape for its purpose is refused before anything is sealed or opened', () => {
    expect(() => vault.seal('letter-file', '7:keys.pdf', randomBytes(8))).toThrow(VaultError);
    expect(() => vault.seal('seed', ['K1', 'x'], randomBytes(8))).toThrow(VaultError);
  });

  it('no error says the secret: not opened, wrong key, tampered, unknown version', () => {
    const seed = randomBytes(20);
    const sealed = vault.seal('seed', 'K1', seed);
    const tampered = sealed.slice();
    tampered[tampered.length - 1]! ^= 1;
    const unknownVersion = sealed.slice();
    unknownVersion[0] = 9;
    const errors = [
      refusal(() => vault.open('card-secret', 'K1', sealed)),
      refusal(() => vault.open('seed', 'K2', sealed)),
      refusal(() => new SeedVault(randomBytes(32)).open('seed', 'K1', sealed)),
      refusal(() => vault.open('seed', 'K1', tampered)),
      refusal(() => vault.open('seed', 'K1', unknownVersion)),
      refusal(() => vault.open('seed', 'K1', sealed.subarray(0, 20))),
    ];
    for (const error of errors) {
      const text = `${error.message}\n${error.stack ?? ''}\n${JSON.stringify(error)}\n${String(error.cause ?? '')}`;
      expect(findSeed(text, seed), text).toBeUndefined();
      expect(findSeed(text, masterKey), text).toBeUndefined();
      expect(error.message).toMatch(/^the sealed (seed|card-secret) of K[12] (does not open with this master key|is not readable)$/);
    }
  });
});
