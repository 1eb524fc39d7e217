/**
 * The login service's rows as both drivers read them (the same tables and columns on SQLite and
 * on PostgreSQL): their types, the table shapes the compare-and-set writes by, and the records they
 * become. Booleans are kept as 0/1 integers on both, so that a table copies column for column.
 */
import type {
  CodeCardChanges,
  CodeCardRecord,
  KeyFileChanges,
  KeyFileRecord,
  OrganisationRecord,
  PersonChanges,
  PersonRecord,
  SessionChanges,
  SessionRecord,
} from './types.ts';

/** A table the compare-and-set writes: its key and each change's column (both databases take this shape). */
interface TableShape {
  readonly table: string;
  readonly key: string;
  readonly columns: Readonly<Record<string, string>>;
}

export interface OrganisationRow {
  id: string;
  cvr: string;
  name: string;
  created_at: number;
}

export interface PersonRow {
  id: string;
  user_id: string | null;
  name: string;
  cpr_digest: string | null;
  birth_date: string | null;
  scope: string;
  organisation_id: string | null;
  role: string | null;
  password_hash: string | null;
  password_temporary: number;
  state: string;
  fail_count: number;
  card_threshold: number;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  version: number;
}

export interface CardRow {
  serial: string;
  person_id: string;
  sealed_secret: Buffer;
  state: string;
  used_keys: Buffer;
  keys_left: number;
  pending_index: number | null;
  extra: number;
  successor_issued: number;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  version: number;
}

export interface KeyFileRow {
  id: string;
  person_id: string;
  state: string;
  activation_digest: string | null;
  activation_expires_at: number | null;
  public_key: Buffer | null;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  version: number;
}

export interface SessionRow {
  digest: string;
  stage: string;
  person_id: string | null;
  csrf_token: string;
  challenge: string | null;
  card_serial: string | null;
  created_at: number;
  expires_at: number;
  refusals: number;
}

// Blobs come back as Buffers; records carry plain Uint8Arrays (a copy), as the token records do.
export const toOrganisation = (row: OrganisationRow): OrganisationRecord => ({ id: row.id, cvr: row.cvr, name: row.name, createdAt: row.created_at });

export const toPerson = (row: PersonRow): PersonRecord => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  cprDigest: row.cpr_digest,
  birthDate: row.birth_date,
  scope: row.scope as PersonRecord['scope'],
  organisationId: row.organisation_id,
  role: row.role as PersonRecord['role'],
  passwordHash: row.password_hash,
  passwordTemporary: row.password_temporary === 1,
  state: row.state as PersonRecord['state'],
  failCount: row.fail_count,
  cardThreshold: row.card_threshold,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastLoginAt: row.last_login_at,
  version: row.version,
});

export const toCard = (row: CardRow): CodeCardRecord => ({
  serial: row.serial,
  personId: row.person_id,
  sealedSecret: new Uint8Array(row.sealed_secret),
  state: row.state as CodeCardRecord['state'],
  usedKeys: new Uint8Array(row.used_keys),
  keysLeft: row.keys_left,
  pendingIndex: row.pending_index,
  extra: row.extra === 1,
  successorIssued: row.successor_issued === 1,
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  updatedAt: row.updated_at,
  version: row.version,
});

export const toKeyFile = (row: KeyFileRow): KeyFileRecord => ({
  id: row.id,
  personId: row.person_id,
  state: row.state as KeyFileRecord['state'],
  activationDigest: row.activation_digest,
  activationExpiresAt: row.activation_expires_at,
  publicKey: row.public_key && new Uint8Array(row.public_key),
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  updatedAt: row.updated_at,
  version: row.version,
});

export const toSession = (row: SessionRow): SessionRecord => ({
  digest: row.digest,
  stage: row.stage as SessionRecord['stage'],
  personId: row.person_id,
  csrfToken: row.csrf_token,
  challenge: row.challenge,
  cardSerial: row.card_serial,
  refusals: row.refusals,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

export const PEOPLE: TableShape = {
  table: 'people',
  key: 'id',
  columns: {
    userId: 'user_id',
    passwordHash: 'password_hash',
    passwordTemporary: 'password_temporary',
    state: 'state',
    failCount: 'fail_count',
    cardThreshold: 'card_threshold',
    lastLoginAt: 'last_login_at',
    role: 'role',
  } satisfies Record<keyof PersonChanges, string>,
};

export const CARDS: TableShape = {
  table: 'code_cards',
  key: 'serial',
  columns: {
    state: 'state',
    usedKeys: 'used_keys',
    keysLeft: 'keys_left',
    pendingIndex: 'pending_index',
    successorIssued: 'successor_issued',
    activatedAt: 'activated_at',
  } satisfies Record<keyof CodeCardChanges, string>,
};

export const KEY_FILES: TableShape = {
  table: 'key_files',
  key: 'id',
  columns: {
    state: 'state',
    activationDigest: 'activation_digest',
    activationExpiresAt: 'activation_expires_at',
    publicKey: 'public_key',
    activatedAt: 'activated_at',
  } satisfies Record<keyof KeyFileChanges, string>,
};

export const SESSIONS: TableShape = {
  table: 'sessions',
  key: 'digest',
  columns: {
    stage: 'stage',
    personId: 'person_id',
    challenge: 'challenge',
    cardSerial: 'card_serial',
    expiresAt: 'expires_at',
  } satisfies Record<keyof SessionChanges, string>,
};

/** A change with its booleans as the 0/1 the tables keep (SQLite's sqlValue does this itself). */
export function withIntegerFlags<T extends object>(changes: T): T {
  return Object.fromEntries(Object.entries(changes).map(([field, value]) => [field, typeof value === 'boolean' ? (value ? 1 : 0) : value])) as T;
}

/** The extra cards a person may have alive at a time (ordered, not yet used up, replaced or blocked) count these states. */
export const ALIVE_EXTRA_STATES = ['issued', 'active'] as const;
