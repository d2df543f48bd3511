import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { Artifact } from '../../devices/device.ts';
import { ConfigError } from '../config/config-error.ts';
import type { DevlabConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import type { ArtifactRef } from '../protocol/job.ts';
import { ArtifactSpool, type SpoolEntry, spoolFields } from './artifact-spool.ts';

export interface ArtifactOwner {
  runId: string;
  jobId: string;
  attempt: number;
  /** The device the attempt ran on (for the log lines about its artifacts). */
  deviceId?: string;
  /** The attempt's status: evidence of passed attempts is what a full spool drops first. */
  status?: string;
}

/** Where an agent puts the artifacts of an attempt; the control plane stores them under the data dir. */
export interface ArtifactSink {
  put(owner: ArtifactOwner, artifact: Artifact): Promise<ArtifactRef>;
  /** Picks up what an earlier life left to upload (called by the agent at start). */
  start?(): Promise<void>;
  /** Stops uploading; what is not uploaded stays in the spool for the next start. */
  close?(): Promise<void>;
}

/** Stable per (job, attempt, name): a retried upload is the same artifact, stored once. */
export function artifactId(owner: ArtifactOwner, name: string): string {
  return createHash('sha1')
    .update(`${owner.jobId}\u0000${owner.attempt}\u0000${name}`)
    .digest('hex')
    .slice(0, 20);
}

/** Default bound of an agent's artifact spool. */
export const DEFAULT_SPOOL_MAX_MB = 1024;

/** `DEVLAB_SPOOL_MAX_MB` (a number of MB, fractions allowed), else the default; in bytes. */
export function spoolMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['DEVLAB_SPOOL_MAX_MB'];
  if (raw === undefined || raw === '') return DEFAULT_SPOOL_MAX_MB * 1024 * 1024;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 16 * 1024 * 1024)
    throw new ConfigError(
      'environment variable DEVLAB_SPOOL_MAX_MB',
      'spoolMaxMb',
      `"${raw}" is not a size in MB (a number > 0, e.g. ${DEFAULT_SPOOL_MAX_MB})`,
    );
  return Math.floor(value * 1024 * 1024);
}

export interface HttpArtifactSinkOptions {
  /** The agent's own spool folder; without one, artifacts wait for upload in memory only. */
  spoolDir?: string;
  /** Bytes the spool may hold (default `DEVLAB_SPOOL_MAX_MB`, else 1024 MB). */
  maxSpoolBytes?: number;
  logger?: Logger;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Backoff between upload tries while the control plane does not take them (default 250 ms to 3 s, randomized up to twice that). */
  retry?: { minMs: number; maxMs: number };
}

/** The spool of agent `agentId` under the data dir (`<home>/spool/<agent>`), with its log. */
export function agentSinkOptions(
  config: DevlabConfig,
  agentId: string,
  env: NodeJS.ProcessEnv = process.env,
): HttpArtifactSinkOptions {
  return {
    // Agents sharing a data dir (the demo's, or tests') each keep their own.
    spoolDir: path.join(config.home, 'spool', agentId.replace(/[^A-Za-z0-9._-]/g, '_')),
    maxSpoolBytes: spoolMaxBytes(env),
    logger: createLogger(`agent ${agentId}`, config.logLevel),
  };
}

/** A failed try: `retryable` ones are tried again with backoff, the others end the artifact's uploads. */
class UploadError extends Error {
  declare readonly entry: SpoolEntry;
  constructor(
    message: string,
    entry: SpoolEntry,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UploadError';
    // Not enumerable: a logged error must not carry the artifact (its bytes may be in memory).
    Object.defineProperty(this, 'entry', { value: entry, enumerable: false });
  }
}

/** 4xx answers that a later try may not get: auth (a token being fixed), timeouts, rate limits. */
const RETRYABLE_4XX = new Set([401, 403, 408, 409, 425, 429]);
/** Header values are Latin-1: the reason of a loss goes as printable ASCII. */
const asciiHeader = (text: string) => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);
const causeText = (err: unknown): string => {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ') || String(err);
};

/**
 * Gets an agent's artifacts to the control plane over HTTP (agents on other hosts need no shared disk),
 * without ever holding up the tests or dropping one silently. Each artifact is first written to the
 * agent's spool, then sent at once; if the control plane does not take it (down, restarting, its disk
 * full or read-only: 503/507), it stays in the spool and a background loop sends the oldest spooled one
 * with backoff until it is taken, while the tests go on. The spool is read again when the agent
 * restarts. A full spool drops the oldest evidence of passed attempts first; a dropped artifact is
 * logged and the control plane is told, so the run's results record it as lost, with the reason.
 */
