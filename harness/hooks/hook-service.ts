import { ALL_PARTNERS } from '../history/query-stats.ts';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DevlabConfig } from '../config/config.ts';
import { NotFoundError, RequestError } from '../errors.ts';
import { isTestFailureName } from '../protocol/verdict.ts';
import { HOOKS_QUEUE, type LabKeys } from '../queue/names.ts';
import type { EventBus } from '../server/event-bus.ts';
import type { StoredEvent } from '../store/events-repo.ts';
import {
  type DeliveryAttemptRow,
  type DeliveryRow,
  HOOK_EVENTS,
  type HookEvent,
  type HookRow,
  HooksRepo,
  type SigningHook,
} from '../store/hooks-repo.ts';
import { isRunOver, type RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { checkHookUrl } from './allow-list.ts';
import { type FailingPair, failedJob, type HookPayload, type RunSummary, runSummary } from './payload.ts';
import { DELIVERY_HEADER, EVENT_HEADER, HOOK_HEADER, SIGNATURE_HEADER, signBody } from './signature.ts';
import { commitSha, githubStatus, resolveTarget, spinnakerTrigger, type TargetInput } from './targets.ts';

export type HookSettings = DevlabConfig['hooks'];

/** The custom backoff type of delivery jobs: the worker's settings say how long each wait is. */
const BACKOFF_TYPE = 'devlab-hook';
/** Deliveries sent at once by one control plane. */
const CONCURRENCY = 8;

export interface HookServiceDeps {
  store: Store;
  /** BullMQ connection (maxRetriesPerRequest: null). */
  redis: Redis;
  keys: LabKeys;
  settings: HookSettings;
  logger: Logger;
  /** The control plane's URL as receivers reach it (links in a delivery). */
  baseUrl: () => string;
  /**
   * The tests a hook's query selects, its history fields read from `historyPartner`'s results (the hook's
   * partner; ALL_PARTNERS for an admin's hook). Throws the query's error when it does not parse.
   */
  selectTests?: (query: string, historyPartner: string) => readonly { id: string }[];
  now?: () => number;
}

export interface NewHook extends TargetInput {
  /** The receiver (generic) or Gate's base URL (spinnaker); a github target's comes from the config. */
  url?: string | undefined;
  /** What to be told about; a spinnaker or github target has defaults (see targets.ts). */
  events?: HookEvent[] | undefined;
  query?: string | null | undefined;
  /** An admin's hook for one partner's runs; absent: a partner's own, or an admin's for every partner. */
  partner?: string | null | undefined;
}

export interface DeliveryView extends DeliveryRow {
  log: DeliveryAttemptRow[];
}

interface DeliveryJob {
  deliveryId: string;
  manual?: boolean;
}

/** What one attempt came to. */
interface Outcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Sending it again will not help (a 4xx, a redirect, a host no longer allowed): no more retries. */
  permanent: boolean;
}

/** Whether a scope (a partner, or null for an admin) may see a hook. */
function visible(scope: string | null, hook: HookRow): boolean {
  return scope === null || hook.partner === scope;
}

/** The start of an answer's body, read up to `max` bytes (the rest is dropped). */
async function answerStart(res: Response, max = 8192): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** The `message` of a JSON error answer (GitHub's, Gate's), for the delivery log. */
async function answerMessage(res: Response): Promise<string | null> {
  try {
    const parsed = JSON.parse(await answerStart(res)) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message.slice(0, 300) : null;
  } catch {
    return null;
  }
}

function fetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.name === 'AbortError') return 'aborted: the control plane is stopping';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/**
 * Signed outbound webhooks. Subscribes to the control plane's events; for each finished run (and each
 * failed job) it records one delivery per matching hook in the store, then a BullMQ job sends it: POST of
 * the JSON body, signed with the hook's secret (`X-Devlab-Signature-256: sha256=<hex>`), the delivery id
 * in `X-Devlab-Delivery` on every attempt. Failed attempts retry with exponential backoff (capped) from the
 * lab's Redis, so a delivery outlives control-plane restarts; every attempt is logged in the store.
 */
export class HookService {
  readonly repo: HooksRepo;
  private readonly queue: Queue<DeliveryJob>;
  private worker: Worker<DeliveryJob> | null = null;
  private readonly inflight = new Set<AbortController>();
  private unsubscribe: (() => void) | null = null;
  private readonly log: Logger;
  private queryCache: Map<string, Set<string>> | null = null;
  private closed = false;

