/**
 * The outbox's letters in the host's SQLite file (host/store/sqlite-database.ts), numbered by
 * SQLite (AUTOINCREMENT: a number is never given twice, even after a letter is gone). A letter
 * and its sealed attachments are one group-committed write: the row first, for its number, then
 * its sealed body.
 */
import type { Migration, SqliteDatabase } from '../../store/sqlite-database.ts';
import { LETTER_KINDS, attachmentsByLetter, bytesOf, toSummary, type AttachmentRow, type LetterFilter, type LetterRow, type LetterStore, type NewStoredLetter, type SealedLetter, type StoredLetter, type StoredLetterSummary } from './letter-store.ts';

const KIND_CHECK = `CHECK (kind IN (${LETTER_KINDS.map((kind) => `'${kind}'`).join(', ')}))`;

export const SQLITE_LETTER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS outbox_letters (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          kind TEXT NOT NULL ${KIND_CHECK},
          person_id TEXT NOT NULL,
          recipient TEXT NOT NULL,
          subject TEXT NOT NULL,
          sealed_html BLOB NOT NULL,
          at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS outbox_letters_person ON outbox_letters (person_id, id);
        CREATE TABLE IF NOT EXISTS outbox_attachments (
          letter_id INTEGER NOT NULL REFERENCES outbox_letters (id),
          position INTEGER NOT NULL,
          name TEXT NOT NULL,
          content_type TEXT NOT NULL,
          sealed_bytes BLOB NOT NULL,
          PRIMARY KEY (letter_id, name)
        ) STRICT;`),
  },
];


/** The WHERE clause and its values for a filter, on the letters' alias `l`. */
function where(filter: LetterFilter): { sql: string; values: string[] } {
  const conditions: string[] = [];
  const values: string[] = [];
  if (filter.personId !== undefined) {
    conditions.push('l.person_id = ?');
    values.push(filter.personId);
  }
  if (filter.kind !== undefined) {
    conditions.push('l.kind = ?');
    values.push(filter.kind);
  }
  return { sql: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', values };
}

export class SqliteLetterStore implements LetterStore {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    database.migrate('outbox', SQLITE_LETTER_MIGRATIONS);
    this.statements = {
      insertLetter: database.prepare("INSERT INTO outbox_letters (kind, person_id, recipient, subject, sealed_html, at) VALUES (?, ?, ?, ?, x'', ?)"),
      setHtml: database.prepare('UPDATE outbox_letters SET sealed_html = ? WHERE id = ?'),
      insertAttachment: database.prepare('INSERT INTO outbox_attachments (letter_id, position, name, content_type, sealed_bytes) VALUES (?, ?, ?, ?, ?)'),
      getLetter: database.prepare<[number], LetterRow & { sealed_html: Buffer }>('SELECT id, kind, person_id, recipient, subject, at, sealed_html FROM outbox_letters WHERE id = ?'),
      attachmentsOf: database.prepare<[number], AttachmentRow>('SELECT letter_id, position, name, content_type FROM outbox_attachments WHERE letter_id = ?'),
      getAttachment: database.prepare<[number, string], { name: string; content_type: string; sealed_bytes: Buffer }>(
        'SELECT name, content_type, sealed_bytes FROM outbox_attachments WHERE letter_id = ? AND name = ?',
      ),
    };
  }

  insertLetter(letter: NewStoredLetter, seal: (number: number) => SealedLetter): Promise<number> {
    return this.database.write(() => {
      const id = Number(this.statements.insertLetter.run(letter.kind, letter.personId, letter.recipient, letter.subject, letter.at).lastInsertRowid);
      const sealed = seal(id);
      this.statements.setHtml.run(Buffer.from(sealed.sealedHtml), id);
      sealed.attachments.forEach((attachment, position) => this.statements.insertAttachment.run(id, position, attachment.name, attachment.contentType, Buffer.from(attachment.sealedBytes)));
      return id;
    });
  }

  async listLetters(filter: LetterFilter): Promise<StoredLetterSummary[]> {
    const { sql, values } = where(filter);
    const letters = this.database.prepare<string[], LetterRow>(`SELECT l.id, l.kind, l.person_id, l.recipient, l.subject, l.at FROM outbox_letters l ${sql} ORDER BY l.id`).all(...values);
    const attachments = attachmentsByLetter(
      this.database.prepare<string[], AttachmentRow>(`SELECT a.letter_id, a.position, a.name, a.content_type FROM outbox_attachments a JOIN outbox_letters l ON l.id = a.letter_id ${sql}`).all(...values),
    );
    return letters.map((row) => toSummary(row, attachments.get(Number(row.id)) ?? []));
  }

  async getLetter(number: number): Promise<StoredLetter | undefined> {
    const row = this.statements.getLetter.get(number);
    if (!row) return undefined;
    return { ...toSummary(row, attachmentsByLetter(this.statements.attachmentsOf.all(number)).get(number) ?? []), sealedHtml: bytesOf(row.sealed_html) };
  }

  async getAttachment(number: number, name: string): Promise<{ name: string; contentType: string; sealedBytes: Uint8Array } | undefined> {
    const row = this.statements.getAttachment.get(number, name);
    return row && { name: row.name, contentType: row.content_type, sealedBytes: bytesOf(row.sealed_bytes) };
  }
}
