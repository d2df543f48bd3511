/**
 * What stops a running test, and why. One controller stops it: a cancel broadcast aborts the controller
 * itself (the agent tracks it per run), and a lost lease or a lost queue lock abort it with their reason
 * (wired by hand: AbortSignal.any's per-call cost shows at hundreds of tests a second).
 */
export class AttemptStop {
  readonly controller = new AbortController();
  private cause: 'lease' | 'lock' | null = null;
  private readonly detachers: (() => void)[] = [];

  constructor(leaseLost: AbortSignal, lockLost: AbortSignal) {
    this.follow(leaseLost, 'lease');
    this.follow(lockLost, 'lock');
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The device's lease was lost while the test ran (another holder may have the device now). */
  get leaseLost(): boolean {
    return this.cause === 'lease';
  }

  /** The job's queue lock was lost: the job may go to another device; not a test result. */
  get lockLost(): boolean {
    return this.cause === 'lock';
  }

  /** Stopped by a cancel (not by a lost lease or lock). */
  get cancelled(): boolean {
    return this.signal.aborted && this.cause === null;
  }

  /** The test is over: the lease and the lock no longer stop anything. */
  detach(): void {
    for (const detach of this.detachers) detach();
    this.detachers.length = 0;
  }

  private follow(source: AbortSignal, cause: 'lease' | 'lock'): void {
    const onAbort = () => {
      if (this.controller.signal.aborted) return;
      this.cause = cause;
      this.controller.abort(source.reason);
    };
    if (source.aborted) {
      onAbort();
      return;
    }
    source.addEventListener('abort', onAbort, { once: true });
    this.detachers.push(() => source.removeEventListener('abort', onAbort));
  }
}
