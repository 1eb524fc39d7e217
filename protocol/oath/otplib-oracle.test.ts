/**
 * Differential test against otplib 13 (the oracle) and node:crypto on random cases.
 */
import { createGuardrails, generateSync } from 'otplib';
import { describe, expect, it } from 'vitest';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { randomBytes, xorshift32 } from '../../test/support/random.ts';
import { OATH_ALGORITHMS, createOathKey, hotpCode, type OathAlgorithm } from './index.ts';

const CASES = 100_000;
const SEED = 0x0a7b_2026;

/**
 * otplib's default guardrails reject secrets under 16 bytes (RFC 4226 R6's 128-bit minimum) and
 * over 64 bytes (otplib's own cap, not in any RFC). HMAC itself is defined for any key length,
 * and the point of the oracle is to cover short keys and keys longer than the hash block
 * (64 bytes for SHA-1/256, 128 for SHA-512), where RFC 2104 hashes the key first.
 */
const guardrails = createGuardrails({ MIN_SECRET_BYTES: 1, MAX_SECRET_BYTES: 200 });

interface Case {
  readonly secret: Uint8Array;
  readonly counter: number;
  readonly algorithm: OathAlgorithm;
  readonly digits: number;
}

function randomCounter(next: () => number): number {
  switch (next() % 5) {
    case 0:
      return next() % 1000; // where real tokens live
    case 1:
      return 2 ** 32 - 8 + (next() % 16); // the hi/lo split
    case 2:
      return Number.MAX_SAFE_INTEGER - (next() % 16); // the top of the range
    default:
      return (next() % 2 ** 21) * 2 ** 32 + next(); // uniform over 0..2^53-1
  }
}

function randomCase(next: () => number): Case {
  const secret = randomBytes(next, 1 + (next() % 200));
  return {
    secret,
    counter: randomCounter(next),
    algorithm: OATH_ALGORITHMS[next() % OATH_ALGORITHMS.length]!,
    digits: 6 + (next() % 3),
  };
}

function describeCase(c: Case): string {
  const hex = Buffer.from(c.secret).toString('hex');
  return `${c.algorithm} digits=${c.digits} counter=${c.counter} secret=${hex}`;
}

function nodeCode(c: Case): string {
  return referenceHotp(c.secret, c.counter, c.digits, c.algorithm);
}

describe('differential: otplib 13 and node:crypto', () => {
  it(`agrees with otplib on ${CASES} random (seed, counter, algorithm, digits) cases`, () => {
    const next = xorshift32(SEED);
    const mismatches: string[] = [];
    const longKeys = { sha1: 0, sha256: 0, sha512: 0 };
    for (let i = 0; i < CASES; i++) {
      const c = randomCase(next);
      if (c.secret.length > (c.algorithm === 'sha512' ? 128 : 64)) longKeys[c.algorithm]++;
      const key = createOathKey(c.secret, c.algorithm);
      const ours = hotpCode(key, c.counter, c.digits);
      key.destroy();
      const theirs = generateSync({
        strategy: 'hotp',
        secret: c.secret,
        counter: c.counter,
        algorithm: c.algorithm,
        digits: c.digits,
        guardrails,
      });
      if (ours !== theirs && mismatches.push(`#${i} ${describeCase(c)}: ours ${ours}, otplib ${theirs}`) >= 5) break;
    }
    expect(mismatches).toEqual([]);
    // The random lengths really did exercise hashed (longer-than-block) keys for every algorithm.
    for (const count of Object.values(longKeys)) expect(count).toBeGreaterThan(1000);
  });

  it('agrees with node:crypto createHmac on a sample, also on one key reused across counters', () => {
    const next = xorshift32(SEED ^ 0x5eed);
    for (let i = 0; i < 10_000; i++) {
      const c = randomCase(next);
      const key = createOathKey(c.secret, c.algorithm);
      expect(hotpCode(key, c.counter, c.digits), describeCase(c)).toBe(nodeCode(c));
      const again = { ...c, counter: randomCounter(next) };
      expect(hotpCode(key, again.counter, again.digits), describeCase(again)).toBe(nodeCode(again));
    }
  });
});

describe('the benchmark figure, as a test: SHA-1, 6 digits', () => {
  it('equals otplib on 1,000,000 random (seed, counter) pairs', () => {
    const next = xorshift32(0x1e6_2026);
    let mismatches = 0;
    let first = '';
    for (let i = 0; i < 1_000_000; i++) {
      const secret = randomBytes(next, 20);
      const counter = next() % 2 ** 20;
      const key = createOathKey(secret, 'sha1');
      const ours = hotpCode(key, counter, 6);
      key.destroy();
      const theirs = generateSync({ strategy: 'hotp', secret, counter, digits: 6, algorithm: 'sha1' });
      if (ours !== theirs) {
        mismatches++;
        first ||= `counter ${counter} seed ${Buffer.from(secret).toString('hex')}: ${ours} vs ${theirs}`;
      }
    }
    expect(mismatches, first).toBe(0);
  }, 120_000);
});
