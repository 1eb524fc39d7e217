/**
 * What the login service keeps (people, their code cards and key files, organisations, login
 * sessions), behind one interface so that the SQLite store and a PostgreSQL store are
 * interchangeable; in the embedded setup its tables share one file with the tokens' (see
 * host/store/sqlite-database.ts). Every change to a person or a card is a compare-and-set on its
 * `version`, like a token's; a wrong password or key is counted by an atomic increment; a change
 * and its audit record are written in one transaction. A store refuses with its own errors
 * (`DuplicatePersonError`, `DuplicateOrganisationError`), never with an answer for HTTP. Nothing here holds a secret in the clear:
 * passwords are scrypt hashes, card secrets are sealed by the seed vault, a key file's private key
 * never reaches the server (only its public key), and session ids and activation codes are kept
 * as SHA-256 digests.
 */
import type { NewAuditEntry } from '../../store/audit.ts';

/** What a login may do, as the seed's eligibility rules give it. */
export type Scope = 'full' | 'view-only' | 'bank-only';

/** `pending`: ordered, the temporary password not yet replaced; `locked`: too many failures; `blocked` (spærret): on suspected misuse. */
export type PersonState = 'pending' | 'active' | 'locked' | 'blocked';

/** An employee's place in an organisation (medarbejdersignatur). */
export type OrganisationRole = 'employee' | 'administrator';

export interface PersonRecord {
  /** The NemID number (10 digits), in the welcome letter; never changes. It logs in until a user-id is chosen, and after. */
  readonly id: string;
  /** Chosen by the person at first login (case-insensitively unique, never all digits); null until then. */
  readonly userId: string | null;
  readonly name: string;
  /** HMAC-SHA256 of the CPR number under a key derived from the master key (one person per CPR); null without one. */
  readonly cprDigest: string | null;
  /** ISO date (YYYY-MM-DD) from the CPR number, or given at ordering without one; null for an employee ordered without either. */
  readonly birthDate: string | null;
  readonly scope: Scope;
  readonly organisationId: string | null;
  readonly role: OrganisationRole | null;
  /** `scrypt$…` (see passwords.ts); null for a key-file employee, who has no password at the service. */
  readonly passwordHash: string | null;
  /** True until the person chooses their own password at first login. */
  readonly passwordTemporary: boolean;
  readonly state: PersonState;
  /** Wrong passwords and wrong keys since the last success (both steps count alike). */
  readonly failCount: number;
  /** A new card is sent when the active card's keys left reach this. */
  readonly cardThreshold: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastLoginAt: number | null;
  readonly version: number;
}

export type NewPerson = Omit<PersonRecord, 'version' | 'createdAt' | 'updatedAt' | 'lastLoginAt' | 'failCount'>;
export type PersonChanges = Partial<
  Pick<PersonRecord, 'userId' | 'passwordHash' | 'passwordTemporary' | 'state' | 'failCount' | 'cardThreshold' | 'lastLoginAt' | 'role'>
>;

/**
 * A code card (nøglekort). `issued`: in the outbox, not yet used (becomes `active` with its first
 * key); `active`: in use; `used-up`: no keys left; `replaced`: a newer card was activated;
 * `blocked` (spærret): never accepted again.
 */
export type CardState = 'issued' | 'active' | 'used-up' | 'replaced' | 'blocked';
export const CARD_KEYS = 148;

export interface CodeCardRecord {
  /** Printed on the card, e.g. `K123-456-789`. */
  readonly serial: string;
  readonly personId: string;
  /** The card's 32-byte secret, sealed by the seed vault as a card secret under its serial. Its keys derive from it. */
  readonly sealedSecret: Uint8Array;
  readonly state: CardState;
  /** One bit per key index (0…147), set once the key is used. 19 bytes. */
  readonly usedKeys: Uint8Array;
  readonly keysLeft: number;
  /** The key index the service asked for and has not had answered yet (it asks for the same one until it is). */
  readonly pendingIndex: number | null;
  /** Ordered by an administrator as an extra card (at most 3 not yet activated at a time). */
  readonly extra: boolean;
  /** The threshold successor was issued for this card (so it is issued exactly once). */
  readonly successorIssued: boolean;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly updatedAt: number;
  readonly version: number;
}

