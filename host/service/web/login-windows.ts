/**
 * The login throttle's counting: one fixed window per key (a client address), and a hit counted
 * in it atomically, so concurrent hits each count once. On the embedded store the counts are this
 * process's (one node, one process); on PostgreSQL they are the database's
 * (postgres-login-windows.ts), so the limit holds for the whole cluster, not per node.
 */

/** A key's current window: when it started and how many hits it holds, this one included. */
export interface LoginWindow {
  readonly start: number;
  readonly count: number;
}

export interface LoginWindows {
  /**
   * Counts one hit on `key` at `now`: in its current window, or in a new one starting at `now`
   * when the last one (of `windowMs`) has ended. Answers the window with this hit counted.
   */
  hit(key: string, now: number, windowMs: number): Promise<LoginWindow>;
}

/** Keys remembered at most; past it, ended windows are swept. */
const MAX_KEYS = 100_000;

/** The counts in this process's memory. */
export class MemoryLoginWindows implements LoginWindows {
  private readonly windows = new Map<string, { start: number; count: number }>();

  async hit(key: string, now: number, windowMs: number): Promise<LoginWindow> {
    let window = this.windows.get(key);
    if (!window || now - window.start >= windowMs) {
      if (this.windows.size >= MAX_KEYS) this.sweep(now, windowMs);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    return { start: window.start, count: window.count };
  }

  private sweep(now: number, windowMs: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= windowMs) this.windows.delete(key);
  }
}
