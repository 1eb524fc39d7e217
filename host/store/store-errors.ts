/**
 * What a store raises when the database itself fails it, as opposed to a refusal of the data
 * (those are each store's own errors). A store reaches no HTTP and no coded error (the
 * architecture test): the HTTP layer answers these as NV_STORE_UNAVAILABLE (503), the start as
 * NV_BAD_DB.
 */

/**
 * No database server takes writes just now, or the connection to it failed or did not answer: the
 * request may be tried again shortly. The message, which a client sees, names no host; `cause` says
 * what happened, for the operator's log. A write whose connection broke mid-way may have committed.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'NV_STORE_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A database setting (a connection URL, a `--db` value) that cannot name a database; the message says why. */
export class BadDatabaseSettingError extends Error {
  readonly code = 'NV_BAD_DB';
  constructor(message: string) {
    super(message);
    this.name = 'BadDatabaseSettingError';
  }
}
