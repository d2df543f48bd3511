import type { Logger } from 'pino';
import { ALL_PARTNERS } from '../protocol/all-partners.ts';
import { isTestFailureName } from '../protocol/verdict.ts';
import type { StoredEvent } from '../store/events-repo.ts';
import type { HookEvent, HookRow, HooksRepo } from '../store/hooks-repo.ts';
import type { RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { type FailingPair, failedJob, type HookPayload, type RunSummary, runSummary } from './payload.ts';
import { githubStatus, spinnakerTrigger } from './targets.ts';

export interface HookEventsDeps {
  store: Store;
  repo: HooksRepo;
  logger: Logger;
  /** The control plane's URL as receivers reach it (links in a delivery). */
  baseUrl: () => string;
  /** See HookServiceDeps.selectTests. */
  selectTests?: ((query: string, historyPartner: string) => readonly { id: string }[]) | undefined;
  /** Sends a delivery just recorded. */
  enqueue: (deliveryId: string) => Promise<void>;
}

/**
 * Which deliveries a control-plane event makes: a run queued (`run.started`), a run over (`run.finished`,
 * and `run.failed` when it failed or errored), a job that failed (`job.failed`). Each goes to the live
 * hooks of the run's partner and the admins' hooks, filtered by their events, `onlyPassed` and query; one
 * delivery per hook and event is recorded in the store (an event heard twice is delivered once), its body
 * shaped for the hook's target, then queued.
 */
export class HookEvents {
  private queryCache: Map<string, Set<string>> | null = null;

  constructor(private readonly deps: HookEventsDeps) {}

  onEvent(event: StoredEvent): void {
    try {
      if (event.type === 'run.finished' || event.type === 'run.cancelled') this.runEnded(event);
      else if (event.type === 'run.created') this.runStarted(event);
      else if (event.type === 'job.finished' && isTestFailureName(String(event.payload['verdict'] ?? '')))
        this.jobFailed(event);
    } catch (err) {
      this.deps.logger.error(
        { run: event.runId, event: event.type, err: (err as Error).message },
        'hook deliveries not recorded',
      );
    }
  }

  /** Tests a query selects, computed once per event-loop turn (a run's failures arrive in batches). */
  private selected(query: string, historyPartner: string): Set<string> | null {
    if (!this.deps.selectTests) return null;
    if (!this.queryCache) {
      this.queryCache = new Map();
      setImmediate(() => {
        this.queryCache = null;
      });
    }
    // A partner's hook reads its own history (a query naming failrate or failed_in_last must not reveal
    // another partner's results through what it is sent); an admin's reads the whole lab's.
    const key = `${historyPartner}\u0000${query}`;
    let ids = this.queryCache.get(key);
    if (!ids) {
      try {
        ids = new Set(this.deps.selectTests(query, historyPartner).map((t) => t.id));
      } catch (err) {
        this.deps.logger.warn(
          { query, err: (err as Error).message },
          'hook query no longer valid: it matches nothing',
        );
        ids = new Set();
      }
      this.queryCache.set(key, ids);
    }
    return ids;
  }

  private matches(hook: HookRow, testIds: readonly string[]): boolean {
    if (hook.query === null) return true;
    const ids = this.selected(hook.query, hook.partner ?? ALL_PARTNERS);
    return ids === null || testIds.some((t) => ids.has(t));
  }

  /** Whether a hook is sent `event` about `run` (`onlyPassed`: run.finished of passed runs only). */
  private wants(hook: HookRow, event: HookEvent, run: RunRow): boolean {
    return hook.events.includes(event) && (!hook.onlyPassed || run.status === 'passed');
  }

  /** A delivery's body as its target reads it: the devlab event, Gate's trigger payload, or a commit status. */
  private body(
    hook: HookRow,
    event: HookEvent,
    at: string,
    run: RunSummary,
    job?: FailingPair & { jobId: string },
  ): string {
    if (hook.target === 'spinnaker') return JSON.stringify(spinnakerTrigger(event, at, run, job));
    if (hook.target === 'github')
      return JSON.stringify(
        githubStatus(event, run, hook.targetOptions.context ?? 'devlab', this.deps.baseUrl()),
      );
    return JSON.stringify({ event, at, run, ...(job ? { job } : {}) } satisfies HookPayload);
  }

  /** A run was planned and queued: `run.started` (a github target's `pending`). */
  private runStarted(event: StoredEvent): void {
    const { store, repo } = this.deps;
    const run = store.runs.get(event.runId);
    if (!run) return;
    const hooks = repo.receiving(run.partner).filter((h) => this.wants(h, 'run.started', run));
    if (hooks.length === 0) return;
    const jobs = store.jobs.listByRun(run.id);
    const testIds = [...new Set(jobs.map((j) => j.testId))];
    const summary = runSummary(store, run, this.deps.baseUrl(), 'counts only');
    const at = new Date(event.at).toISOString();
    for (const hook of hooks)
      if (this.matches(hook, testIds))
        this.record(
          hook,
          'run.started',
          `run.started:${run.id}`,
          run,
          this.body(hook, 'run.started', at, summary),
        );
  }

  private runEnded(event: StoredEvent): void {
    const { store, repo } = this.deps;
    const run = store.runs.get(event.runId);
    if (!run) return;
    const wanted: HookEvent[] = ['run.finished'];
    if (run.status === 'failed' || run.status === 'error') wanted.push('run.failed');
    const hooks = repo.receiving(run.partner).filter((h) => wanted.some((e) => this.wants(h, e, run)));
    if (hooks.length === 0) return;
    const jobs = store.jobs.listByRun(run.id);
    const testIds = [...new Set(jobs.map((j) => j.testId))];
    const summary = runSummary(store, run, this.deps.baseUrl(), jobs);
    const at = new Date(event.at).toISOString();
    for (const name of wanted)
      for (const hook of hooks)
        if (this.wants(hook, name, run) && this.matches(hook, testIds))
          this.record(hook, name, `${name}:${run.id}`, run, this.body(hook, name, at, summary));
  }

  private jobFailed(event: StoredEvent): void {
    const { store, repo } = this.deps;
    const jobId = String(event.payload['jobId'] ?? '');
    const job = store.jobs.get(jobId);
    const run = store.runs.get(event.runId);
    if (!job || !run) return;
    const hooks = repo
      .receiving(run.partner)
      .filter(
        (h) => h.target !== 'github' && this.wants(h, 'job.failed', run) && this.matches(h, [job.testId]),
      );
    if (hooks.length === 0) return;
    const at = new Date(event.at).toISOString();
    const summary = runSummary(store, run, this.deps.baseUrl(), 'counts only');
    const pair = failedJob(job);
    for (const hook of hooks)
      this.record(
        hook,
        'job.failed',
        `job.failed:${job.id}`,
        run,
        this.body(hook, 'job.failed', at, summary, pair),
      );
  }

  private record(hook: HookRow, event: HookEvent, eventKey: string, run: RunRow, body: string): void {
    const delivery = this.deps.repo.addDelivery({ hookId: hook.id, event, eventKey, runId: run.id, body });
    if (!delivery) return; // this event was already recorded for this hook
    // enqueue logs its own failure; the delivery stays pending for the next start.
    void this.deps.enqueue(delivery.id);
  }
}
