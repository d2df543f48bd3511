/**
 * Counts failed attempts per key (a client IP) over a sliding window. In memory on purpose: one control
 * plane serves the API, and a restart forgetting the counts only gives a guesser a fresh minute.
 */
export class FailureWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    const kept = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (kept.length) this.hits.set(key, kept);
    else this.hits.delete(key);
    return kept;
  }

  blocked(key: string): boolean {
    return this.recent(key).length >= this.limit;
  }

  /** Seconds until the oldest failure leaves the window (for Retry-After). */
  retryAfterS(key: string): number {
    const oldest = this.recent(key)[0];
    return oldest === undefined ? 0 : Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  record(key: string): void {
    const kept = this.recent(key);
    kept.push(this.now());
    this.hits.set(key, kept);
    // Bounded memory under a spray of source addresses: drop the stalest keys.
    if (this.hits.size > 10_000) {
      for (const k of this.hits.keys()) {
        this.hits.delete(k);
        if (this.hits.size <= 5_000) break;
      }
    }
  }
}
