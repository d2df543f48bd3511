import { createHash } from 'node:crypto';
import { type DeviceKeys, deviceKeys } from '../../devices/device-keys.ts';

/**
 * Everything one lab keeps in Redis hangs off one prefix, so several labs (or test runs) can share a
 * Redis without one control plane consuming another's reports or two labs leasing the same device id.
 * The one place that names the lab's keys and channels (a device's own keys are spelled in
 * devices/device-keys.ts, which the devices room cannot import from here); every key of it matches
 * `pattern`.
 */
export interface LabKeys extends DeviceKeys {
  /** BullMQ queue prefix. */
  queuePrefix: string;
  /** Prefix of device states, leases, health counters and caps (ends with `:`). */
  keyPrefix: string;
  /** Cancellations, broadcast so agents stop a run's tests within seconds. */
  cancelChannel: string;
  /** Attempt starts: live progress only, so pub/sub rather than the durable report stream. */
  startedChannel: string;
  /** Attempt reports, agents to the control plane (see report-stream.ts). */
  reportStream: string;
  /** Reports that can never be stored (malformed), set aside for inspection. */
  deadReportStream: string;
  /** The control plane's pool → queue map (a hash; see pool-map.ts). */
  poolMap: string;
  /** Told when the pool → queue map was published again, so agents check theirs. */
  poolMapChannel: string;
  /** The WebDriver relay's requests to an agent (a list; harness/webdriver/relay-channel.ts). */
  relayRequests(agentId: string): string;
  /** An agent relaying WebDriver commands: its devices, kept while it lives (a key with a TTL). */
  relayAgent(agentId: string): string;
  /** Where agents answer one control plane's relayed WebDriver commands (pub/sub). */
  relayReplies(instance: string): string;
  /** The semaphore of a partner's concurrency cap. */
  partnerCap(partner: string): string;
  /** The semaphore of a run's `maxParallel` cap. */
  runCap(runId: string): string;
  /** A device reservation (JSON, expiring with it; harness/webdriver/reservation-store.ts). */
  reservation(id: string): string;
  /** The lab's reservations by when they end (a sorted set of ids). */
  reservations: string;
  /** A SCAN pattern matching every key of the lab, and no other lab's (see remove-lab-keys.ts). */
  pattern: string;
}

/** A SCAN/KEYS glob matches the prefix literally only with its glob characters escaped. */
const globLiteral = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

export function labKeys(prefix = 'devlab'): LabKeys {
  const keyPrefix = `${prefix}:`;
  return {
    ...deviceKeys(keyPrefix),
    queuePrefix: prefix,
    keyPrefix,
    cancelChannel: `${prefix}:cancel`,
    startedChannel: `${prefix}:started`,
    reportStream: `${keyPrefix}reports`,
    deadReportStream: `${keyPrefix}reports:dead`,
    poolMap: `${keyPrefix}pool-map`,
    poolMapChannel: `${prefix}:pool-map`,
    relayRequests: (agentId) => `${keyPrefix}relay:${agentId}:requests`,
    relayAgent: (agentId) => `${keyPrefix}relay:${agentId}:agent`,
    relayReplies: (instance) => `${prefix}:relay-replies:${instance}`,
    partnerCap: (partner) => `${keyPrefix}cap:partner:${partner}`,
    runCap: (runId) => `${keyPrefix}cap:run:${runId}`,
    reservation: (id) => `${keyPrefix}reservation:${id}`,
    reservations: `${keyPrefix}reservations`,
    // BullMQ names a queue's keys `<queuePrefix>:<queue>:...`: they start with `keyPrefix` too.
    pattern: `${globLiteral(keyPrefix)}*`,
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
