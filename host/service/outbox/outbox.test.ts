/**
 * The outbox on a real folder: letters round-trip, numbering survives restarts and concurrent
 * posts, readers never see half a letter, and ids or names that reach outside a letter are 404s.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/processes.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { Outbox, type NewLetter } from './outbox.ts';

let root: string;
let dir: string;

beforeEach(() => {
  root = tempDir('outbox');
  dir = path.join(root, 'outbox');
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

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

describe('Outbox', () => {
  it('keeps a letter as a folder of its summary, body and attachments, and gives them back', async () => {
    const outbox = new Outbox(dir, { now: () => Date.UTC(2025, 10, 26, 9, 30) });
    const pdf = randomBytes(3000);
    const posted = await outbox.post(
      letter({ kind: 'new-card', html: '<p>Your new card</p>', attachments: [{ name: 'card-K123-456-789.pdf', contentType: 'application/pdf', bytes: pdf }] }),
    );
    expect(posted).toEqual({
      id: '0001-new-card',
      kind: 'new-card',
      personId: 'PAAAAAAAAAAAA',
      recipient: 'Anna Hansen',
      subject: 'Welcome to NemID',
      at: '2025-11-26T09:30:00.000Z',
      attachments: [{ name: 'card-K123-456-789.pdf', contentType: 'application/pdf' }],
    });

    const folder = path.join(dir, '0001-new-card');
    expect(fs.readdirSync(folder).sort()).toEqual(['card-K123-456-789.pdf', 'letter.html', 'letter.json']);
    expect(JSON.parse(fs.readFileSync(path.join(folder, 'letter.json'), 'utf8'))).toEqual(posted);
    expect(fs.readFileSync(path.join(folder, 'letter.html'), 'utf8')).toBe('<p>Your new card</p>');

    const opened = await outbox.open('0001-new-card');
    expect(opened).toEqual({ summary: posted, html: '<p>Your new card</p>' });
    const attachment = await outbox.attachment('0001-new-card', 'card-K123-456-789.pdf');
    expect(attachment.contentType).toBe('application/pdf');
    expect(Buffer.from(attachment.bytes).equals(pdf)).toBe(true);
    expect(attachment.bytes).toBeInstanceOf(Uint8Array);
  });

  it('makes the folders 0700 and the files 0600', async () => {
    const outbox = new Outbox(dir);
    const { id } = await outbox.post(letter({ attachments: [{ name: 'a.txt', contentType: 'text/plain', bytes: new Uint8Array([65]) }] }));
    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, id))).toBe(0o700);
    for (const file of ['letter.json', 'letter.html', 'a.txt']) expect(mode(path.join(dir, id, file))).toBe(0o600);
  });

  it('tightens an existing, too open outbox folder to 0700', async () => {
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    await new Outbox(dir).post(letter());
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('numbers letters in order, and the numbering survives a restart', async () => {
    const first = new Outbox(dir);
    expect((await first.post(letter())).id).toBe('0001-welcome');
    expect((await first.post(letter({ kind: 'new-card' }))).id).toBe('0002-new-card');
    const second = new Outbox(dir);
    expect((await second.post(letter({ kind: 'reissue' }))).id).toBe('0003-reissue');
    expect((await second.list()).map((l) => l.id)).toEqual(['0001-welcome', '0002-new-card', '0003-reissue']);
  });

  it('never gives two concurrent posts the same number', async () => {
    const outbox = new Outbox(dir);
    const posted = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        outbox.post(letter({ personId: `P${i}`, attachments: [{ name: 'x.bin', contentType: 'application/octet-stream', bytes: randomBytes(1000 * (i + 1)) }] })),
      ),
    );
    const ids = posted.map((p) => p.id);
    expect(new Set(ids).size).toBe(25);
    const listed = await outbox.list();
    expect(listed).toHaveLength(25);
    for (const summary of listed) {
      const poster = posted.find((p) => p.id === summary.id);
      expect(summary.personId).toBe(poster?.personId);
    }
  });

  it('lists numerically past 9999, oldest first', async () => {
    const outbox = new Outbox(dir);
    await outbox.post(letter());
    // A folder as a long-running lab would have it: sequence 9999.
    fs.cpSync(path.join(dir, '0001-welcome'), path.join(dir, '9999-welcome'), { recursive: true });
    const summary = JSON.parse(fs.readFileSync(path.join(dir, '9999-welcome', 'letter.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, '9999-welcome', 'letter.json'), JSON.stringify({ ...summary, id: '9999-welcome' }));

    const restarted = new Outbox(dir);
    expect((await restarted.post(letter({ kind: 'new-card' }))).id).toBe('10000-new-card');
    expect((await restarted.list()).map((l) => l.id)).toEqual(['0001-welcome', '9999-welcome', '10000-new-card']);
    expect((await restarted.open('10000-new-card')).summary.kind).toBe('new-card');
  });

  it('filters by person and by kind', async () => {
    const outbox = new Outbox(dir);
    await outbox.post(letter({ personId: 'P1', kind: 'welcome' }));
    await outbox.post(letter({ personId: 'P2', kind: 'welcome' }));
    await outbox.post(letter({ personId: 'P1', kind: 'new-card' }));
    expect((await outbox.list({ personId: 'P1' })).map((l) => l.id)).toEqual(['0001-welcome', '0003-new-card']);
    expect((await outbox.list({ kind: 'welcome' })).map((l) => l.id)).toEqual(['0001-welcome', '0002-welcome']);
    expect((await outbox.list({ personId: 'P1', kind: 'welcome' })).map((l) => l.id)).toEqual(['0001-welcome']);
    expect(await outbox.list({ personId: 'P3' })).toEqual([]);
  });

  it('lists nothing for an outbox that has no letters yet', async () => {
    expect(await new Outbox(dir).list()).toEqual([]);
  });

  it('never shows a reader half a letter', async () => {
    const outbox = new Outbox(dir);
    const big = randomBytes(256 * 1024);
    const attachments = ['a.bin', 'b.bin', 'c.bin'].map((name) => ({ name, contentType: 'application/octet-stream', bytes: big }));
    let posting = true;
    const posts = Promise.all(Array.from({ length: 10 }, () => outbox.post(letter({ attachments })))).finally(() => {
      posting = false;
    });
    let seen = 0;
    while (posting) {
      for (const summary of await outbox.list()) {
        seen++;
        expect(summary.attachments.map((a) => a.name)).toEqual(['a.bin', 'b.bin', 'c.bin']);
        for (const name of ['a.bin', 'b.bin', 'c.bin']) expect((await outbox.attachment(summary.id, name)).bytes.length).toBe(big.length);
      }
    }
    await posts;
    expect((await outbox.list()).length).toBe(10);
  });

  it('ignores and clears a temporary folder a crash left behind, but not one another writer is filling now', async () => {
    const outbox = new Outbox(dir);
    await outbox.post(letter());
    const crashed = path.join(dir, '.tmp-deadbeef');
    fs.mkdirSync(crashed);
    fs.writeFileSync(path.join(crashed, 'letter.html'), '<p>half</p>');
    const anHourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(crashed, anHourAgo, anHourAgo);
    const young = path.join(dir, '.tmp-cafebabe');
    fs.mkdirSync(young);
    expect((await outbox.list()).map((l) => l.id)).toEqual(['0001-welcome']);

    const restarted = new Outbox(dir);
    expect((await restarted.list()).map((l) => l.id)).toEqual(['0001-welcome']);
    expect(fs.existsSync(crashed)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
  });

  it('refuses attachments with a path, a reserved name or a duplicate name, and posts nothing', async () => {
    const outbox = new Outbox(dir);
    const bytes = new Uint8Array([1]);
    for (const attachments of [
      [{ name: '../evil.pdf', contentType: 'application/pdf', bytes }],
      [{ name: 'sub/evil.pdf', contentType: 'application/pdf', bytes }],
      [{ name: 'letter.json', contentType: 'application/json', bytes }],
      [{ name: '.hidden', contentType: 'text/plain', bytes }],
      [
        { name: 'same.pdf', contentType: 'application/pdf', bytes },
        { name: 'same.pdf', contentType: 'application/pdf', bytes },
      ],
    ]) {
      await expect(outbox.post(letter({ attachments }))).rejects.toMatchObject({ code: 'NV_BAD_LETTER' });
    }
    expect(await outbox.list()).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'evil.pdf'))).toBe(false);
  });

  it('answers 404 NV_NO_LETTER for unknown or path-reaching ids', async () => {
    const outbox = new Outbox(dir);
    await outbox.post(letter({ attachments: [{ name: 'card.pdf', contentType: 'application/pdf', bytes: new Uint8Array([1]) }] }));
    fs.writeFileSync(path.join(root, 'letter.json'), JSON.stringify({ id: '..' }));
    for (const id of ['0002-welcome', '0001-new-card', '..', '../outbox/0001-welcome', '0001-welcome/..', '0001-welcome/letter.json', '001-welcome', '0001-Welcome', '', '.tmp-x']) {
      await expectNoLetter(outbox.open(id));
      await expectNoLetter(outbox.attachment(id, 'card.pdf'));
    }
  });

  it('answers 404 NV_NO_LETTER for an attachment name the letter does not list', async () => {
    const outbox = new Outbox(dir);
    const { id } = await outbox.post(letter({ attachments: [{ name: 'card.pdf', contentType: 'application/pdf', bytes: new Uint8Array([1]) }] }));
    const other = await outbox.post(letter({ attachments: [{ name: 'other.pdf', contentType: 'application/pdf', bytes: new Uint8Array([2]) }] }));
    // letter.json and letter.html are files in the folder, but not attachments.
    for (const name of ['letter.json', 'letter.html', 'other.pdf', '../' + other.id + '/other.pdf', '../../etc/passwd', 'CARD.PDF', '']) {
      await expectNoLetter(outbox.attachment(id, name));
    }
    expect((await outbox.attachment(id, 'card.pdf')).bytes).toEqual(new Uint8Array([1]));
  });
});
