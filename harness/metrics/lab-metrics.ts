import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DEVICE_STATES, type DeviceState } from '../../devices/device.ts';
import type { PoolDepth } from '../queue/pool-queues.ts';
import type { AttemptsRepo } from '../store/attempts-repo.ts';

/** The failure model a control plane ranks with, as the metrics show it. */
export interface ModelStatus {
  /** The active version; null until one is trained or loaded. */
  version: string | null;
  /** Whether it has earned ranking (otherwise plans are ordered by the failure record). */
  trusted: boolean;
  /** Whether the last training failed. */
  lastTrainingFailed: boolean;
}

/** Where the scrape-time numbers come from; each is read with a timeout (see `scrape`). */
export interface MetricSources {
  /** The pool queues' depths. */
  queues(): Promise<PoolDepth[]>;
  /** The report stream: reports not yet stored, read and not yet acknowledged, dead letters. */
  reportStream(): Promise<{ length: number; pending: number; dead: number }>;
}

export interface LabMetricsOptions {
  /** How long one source may take on a scrape before it is left out of that scrape (default 2000 ms). */
  sourceTimeoutMs?: number;
  /** Where a source that failed or timed out is said (one line per scrape and source). */
  log?: (line: string) => void;
}

/** No error kind: passed attempts (and failures reported without one). */
const NO_KIND = 'none';

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One control plane's Prometheus metrics, on a registry of its own (never prom-client's global one:
 * several control planes can live in one process, as in the tests). Counters are kept as things happen
 * (attempts as reports are stored, artifact upload failures as the API answers them); gauges are read
 * when Prometheus scrapes, each source with a timeout, so a slow Redis leaves its series out of that
 * scrape (and `devlab_metrics_source_up{source}` at 0) instead of hanging it or serving stale numbers.
 */
export class LabMetrics {
  readonly registry = new Registry();
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;
  private defaultsOn = false;
  private deviceSource: (() => Promise<DeviceState[]>) | null = null;
  private modelSource: (() => ModelStatus) | null = null;

