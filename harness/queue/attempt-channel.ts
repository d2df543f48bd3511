import type { Redis } from 'ioredis';
import { redactStrings } from '../../devices/redact.ts';
import { MalformedMessageError } from '../errors.ts';
import {
  type AttemptReport,
  type AttemptStarted,
  attemptReportSchema,
  attemptStartedSchema,
} from '../protocol/job.ts';
import { firstIssue } from '../protocol/zod-issue.ts';
import { logConnectionErrors } from '../log/connection-errors.ts';
import type { ReportedMark } from './execution-marks.ts';
import type { LabKeys } from './names.ts';
import { prepareReportConnection, sendReport } from './report-stream.ts';

/**
 * The agent → control plane channel of attempts, both ends. An attempt's start is live progress (pub/sub
 * on `LabKeys.startedChannel`: a lost notice changes no result); its report is durable (the report stream,
 * report-stream.ts). Each message kind has its own method and its own zod schema (harness/protocol/job.ts).
 */

/** An attempt's start as the agent announces it (the channel adds the `type` the wire carries). */
export type AttemptStart = Omit<AttemptStarted, 'type'>;

/** The attempt's queue job, marked as reported in the same call as its report (execution-marks.ts). */
export interface ReportMark {
  jobKey: string;
  value: ReportedMark;
}

/** What a device worker tells the control plane. */
export interface AttemptChannel {
  /** The attempt began (progress only). */
  announceStart(start: AttemptStart): Promise<void>;
  /**
   * The attempt's outcome; with `mark`, its queue job is marked as reported in the same call (a second
   * delivery of it is then not run again). A report sent twice is stored once (per job and attempt).
   */
  report(report: AttemptReport, mark?: ReportMark): Promise<void>;
}

/** An agent's end of the channel, on its auto-pipelined command connection. */
export class RedisAttemptChannel implements AttemptChannel {
  /** Call it before the connection's first command (see `prepareReportConnection`). */
  constructor(
    private readonly redis: Redis,
    private readonly keys: LabKeys,
  ) {
    prepareReportConnection(redis);
  }

  async announceStart(start: AttemptStart): Promise<void> {
    const message: AttemptStarted = { type: 'started', ...start };
    await this.redis.publish(this.keys.startedChannel, JSON.stringify(message));
  }

  /**
   * A report goes out with URL credentials masked in all its texts (messages, stacks, case messages): they
   * end up in the report stream, the store, results and events.
   */
  async report(report: AttemptReport, mark?: ReportMark): Promise<void> {
    await sendReport(this.redis, this.keys, redactStrings(report), mark);
  }
}

/**
 * The control plane's end for reports: one read from the report stream as an attempt report. A malformed
 * one is a MalformedMessageError (the report consumer sets it aside as a dead letter, never retries it).
 */
export function readAttemptReport(data: unknown): AttemptReport {
  const report = attemptReportSchema.safeParse(data);
  if (!report.success)
    throw new MalformedMessageError(`malformed attempt report: ${firstIssue(report.error)}`);
  return report.data;
}

/**
 * The control plane's end for starts: subscribes `subscriber` (a connection of its own) to the lab's start
 * channel and hands each well-formed notice to `onStart`. A malformed one is dropped and logged: progress
 * only, the attempt's report records the start.
 */
export async function listenForStarts(
  subscriber: Redis,
  keys: LabKeys,
  onStart: (start: AttemptStarted) => void,
  log: (line: string) => void,
): Promise<void> {
  logConnectionErrors(subscriber, 'control plane: Redis subscriber (start notices)', log);
  subscriber.on('message', (_channel: string, text: string) => {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      log(`start notice dropped (not JSON): ${(err as Error).message}: ${text.slice(0, 200)}`);
      return;
    }
    const started = attemptStartedSchema.safeParse(data);
    if (!started.success) {
      log(`start notice dropped (malformed, the attempt's report records it): ${firstIssue(started.error)}`);
      return;
    }
    try {
      onStart(started.data);
    } catch (err) {
      log(
        `start notice of run ${started.data.runId} job ${started.data.jobId} not handled: ${(err as Error).message}`,
      );
    }
  });
  await subscriber.subscribe(keys.startedChannel);
}
