/**
 * Where the outbox keeps its letters: a store that numbers each letter as it takes it (the
 * database's own sequence, so two nodes never give out the same number) and gives letters back
 * by number. The same two tables on SQLite and PostgreSQL: `outbox_letters` (the letter, its
 * sealed body) and `outbox_attachments` (its sealed files, in the order posted). A letter's body
 * and files hold temporary passwords and card keys: the store is given them sealed under the
 * master key (bound to the letter's number, which is why it asks for them once it has the number)
 * and keeps only that.
 */
export type LetterKind = 'welcome' | 'new-card' | 'extra-card' | 'employee-welcome' | 'employee-card' | 'key-file-activation' | 'reissue';

export const LETTER_KINDS: readonly LetterKind[] = ['welcome', 'new-card', 'extra-card', 'employee-welcome', 'employee-card', 'key-file-activation', 'reissue'];

export interface LetterFilter {
  readonly personId?: string;
  readonly kind?: LetterKind;
}

export interface NewStoredLetter {
  readonly kind: LetterKind;
  readonly personId: string;
  readonly recipient: string;
  readonly subject: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

/** A letter's body and files as the store keeps them: sealed. */
export interface SealedLetter {
  readonly sealedHtml: Uint8Array;
  readonly attachments: readonly { readonly name: string; readonly contentType: string; readonly sealedBytes: Uint8Array }[];
}

/** A letter as listed: everything but its body and its attachments' bytes. */
export interface StoredLetterSummary {
  readonly number: number;
  readonly kind: LetterKind;
  readonly personId: string;
  readonly recipient: string;
  readonly subject: string;
  readonly at: number;
  readonly attachments: readonly { readonly name: string; readonly contentType: string }[];
}

export interface StoredLetter extends StoredLetterSummary {
  readonly sealedHtml: Uint8Array;
}

export interface LetterStore {
  /**
   * Keeps the letter with what `seal` makes of its body and files once the database has given it
   * its number, all in one transaction; answers the number.
   */
  insertLetter(letter: NewStoredLetter, seal: (number: number) => SealedLetter): Promise<number>;
  /** Oldest (lowest number) first. */
  listLetters(filter: LetterFilter): Promise<StoredLetterSummary[]>;
  getLetter(number: number): Promise<StoredLetter | undefined>;
  getAttachment(number: number, name: string): Promise<{ readonly name: string; readonly contentType: string; readonly sealedBytes: Uint8Array } | undefined>;
}

/** A row of `outbox_letters` as both stores read it (PostgreSQL's bigint columns may come as strings). */
export type LetterRow = { id: number | string; kind: string; person_id: string; recipient: string; subject: string; at: number | string };
/** A row of `outbox_attachments`, without its bytes. */
export type AttachmentRow = { letter_id: number | string; position: number; name: string; content_type: string };

export function toSummary(row: LetterRow, attachments: StoredLetterSummary['attachments']): StoredLetterSummary {
  return { number: Number(row.id), kind: row.kind as LetterKind, personId: row.person_id, recipient: row.recipient, subject: row.subject, at: Number(row.at), attachments };
}

/** Attachment rows (in any order) grouped per letter number, each letter's in the order posted. */
export function attachmentsByLetter(rows: readonly AttachmentRow[]): Map<number, { name: string; contentType: string }[]> {
  const byLetter = new Map<number, { position: number; name: string; contentType: string }[]>();
  for (const row of rows) {
    const list = byLetter.get(Number(row.letter_id)) ?? [];
    list.push({ position: row.position, name: row.name, contentType: row.content_type });
    byLetter.set(Number(row.letter_id), list);
  }
  return new Map([...byLetter].map(([id, list]) => [id, list.sort((a, b) => a.position - b.position).map(({ name, contentType }) => ({ name, contentType }))]));
}

/** Bytes a driver gave back (a Buffer) as a plain view of the same memory. */
export function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
