/**
 * Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie (Secure unless switched off
 * for plain-HTTP lab use), kept in the store as its SHA-256 only. A session is renewed with a fresh
 * id at every step of a login, so an id seen before step 1 is worth nothing after it. Each session
 * carries the CSRF token its forms and JSON calls must echo.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { SessionChanges, SessionRecord, SessionStage } from '../store/types.ts';
import type { SessionStore } from '../store/types.ts';

export const SESSION_COOKIE = 'nv_session';

export interface SessionOptions {
  readonly idleMs: number;
  /** Mark the cookie Secure (browsers keep Secure cookies on http://127.0.0.1 and localhost too). */
  readonly secureCookies: boolean;
  readonly now: () => number;
}

export class Sessions {
  /** Requests whose cookie named a session that is no longer live (expired, or ended elsewhere). */
  private readonly stale = new WeakSet<FastifyRequest>();

  constructor(
    private readonly store: SessionStore,
    private readonly options: SessionOptions,
  ) {}

  /** The request's session, if its cookie names a live one; its expiry moves on. */
  async load(request: FastifyRequest): Promise<SessionRecord | undefined> {
    const value = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) return undefined;
    const now = this.options.now();
    const session = await this.store.getSession(digestOf(value), now);
    if (!session) this.stale.add(request);
    if (session && session.expiresAt - now < this.options.idleMs / 2) {
      await this.store.updateSession(session.digest, { expiresAt: now + this.options.idleMs });
    }
    return session;
  }

  /** After `load`: whether the request came with the cookie of a session that has expired (or was ended) since. */
  expired(request: FastifyRequest): boolean {
    return this.stale.has(request);
  }

  /** A new session (and cookie) at `stage`, ending `previous` if there was one. */
  async start(reply: FastifyReply, stage: SessionStage, personId: string | null, previous?: SessionRecord, changes: SessionChanges = {}): Promise<SessionRecord> {
    if (previous) await this.store.deleteSession(previous.digest);
    const value = randomBytes(32).toString('base64url');
    const now = this.options.now();
    const session: SessionRecord = {
      digest: digestOf(value),
      stage,
      personId,
      csrfToken: randomBytes(24).toString('base64url'),
      challenge: null,
      cardSerial: null,
      refusals: 0,
      createdAt: now,
      expiresAt: now + this.options.idleMs,
      ...changes,
    };
    await this.store.insertSession(session);
    reply.header('set-cookie', this.cookie(value));
    return session;
  }

  async update(session: SessionRecord, changes: SessionChanges): Promise<SessionRecord> {
    await this.store.updateSession(session.digest, changes);
    return { ...session, ...changes };
  }

  /** Ends every other session of the session's person (a lost card or a changed password: a thief's too). */
  async endOthers(session: SessionRecord & { personId: string }): Promise<void> {
    await this.store.deleteSessionsOf(session.personId, session.digest);
  }

  /** Takes one of the `max` refusals this session may be given (see SessionStore): the number taken, or undefined when none is left. */
  async takeRefusal(session: SessionRecord, max: number): Promise<number | undefined> {
    return this.store.takeSessionRefusal(session.digest, max);
  }

  async giveBackRefusal(session: SessionRecord): Promise<void> {
    await this.store.returnSessionRefusal(session.digest);
  }

  async end(reply: FastifyReply, session: SessionRecord | undefined): Promise<void> {
    if (session) await this.store.deleteSession(session.digest);
    reply.header('set-cookie', this.cookie('', 0));
  }

  /**
   * A live session's cookie lasts as long as the browser runs (the store decides when the session
   * ends, and moves that on while it is used), so a request after the end still names it and can
   * be told the session expired. `maxAgeSeconds` 0 deletes it.
   */
  private cookie(value: string, maxAgeSeconds?: 0): string {
    return `${SESSION_COOKIE}=${value}; Path=/;${maxAgeSeconds === undefined ? '' : ` Max-Age=${maxAgeSeconds};`} HttpOnly; SameSite=Strict${this.options.secureCookies ? '; Secure' : ''}`;
  }
}

/** What a state-changing request without its session's CSRF token is told. */
export const CSRF_REFUSED = () => new CodedError('NV_CSRF', 'The form is missing its CSRF token or has expired; reload the page and try again.', 403);

/** What a request with the cookie of a session that is no longer live is told (a page route sends the person to /login, which says it). */
export const SESSION_EXPIRED = () => new CodedError('NV_SESSION_EXPIRED', 'Your session has expired. Log in again to continue.', 401);

/** Throws 403 NV_CSRF unless `given` is the session's CSRF token. */
export function checkCsrf(session: Pick<SessionRecord, 'csrfToken'> | undefined, given: unknown): void {
  if (!session || typeof given !== 'string' || given.length === 0) throw CSRF_REFUSED();
  const expected = Buffer.from(session.csrfToken);
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw CSRF_REFUSED();
}

function digestOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
