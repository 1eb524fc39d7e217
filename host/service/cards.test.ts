/**
 * The code-card room in-process, on a real SQLite file: a card key is accepted once. The same
 * right key sent twice — one after the other, and many at once — gets exactly one `accepted`, one
 * key used and one audit record of it; every other answer is `wrong`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/processes.ts';
import { SeedVault } from '../server/seed-vault.ts';
import { SqliteDatabase } from '../store/sqlite-database.ts';
import { CodeCards } from './cards.ts';
import { countUnusedKeys } from './code-card.ts';
import { SqliteServiceStore } from './store/sqlite-service-store.ts';
import { CARD_KEYS, type PersonRecord } from './store/types.ts';

const ACTOR = { name: 'test' };
const T0 = 1_800_000_000_000;

let dir: string;
let database: SqliteDatabase;
let store: SqliteServiceStore;
let cards: CodeCards;
let person: PersonRecord;

beforeEach(async () => {
  dir = tempDir('cards');
  database = SqliteDatabase.open(path.join(dir, 'service.db'));
  store = new SqliteServiceStore(database);
  cards = new CodeCards(store, new SeedVault(new Uint8Array(randomBytes(32))), () => T0);
  person = await store.insertPerson(
    {
      id: '1234567890',
      userId: null,
      name: 'Kim Kort',
      cprDigest: null,
      birthDate: '1980-02-29',
      scope: 'full',
      organisationId: null,
      role: null,
      passwordHash: 'scrypt$not-a-real-hash',
      passwordTemporary: false,
      state: 'active',
      cardThreshold: 0,
    },
    { at: T0, actor: 'test', action: 'person.order', serial: '1234567890', result: 'ok', detail: {} },
  );
});

afterEach(async () => {
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A card of the person's, the number it asks for, and the right key for that number. */
async function askedKey(): Promise<{ serial: string; key: string }> {
  const { card, pairs } = await cards.issue(person, 'welcome', ACTOR);
  const challenge = await cards.challenge(person.id, card.serial);
  const pair = pairs.find((p) => p.number === challenge.number);
  if (!pair) throw new Error('the card asks for a number it does not have');
  return { serial: card.serial, key: pair.key };
}

/** What the store says of the card's keys and of the accepted-key audit records. */
async function used(serial: string): Promise<{ keysLeft: number; unused: number; acceptedAudits: number }> {
  const card = (await store.getCard(serial))!;
  const audits = (await database.listAudit({ serial, action: 'card.key' })).filter((entry) => entry.result === 'accepted');
  return { keysLeft: card.keysLeft, unused: countUnusedKeys(card.usedKeys), acceptedAudits: audits.length };
}

describe('a code-card key is accepted once', () => {
  it('sent twice, one after the other: accepted, then wrong', async () => {
    const { serial, key } = await askedKey();
    expect((await cards.answer(person, serial, key, ACTOR)).result).toBe('accepted');
    expect((await cards.answer(person, serial, key, ACTOR)).result).toBe('wrong');
    expect(await used(serial)).toEqual({ keysLeft: CARD_KEYS - 1, unused: CARD_KEYS - 1, acceptedAudits: 1 });
  });

  it('sent many times at once (Promise.all of 16): exactly one accepted', async () => {
    const { serial, key } = await askedKey();
    const answers = await Promise.all(Array.from({ length: 16 }, () => cards.answer(person, serial, key, ACTOR)));
    expect(answers.map((a) => a.result).sort()).toEqual(['accepted', ...Array<string>(15).fill('wrong')]);
    expect(await used(serial)).toEqual({ keysLeft: CARD_KEYS - 1, unused: CARD_KEYS - 1, acceptedAudits: 1 });
  });
});
