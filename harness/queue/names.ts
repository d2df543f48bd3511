import { createHash } from 'node:crypto';

/**
 * Everything one lab keeps in Redis hangs off one prefix, so several labs (or test runs) can share a
 * Redis without one control plane consuming another's reports or two labs leasing the same device id.
 */
export interface LabKeys {
  /** BullMQ queue prefix. */
  queuePrefix: string;
  /** Prefix of device states, leases, health counters and caps (ends with `:`). */
  keyPrefix: string;
  /** Cancellations, broadcast so agents stop a run's tests within seconds. */
  cancelChannel: string;
  /** Attempt starts: live progress only, so pub/sub rather than the durable report stream. */
  startedChannel: string;
}

export function labKeys(prefix = 'devlab'): LabKeys {
  return {
    queuePrefix: prefix,
    keyPrefix: `${prefix}:`,
    cancelChannel: `${prefix}:cancel`,
    startedChannel: `${prefix}:started`,
  };
}

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

/** The queue of webhook deliveries (harness/hooks/), under the lab's prefix like the pool queues. */
export const HOOKS_QUEUE = 'hooks';
