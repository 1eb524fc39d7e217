/**
 * Code cards (nøglekort) through their life: issued with a sealed secret, asked for one key at a
 * time in an order the service chooses, each key accepted once, a successor sent when the keys
 * left reach the person's threshold (exactly once: the flag is set in the same compare-and-set as
 * the key that crosses it), activated by its first key, blocked for good.
 */
import { CodedError } from '../../protocol/coded-error.ts';
import type { SeedVault } from '../server/seed-vault.ts';
import { auditEntry, type Actor, type NewAuditEntry } from '../store/audit.ts';
import { cardPairs, chooseChallenge, emptyUsedKeys, keyMatches, newCardSecret, newCardSerial, withKeyUsed, type CardPair } from './code-card.ts';
import { CARD_KEYS, type CodeCardChanges, type CodeCardRecord, type NewCodeCard, type PersonRecord, type ServiceStore } from './store/types.ts';
import { AccessEnds } from './access-ends.ts';
import { ALIVE_EXTRA_STATES } from './store/service-rows.ts';

export type CardReason = 'welcome' | 'threshold' | 'extra' | 'reissue';

export interface Challenge {
  readonly card: CodeCardRecord;
  /** The 4-digit number printed beside the key asked for. */
  readonly number: string;
  /** The person's other cards a key could come from (a new or extra card). */
  readonly otherCards: readonly string[];
}

export type KeyAnswer =
  | { readonly result: 'accepted'; readonly card: CodeCardRecord; readonly successor: boolean }
  | { readonly result: 'wrong' };

const MAX_ATTEMPTS = 8;

interface Made {
  readonly card: NewCodeCard;
  readonly audit: NewAuditEntry;
  readonly secret: Uint8Array;
}

export class CodeCards {
  constructor(
    private readonly store: ServiceStore,
    private readonly vault: SeedVault,
    private readonly now: () => number,
    private readonly accessEnds = new AccessEnds(),
  ) {}

  /** A new card for `person`: `welcome` and `reissue` cards are active at once (they are the only card), the others when their first key is used. */
  async issue(person: PersonRecord, reason: Exclude<CardReason, 'extra'>, actor: Actor): Promise<{ card: CodeCardRecord; pairs: CardPair[] }> {
    const made = await this.make(person, reason, actor);
    try {
      return { card: await this.store.insertCard(made.card, made.audit), pairs: cardPairs(made.secret) };
    } finally {
      made.secret.fill(0);
    }
  }

  /**
   * `count` extra cards for `person`, if the extra cards alive and these make at most `max`: the
   * store counts and inserts them in one atomic write (the limit holds across requests and nodes),
   * or inserts none and audits the refusal: then `refused`, with how many are alive; `changed` when
   * the person changed since it was read (a re-issue on another node, say), and nothing was inserted.
   */
  async issueExtra(person: PersonRecord, count: number, max: number, actor: Actor): Promise<{ issued: { card: CodeCardRecord; pairs: CardPair[] }[] } | { refused: true; alive: number } | { changed: true }> {
    const made: Made[] = [];
    try {
      for (let i = 0; i < count; i++) made.push(await this.make(person, 'extra', actor));
      const outcome = await this.store.insertExtraCards(
        person.id,
        person.version,
        made.map(({ card, audit }) => ({ card, audit })),
        max,
        (alive) => auditEntry(actor, 'card.extra', person.id, 'refused', { allowed: Math.max(0, max - alive), asked: count }, this.now()),
      );
      if (outcome.changed) return { changed: true };
      if (outcome.inserted.length === 0) return { refused: true, alive: outcome.alive };
      return { issued: outcome.inserted.map((card, i) => ({ card, pairs: cardPairs(made[i]!.secret) })) };
    } finally {
      for (const { secret } of made) secret.fill(0);
    }
  }

  /** A card's row and audit record, under a serial not taken yet, and its secret (the caller wipes it). */
  private async make(person: PersonRecord, reason: CardReason, actor: Actor): Promise<Made> {
    const secret = newCardSecret();
    for (let attempt = 0; ; attempt++) {
      const serial = newCardSerial();
      if (await this.store.getCard(serial)) {
        if (attempt >= MAX_ATTEMPTS) {
          secret.fill(0);
          throw new CodedError('NV_INTERNAL', 'could not find a free card number', 500);
        }
        continue;
      }
      return {
        secret,
        card: {
          serial,
          personId: person.id,
          sealedSecret: this.vault.seal('card-secret', serial, secret),
          state: reason === 'welcome' || reason === 'reissue' ? 'active' : 'issued',
          usedKeys: emptyUsedKeys(),
          keysLeft: CARD_KEYS,
          extra: reason === 'extra',
        },
        audit: auditEntry(actor, 'card.issue', serial, 'ok', { person: person.id, reason }, this.now()),
      };
    }
  }

  async get(serial: string): Promise<CodeCardRecord | undefined> {
    return this.store.getCard(serial);
  }

  /** A person's cards, newest first, whatever their state. */
  async ofPerson(personId: string): Promise<CodeCardRecord[]> {
    return this.store.listCards(personId);
  }

  /** The cards of a person a key may still come from: active or issued, with keys left. */
  async usable(personId: string): Promise<CodeCardRecord[]> {
    const cards = await this.store.listCards(personId);
    return cards.filter((card) => (card.state === 'active' || card.state === 'issued') && card.keysLeft > 0).reverse();
  }