export type NewCodeCard = Omit<CodeCardRecord, 'version' | 'createdAt' | 'updatedAt' | 'activatedAt' | 'pendingIndex' | 'successorIssued'>;
/** What `insertExtraCards` did: the cards it inserted (none when refused) and the extra cards alive after. */
export interface ExtraCardsOutcome {
  readonly inserted: readonly CodeCardRecord[];
  readonly alive: number;
  /** True when the person was no longer at the version the order saw (re-issued, blocked… meanwhile): nothing inserted, nothing audited. */
  readonly changed?: true;
}

export type CodeCardChanges = Partial<Pick<CodeCardRecord, 'state' | 'usedKeys' | 'keysLeft' | 'pendingIndex' | 'successorIssued' | 'activatedAt'>>;

/** `awaiting-activation`: issued, the activation code not yet used; `active`; `blocked` (spærret). */
export type KeyFileState = 'awaiting-activation' | 'active' | 'blocked';

export interface KeyFileRecord {
  readonly id: string;
  readonly personId: string;
  readonly state: KeyFileState;
  /** SHA-256 (hex) of the one-time activation code in the welcome letter; null once used. */
  readonly activationDigest: string | null;
  /** Unix ms after which the activation code no longer works. */
  readonly activationExpiresAt: number | null;
  /** The ECDSA P-256 public key (SPKI DER) made in the employee's browser; null before activation. */
  readonly publicKey: Uint8Array | null;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly updatedAt: number;
  readonly version: number;
}

export type NewKeyFile = Pick<KeyFileRecord, 'id' | 'personId' | 'activationDigest' | 'activationExpiresAt'>;
export type KeyFileChanges = Partial<Pick<KeyFileRecord, 'state' | 'activationDigest' | 'activationExpiresAt' | 'publicKey' | 'activatedAt'>>;

export interface OrganisationRecord {
  readonly id: string;
  /** 8 digits, modulus-11 checked. Unique. */
  readonly cvr: string;
  readonly name: string;
  readonly createdAt: number;
}

/**
 * A browser's session. `anonymous`: before step 1 (it still carries a CSRF token); `second-step`:
 * the password was right, a key is due; `choose-credentials`: first login, a user-id and password
 * are due; `authenticated`.
 */
export type SessionStage = 'anonymous' | 'second-step' | 'choose-credentials' | 'authenticated';

export interface SessionRecord {
  /** SHA-256 (hex) of the cookie's value. */
  readonly digest: string;
  readonly stage: SessionStage;
  readonly personId: string | null;
  /** The CSRF token every form and JSON call of this session must echo. */
  readonly csrfToken: string;
  /** Key-file login: the challenge the browser must sign (base64url), once. */
  readonly challenge: string | null;
  /** Step 2 with a card: which card the person chose (null: the service's choice). */
  readonly cardSerial: string | null;
  /** First login: the refusals this stage has used (a user-id taken), see `takeSessionRefusal`. */
  readonly refusals: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type SessionChanges = Partial<Pick<SessionRecord, 'stage' | 'personId' | 'challenge' | 'cardSerial' | 'expiresAt'>>;

/** The browser sessions, a part of the service's store the web layer keeps its sessions in. */
export interface SessionStore {
  insertSession(session: SessionRecord): Promise<void>;
  /** Undefined for an unknown or expired session. */
  getSession(digest: string, now: number): Promise<SessionRecord | undefined>;
  updateSession(digest: string, changes: SessionChanges): Promise<void>;
  deleteSession(digest: string): Promise<void>;
  /**
   * Takes one of the `max` refusals a session may be given, before the attempt that may be refused
   * (atomic, so requests racing each other cannot share one): the number taken now, or undefined
   * when all are used (or the session is gone).
   */
  takeSessionRefusal(digest: string, max: number): Promise<number | undefined>;
  /** Gives back a refusal taken for an attempt that was not refused after all. */
  returnSessionRefusal(digest: string): Promise<void>;
  /** Ends every session of a person (on blocking, password change…), but `except` (a digest) if given. */
  deleteSessionsOf(personId: string, except?: string): Promise<void>;
}

export interface ServiceStore extends SessionStore {
  /** Throws `DuplicateOrganisationError` for a CVR number already registered. */
  insertOrganisation(organisation: OrganisationRecord, audit: NewAuditEntry): Promise<void>;
  getOrganisation(id: string): Promise<OrganisationRecord | undefined>;
  getOrganisationByCvr(cvr: string): Promise<OrganisationRecord | undefined>;

