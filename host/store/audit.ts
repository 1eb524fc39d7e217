/**
 * The audit log the token service and the login service write alike: who did what to which
 * subject, when, with what result. Each store writes a change's record in the same transaction as
 * the change; this is the record, its filter, and what a subject is.
 *
 * What a record is about: a token (its serial), a person (their NemID number), a code card, a key
 * file or an organisation. The subject's id is kept in the `serial` column, which predates the
 * login service, and its kind beside it. A writer may name the kind; records that do not (and
 * records written before the kind was kept) take it from their action.
 */
export type AuditSubjectKind = 'token' | 'nemid' | 'card' | 'key_file' | 'organisation';

export const AUDIT_SUBJECT_KINDS: readonly AuditSubjectKind[] = ['token', 'nemid', 'card', 'key_file', 'organisation'];

export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  /** Who: `admin`, `client`, `bridge`, `system`, or an API key's name. */
  readonly actor: string;
  readonly action: string;
  /** The subject's id (a token serial, a NemID number, a card serial, a key file's or organisation's id); the column predates the service. */
  readonly serial: string | null;
  /** What `serial` names; null when there is no subject. */
  readonly subjectKind: AuditSubjectKind | null;
  readonly result: string;
  /** More about it, never a seed or a code that was accepted. */
  readonly detail: Readonly<Record<string, string | number | boolean | null | undefined>>;
}

/** A record to write: the subject's kind may be left to the store, which takes it from the action. */
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'subjectKind'> & { readonly subjectKind?: AuditSubjectKind };

export interface AuditFilter {
  /** The subject's id, whatever its kind. */
  readonly serial?: string;
  readonly action?: string;
  /** Paging: records with a higher id (oldest first) or a lower one (newest first). */
  readonly afterId?: number;
  readonly beforeId?: number;
  /** Unix ms: records made at or after it. */
  readonly since?: number;
  /** Oldest first (the default) or newest first. */
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
}

/** The token service's actions: all about one token. */
const TOKEN_ACTIONS = new Set([
  'enroll',
  'verify',
  'resync',
  'disable',
  'enable',
  'unlock',
  'revoke',
  'lost',
  'assign',
  'delete',
  'issue_replacement',
  'sync_counter',
  'reset_drift',
]);

/** Service actions named after a credential whose subject is nevertheless the person (an extra card ordered, a key file issued). */
const PERSON_ACTIONS = new Set(['card.extra', 'key-file.issue']);

/** The kind of subject an action is about (service actions are `area.verb`: person., login., card., key-file., organisation.). */
export function subjectKindOfAction(action: string): AuditSubjectKind {
  if (TOKEN_ACTIONS.has(action)) return 'token';
  if (PERSON_ACTIONS.has(action)) return 'nemid';
  const area = action.split('.')[0]!;
  if (area === 'card') return 'card';
  if (area === 'key-file') return 'key_file';
  if (area === 'organisation') return 'organisation';
  return area === 'person' || area === 'login' ? 'nemid' : 'token';
}

/** Who asked, for the audit log: an API key's name or a person's session, where the request came from, and the organisation an administrator acted for. */
export interface Actor {
  readonly name: string;
  readonly ip?: string;
  readonly organisationId?: string | null;
}

/** The one way an audit record is made: the actor's address and organisation go in its detail. */
export function auditEntry(
  actor: Actor,
  action: string,
  subject: string | null,
  result: string,
  detail: NewAuditEntry['detail'] = {},
  at = Date.now(),
  subjectKind?: AuditSubjectKind,
): NewAuditEntry {
  return {
    at,
    actor: actor.name,
    action,
    serial: subject,
    ...(subjectKind ? { subjectKind } : {}),
    result,
    detail: { ...detail, ...(actor.ip ? { ip: actor.ip } : {}), ...(actor.organisationId ? { organisation: actor.organisationId } : {}) },
  };
}