  /**
   * The key to ask for: from `preferred` if it is usable, else the oldest active card, else the
   * newest issued one. The same key is asked for until it is answered.
   */
  async challenge(personId: string, preferred: string | null): Promise<Challenge> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const usable = await this.usable(personId);
      const card =
        usable.find((c) => c.serial === preferred) ?? usable.find((c) => c.state === 'active' && !c.extra) ?? usable.find((c) => c.state === 'active') ?? usable.at(-1);
      if (!card) throw new CodedError('NV_NO_CARD', 'there is no code card (nøglekort) with keys left; order a new one', 409);
      const otherCards = usable.filter((c) => c.serial !== card.serial).map((c) => c.serial);
      if (card.pendingIndex !== null) return { card, number: this.pairsOf(card)[card.pendingIndex]!.number, otherCards };
      const index = chooseChallenge(card.usedKeys);
      if (await this.store.updateCard(card.serial, card.version, { pendingIndex: index }, null)) {
        return { card: { ...card, pendingIndex: index, version: card.version + 1 }, number: this.pairsOf(card)[index]!.number, otherCards };
      }
    }
    throw new CodedError('NV_BUSY', 'the card is being used elsewhere; try again', 503);
  }

  /**
   * Checks `key` against the key asked for on `serial`. Accepted keys are used up in the same
   * compare-and-set that activates an issued card and, when the keys left reach `threshold`,
   * marks that a successor is due (`successor: true` to exactly one caller).
   */
  async answer(person: PersonRecord, serial: string, key: string, actor: Actor): Promise<KeyAnswer> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const card = await this.store.getCard(serial);
      if (!card || card.personId !== person.id || !(card.state === 'active' || card.state === 'issued') || card.pendingIndex === null) {
        return { result: 'wrong' };
      }
      const index = card.pendingIndex;
      if (!keyMatches(this.pairsOf(card), index, key)) return { result: 'wrong' };
      const keysLeft = card.keysLeft - 1;
      const successor = !card.extra && !card.successorIssued && keysLeft <= person.cardThreshold;
      const changes: CodeCardChanges = {
        usedKeys: withKeyUsed(card.usedKeys, index),
        keysLeft,
        pendingIndex: null,
        state: keysLeft === 0 ? 'used-up' : 'active',
        ...(card.state === 'issued' ? { activatedAt: this.now() } : {}),
        ...(successor ? { successorIssued: true } : {}),
      };
      const audit = auditEntry(actor, 'card.key', serial, 'accepted', { person: person.id, keysLeft, activated: card.state === 'issued' }, this.now());
      if (await this.store.updateCard(serial, card.version, changes, audit)) {
        if (card.state === 'issued' && !card.extra) await this.retireOthers(person.id, serial, actor);
        return { result: 'accepted', card: { ...card, ...changes, version: card.version + 1 } as CodeCardRecord, successor };
      }
    }
    throw new CodedError('NV_BUSY', 'the card is being used elsewhere; try again', 503);
  }

  /** Blocks (spærrer) a card for good. */
  async block(serial: string, actor: Actor, personId?: string): Promise<CodeCardRecord> {
    const card = await this.change(serial, personId, (card) => {
      if (card.state === 'blocked') return null;
      return { state: 'blocked', pendingIndex: null };
    }, actor, 'card.block');
    await this.accessEnds.ended(card.personId, 'card-blocked');
    return card;
  }

  /** Extra cards still alive (issued or active), for what the pages offer; the rule itself is the store's (`issueExtra`). */
  async extraAlive(personId: string): Promise<number> {
    return (await this.store.listCards(personId)).filter((c) => c.extra && (ALIVE_EXTRA_STATES as readonly string[]).includes(c.state)).length;
  }

  /** The card's pairs; the secret is wiped as soon as they are made. */
  pairsOf(card: CodeCardRecord): CardPair[] {
    const secret = this.vault.open('card-secret', card.serial, card.sealedSecret);
    try {
      return cardPairs(secret);
    } finally {
      secret.fill(0);
    }
  }

  /** A successor's first key retires the person's older non-extra cards. */
  private async retireOthers(personId: string, activated: string, actor: Actor): Promise<void> {
    for (const card of await this.store.listCards(personId)) {
      if (card.serial === activated || card.extra || !(card.state === 'active' || card.state === 'issued')) continue;
      await this.change(card.serial, personId, (c) => (c.state === 'active' || c.state === 'issued' ? { state: 'replaced', pendingIndex: null } : null), actor, 'card.replace');
    }
  }

  private async change(
    serial: string,
    personId: string | undefined,
    decide: (card: CodeCardRecord) => CodeCardChanges | null,
    actor: Actor,
    action: string,
  ): Promise<CodeCardRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const card = await this.store.getCard(serial);
      if (!card || (personId !== undefined && card.personId !== personId)) throw new CodedError('NV_NO_CARD', `no code card ${serial}`, 404);
      const changes = decide(card);
      if (!changes) return card;
      if (await this.store.updateCard(serial, card.version, changes, auditEntry(actor, action, serial, 'ok', { person: card.personId }, this.now()))) {
        return { ...card, ...changes, version: card.version + 1 } as CodeCardRecord;
      }
    }
    throw new CodedError('NV_BUSY', 'the card is being changed elsewhere; try again', 503);
  }
}