  constructor(private readonly deps: HookServiceDeps) {
    this.repo = new HooksRepo(deps.store.db, deps.now);
    this.log = deps.logger;
    this.queue = new Queue<DeliveryJob>(HOOKS_QUEUE, {
      connection: deps.redis,
      prefix: deps.keys.queuePrefix,
      defaultJobOptions: {
        attempts: deps.settings.attempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
    this.queue.on('error', (err) => this.log.warn({ err: err.message }, 'hooks queue: Redis error'));
  }

  /** Hears the control plane's events; call before it starts (its recovery may finish runs). */
  follow(events: EventBus): void {
    this.unsubscribe?.();
    this.unsubscribe = events.subscribe((event) => this.onEvent(event));
  }

  /** Starts sending, and queues again the deliveries a previous life recorded but may not have queued. */
  async start(): Promise<void> {
    const { settings } = this.deps;
    this.worker = new Worker<DeliveryJob>(HOOKS_QUEUE, (job) => this.process(job), {
      connection: this.deps.redis,
      prefix: this.deps.keys.queuePrefix,
      concurrency: CONCURRENCY,
      settings: {
        backoffStrategy: (attemptsMade: number) =>
          Math.min(settings.backoffMs * 2 ** Math.max(0, attemptsMade - 1), settings.maxBackoffMs),
      },
    });
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'hooks worker: Redis error'));
    this.worker.on('failed', (job, err) => {
      if (job && !(err instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1)) return;
      this.log.warn(
        { delivery: job?.data.deliveryId, attempts: job?.attemptsMade, err: err.message },
        'hook delivery given up',
      );
    });
    // A delivery whose job exists is not added again (same job id); one that never reached Redis is.
    for (const d of this.repo.pending()) await this.enqueue(d.id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    // Requests in flight end now; their deliveries retry from Redis after the next start.
    for (const ac of this.inflight) ac.abort();
    await this.worker
      ?.close()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'hooks worker close'));
    this.worker = null;
    await this.queue.close().catch((err: Error) => this.log.warn({ err: err.message }, 'hooks queue close'));
  }

  // --- subscriptions (API and CLI) ---

  /** Adds a hook for `scope`'s runs (an admin: every partner's, or `partner`'s); the secret is returned once. */
  add(scope: string | null, input: NewHook): SigningHook {
    for (const e of input.events ?? [])
      if (!(HOOK_EVENTS as readonly string[]).includes(e))
        throw new RequestError('events', `events: ${e} is not one of ${HOOK_EVENTS.join(', ')}`);
    const resolved = resolveTarget(input, this.deps.settings);
    const { events } = resolved;
    if (events.length === 0)
      throw new RequestError('events', `events: give one or more of ${HOOK_EVENTS.join(', ')}`);
    if (scope !== null && input.partner != null && input.partner !== scope)
      throw new RequestError('partner', `partner: this token adds hooks for partner ${scope} only`);
    const query = input.query?.trim() || null;
    // A bad query is a 400 with its caret now, not a silent non-match at delivery time.
    const partner = scope ?? input.partner ?? null;
    if (query !== null && this.deps.selectTests) this.deps.selectTests(query, partner ?? ALL_PARTNERS);
    const hook = this.repo.create({
      partner,
      url: resolved.url,
      events,
      query,
      target: resolved.target,
      targetOptions: resolved.targetOptions,
      onlyPassed: resolved.onlyPassed,
    });
    this.log.info(
      { hook: hook.id, partner: hook.partner, target: hook.target, host: new URL(hook.url).host, events },
      'hook added',
    );
    return hook;
  }

  list(scope: string | null): HookRow[] {
    return scope === null ? this.repo.list() : this.repo.list({ partner: scope });
  }

  /** A live hook the scope may see; another partner's answers like a missing one. */
  hook(scope: string | null, id: string): HookRow {
    const hook = this.repo.get(id);
    if (!hook || hook.removedAt !== null || !visible(scope, hook)) throw new NotFoundError('hook', id);
    return hook;
  }

  remove(scope: string | null, id: string): void {
    this.hook(scope, id);
    this.repo.remove(id);
    this.log.info({ hook: id }, 'hook removed');
  }

  deliveries(scope: string | null, hookId: string, limit = 100): DeliveryView[] {
    this.hook(scope, hookId);
    return this.repo.deliveries(hookId, limit).map((d) => ({ ...d, log: this.repo.attempts(d.id) }));
  }

  delivery(scope: string | null, id: string): DeliveryView {
    const d = this.repo.delivery(id);
    const hook = d && this.repo.get(d.hookId);
    if (!d || !hook || !visible(scope, hook)) throw new NotFoundError('delivery', id);
    return { ...d, log: this.repo.attempts(d.id) };
  }

