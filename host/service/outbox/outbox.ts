/**
 * The service's outbox: the letters it sends (welcome letters with temporary passwords, code
 * cards, activation codes), which the lab lists and opens; nothing is mailed. The letters live in
 * the host's store (letter-store.ts), numbered by the database, so every node of a cluster and the
 * lab see one outbox. A letter's id is its number, four digits or more, and its kind:
 * `0007-new-card`. Letters hold temporary passwords and card keys: their bodies and files are
 * sealed under the master key, each bound to the letter's number (and the file's name), before
 * they reach the store, and nothing here logs them.
 */
import { CodedError } from '../../../protocol/coded-error.ts';
import type { SealName, SealPurpose, SeedVault } from '../../server/seed-vault.ts';
import { LETTER_KINDS, type LetterFilter, type LetterKind, type LetterStore, type SealedLetter } from './letter-store.ts';

export { LETTER_KINDS, type LetterFilter, type LetterKind };


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
  /** `<number>-<kind>`, e.g. `0007-new-card`. */
  readonly id: string;
  readonly kind: LetterKind;
  readonly personId: string;
  readonly recipient: string;
  readonly subject: string;
  /** When it was posted, ISO 8601. */
  readonly at: string;
  readonly attachments: readonly { name: string; contentType: string }[];
}


/** What the service posts to and the lab reads from. */
export interface Outbox {
  post(letter: NewLetter): Promise<LetterSummary>;
  /** Oldest first. */
  list(filter?: LetterFilter): Promise<LetterSummary[]>;
  /** The letter `id` whole; 404 NV_NO_LETTER when there is none. */
  open(id: string): Promise<{ summary: LetterSummary; html: string }>;
  /** One attachment the letter lists; 404 NV_NO_LETTER otherwise. */
  attachment(id: string, name: string): Promise<LetterAttachment>;
}

const LETTER_ID = /^(\d{4,})-([a-z-]+)$/;
/** A plain file name, with no path in it. */
const ATTACHMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const noLetter = () => new CodedError('NV_NO_LETTER', 'no such letter or attachment in the outbox', 404);
const badLetter = (message: string) => new CodedError('NV_BAD_LETTER', message, 500);

/** A letter's id from its number and kind. */
export function letterId(number: number, kind: LetterKind): string {
  return `${String(number).padStart(4, '0')}-${kind}`;
}

/** What seals a letter's contents: the host's seed vault (the master key). */
export type LetterSealer = Pick<SeedVault, 'seal' | 'open'>;

/** What a letter's body and each of its files are sealed as (bound to the letter, and the file to its name). */
const body = (number: number) => ['letter-body', String(number)] as const;
const file = (number: number, name: string) => ['letter-file', [String(number), name]] as const;

/** The outbox on a letter store, its letters' contents sealed by `sealer`. */
export class StoredOutbox implements Outbox {
  private readonly now: () => number;

  constructor(
    private readonly store: LetterStore,
    private readonly sealer: LetterSealer,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async post(letter: NewLetter): Promise<LetterSummary> {
    if (!LETTER_KINDS.includes(letter.kind)) throw badLetter('unknown letter kind');
    const names = new Set<string>();
    for (const attachment of letter.attachments) {
      if (!ATTACHMENT_NAME.test(attachment.name)) throw badLetter('an attachment name must be a plain file name');
      if (names.has(attachment.name)) throw badLetter('two attachments with the same name');
      names.add(attachment.name);
    }
    const at = this.now();
    const { kind, personId, recipient, subject } = letter;
    const seal = (number: number): SealedLetter => ({
      sealedHtml: this.sealer.seal(...body(number), new TextEncoder().encode(letter.html)),
      attachments: letter.attachments.map(({ name, contentType, bytes }) => ({ name, contentType, sealedBytes: this.sealer.seal(...file(number, name), bytes) })),
    });
    const number = await this.store.insertLetter({ kind, personId, recipient, subject, at }, seal);
    return summaryOf({ number, kind: letter.kind, personId: letter.personId, recipient: letter.recipient, subject: letter.subject, at, attachments: letter.attachments });
  }

  async list(filter: LetterFilter = {}): Promise<LetterSummary[]> {
    return (await this.store.listLetters(filter)).map(summaryOf);
  }

  async open(id: string): Promise<{ summary: LetterSummary; html: string }> {
    const number = numberOf(id);
    const letter = number === undefined ? undefined : await this.store.getLetter(number);
    if (!letter || letterId(letter.number, letter.kind) !== id) throw noLetter();
    return { summary: summaryOf(letter), html: new TextDecoder().decode(this.unseal(body(letter.number), letter.sealedHtml)) };
  }

  async attachment(id: string, name: string): Promise<LetterAttachment> {
    const { summary } = await this.open(id);
    if (typeof name !== 'string' || !summary.attachments.some((listed) => listed.name === name)) throw noLetter();
    const number = numberOf(id)!;
    const attachment = await this.store.getAttachment(number, name);
    if (!attachment) throw noLetter();
    return { name: attachment.name, contentType: attachment.contentType, bytes: this.unseal(file(number, name), attachment.sealedBytes) };
  }

  /** A sealed part of a letter, opened; one that does not open (another key, or moved from another letter) is a 500 NV_BAD_LETTER. */
  private unseal([purpose, name]: readonly [SealPurpose, SealName], sealed: Uint8Array): Uint8Array {
    try {
      return this.sealer.open(purpose, name, sealed);
    } catch {
      throw badLetter('a letter in the outbox does not open with this master key');
    }
  }
}

/** The number in a well-formed id; undefined for anything else. */
function numberOf(id: unknown): number | undefined {
  if (typeof id !== 'string') return undefined;
  const match = LETTER_ID.exec(id);
  if (!match) return undefined;
  const number = Number(match[1]);
  return Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

function summaryOf(letter: { number: number; kind: LetterKind; personId: string; recipient: string; subject: string; at: number; attachments: readonly { name: string; contentType: string }[] }): LetterSummary {
  return {
    id: letterId(letter.number, letter.kind),
    kind: letter.kind,
    personId: letter.personId,
    recipient: letter.recipient,
    subject: letter.subject,
    at: new Date(letter.at).toISOString(),
    attachments: letter.attachments.map(({ name, contentType }) => ({ name, contentType })),
  };
}
