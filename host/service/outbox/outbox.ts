/**
 * The service's outbox: a folder of letters the lab can list and open; nothing is mailed.
 *
 * Each letter is one folder `<dir>/<sequence>-<kind>/` (the sequence 4 digits or more) holding
 * letter.json (its summary), letter.html (its body) and its attachments. A letter is written whole
 * into a hidden temporary folder and then renamed into place, so a reader sees all of it or none.
 * Letters hold temporary passwords and card keys: the folders are 0700 and the files 0600.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CodedError } from '../../../protocol/coded-error.ts';

export type LetterKind = 'welcome' | 'new-card' | 'extra-card' | 'employee-welcome' | 'employee-card' | 'key-file-activation' | 'reissue';

export const LETTER_KINDS: readonly LetterKind[] = ['welcome', 'new-card', 'extra-card', 'employee-welcome', 'employee-card', 'key-file-activation', 'reissue'];

export interface LetterAttachment {
  /** A plain file name, e.g. `card-K123-456-789.pdf`. */
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

export interface NewLetter {
  readonly kind: LetterKind;
  readonly personId: string;
  /** The recipient's name. */
  readonly recipient: string;
  readonly subject: string;
  /** The letter's body, a whole HTML page. */
  readonly html: string;
  readonly attachments: readonly LetterAttachment[];
}

export interface LetterSummary {
  /** `<sequence>-<kind>`, e.g. `0007-new-card`. */
  readonly id: string;
  readonly kind: LetterKind;
  readonly personId: string;
  readonly recipient: string;
  readonly subject: string;
  /** When it was posted, ISO 8601. */
  readonly at: string;
  readonly attachments: readonly { name: string; contentType: string }[];
}

export interface LetterFilter {
  readonly personId?: string;
  readonly kind?: LetterKind;
}

const LETTER_ID = /^(\d{4,})-([a-z-]+)$/;
/** A file name with no path in it, that is not one of the letter's own files. */
const ATTACHMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RESERVED = new Set(['letter.json', 'letter.html']);
const TEMP_PREFIX = '.tmp-';
/** A temporary folder older than this was left by a crash. */
const STALE_TEMP_MS = 10 * 60_000;

const noLetter = () => new CodedError('NV_NO_LETTER', 'no such letter or attachment in the outbox', 404);
const badLetter = (message: string) => new CodedError('NV_BAD_LETTER', message, 500);

export class Outbox {
  private readonly dir: string;
  private readonly now: () => number;
  /** The highest sequence number in use; read from the folder once, then counted here. */
  private last: Promise<{ value: number }> | undefined;

  constructor(dir: string, options: { now?: () => number } = {}) {
    this.dir = path.resolve(dir);
    this.now = options.now ?? Date.now;
  }