  /** Sends a delivery again now (same body, same delivery id), with a fresh retry schedule. */
  async redeliver(scope: string | null, id: string): Promise<DeliveryView> {
    const d = this.delivery(scope, id);
    this.hook(scope, d.hookId);
    // A delivery waiting for its next retry is sent now rather than twice.
    const waiting = await this.queue.getJob(id);
    if (waiting && (await waiting.isDelayed())) {
      await waiting.promote();
    } else {
      this.repo.setState(id, 'pending');
      await this.queue.add('deliver', { deliveryId: id, manual: true }, { jobId: `${id}-m${Date.now()}` });
    }
    this.log.info({ delivery: id, hook: d.hookId }, 'hook redelivery queued');
    return this.delivery(scope, id);
  }

  // --- events to deliveries ---

  private onEvent(event: StoredEvent): void {
    try {
      if (event.type === 'run.finished' || event.type === 'run.cancelled') this.runEnded(event);
      else if (event.type === 'run.created') this.runStarted(event);
      else if (event.type === 'job.finished' && isTestFailureName(String(event.payload['verdict'] ?? '')))
        this.jobFailed(event);
    } catch (err) {
      this.log.error(
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
        this.log.warn(
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
    const run = this.deps.store.runs.get(event.runId);
    if (!run) return;
    const hooks = this.repo.receiving(run.partner).filter((h) => this.wants(h, 'run.started', run));
    if (hooks.length === 0) return;
    const jobs = this.deps.store.jobs.listByRun(run.id);
    const testIds = [...new Set(jobs.map((j) => j.testId))];
    const summary = runSummary(this.deps.store, run, this.deps.baseUrl(), 'counts only');
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
    const run = this.deps.store.runs.get(event.runId);
    if (!run) return;
    const wanted: HookEvent[] = ['run.finished'];
    if (run.status === 'failed' || run.status === 'error') wanted.push('run.failed');
    const hooks = this.repo.receiving(run.partner).filter((h) => wanted.some((e) => this.wants(h, e, run)));
    if (hooks.length === 0) return;
    const jobs = this.deps.store.jobs.listByRun(run.id);
    const testIds = [...new Set(jobs.map((j) => j.testId))];
    const summary = runSummary(this.deps.store, run, this.deps.baseUrl(), jobs);
    const at = new Date(event.at).toISOString();
    for (const name of wanted)
      for (const hook of hooks)
        if (this.wants(hook, name, run) && this.matches(hook, testIds))
          this.record(hook, name, `${name}:${run.id}`, run, this.body(hook, name, at, summary));
  }

  private jobFailed(event: StoredEvent): void {
    const jobId = String(event.payload['jobId'] ?? '');
    const job = this.deps.store.jobs.get(jobId);
    const run = this.deps.store.runs.get(event.runId);
    if (!job || !run) return;
    const hooks = this.repo
      .receiving(run.partner)
      .filter(
        (h) => h.target !== 'github' && this.wants(h, 'job.failed', run) && this.matches(h, [job.testId]),
      );
    if (hooks.length === 0) return;
    const at = new Date(event.at).toISOString();
    const summary = runSummary(this.deps.store, run, this.deps.baseUrl(), 'counts only');
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
    const delivery = this.repo.addDelivery({ hookId: hook.id, event, eventKey, runId: run.id, body });
    if (!delivery) return; // this event was already recorded for this hook
    void this.enqueue(delivery.id);
  }

  /** Queues a delivery's first attempt (its id as the job id: queued once); a failure stays pending for the next start. */
  private async enqueue(deliveryId: string): Promise<void> {
    try {
      await this.queue.add('deliver', { deliveryId }, { jobId: deliveryId });
    } catch (err) {
      this.log.error(
        { delivery: deliveryId, err: (err as Error).message },
        'hook delivery not queued (Redis); it is queued at the next start',
      );
    }
  }

  // --- sending ---

  private async process(job: Job<DeliveryJob>): Promise<void> {
    const { deliveryId, manual = false } = job.data;
    const delivery = this.repo.delivery(deliveryId);
    if (!delivery) {
      this.log.warn({ delivery: deliveryId }, 'hook delivery not in the store: dropped');
      return;
    }
    if (delivery.state === 'delivered' && !manual) return; // a duplicate job of a delivered one
    const hook = this.repo.signing(delivery.hookId);
    if (!hook || hook.removedAt !== null) {
      this.repo.setState(deliveryId, 'failed');
      this.log.warn({ delivery: deliveryId, hook: delivery.hookId }, 'hook removed: delivery dropped');
      return;
    }
    const body = this.repo.body(deliveryId) ?? '';
    const outcome = await this.send(hook, delivery, body, job.attemptsMade + 1);
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const state = outcome.ok ? 'delivered' : outcome.permanent || last ? 'failed' : 'pending';
    const attempt = this.repo.recordAttempt(
      deliveryId,
      { statusCode: outcome.statusCode, durationMs: outcome.durationMs, error: outcome.error, manual },
      state,
    );
    const fields = {
      hook: hook.id,
      delivery: deliveryId,
      event: delivery.event,
      run: delivery.runId,
      attempt: attempt.attempt,
      status: outcome.statusCode,
      ms: outcome.durationMs,
    };
    if (outcome.ok) {
      this.log.info(fields, 'hook delivered');
      return;
    }
    this.log.warn({ ...fields, err: outcome.error, state }, 'hook delivery attempt failed');
    if (outcome.permanent) throw new UnrecoverableError(outcome.error ?? 'refused');
    throw new Error(outcome.error ?? 'delivery failed');
  }

  private async send(
    hook: SigningHook,
    delivery: DeliveryRow,
    body: string,
    attempt: number,
  ): Promise<Outcome> {
    const { timeoutMs, allowHosts } = this.deps.settings;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    const extra: Record<string, string> = {};
    try {
      let target = hook.url;
      if (hook.target === 'github') {
        const run = this.deps.store.runs.get(delivery.runId);
        const sha = run ? commitSha(run.build) : null;
        if (!run || sha === null)
          throw new Error(
            `not sent: build ${JSON.stringify(run?.build ?? '?')} is not a commit SHA (40 hex digits, or <version>@<sha>): a commit status needs the commit`,
          );
        // A pending status retried after the run finished would hide the final one.
        if (delivery.event === 'run.started' && isRunOver(run.status))
          throw new Error('not sent: the run is over, its final status supersedes pending');
        if (!this.deps.settings.githubToken)
          throw new Error('not sent: no GitHub token (hooks.githubToken / DEVLAB_GITHUB_TOKEN)');
        target = `${hook.url}/${sha}`;
        extra['authorization'] = `Bearer ${this.deps.settings.githubToken}`;
        extra['accept'] = 'application/vnd.github+json';
        extra['x-github-api-version'] = '2022-11-28';
      }
      // The allow-list may have shrunk since the hook was added.
      url = checkHookUrl(target, allowHosts);
    } catch (err) {
      return { ok: false, statusCode: null, durationMs: 0, error: (err as Error).message, permanent: true };
    }
    const abort = new AbortController();
    this.inflight.add(abort);
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        // A redirect is never followed: it could lead anywhere, the allow-list says where deliveries go.
        redirect: 'manual',
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'devlab-hooks/1',
          [SIGNATURE_HEADER]: signBody(hook.secret, body),
          [DELIVERY_HEADER]: delivery.id,
          [EVENT_HEADER]: delivery.event,
          [HOOK_HEADER]: hook.id,
          'X-Devlab-Attempt': String(attempt),
          ...extra,
        },
      });
      const statusCode = res.status;
      // A generic receiver's answer is not read: its status is all a delivery needs. GitHub and Gate
      // say why they refused in a JSON `message`, kept in the log.
      const why =
        hook.target !== 'generic' && (statusCode < 200 || statusCode >= 300)
          ? await answerMessage(res)
          : null;
      await res.body?.cancel().catch(() => {});
      if (statusCode >= 200 && statusCode < 300)
        return { ok: true, statusCode, durationMs: elapsed(), error: null, permanent: false };
      if (statusCode >= 300 && statusCode < 400) {
        const to = res.headers.get('location') ?? '(no location)';
        return {
          ok: false,
          statusCode,
          durationMs: elapsed(),
          error: `HTTP ${statusCode}: redirect to ${to.slice(0, 200)} not followed; point the hook at the final URL`,
          permanent: true,
        };
      }
      // Client errors other than timeouts and throttling will answer the same again.
      const permanent = statusCode < 500 && statusCode !== 408 && statusCode !== 429;
      const error = why ? `HTTP ${statusCode}: ${why}` : `HTTP ${statusCode}`;
      return { ok: false, statusCode, durationMs: elapsed(), error, permanent };
    } catch (err) {
      return {
        ok: false,
        statusCode: null,
        durationMs: elapsed(),
        error: fetchError(err, timeoutMs),
        permanent: false,
      };
    } finally {
      this.inflight.delete(abort);
    }
  }
}
