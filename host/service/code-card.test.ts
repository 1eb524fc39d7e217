/**
 * Code cards: the derivation checked against a separate reference written here from the format
 * described in code-card.ts, every card's 148 numbers and keys distinct and well formed, the
 * numbers and keys of 2,000 cards uniform (chi-square bounds that modulo bias would break), and
 * the used-key bitmap, challenge choice and key comparison.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../protocol/coded-error.ts';
import {
  cardPairs,
  chooseChallenge,
  countUnusedKeys,
  emptyUsedKeys,
  isKeyUsed,
  keyMatches,
  newCardSecret,
  newCardSerial,
  withKeyUsed,
  type CardPair,
} from './code-card.ts';

/** Deterministic secrets, so the statistics below are the same on every run. */
const secretOf = (i: number) => new Uint8Array(createHash('sha256').update(`test card ${i}`).digest());

/** The reference: a long enough stream made up front, then cut into big-endian values. */
function referenceValues(secret: Uint8Array, label: string, width: number, range: number): number[] {
  const blocks: Buffer[] = [];
  for (let counter = 0; counter < 64; counter++) {
    const counterBytes = Buffer.from([counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff]);
    blocks.push(createHmac('sha256', secret).update(Buffer.concat([Buffer.from(label, 'ascii'), counterBytes])).digest());
  }
  const stream = Buffer.concat(blocks);
  const limit = range === 10_000 ? 60_000 : 16_000_000;
  const kept: number[] = [];
  for (let at = 0; kept.length < 148; at += width) {
    const value = stream.readUIntBE(at, width);
    if (value < limit && !kept.includes(value % range)) kept.push(value % range);
  }
  return kept;
}

function referencePairs(secret: Uint8Array): CardPair[] {
  const numbers = referenceValues(secret, 'numbers', 2, 10_000);
  const keys = referenceValues(secret, 'keys', 3, 1_000_000);
  return numbers.map((n, i) => ({ number: n.toString().padStart(4, '0'), key: (keys[i] ?? -1).toString().padStart(6, '0') }));
}

/** What is wrong with a card, if anything (one string, so 2,000 cards cost one expect each). */
function cardProblems(pairs: CardPair[]): string {
  const problems: string[] = [];
  if (pairs.length !== 148) problems.push(`${pairs.length} pairs`);
  if (new Set(pairs.map((p) => p.number)).size !== pairs.length) problems.push('a repeated number');
  if (new Set(pairs.map((p) => p.key)).size !== pairs.length) problems.push('a repeated key');
  if (!pairs.every((p) => /^[0-9]{4}$/.test(p.number))) problems.push('a number that is not 4 digits');
  if (!pairs.every((p) => /^[0-9]{6}$/.test(p.key))) problems.push('a key that is not 6 digits');
  return problems.join(', ');
}

/** Pearson's statistic of observed counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

/** Within 6 standard deviations of the statistic's mean (df), for many degrees of freedom. */
function expectUniform(counts: number[]): void {
  const df = counts.length - 1;
  expect(Math.abs(chiSquare(counts) - df)).toBeLessThan(6 * Math.sqrt(2 * df));
}

describe('cardPairs', () => {
  it('follows the documented derivation', () => {
    for (let i = 0; i < 20; i++) expect(cardPairs(secretOf(i))).toEqual(referencePairs(secretOf(i)));
  });

  it('gives the same card for the same secret and different cards for different secrets', () => {
    const secret = newCardSecret();
    expect(cardPairs(new Uint8Array(secret))).toEqual(cardPairs(secret));
    const other = cardPairs(newCardSecret());
    const card = cardPairs(secret);
    expect(other.map((p) => p.number)).not.toEqual(card.map((p) => p.number));
    expect(other.map((p) => p.key)).not.toEqual(card.map((p) => p.key));
  });

  it('keeps leading zeros', () => {
    const numbers = Array.from({ length: 50 }, (_, i) => cardPairs(secretOf(i))).flat();
    expect(numbers.some((p) => p.number.startsWith('0'))).toBe(true);
    expect(numbers.some((p) => p.key.startsWith('0'))).toBe(true);
  });

  it('refuses a secret of the wrong size', () => {
    expect(() => cardPairs(new Uint8Array(16))).toThrow(RangeError);
  });

  it('makes 2,000 valid cards whose numbers and keys are uniform', () => {
    const numberCounts = new Array<number>(10_000).fill(0);
    const keyHigh = new Array<number>(1_000).fill(0); // by the key's first three digits
    const keyLow = new Array<number>(1_000).fill(0); // by its last three
    const keyDigits = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < 2_000; i++) {
      const pairs = cardPairs(secretOf(i));
      expect(cardProblems(pairs)).toBe('');
      for (const { number, key } of pairs) {
        numberCounts[Number(number)]! += 1;
        keyHigh[Math.floor(Number(key) / 1000)]! += 1;
        keyLow[Number(key) % 1000]! += 1;
        [...key].forEach((digit, position) => {
          keyDigits[position]![Number(digit)]! += 1;
        });
      }
    }
    expectUniform(numberCounts);
    expectUniform(keyHigh);
    expectUniform(keyLow);
    // df 9: 40 is far in the tail (p < 1e-5).
    for (const counts of keyDigits) expect(chiSquare(counts)).toBeLessThan(40);
  });
});

