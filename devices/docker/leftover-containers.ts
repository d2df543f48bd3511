import type Docker from 'dockerode';
import { removeContainer } from './create-container.ts';

/**
 * Containers whose removal failed because the engine did not answer (stopped, crashed, restarting).
 * Removal is retried in the background until the engine is back, so an engine that dies under a test
 * leaves no container behind once it returns; the reaper only runs when the agent itself restarts.
 */
export class LeftoverContainers {
  private readonly pending = new Map<string, Docker.Container>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly retryMs = 1000) {}

  get size(): number {
    return this.pending.size;
  }

  add(container: Docker.Container): void {
    this.pending.set(container.id, container);
    this.schedule();
  }

  /** One removal try for each; the ones that still fail stay for the next sweep. */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      for (const [id, container] of [...this.pending]) {
        try {
          await removeContainer(container);
          this.pending.delete(id);
        } catch {
          // the engine is still away
        }
      }
    })().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private schedule(): void {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      void this.sweep().then(() => {
        this.timer = null;
        this.schedule();
      });
    }, this.retryMs);
    // Pending removals alone must not keep a finished process alive.
    this.timer.unref();
  }

  /** A last try (bounded: a hung engine must not hold up the agent's shutdown), then stop retrying. */
  async dispose(lastTryMs = 5000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.sweep(), new Promise((r) => (timer = setTimeout(r, lastTryMs)))]);
      clearTimeout(timer);
    }
    this.pending.clear();
  }
}