  async post(letter: NewLetter): Promise<LetterSummary> {
    if (!LETTER_KINDS.includes(letter.kind)) throw badLetter('unknown letter kind');
    const names = new Set<string>();
    for (const attachment of letter.attachments) {
      if (!ATTACHMENT_NAME.test(attachment.name) || RESERVED.has(attachment.name)) throw badLetter('an attachment name must be a plain file name');
      if (names.has(attachment.name)) throw badLetter('two attachments with the same name');
      names.add(attachment.name);
    }
    const counter = await this.counter();

    const temp = path.join(this.dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    await mkdir(temp, { mode: 0o700 });
    try {
      const at = new Date(this.now()).toISOString();
      await writePrivate(path.join(temp, 'letter.html'), letter.html);
      for (const attachment of letter.attachments) await writePrivate(path.join(temp, attachment.name), attachment.bytes);
      // The sequence is taken only now, after the slow writes, and synchronously, so two posts in
      // this process never share a number; a folder of that name made by another process makes
      // the rename fail (the target is not empty) and the next number is tried.
      for (;;) {
        const sequence = ++counter.value;
        const id = `${String(sequence).padStart(4, '0')}-${letter.kind}`;
        const summary: LetterSummary = {
          id,
          kind: letter.kind,
          personId: letter.personId,
          recipient: letter.recipient,
          subject: letter.subject,
          at,
          attachments: letter.attachments.map(({ name, contentType }) => ({ name, contentType })),
        };
        await writePrivate(path.join(temp, 'letter.json'), `${JSON.stringify(summary, null, 2)}\n`);
        try {
          await rename(temp, path.join(this.dir, id));
          return summary;
        } catch (error) {
          if (!isCode(error, 'ENOTEMPTY', 'EEXIST')) throw error;
        }
      }
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Oldest first. */
  async list(filter: LetterFilter = {}): Promise<LetterSummary[]> {
    await this.counter();
    const letters: { sequence: number; summary: LetterSummary }[] = [];
    for (const entry of await readdir(this.dir)) {
      const match = LETTER_ID.exec(entry);
      if (!match) continue;
      const summary = await this.readSummary(entry).catch(() => undefined);
      if (!summary) continue;
      if (filter.personId !== undefined && summary.personId !== filter.personId) continue;
      if (filter.kind !== undefined && summary.kind !== filter.kind) continue;
      letters.push({ sequence: Number(match[1]), summary });
    }
    return letters.sort((a, b) => a.sequence - b.sequence).map((letter) => letter.summary);
  }

  async open(id: string): Promise<{ summary: LetterSummary; html: string }> {
    const summary = await this.summary(id);
    const html = await readFile(path.join(this.dir, summary.id, 'letter.html'), 'utf8').catch(notFound);
    return { summary, html };
  }

  async attachment(id: string, name: string): Promise<LetterAttachment> {
    const summary = await this.summary(id);
    // Only names the letter itself lists, so a name can never reach outside its folder.
    const listed = summary.attachments.find((attachment) => attachment.name === name);
    if (!listed || !ATTACHMENT_NAME.test(listed.name)) throw noLetter();
    const bytes = await readFile(path.join(this.dir, summary.id, listed.name)).catch(notFound);
    return { name: listed.name, contentType: listed.contentType, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }

  private async summary(id: string): Promise<LetterSummary> {
    if (typeof id !== 'string' || !LETTER_ID.test(id)) throw noLetter();
    await this.counter();
    return this.readSummary(id).catch(notFound);
  }

  private async readSummary(id: string): Promise<LetterSummary> {
    const parsed: unknown = JSON.parse(await readFile(path.join(this.dir, id, 'letter.json'), 'utf8'));
    if (!isSummary(parsed) || parsed.id !== id) throw badLetter('a letter in the outbox is damaged');
    return parsed;
  }

  /** Makes the folder (0700), clears temporary folders a crash left, and finds the last sequence number. */
  private counter(): Promise<{ value: number }> {
    this.last ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
      let value = 0;
      for (const entry of await readdir(this.dir)) {
        if (entry.startsWith(TEMP_PREFIX)) {
          // Only a folder old enough to be a crash's: another Outbox on this folder (the lab page's) may be writing a young one.
          const folder = path.join(this.dir, entry);
          if (Date.now() - (await stat(folder)).mtimeMs > STALE_TEMP_MS) await rm(folder, { recursive: true, force: true });
          continue;
        }
        const match = LETTER_ID.exec(entry);
        if (match) value = Math.max(value, Number(match[1]));
      }
      return { value };
    })();
    // A failed start (say, a folder that cannot be made) is tried again on the next call.
    this.last.catch(() => {
      this.last = undefined;
    });
    return this.last;
  }
}

async function writePrivate(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && 'code' in error && codes.includes(String(error.code));
}

function notFound(error: unknown): never {
  if (error instanceof CodedError || isCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR') || error instanceof SyntaxError) throw noLetter();
  throw error;
}

function isSummary(value: unknown): value is LetterSummary {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.kind === 'string' &&
    LETTER_KINDS.includes(v.kind as LetterKind) &&
    typeof v.personId === 'string' &&
    typeof v.recipient === 'string' &&
    typeof v.subject === 'string' &&
    typeof v.at === 'string' &&
    Array.isArray(v.attachments) &&
    v.attachments.every(
      (a: unknown) => typeof a === 'object' && a !== null && typeof (a as Record<string, unknown>).name === 'string' && typeof (a as Record<string, unknown>).contentType === 'string',
    )
  );
}
