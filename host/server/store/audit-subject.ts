/**
 * What an audit record is about: a token (its serial), a person (their NemID number), a code card,
 * a key file or an organisation. The store keeps the subject's id in the `serial` column, which
 * predates the login service, and its kind beside it. A writer may name the kind; records that
 * do not (and records written before the kind was kept) take it from their action.
 */
export type AuditSubjectKind = 'token' | 'nemid' | 'card' | 'key_file' | 'organisation';

export const AUDIT_SUBJECT_KINDS: readonly AuditSubjectKind[] = ['token', 'nemid', 'card', 'key_file', 'organisation'];

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
