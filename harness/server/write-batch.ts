interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Groups the control plane's store writes that arrive in the same turn of the event loop (reports and
 * start messages of many devices) into one outer transaction: one commit for the group instead of one
 * per message. Each write still runs in its own nested transaction (a savepoint), so one that throws
 * rolls back alone and rejects alone; the others commit.
 */
export class WriteBatch {
  private pending: Pending[] = [];
  private scheduled = false;

  /**
   * @param outer runs the whole group, e.g. the event bus's batch around a store transaction.
   * @param inner runs one write, e.g. a nested store transaction.
   */
  constructor(
    private readonly outer: (group: () => void) => void,
    private readonly inner: <T>(write: () => T) => T,
  ) {}

  /** Resolves with the write's result once the group it joined has committed. */
  submit<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const group = this.pending;
    this.pending = [];
    this.scheduled = false;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.outer(() => {
        for (const item of group) {
          try {
            outcomes.push({ ok: true, value: this.inner(item.write) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed: nothing of the group was written.
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
