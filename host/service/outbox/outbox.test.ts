/**
 * The outbox on each store the host has, a real SQLite file and a real throwaway PostgreSQL
 * (test/support/postgres.ts): letters round-trip with their attachments, the database numbers
 * them (in order, across a restart, never twice however many posts or nodes at once), the store
 * keeps their bodies and files only sealed, a reader never sees half a letter, and ids or names
 * that are not a letter's are 404s.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/processes.ts';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../../../test/support/postgres.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { SeedVault } from '../../server/seed-vault.ts';
import { SqliteDatabase } from '../../store/sqlite-database.ts';
import { PostgresDatabase } from '../../store/postgres/postgres-database.ts';
import type { LetterStore } from './letter-store.ts';
import { StoredOutbox, type NewLetter, type Outbox } from './outbox.ts';
import { PostgresLetterStore } from './postgres-letter-store.ts';
import { SqliteLetterStore } from './sqlite-letter-store.ts';

reportMissingPostgres();

/** One database under test: stores on it (each a node, or the same node after a restart), and its numbering moved on by hand. */
interface Rig {
  /** How many nodes may write at once (a SQLite file has one process). */
  readonly nodes: number;
  store(): Promise<LetterStore>;
  /** The next letter gets number `next`. */
  jumpTo(next: number): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

let primary: Promise<PostgresNode> | undefined;
afterAll(async () => {
  await (await primary)?.kill();
});

const STORES: { name: string; available: boolean; rig(): Promise<Rig> }[] = [
  {
    name: 'SQLite',
    available: true,
    async rig() {
      const dir = tempDir('letters');
      const file = path.join(dir, 'tokens.db');
      closers.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
      let last: SqliteDatabase | undefined;
      const open = () => {
        const database = SqliteDatabase.open(file);
        closers.push(() => database.close());
        last = database;
        return database;
      };
      open();
      return {
        nodes: 1,
        store: async () => new SqliteLetterStore(open()),
        jumpTo: async (next) => {
          await last!.write(() => last!.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox_letters'").run(next - 1));
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    available: postgres.available,
    async rig() {
      primary ??= PostgresNode.startPrimary({ name: 'letters' });
      const node = await primary;
      const url = connectionUrl(await node.createDatabase(), [node]);
      const open = async () => {
        const database = await PostgresDatabase.open(url);
        closers.push(() => database.close());
        return database;
      };
      const admin = await open();
      await PostgresLetterStore.open(admin);
      return {
        nodes: 3,
        store: async () => PostgresLetterStore.open(await open()),
        jumpTo: async (next) => {
          await admin.write((client) => client.query(`ALTER TABLE outbox_letters ALTER COLUMN id RESTART WITH ${Number(next)}`));
        },
      };
    },
  },
];

const vault = new SeedVault(randomBytes(32));

function letter(overrides: Partial<NewLetter> = {}): NewLetter {
  return {
    kind: 'welcome',
    personId: 'PAAAAAAAAAAAA',
    recipient: 'Anna Hansen',
    subject: 'Welcome to NemID',
    html: '<!doctype html><title>x</title><p>Hello</p>',
    attachments: [],
    ...overrides,
  };
}

async function expectNoLetter(promise: Promise<unknown>): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CodedError);
  expect((error as CodedError).status).toBe(404);
  expect((error as CodedError).code).toBe('NV_NO_LETTER');
}

describe.each(STORES)('the outbox on $name', ({ available, rig: makeRig }) => {
  const outboxOn = async (rig: Rig, now?: () => number, sealer: SeedVault = vault): Promise<Outbox> => new StoredOutbox(await rig.store(), sealer, { now });

  it.skipIf(!available)('keeps a letter with its body and attachments, and gives them back', async () => {
    const outbox = await outboxOn(await makeRig(), () => Date.UTC(2025, 10, 26, 9, 30));
    const pdf = randomBytes(3000);
    const posted = await outbox.post(
      letter({
        kind: 'new-card',
        html: '<p>Your new card</p>',
        attachments: [
          { name: 'card-K123-456-789.pdf', contentType: 'application/pdf', bytes: pdf },
          { name: 'a-note.txt', contentType: 'text/plain', bytes: new Uint8Array() },
        ],
      }),
    );
    expect(posted).toEqual({
      id: '0001-new-card',
      kind: 'new-card',
      personId: 'PAAAAAAAAAAAA',
      recipient: 'Anna Hansen',
      subject: 'Welcome to NemID',
      at: '2025-11-26T09:30:00.000Z',
      // In the order posted, not by name.
      attachments: [
        { name: 'card-K123-456-789.pdf', contentType: 'application/pdf' },
        { name: 'a-note.txt', contentType: 'text/plain' },
      ],
    });
    expect(await outbox.list()).toEqual([posted]);
    expect(await outbox.open('0001-new-card')).toEqual({ summary: posted, html: '<p>Your new card</p>' });
    const attachment = await outbox.attachment('0001-new-card', 'card-K123-456-789.pdf');
    expect(attachment.contentType).toBe('application/pdf');
    expect(attachment.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(attachment.bytes).equals(pdf)).toBe(true);
    expect((await outbox.attachment('0001-new-card', 'a-note.txt')).bytes).toHaveLength(0);
  });

  it.skipIf(!available)('gives the store the body and the files only sealed under the master key; another key opens none of it', async () => {
    const rig = await makeRig();
    const store = await rig.store();
    const outbox = new StoredOutbox(store, vault);
    const password = randomBytes(9).toString('base64url');
    const card = randomBytes(2000);
    const { id } = await outbox.post(letter({ html: `<p data-secret="temporary-password">${password}</p>`, attachments: [{ name: 'card.pdf', contentType: 'application/pdf', bytes: card }] }));
    const kept = (await store.getLetter(1))!;
    expect(Buffer.from(kept.sealedHtml).toString('latin1')).not.toContain(password);
    expect(Buffer.from(kept.sealedHtml).toString('latin1')).not.toContain('temporary-password');
    const keptCard = (await store.getAttachment(1, 'card.pdf'))!;
    expect(Buffer.from(keptCard.sealedBytes).includes(card.subarray(0, 64))).toBe(false);
    // The same letter through the outbox: whole.
    expect((await outbox.open(id)).html).toContain(password);
    expect(Buffer.from((await outbox.attachment(id, 'card.pdf')).bytes).equals(card)).toBe(true);

    const otherKey = await outboxOn(rig, undefined, new SeedVault(randomBytes(32)));
    expect((await otherKey.list()).map((l) => l.id)).toEqual([id]);
    for (const opening of [otherKey.open(id), otherKey.attachment(id, 'card.pdf')]) {
      await expect(opening).rejects.toMatchObject({ code: 'NV_BAD_LETTER', status: 500 });
      await expect(opening).rejects.not.toThrow(password);
    }
  });

  it.skipIf(!available)('numbers letters in order, and the numbering survives a restart', async () => {
    const rig = await makeRig();
    const first = await outboxOn(rig);
    expect((await first.post(letter())).id).toBe('0001-welcome');
    expect((await first.post(letter({ kind: 'new-card' }))).id).toBe('0002-new-card');
    const second = await outboxOn(rig);
    expect((await second.post(letter({ kind: 'reissue' }))).id).toBe('0003-reissue');
    expect((await second.list()).map((l) => l.id)).toEqual(['0001-welcome', '0002-new-card', '0003-reissue']);
    expect((await first.list()).map((l) => l.id)).toEqual(['0001-welcome', '0002-new-card', '0003-reissue']);
  });

  it.skipIf(!available)('never gives two concurrent posts the same number, on one node or several: every node sees every letter', async () => {
    const rig = await makeRig();
    const outboxes = await Promise.all(Array.from({ length: rig.nodes }, () => outboxOn(rig)));
    const posted = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        outboxes[i % outboxes.length]!.post(letter({ personId: `P${i}`, attachments: [{ name: 'x.bin', contentType: 'application/octet-stream', bytes: randomBytes(1000 * (i + 1)) }] })),
      ),
    );
    const ids = posted.map((p) => p.id);
    expect(new Set(ids).size).toBe(30);
    for (const outbox of outboxes) {
      const listed = await outbox.list();
      expect(listed.map((l) => l.id).sort()).toEqual([...ids].sort());
      for (const summary of listed) expect(summary.personId).toBe(posted.find((p) => p.id === summary.id)?.personId);
    }
    const sizes = await Promise.all(posted.map(async (p) => (await outboxes[0]!.attachment(p.id, 'x.bin')).bytes.length));
    expect(sizes).toEqual(posted.map((_, i) => 1000 * (i + 1)));
  });

  it.skipIf(!available)('lists numerically past 9999, oldest first', async () => {
    const rig = await makeRig();
    const outbox = await outboxOn(rig);
    await outbox.post(letter());
    await rig.jumpTo(9999);
    expect((await outbox.post(letter())).id).toBe('9999-welcome');
    expect((await outbox.post(letter({ kind: 'new-card' }))).id).toBe('10000-new-card');
    expect((await outbox.list()).map((l) => l.id)).toEqual(['0001-welcome', '9999-welcome', '10000-new-card']);
    expect((await outbox.open('10000-new-card')).summary.kind).toBe('new-card');
    await expectNoLetter(outbox.open('010000-new-card'));
  });

  it.skipIf(!available)('filters by person and by kind', async () => {
    const outbox = await outboxOn(await makeRig());
    await outbox.post(letter({ personId: 'P1', kind: 'welcome', attachments: [{ name: 'a.pdf', contentType: 'application/pdf', bytes: new Uint8Array([1]) }] }));
    await outbox.post(letter({ personId: 'P2', kind: 'welcome' }));
    await outbox.post(letter({ personId: 'P1', kind: 'new-card', attachments: [{ name: 'b.pdf', contentType: 'application/pdf', bytes: new Uint8Array([2]) }] }));
    const p1 = await outbox.list({ personId: 'P1' });
    expect(p1.map((l) => l.id)).toEqual(['0001-welcome', '0003-new-card']);
    expect(p1.map((l) => l.attachments.map((a) => a.name))).toEqual([['a.pdf'], ['b.pdf']]);
    expect((await outbox.list({ kind: 'welcome' })).map((l) => l.id)).toEqual(['0001-welcome', '0002-welcome']);
    expect((await outbox.list({ personId: 'P1', kind: 'welcome' })).map((l) => l.id)).toEqual(['0001-welcome']);
    expect(await outbox.list({ personId: 'P3' })).toEqual([]);
  });

  it.skipIf(!available)('lists nothing for an outbox that has no letters yet', async () => {
    expect(await (await outboxOn(await makeRig())).list()).toEqual([]);
  });

  it.skipIf(!available)('never shows a reader half a letter', async () => {
    const rig = await makeRig();
    const writer = await outboxOn(rig);
    const reader = rig.nodes > 1 ? await outboxOn(rig) : writer;
    const big = randomBytes(256 * 1024);
    const attachments = ['a.bin', 'b.bin', 'c.bin'].map((name) => ({ name, contentType: 'application/octet-stream', bytes: big }));
    let posting = true;
    const posts = Promise.all(Array.from({ length: 10 }, () => writer.post(letter({ attachments })))).finally(() => {
      posting = false;
    });
    while (posting) {
      for (const summary of await reader.list()) {
        expect(summary.attachments.map((a) => a.name)).toEqual(['a.bin', 'b.bin', 'c.bin']);
        for (const name of ['a.bin', 'b.bin', 'c.bin']) expect((await reader.attachment(summary.id, name)).bytes.length).toBe(big.length);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await posts;
    expect((await reader.list()).length).toBe(10);
  });

  it.skipIf(!available)('refuses attachments with a path, a hidden or a duplicate name, and an unknown kind, and posts nothing', async () => {
    const outbox = await outboxOn(await makeRig());
    const bytes = new Uint8Array([1]);
    for (const attachments of [
      [{ name: '../evil.pdf', contentType: 'application/pdf', bytes }],
      [{ name: 'sub/evil.pdf', contentType: 'application/pdf', bytes }],
      [{ name: '.hidden', contentType: 'text/plain', bytes }],
      [
        { name: 'same.pdf', contentType: 'application/pdf', bytes },
        { name: 'same.pdf', contentType: 'application/pdf', bytes },
      ],
    ]) {
      await expect(outbox.post(letter({ attachments }))).rejects.toMatchObject({ code: 'NV_BAD_LETTER' });
    }
    await expect(outbox.post(letter({ kind: 'postcard' as NewLetter['kind'] }))).rejects.toMatchObject({ code: 'NV_BAD_LETTER' });
    expect(await outbox.list()).toEqual([]);
  });

  it.skipIf(!available)('answers 404 NV_NO_LETTER for unknown, wrong-kind or malformed ids', async () => {
    const outbox = await outboxOn(await makeRig());
    await outbox.post(letter({ attachments: [{ name: 'card.pdf', contentType: 'application/pdf', bytes: new Uint8Array([1]) }] }));
    for (const id of ['0002-welcome', '0001-new-card', '..', '../outbox/0001-welcome', '0001-welcome/..', '0001-welcome/card.pdf', '001-welcome', '00001-welcome', '0001-Welcome', '0000-welcome', '', '99999999999999999999-welcome']) {
      await expectNoLetter(outbox.open(id));
      await expectNoLetter(outbox.attachment(id, 'card.pdf'));
    }
  });

  it.skipIf(!available)('answers 404 NV_NO_LETTER for an attachment name the letter does not list', async () => {
    const outbox = await outboxOn(await makeRig());
    const { id } = await outbox.post(letter({ attachments: [{ name: 'card.pdf', contentType: 'application/pdf', bytes: new Uint8Array([1]) }] }));
    const other = await outbox.post(letter({ attachments: [{ name: 'other.pdf', contentType: 'application/pdf', bytes: new Uint8Array([2]) }] }));
    for (const name of ['letter.json', 'letter.html', 'other.pdf', '../' + other.id + '/other.pdf', '../../etc/passwd', 'CARD.PDF', '']) {
      await expectNoLetter(outbox.attachment(id, name));
    }
    expect((await outbox.attachment(id, 'card.pdf')).bytes).toEqual(new Uint8Array([1]));
  });
});