export class HttpArtifactSink implements ArtifactSink {
  private readonly spool: ArtifactSpool;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly retry: { minMs: number; maxMs: number };
  /** Entries being sent right now (by the loop or by `put`): not sent twice, not dropped meanwhile. */
  private readonly busy = new Set<string>();
  private readonly stopping = new AbortController();
  private started: Promise<void> | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** When tries started to fail (null: the last one went through). New artifacts then just wait in the spool. */
  private failingSince: number | null = null;

  constructor(
    private readonly serverUrl: string,
    private readonly agentToken: string | undefined,
    options: HttpArtifactSinkOptions = {},
  ) {
    this.log = options.logger ?? createLogger('agent', 'info');
    this.spool = new ArtifactSpool(
      options.spoolDir ?? null,
      options.maxSpoolBytes ?? spoolMaxBytes(),
      this.log,
    );
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = options.retry ?? { minMs: 250, maxMs: 3000 };
  }

  /** Artifacts and bytes waiting for upload (records of lost ones included in the count). */
  get pending(): { count: number; bytes: number } {
    return { count: this.spool.count, bytes: this.spool.bytes };
  }

  start(): Promise<void> {
    this.started ??= this.open();
    return this.started;
  }

  async close(): Promise<void> {
    this.stopping.abort(new Error('the agent is stopping'));
    this.wake?.();
    await this.loop;
    const left = this.spool.count;
    if (left)
      this.log.info(
        { artifacts: left, bytes: this.spool.bytes, spool: this.spool.dir },
        this.spool.dir
          ? 'artifacts not uploaded yet stay in the spool: the next start of this agent sends them'
          : 'artifacts not uploaded yet are dropped with the agent (no spool folder)',
      );
  }

  async put(owner: ArtifactOwner, artifact: Artifact): Promise<ArtifactRef> {
    await this.start();
    const id = artifactId(owner, artifact.name);
    const ref: ArtifactRef = {
      id,
      name: artifact.name,
      contentType: artifact.contentType,
      size: artifact.data.length,
    };
    const record = {
      id,
      runId: owner.runId,
      jobId: owner.jobId,
      attempt: owner.attempt,
      name: artifact.name,
      contentType: artifact.contentType,
      size: artifact.data.length,
      deviceId: owner.deviceId ?? null,
      status: owner.status ?? null,
      createdAt: Date.now(),
    };
    if (!this.spool.fits(record.size)) {
      await this.putOversize(this.spool.transient(record, artifact.data));
      return ref;
    }
    const { entry, dropped } = await this.spool.add(record, artifact.data, this.busy);
    for (const gone of dropped)
      this.log.warn(
        { ...spoolFields(gone), attemptStatus: gone.status, reason: gone.lost, spoolBytes: this.spool.bytes },
        'artifact dropped from the full spool: the control plane records it as lost',
      );
    // Sent at once while the control plane takes uploads; else it waits its turn in the spool.
    if (this.failingSince === null && !this.stopping.signal.aborted && !this.busy.has(entry.id)) {
      try {
        await this.send(entry);
      } catch (err) {
        this.failed(err, 1);
      }
    }
    this.wake?.();
    return ref;
  }

  /** Larger than the whole spool: sent once from memory; if the control plane does not take it, it is lost. */
  private async putOversize(entry: SpoolEntry): Promise<void> {
    let why: string | null = null;
    try {
      await this.send(entry);
    } catch (err) {
      this.failed(err, 1);
      why = (err as Error).message;
    }
    if (why === null && !entry.lost) return;
    const reason = `larger (${entry.size} bytes) than the agent's artifact spool (${this.spool.maxBytes} bytes) and not taken by the control plane${why ? ` (${why.slice(0, 200)})` : ''}`;
    await this.spool.keepLoss(entry, reason);
    this.log.warn(
      { ...spoolFields(entry), attemptStatus: entry.status, reason: entry.lost },
      'artifact too large for the spool and not uploaded: the control plane records it as lost',
    );
    this.wake?.();
  }

  private async open(): Promise<void> {
    let left: SpoolEntry[] = [];
    try {
      left = await this.spool.load();
    } catch (err) {
      this.log.error(
        { spool: this.spool.dir, err },
        'cannot read the artifact spool: what an earlier run left there is not sent; new artifacts go on',
      );
    }
    if (left.length)
      this.log.info(
        { artifacts: left.length, bytes: this.spool.bytes, spool: this.spool.dir },
        'artifacts left in the spool by an earlier run of this agent: uploading them',
      );
    this.loop = this.run();
  }

