/**
 * The login steps' rate limit: one fixed one-minute window per client address, shared by every
 * route that checks a password, a key, a signature or an activation code (so ten login routes do
 * not make ten allowances), and on whatever the server's general rate limit is set to. The
 * counts are kept by a `LoginWindows`: on PostgreSQL the database's, so the limit holds for the
 * cluster (the API's per-key rate limit stays per node).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import { MemoryLoginWindows, type LoginWindows } from './login-windows.ts';

const WINDOW_MS = 60_000;

export class LoginThrottle {
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    /** Where the hits are counted: this process's memory by default; the database's for a cluster. */
    private readonly windows: LoginWindows = new MemoryLoginWindows(),
  ) {}

  /** A fastify onRequest hook: 429 NV_RATE_LIMITED once an address has used its attempts for this minute. */
  readonly hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const now = this.now();
    const window = await this.windows.hit(request.ip, now, WINDOW_MS);
    if (window.count > this.perMinute) {
      const retry = Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000));
      reply.header('retry-after', String(retry));
      throw new CodedError('NV_RATE_LIMITED', `Too many login attempts from your address; try again in ${retry} s.`, 429);
    }
  };
}

/** The route option that puts a route under the login throttle. */
export interface LoginLimit {
  readonly onRequest: LoginThrottle['hook'];
}
