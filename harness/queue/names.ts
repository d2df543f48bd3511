import { createHash } from 'node:crypto';

/** Key prefix of every BullMQ queue devlab creates. */
export const QUEUE_PREFIX = 'devlab';
/** Attempt reports travel from agents to the control plane on this queue. */
export const RESULTS_QUEUE = 'results';
/** Cancellations are broadcast on this pub/sub channel so agents stop running tests within seconds. */
export const CANCEL_CHANNEL = 'devlab:cancel';

/** Attempt starts are live progress only, so they go over pub/sub instead of the durable results queue. */
export const STARTED_CHANNEL = 'devlab:started';

/** One queue per device pool: agents only take jobs that a device they own can run. */
export function poolQueueName(pool: string): string {
  const readable = pool.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  const hash = createHash('sha1').update(pool).digest('hex').slice(0, 8);
  return `pool-${readable}-${hash}`;
}

/** Deterministic queue job id: enqueuing the same attempt twice (a redelivered result) adds it once. */
export function attemptJobId(jobId: string, attempt: number): string {
  return `${jobId}-a${attempt}`;
}
