import type { Redis } from 'ioredis';
import type { Artifact, DeviceRecord } from '../../devices/device.ts';
import type { RunResult } from '../../devices/driver.ts';
import { type ErrorInfo, errorInfo } from '../../devices/errors.ts';
import { testImage } from '../../suites/manifest/load-manifest.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import type { AttemptReport, JobPayload } from '../protocol/job.ts';
import type { AttemptStatus } from '../protocol/verdict.ts';
import type { AttemptChannel } from '../queue/attempt-channel.ts';
import type { ArtifactSink } from './artifact-sink.ts';
import { junitCases, keepArtifacts } from './attempt-artifacts.ts';
import { AttemptStop } from './attempt-stop.ts';
import type { DeviceSession } from './device-session.ts';
import type { Execution } from './execution.ts';
import { createTestContext } from './test-context.ts';

export interface AttemptRunnerDeps {
  agentId: string;
  device: DeviceRecord;
  /** The device's session, reused from one test to the next. */
  session: DeviceSession;
  artifacts: ArtifactSink;
  /** Base URL of the app under test, given to each test body. */
  appUrl: string;
  channel: AttemptChannel;
  /** For the queue job's marks (execution-marks.ts). */
  connection: Redis;
  /** Registers a running attempt so a cancel broadcast can abort it. */
  track(runId: string, controller: AbortController): () => void;
  onInfraError?(device: DeviceRecord, message: string): void;
  log: (line: string) => void;
  /** How long a test runs before the agent tells the control plane it started (0: at once). */
  startNoticeMs: number;
}

/** A finished attempt: its status, and the delivery of its report (still in flight). */
export interface AttemptOutcome {
  reported: Promise<void>;
  status: AttemptStatus;
}

/** What the test body left: the driver's result, and what it attached and logged. */
interface BodyOutcome {
  result: RunResult;
  attachments: Artifact[];
  logLines: string[];
}

/** The error kind a report gives a status that is not `passed`. */
const ERROR_KIND = {
  cancelled: 'cancelled',
  error: 'infra',
  'timed-out': 'timeout',
  failed: 'test',
} as const satisfies Record<Exclude<AttemptStatus, 'passed'>, string>;

/**
 * Runs one attempt on a leased device: announces its start, wires what stops it (a cancel, a lost lease,
 * a lost queue lock), runs the test body in the device's session with a test context, keeps its artifacts
 * and sends its report. Nothing thrown by the test or the driver escapes: it becomes the report's status.
 */
export class AttemptRunner {
  constructor(private readonly deps: AttemptRunnerDeps) {}

  /** Runs the attempt; resolves once the test is over, with the delivery of its report still in flight. */
  async run(
    payload: JobPayload,
    test: TestDefinition,
    leaseLost: AbortSignal,
    execution: Execution,
  ): Promise<AttemptOutcome> {
    const { device, agentId } = this.deps;
    const startedAt = Date.now();
    const notice = this.announceStart(payload, startedAt);
    const stop = new AttemptStop(leaseLost, execution.lockLost);
    const untrack = this.deps.track(payload.runId, stop.controller);
    let body: BodyOutcome;
    try {
      body = await this.runBody(payload, test, stop.signal, startedAt);
    } finally {
      untrack();
      stop.detach();
      notice.cancel();
    }
    let result = body.result;
    // A test stopped because its queue lock was lost is an infrastructure outcome naming why, never a
    // test result (the attempt goes to another device, as after any infrastructure error).
    if (stop.lockLost)
      result = { ...result, status: 'error', error: errorInfo(execution.lockLost.reason, 'infrastructure') };
    const status: AttemptStatus = stop.cancelled ? 'cancelled' : result.status;
    await this.deps.session.afterRun(status);
    // Not the device's fault: its health is not charged with a lost queue lock.
    if (status === 'error' && !stop.lockLost)
      this.deps.onInfraError?.(device, result.error?.message ?? 'infrastructure error');
    const all: Artifact[] = [...result.artifacts, ...body.attachments];
    if (body.logLines.length)
      all.push({
        name: 'test.log',
        contentType: 'text/plain; charset=utf-8',
        data: Buffer.from(`${body.logLines.join('\n')}\n`),
      });
    const owner = {
      runId: payload.runId,
      jobId: payload.jobId,
      attempt: payload.attempt,
      deviceId: device.id,
      status,
    };
    const artifacts = await keepArtifacts(
      { connection: this.deps.connection, sink: this.deps.artifacts, log: this.deps.log },
      owner,
      all,
      execution,
    );
    const error = result.error;
    const reported = this.send(execution, {
      runId: payload.runId,
      jobId: payload.jobId,
      attempt: payload.attempt,
      deviceId: device.id,
      agent: agentId,
      status,
      ...(error && status !== 'passed'
        ? {
            error: {
              message: error.message,
              kind: ERROR_KIND[status],
              ...(error.stack ? { stack: error.stack } : {}),
            },
          }
        : {}),
      startedAt,
      endedAt: Date.now(),
      artifacts,
      cases: junitCases(all, this.deps.log),
      startSent: notice.sent,
    });
    return { reported, status };
  }

