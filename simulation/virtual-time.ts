/**
 * The simulation's one clock. Each person's session runs in a context of its own that carries the
 * virtual instant it has reached; the validation server's `now` reads it from there. So sessions
 * of different tokens can be in flight together (the server's group commit then shares one fsync
 * between them) while every request is judged at the instant its session sent it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface Instant {
  ms: number;
}

export class VirtualTime {
  private readonly context = new AsyncLocalStorage<Instant>();
  /** The instant outside any session (setup, reports). */
  private outside: Instant;

  constructor(startMs: number) {
    this.outside = { ms: startMs };
  }

  /** The server's clock. */
  readonly now = (): number => (this.context.getStore() ?? this.outside).ms;

  /** Moves the current context's instant on (never back). */
  set(ms: number): void {
    const instant = this.context.getStore() ?? this.outside;
    if (ms > instant.ms) instant.ms = ms;
  }

  /** Runs a session that starts at `ms`. */
  run<T>(ms: number, session: () => Promise<T>): Promise<T> {
    return this.context.run({ ms }, session);
  }
}
