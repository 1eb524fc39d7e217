/**
 * The login steps' rate limit: one fixed one-minute window per client address, shared by every
 * route that checks a password, a key, a signature or an activation code (so ten login routes do
 * not make ten allowances), and on whatever the server's general rate limit is set to.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';

const WINDOW_MS = 60_000;
/** Addresses remembered at most; past it, finished windows are swept. */
const MAX_ADDRESSES = 100_000;

export class LoginThrottle {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fastify onRequest hook: 429 NV_RATE_LIMITED once an address has used its attempts for this minute. */
  readonly hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const now = this.now();
    let window = this.windows.get(request.ip);
    if (!window || now - window.start >= WINDOW_MS) {
      if (this.windows.size >= MAX_ADDRESSES) this.sweep(now);
      window = { start: now, count: 0 };
      this.windows.set(request.ip, window);
    }
    window.count++;
    if (window.count > this.perMinute) {
      const retry = Math.ceil((window.start + WINDOW_MS - now) / 1000);
      reply.header('retry-after', String(retry));
      throw new CodedError('NV_RATE_LIMITED', `Too many login attempts from your address; try again in ${retry} s.`, 429);
    }
  };

  private sweep(now: number): void {
    for (const [address, window] of this.windows) if (now - window.start >= WINDOW_MS) this.windows.delete(address);
  }
}

/** The route option that puts a route under the login throttle. */
export interface LoginLimit {
  readonly onRequest: LoginThrottle['hook'];
}