  /**
   * Reports an attempt that failed around its test (lease lost while waiting, a Redis hiccup): the
   * control plane must hear of it, or the run would wait for it forever.
   */
  async reportFailure(
    payload: JobPayload,
    startedAt: number,
    error: ErrorInfo,
    execution: Execution,
  ): Promise<void> {
    await this.send(execution, {
      runId: payload.runId,
      jobId: payload.jobId,
      attempt: payload.attempt,
      deviceId: this.deps.device.id,
      agent: this.deps.agentId,
      status: 'error',
      error: { message: error.message, kind: 'infra', ...(error.stack ? { stack: error.stack } : {}) },
      startedAt,
      endedAt: Date.now(),
      artifacts: [],
      cases: [],
    });
  }

  /**
   * Progress only: the test does not wait for it, and a lost start notice changes no result. A test over
   * within `startNoticeMs` sends none; its report tells the control plane when it started.
   */
  private announceStart(payload: JobPayload, startedAt: number): { readonly sent: boolean; cancel(): void } {
    const { device, agentId, channel, startNoticeMs } = this.deps;
    let sent = false;
    const send = () => {
      sent = true;
      const start = {
        runId: payload.runId,
        jobId: payload.jobId,
        attempt: payload.attempt,
        deviceId: device.id,
        agent: agentId,
        at: startedAt,
      };
      void channel.announceStart(start).catch((err: unknown) => {
        this.deps.log(
          `run ${payload.runId} job ${payload.jobId} attempt ${payload.attempt} on ${device.id}: start notice not sent (progress only, the report records the start): ${(err as Error).message}`,
        );
      });
    };
    const timer = startNoticeMs > 0 ? setTimeout(send, startNoticeMs) : null;
    if (!timer) send();
    return {
      get sent() {
        return sent;
      },
      cancel: () => {
        if (timer) clearTimeout(timer);
      },
    };
  }

  /** Runs the test body in the device's session; a failure to run it at all is an infrastructure error. */
  private async runBody(
    payload: JobPayload,
    test: TestDefinition,
    signal: AbortSignal,
    startedAt: number,
  ): Promise<BodyOutcome> {
    const { device } = this.deps;
    let attachments: Artifact[] = [];
    let logLines: string[] = [];
    try {
      // Stopped before it began (the lock went while the device was being leased): nothing runs.
      if (signal.aborted) throw signal.reason;
      // A container manifest's test runs in its own image (a session opened for it).
      const session = await this.deps.session.get({ image: testImage(test) });
      const result = await session.run(
        async (handles) => {
          const { ctx, recorder } = createTestContext(handles, device, this.deps.appUrl, signal);
          attachments = recorder.attachments;
          logLines = recorder.lines;
          await test.body(ctx);
        },
        { timeoutMs: payload.timeoutMs, signal },
      );
      return { result, attachments, logLines };
    } catch (err) {
      const result: RunResult = {
        status: 'error',
        error: errorInfo(err, 'infrastructure'),
        artifacts: [],
        durationMs: Date.now() - startedAt,
      };
      return { result, attachments, logLines };
    }
  }

  /** The report, with its queue job marked as reported in the same call. */
  private send(execution: Execution, report: AttemptReport): Promise<void> {
    return this.deps.channel.report(report, {
      jobKey: execution.jobKey,
      value: { agent: report.agent, deviceId: report.deviceId, status: report.status, at: report.endedAt },
    });
  }
}