  /** The background loop: the oldest spooled artifact, tried with backoff until the control plane has it. */
  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      if (!this.spool.next(this.busy)) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      try {
        await pRetry(
          async () => {
            const entry = this.spool.next(this.busy);
            if (entry) await this.send(entry);
          },
          {
            retries: Number.POSITIVE_INFINITY,
            factor: 2,
            minTimeout: this.retry.minMs,
            maxTimeout: this.retry.maxMs,
            randomize: true,
            signal,
            onFailedAttempt: ({ error, attemptNumber }) => this.failed(error, attemptNumber),
          },
        );
      } catch (err) {
        if (signal.aborted) break;
        this.log.error({ err }, 'artifact upload loop failed: going on in 1 s');
        await sleep(1000);
      }
    }
  }

  /** One try: resolves once the control plane has it (or refused it for good); throws to be tried again. */
  private async send(entry: SpoolEntry): Promise<void> {
    // Sent and removed meanwhile by the other sender (the loop, or `put`): nothing left to do.
    if (!entry.memory && !this.spool.holds(entry)) return;
    this.busy.add(entry.id);
    try {
      let body: Buffer = Buffer.alloc(0);
      if (!entry.lost) {
        try {
          body = await this.spool.read(entry);
        } catch (err) {
          const reason = `its spooled copy could not be read on the agent (${causeText(err)})`;
          this.log.error({ ...spoolFields(entry), err }, `spooled artifact unreadable: recorded as lost`);
          await this.spool.markLost(entry, reason);
        }
      }
      const url = new URL(`/internal/artifacts/${entry.id}`, this.serverUrl);
      url.searchParams.set('run', entry.runId);
      url.searchParams.set('job', entry.jobId);
      url.searchParams.set('attempt', String(entry.attempt));
      url.searchParams.set('name', entry.name);
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'x-artifact-type': asciiHeader(entry.contentType),
      };
      if (entry.deviceId) headers['x-devlab-device'] = asciiHeader(entry.deviceId);
      if (entry.lost) headers['x-artifact-lost'] = asciiHeader(entry.lost);
      if (this.agentToken) headers['authorization'] = `Bearer ${this.agentToken}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'PUT',
          headers,
          body: new Uint8Array(body),
          signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopping.signal]),
        });
      } catch (err) {
        throw new UploadError(`cannot reach the control plane: ${causeText(err)}`, entry, null, {
          cause: err,
        });
      }
      const answer = res.ok
        ? ''
        : await res.text().catch((err: unknown) => `(answer unreadable: ${causeText(err)})`);
      if (res.ok) {
        await this.spool.remove(entry);
        this.recovered();
        return;
      }
      const message = `HTTP ${res.status} ${answer.slice(0, 300)}`;
      if (res.status >= 500 || RETRYABLE_4XX.has(res.status))
        throw new UploadError(`the control plane did not take it: ${message}`, entry, res.status);
      // Refused for good (an unknown job, a bad request, too large): trying again cannot help.
      this.recovered();
      if (entry.lost || res.status === 400 || res.status === 404) {
        this.log.error(
          { ...spoolFields(entry), status: res.status, answer: answer.slice(0, 300), lost: entry.lost },
          'the control plane refused the artifact for good: dropped from the spool',
        );
        await this.spool.remove(entry);
        return;
      }
      this.log.error(
        { ...spoolFields(entry), status: res.status, answer: answer.slice(0, 300) },
        'the control plane refused the artifact for good: its loss is recorded instead',
      );
      await this.spool.markLost(entry, `refused by the control plane: ${message}`);
    } finally {
      this.busy.delete(entry.id);
    }
  }

  private failed(error: unknown, tryNo: number): void {
    if (this.stopping.signal.aborted) return;
    const first = this.failingSince === null;
    this.failingSince ??= Date.now();
    const fields =
      error instanceof UploadError
        ? {
            ...spoolFields(error.entry),
            status: error.status,
            lost: error.entry.lost,
            error: error.message,
          }
        : { err: error };
    this.log.warn(
      {
        ...fields,
        try: tryNo,
        failingForMs: Date.now() - this.failingSince,
        spooled: this.spool.count,
        spoolBytes: this.spool.bytes,
      },
      first
        ? 'artifact upload failed: kept in the spool and retried with backoff while the tests go on'
        : 'artifact upload failed again: retrying with backoff',
    );
  }

  private recovered(): void {
    if (this.failingSince === null) return;
    this.log.info(
      { failedForMs: Date.now() - this.failingSince, spooled: this.spool.count },
      'the control plane takes artifacts again: sending what the spool holds',
    );
    this.failingSince = null;
  }
}