  /** Throws `DuplicatePersonError` for a CPR digest or user-id already taken. */
  insertPerson(person: NewPerson, audit: NewAuditEntry): Promise<PersonRecord>;
  getPerson(id: string): Promise<PersonRecord | undefined>;
  /** Case-insensitive. */
  getPersonByUserId(userId: string): Promise<PersonRecord | undefined>;
  listPeople(filter: { readonly organisationId?: string; readonly limit?: number; readonly offset?: number }): Promise<PersonRecord[]>;
  /** Compare-and-set on `version`; false when someone changed the person first. Throws `DuplicatePersonError` for a user-id taken. */
  updatePerson(id: string, expectedVersion: number, changes: PersonChanges, audit: NewAuditEntry | null): Promise<boolean>;
  /**
   * Counts a wrong password or key: fail count + 1, and a `pending` or `active` person whose count
   * reaches `maxFail` becomes `locked`. Atomic, with the audit made from the counted person.
   */
  recordPersonFailure(id: string, maxFail: number, audit: (counted: PersonRecord) => NewAuditEntry): Promise<PersonRecord | undefined>;

  insertCard(card: NewCodeCard, audit: NewAuditEntry): Promise<CodeCardRecord>;
  /**
   * The extra-card limit as the database's rule: inserts `cards` (extra cards of `personId`, each
   * with its audit record) only if the person's extra cards alive (`issued` or `active`) and these
   * make at most `max`; else inserts none and appends `refused(alive)` instead. Atomic: orders for
   * one person, on any node, take turns, each counting what the one before inserted; and only
   * while the person is at `expectedVersion` (an order that raced a re-issue inserts nothing).
   */
  insertExtraCards(
    personId: string,
    expectedVersion: number,
    cards: readonly { readonly card: NewCodeCard; readonly audit: NewAuditEntry }[],
    max: number,
    refused: (alive: number) => NewAuditEntry,
  ): Promise<ExtraCardsOutcome>;
  getCard(serial: string): Promise<CodeCardRecord | undefined>;
  /** Newest first. */
  listCards(personId: string): Promise<CodeCardRecord[]>;
  updateCard(serial: string, expectedVersion: number, changes: CodeCardChanges, audit: NewAuditEntry | null): Promise<boolean>;

  insertKeyFile(keyFile: NewKeyFile, audit: NewAuditEntry): Promise<KeyFileRecord>;
  getKeyFile(id: string): Promise<KeyFileRecord | undefined>;
  listKeyFiles(personId: string): Promise<KeyFileRecord[]>;
  /** The key file awaiting the activation code with this digest. */
  getKeyFileByActivation(activationDigest: string): Promise<KeyFileRecord | undefined>;
  updateKeyFile(id: string, expectedVersion: number, changes: KeyFileChanges, audit: NewAuditEntry | null): Promise<boolean>;

  /** An audit record of its own, for what changed nothing (a refusal, a failed login). */
  appendAudit(entry: NewAuditEntry): Promise<void>;
}

export class DuplicateOrganisationError extends Error {
  constructor(readonly cvr: string) {
    super(`an organisation with CVR number ${cvr} is already registered`);
    this.name = 'DuplicateOrganisationError';
  }
}

export class DuplicatePersonError extends Error {
  constructor(readonly field: 'cpr' | 'userId') {
    super(field === 'cpr' ? 'a person with this CPR number already has a credential' : 'this user-id is taken');
    this.name = 'DuplicatePersonError';
  }
}
