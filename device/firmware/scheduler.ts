/** The firmware's timers: named deadlines on the monotonic clock, fired in deadline order. */
export class Scheduler<Name extends string> {
  private readonly deadlines = new Map<Name, number>();

  set(name: Name, atMs: number): void {
    this.deadlines.set(name, atMs);
  }

  cancel(name: Name): void {
    this.deadlines.delete(name);
  }

  /** Removes and returns the earliest timer due at `nowMs`, if any. */
  takeDue(nowMs: number): Name | undefined {
    let earliest: Name | undefined;
    let earliestAt = Infinity;
    for (const [name, at] of this.deadlines) {
      if (at <= nowMs && at < earliestAt) {
        earliest = name;
        earliestAt = at;
      }
    }
    if (earliest !== undefined) this.deadlines.delete(earliest);
    return earliest;
  }

  next(): number | null {
    let earliest: number | null = null;
    for (const at of this.deadlines.values()) if (earliest === null || at < earliest) earliest = at;
    return earliest;
  }
}
