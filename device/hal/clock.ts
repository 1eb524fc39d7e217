/** Milliseconds since boot, and a wake-up request: the target posts a `tick` input once that time has come. */
export interface MonotonicClock {
  now(): number;
  /** Ask for a `tick` at or after `atMs`, replacing any earlier request; null cancels. */
  wakeAt(atMs: number | null): void;
}

/** The battery-backed real-time clock. It may drift; hosts set it. */
export interface RealTimeClock {
  /** Unix time in milliseconds as this clock counts it. */
  read(): number;
  write(unixMs: number): void;
}