  private readonly attempts = new Counter({
    name: 'devlab_attempts_total',
    help: 'Attempts stored, by outcome (attempt status) and error kind (none, test, infra, timeout, cancelled)',
    labelNames: ['outcome', 'error_kind'],
    registers: [this.registry],
  });
  /** Incremented by the API when the agents' artifact upload answers 5xx. */
  readonly artifactUploadFailures = new Counter({
    name: 'devlab_artifact_upload_failures_total',
    help: 'Artifact uploads (PUT /internal/artifacts/:id) answered with a 5xx, by status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly queueJobs = new Gauge({
    name: 'devlab_queue_jobs',
    help: 'Jobs on a pool queue, by state (waiting for a device, active on one, delayed retries)',
    labelNames: ['pool', 'state'],
    registers: [this.registry],
  });
  private readonly queueOldest = new Gauge({
    name: 'devlab_queue_oldest_waiting_seconds',
    help: 'Age of the oldest waiting job of a pool queue among those at its head and tail (a lower bound)',
    labelNames: ['pool'],
    registers: [this.registry],
  });
  private readonly devices = new Gauge({
    name: 'devlab_devices',
    help: 'Inventory devices by state (from the device state store)',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly reportStream = new Gauge({
    name: 'devlab_report_stream_reports',
    help: 'Attempt reports on the report stream: sent and not yet stored (waiting), read and not yet stored (pending), set aside (dead)',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly modelInfo = new Gauge({
    name: 'devlab_model_info',
    help: 'The active failure-model version (1), and what plans are ranked by',
    labelNames: ['version', 'ranked_by'],
    registers: [this.registry],
  });
  private readonly modelTrusted = new Gauge({
    name: 'devlab_model_trusted',
    help: 'Whether the active failure model has earned ranking (1) or plans use the failure record (0)',
    registers: [this.registry],
  });
  private readonly modelTrainingFailed = new Gauge({
    name: 'devlab_model_last_training_failed',
    help: 'Whether the last model training failed (1)',
    registers: [this.registry],
  });
  private readonly sourceUp = new Gauge({
    name: 'devlab_metrics_source_up',
    help: 'Whether a source of this scrape answered in time (1) or its series are left out (0)',
    labelNames: ['source'],
    registers: [this.registry],
  });

  constructor(
    private readonly sources: MetricSources,
    options: LabMetricsOptions = {},
  ) {
    this.timeoutMs = options.sourceTimeoutMs ?? 2000;
    this.log = options.log ?? (() => {});
  }

  /**
   * The attempt counters start from the store: one aggregate query (called before reports are consumed,
   * so that each stored attempt is counted once: here, or by `attemptStored` after).
   */
  initAttempts(attempts: AttemptsRepo): void {
    this.attempts.reset();
    for (const row of attempts.countsByOutcome())
      this.attempts.inc({ outcome: row.status, error_kind: row.errorKind ?? NO_KIND }, row.count);
  }

  /** One attempt stored (its first delivery: a duplicate report is not counted). */
  attemptStored(outcome: string, errorKind: string | null): void {
    this.attempts.inc({ outcome, error_kind: errorKind ?? NO_KIND });
  }

  /** The inventory's device states, read on each scrape (one Redis round trip). */
  watchDevices(states: () => Promise<DeviceState[]>): void {
    this.deviceSource = states;
  }

  /** The model trainer's active version and trust, read on each scrape. */
  watchModel(status: () => ModelStatus): void {
    this.modelSource = status;
  }

  /** Reads every source (in parallel, each with the timeout), then renders the Prometheus text format. */
  async scrape(): Promise<string> {
    // On the first scrape: a control plane nobody scrapes does not observe GCs and event-loop delay.
    if (!this.defaultsOn) {
      this.defaultsOn = true;
      collectDefaultMetrics({ register: this.registry });
    }
    await Promise.all([
      this.read('queues', this.sources.queues(), [this.queueJobs, this.queueOldest], (depths) => {
        for (const d of depths) {
          this.queueJobs.set({ pool: d.pool, state: 'waiting' }, d.waiting);
          this.queueJobs.set({ pool: d.pool, state: 'active' }, d.active);
          this.queueJobs.set({ pool: d.pool, state: 'delayed' }, d.delayed);
          this.queueOldest.set({ pool: d.pool }, d.oldestWaitingMs / 1000);
        }
      }),
      this.read('report_stream', this.sources.reportStream(), [this.reportStream], (lag) => {
        this.reportStream.set({ state: 'waiting' }, lag.length);
        this.reportStream.set({ state: 'pending' }, lag.pending);
        this.reportStream.set({ state: 'dead' }, lag.dead);
      }),
      this.deviceSource &&
        this.read('devices', this.deviceSource(), [this.devices], (states) => {
          const counts = new Map<string, number>(DEVICE_STATES.map((s) => [s, 0]));
          for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
          for (const [state, n] of counts) this.devices.set({ state }, n);
        }),
    ]);
    this.readModel();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private readModel(): void {
    if (!this.modelSource) return;
    this.modelInfo.reset();
    try {
      const model = this.modelSource();
      this.modelInfo.set(
        { version: model.version ?? 'none', ranked_by: model.trusted ? 'model' : 'failure record' },
        1,
      );
      this.modelTrusted.set(model.trusted ? 1 : 0);
      this.modelTrainingFailed.set(model.lastTrainingFailed ? 1 : 0);
      this.sourceUp.set({ source: 'model' }, 1);
    } catch (err) {
      this.sourceUp.set({ source: 'model' }, 0);
      this.log(`metrics: model left out of this scrape: ${(err as Error).message}`);
    }
  }

  /** Applies a source's answer, or leaves its series out of this scrape when it fails or is too slow. */
  private async read<T>(
    source: string,
    answer: Promise<T>,
    gauges: Gauge[],
    apply: (value: T) => void,
  ): Promise<void> {
    try {
      const value = await withTimeout(answer, this.timeoutMs, source);
      for (const gauge of gauges) gauge.reset();
      apply(value);
      this.sourceUp.set({ source }, 1);
    } catch (err) {
      this.sourceUp.set({ source }, 0);
      for (const gauge of gauges) gauge.reset();
      // A late answer is dropped; its rejection (if any) must not go unhandled.
      answer.catch(() => {});
      this.log(`metrics: ${source} left out of this scrape: ${(err as Error).message}`);
    }
  }
}
