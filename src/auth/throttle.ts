// Sliding-window failure counter: at most `limit` failures per key within
// `windowMs`. Keys are "user:<name>" and "ip:<address>". Memory is bounded:
// old timestamps are dropped on every touch, and when too many keys exist the
// oldest-inserted are forgotten (an attacker cycling keys only gets back the
// throttling state of keys it already stopped using).

/** Failed logins per key ("user:<name>", "ip:<address>"): a FailureWindow, or one shared between worker processes. */
export interface FailureLog {
  isThrottled(key: string): boolean;
  record(key: string): void;
  clear(key: string): void;
}

export class FailureWindow implements FailureLog {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly maxKeys = 100_000,
  ) {}

  /** True when the key has reached the limit within the window. */
  isThrottled(key: string): boolean {
    return this.recent(key).length >= this.limit;
  }

  record(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.delete(key); // re-insert: Map order = least recently failed first
    this.failures.set(key, list);
    while (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  /** The failures still in the window, per key (for a worker process that starts again). */
  snapshot(): Array<[string, number[]]> {
    const out: Array<[string, number[]]> = [];
    for (const key of [...this.failures.keys()]) {
      const list = this.recent(key);
      if (list.length > 0) out.push([key, [...list]]);
    }
    return out;
  }

  /**
   * Takes a snapshot of the whole server's failures (the supervisor's, which
   * saw every worker's): per key, the longer of the two records wins. Not
   * their union: the same failure carries each process's own timestamp.
   */
  merge(entries: ReadonlyArray<readonly [string, readonly number[]]>): void {
    for (const [key, times] of entries) {
      if (times.length <= this.recent(key).length) continue;
      this.failures.delete(key);
      this.failures.set(key, [...times]);
      // Drops what fell out of the window meanwhile (recent() prunes in place).
      this.recent(key);
    }
    while (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value as string);
  }

  private recent(key: string): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const cutoff = this.now() - this.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop]! <= cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }
}
