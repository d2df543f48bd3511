import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { JobPayload } from '../protocol/job.ts';
import { executionMarks, markUnreported } from '../queue/execution-marks.ts';

/** One processing of a queue job by a device worker. */
export interface Execution {
  /** The queue job's hash in Redis: marked as reported with the attempt's report. */
  jobKey: string;
  /** 1 for the job's first delivery; more once the stall check handed it out again after its lock expired. */
  delivery: number;
  /** Aborted once the worker cannot be sure any more that it holds the job's queue lock. */
  lockLost: AbortSignal;
  /** An earlier delivery began storing the attempt's files: this one names its own apart. */
  filesApart: boolean;
}

/**
 * A later delivery of a queue job (its lock expired and BullMQ's stall check put it back): the attempt
 * may have run already, its report (and the mark that goes with it) held up by the outage that cost the
 * lock. It is run again only if no report of it arrives within a lock duration, at least 5 s (longer than
 * a client's reconnect backoff; its first agent died); otherwise it is not run twice, and the log says so.
 * Sets `execution.filesApart` from the job's marks.
 */
export async function alreadyReported(
  connection: Redis,
  queueJobId: string | undefined,
  payload: JobPayload,
  execution: Execution,
  options: { lockDurationMs: number; log: (line: string) => void },
): Promise<boolean> {
  const deadline = Date.now() + Math.max(options.lockDurationMs, 5000);
  const attempt = `run ${payload.runId} job ${payload.jobId} attempt ${payload.attempt}`;
  for (;;) {
    const { reported, unreportedDelivery, artifactsOf } = await executionMarks(connection, execution.jobKey);
    execution.filesApart = artifactsOf > 0 && artifactsOf < execution.delivery;
    if (reported) {
      options.log(
        `${attempt}: its queue job ${queueJobId} came back after its lock expired (delivery ${execution.delivery}), but the attempt was already run and reported (${reported.status}) by ${reported.agent} on ${reported.deviceId ?? 'no device'}: not run again`,
      );
      return true;
    }
    // This delivery already waited once (it was put back for a free device or a cap meanwhile).
    if (unreportedDelivery >= execution.delivery) return false;
    if (Date.now() >= deadline) {
      await markUnreported(connection, execution.jobKey, execution.delivery);
      options.log(
        `${attempt}: its queue job ${queueJobId} came back after its lock expired (delivery ${execution.delivery}) and no report of the attempt came: run again`,
      );
      return false;
    }
    await sleep(250);
  }
}