describe('new secrets and serials', () => {
  it('makes 32-byte secrets that differ', () => {
    const a = newCardSecret();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(32);
    expect(Buffer.from(a).equals(Buffer.from(newCardSecret()))).toBe(false);
  });

  it('makes serials like K123-456-789', () => {
    const serials = new Set(Array.from({ length: 200 }, () => newCardSerial()));
    for (const serial of serials) expect(serial).toMatch(/^K[0-9]{3}-[0-9]{3}-[0-9]{3}$/);
    expect(serials.size).toBeGreaterThan(195);
  });
});

describe('used keys', () => {
  it('is 19 bytes, one bit per key, least significant bit first, changed only in a copy', () => {
    const empty = emptyUsedKeys();
    expect(empty).toEqual(new Uint8Array(19));
    const used = withKeyUsed(empty, 9);
    expect(empty).toEqual(new Uint8Array(19));
    expect(used[1]).toBe(0b10);
    expect(isKeyUsed(used, 9)).toBe(true);
    expect(isKeyUsed(used, 8)).toBe(false);
    const last = withKeyUsed(used, 147);
    expect(last[18]).toBe(0b1000);
    expect(countUnusedKeys(last)).toBe(146);
    expect(isKeyUsed(Uint8Array.from([0, 0, 0x80, ...new Array<number>(16).fill(0)]), 23)).toBe(true);
  });

  it('counts all 148 used when every bit is set, the padding bits ignored', () => {
    expect(countUnusedKeys(new Uint8Array(19).fill(0xff))).toBe(0);
    // Keys 144–147 are the low four bits of the last byte; its high four bits pad.
    expect(countUnusedKeys(Uint8Array.from([...new Array<number>(18).fill(0xff), 0x0f]))).toBe(0);
    expect(countUnusedKeys(Uint8Array.from([...new Array<number>(18).fill(0), 0xf0]))).toBe(148);
    expect(countUnusedKeys(emptyUsedKeys())).toBe(148);
  });

  it('refuses indexes outside the card and bitmaps of the wrong size', () => {
    for (const index of [-1, 148, 1.5, Number.NaN]) {
      expect(() => isKeyUsed(emptyUsedKeys(), index)).toThrow(RangeError);
      expect(() => withKeyUsed(emptyUsedKeys(), index)).toThrow(RangeError);
    }
    expect(() => chooseChallenge(new Uint8Array(18))).toThrow(RangeError);
  });
});

describe('chooseChallenge', () => {
  it('never picks a used key, and picks every unused one, about equally often', () => {
    let used = emptyUsedKeys();
    for (let index = 0; index < 148; index += 2) used = withKeyUsed(used, index);
    used = withKeyUsed(used, 147);
    const counts = new Map<number, number>();
    for (let i = 0; i < 7_300; i++) {
      const index = chooseChallenge(used);
      expect(index % 2 === 1 && index !== 147).toBe(true);
      counts.set(index, (counts.get(index) ?? 0) + 1);
    }
    expect(counts.size).toBe(73);
    expectUniform([...counts.values()]);
  });

  it('picks the last unused key, and refuses a used-up card', () => {
    let used = emptyUsedKeys();
    for (let index = 0; index < 148; index++) if (index !== 100) used = withKeyUsed(used, index);
    for (let i = 0; i < 20; i++) expect(chooseChallenge(used)).toBe(100);
    used = withKeyUsed(used, 100);
    try {
      chooseChallenge(used);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CodedError);
      expect((error as CodedError).status).toBe(409);
      expect((error as CodedError).code).toBe('NV_CARD_USED_UP');
    }
  });

  it('covers a whole card when each chosen key is then used', () => {
    let used = emptyUsedKeys();
    const chosen = new Set<number>();
    for (let i = 0; i < 148; i++) {
      const index = chooseChallenge(used);
      expect(chosen.has(index)).toBe(false);
      chosen.add(index);
      used = withKeyUsed(used, index);
    }
    expect(chosen.size).toBe(148);
    expect(() => chooseChallenge(used)).toThrow(CodedError);
  });
});

describe('keyMatches', () => {
  const pairs = cardPairs(secretOf(7));

  it("accepts each key at its own index only, never a neighbour's", () => {
    pairs.forEach((pair, index) => {
      expect(keyMatches(pairs, index, pair.key)).toBe(true);
      const before = pairs[index - 1];
      const after = pairs[index + 1];
      if (before) expect(keyMatches(pairs, index, before.key)).toBe(false);
      if (after) expect(keyMatches(pairs, index, after.key)).toBe(false);
      if (before) expect(keyMatches(pairs, index - 1, pair.key)).toBe(false);
    });
  });

  it('is false for anything that is not 6 digits, and for indexes off the card', () => {
    const key = pairs[3]?.key ?? '';
    const fullWidth = [...key].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
    for (const wrong of [key.slice(1), `${key}0`, ` ${key.slice(1)}`, `${key.slice(0, 5)}x`, '', fullWidth]) {
      expect(keyMatches(pairs, 3, wrong)).toBe(false);
    }
    expect(keyMatches(pairs, -1, key)).toBe(false);
    expect(keyMatches(pairs, 148, key)).toBe(false);
    expect(keyMatches(pairs, 3.5, key)).toBe(false);
    expect(keyMatches(pairs, 3, pairs[3]?.number ?? '')).toBe(false);
  });
});
