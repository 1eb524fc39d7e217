import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SeedVault } from '../../server/seed-vault.ts';
import { openPayload, recordKey, sealPayload } from './sealed-records.ts';

describe("the provider's records at rest", () => {
  const vault = new SeedVault(randomBytes(32));
  const refreshToken = randomBytes(32).toString('base64url');
  const payload = { jti: refreshToken, kind: 'RefreshToken', accountId: '0123456789', grantId: 'g-1', clientId: 'bank' };

  it('a credential is kept under a digest of its id, the same on every node; a grant under its own id', () => {
    const key = recordKey('RefreshToken', refreshToken);
    expect(key).not.toContain(refreshToken);
    expect(key).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(recordKey('RefreshToken', refreshToken)).toBe(key);
    expect(recordKey('RefreshToken', `${refreshToken}x`)).not.toBe(key);
    expect(recordKey('Session', refreshToken)).toBe(key);
    expect(recordKey('Grant', 'g-1')).toBe('g-1');
  });

  it('a payload is sealed (neither its id nor its claims in the clear) and opens with the master key on its own record only', () => {
    const key = recordKey('RefreshToken', refreshToken);
    const sealed = sealPayload(vault, 'RefreshToken', key, payload);
    for (const clear of [refreshToken, '0123456789', 'bank', 'RefreshToken']) expect(Buffer.from(sealed, 'base64').toString('latin1')).not.toContain(clear);
    expect(sealed).not.toContain(refreshToken);
    expect(openPayload(vault, { model: 'RefreshToken', id: key, payload: sealed })).toEqual(payload);
    // Copied onto another record, or of another model: it does not open.
    expect(openPayload(vault, { model: 'RefreshToken', id: recordKey('RefreshToken', 'another'), payload: sealed })).toBeUndefined();
    expect(openPayload(vault, { model: 'AccessToken', id: key, payload: sealed })).toBeUndefined();
    // Another master key, or a record kept in the clear before records were sealed: treated as absent.
    expect(openPayload(new SeedVault(randomBytes(32)), { model: 'RefreshToken', id: key, payload: sealed })).toBeUndefined();
    expect(openPayload(vault, { model: 'RefreshToken', id: key, payload: JSON.stringify(payload) })).toBeUndefined();
  });
});
