interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Groups the control plane's store writes that arrive in the same turn of the event loop (reports and
 * start messages of many devices) into one transaction: one commit for the group instead of one per
 * message. If one write of the group throws, the group is rolled back and every write runs again in a
 * transaction of its own, so the one that throws rejects alone and the others commit. (Writes are
 * functions of the store and their message, so running one again after a rollback is safe.)
 */
export class WriteBatch {
  private pending: Pending[] = [];
  private scheduled = false;

  /**
   * @param transaction runs writes in one transaction (e.g. the event bus's batch around a store
   *   transaction): all of them commit, or none if it throws.
   */
  constructor(private readonly transaction: <T>(writes: () => T) => T) {}

  /** Resolves with the write's result once the transaction it joined has committed. */
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
    let values: unknown[];
    try {
      values = this.transaction(() => group.map((item) => item.write()));
    } catch {
      // Rolled back as a whole: one at a time, each in its own transaction.
      for (const item of group) {
        try {
          item.resolve(this.transaction(item.write));
        } catch (error) {
          item.reject(error);
        }
      }
      return;
    }
    for (const [i, item] of group.entries()) item.resolve(values[i]);
  }
}
