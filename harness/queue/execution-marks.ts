import type { Redis } from 'ioredis';

/**
 * What keeps a queued attempt from being run twice unseen after its queue lock expired (a Redis outage
 * longer than the lock, an agent cut off from Redis): the agent that reports an attempt marks the
 * attempt's queue job as reported, in the same Lua call as the report's XADD (`sendReport` with a job
 * key). BullMQ's stall check hands a job whose lock expired to a worker again (its `stalledCounter` is then
 * above 0); that worker reads the mark first and does not run an attempt that was already reported.
 *
 * The mark is a field of BullMQ's own job hash, so it lives and goes with the job (no key of its own to
 * expire); BullMQ reads only the fields it knows. It is set only while the hash exists, so a late report
 * never recreates a job that was removed meanwhile.
 */
export const REPORTED_FIELD = 'devlab:reported';

/** Who reported an attempt (the value of the mark). */
export interface ReportedMark {
  agent: string;
  deviceId: string | null;
  status: string;
  at: number;
}

export const REPORT_AND_MARK = `
if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], '${REPORTED_FIELD}', ARGV[3])
end
return redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[2])
`;

/**
 * A later delivery whose attempt no report came for (its first agent died): the delivery that waited for
 * the report and found none, so that the same delivery taken again (put back to wait for a device or a cap)
 * does not wait again.
 */
export const UNREPORTED_FIELD = 'devlab:unreported-delivery';

/**
 * The latest delivery of the job that began storing its attempt's files (they are spooled and uploaded
 * before the report): a later delivery that runs the attempt again names its own files apart, so that the
 * two executions' files never share an id (the first stored would win and hide the other's).
 */
export const ARTIFACTS_FIELD = 'devlab:artifacts-of';

const SET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

/**
 * The marks on a queue job (`prefix:queue:jobId`, a BullMQ worker's `toKey(job.id)`): who reported its
 * attempt (null: nobody yet), and which delivery of it already waited for that report in vain (0: none).
 */
export async function executionMarks(
  redis: Redis,
  jobKey: string,
): Promise<{ reported: ReportedMark | null; unreportedDelivery: number; artifactsOf: number }> {
  const [raw, unreported, artifactsOf] = await redis.hmget(
    jobKey,
    REPORTED_FIELD,
    UNREPORTED_FIELD,
    ARTIFACTS_FIELD,
  );
  let reported: ReportedMark | null = null;
  if (raw) {
    try {
      reported = JSON.parse(raw) as ReportedMark;
    } catch {
      reported = { agent: 'unknown', deviceId: null, status: 'unknown', at: 0 };
    }
  }
  return { reported, unreportedDelivery: Number(unreported ?? 0), artifactsOf: Number(artifactsOf ?? 0) };
}

/** Records that `delivery` of the queue job waited for a report of its attempt and none came. */
export async function markUnreported(redis: Redis, jobKey: string, delivery: number): Promise<void> {
  await redis.eval(SET_IF_EXISTS, 1, jobKey, UNREPORTED_FIELD, String(delivery));
}

/** Records that `delivery` of the queue job begins storing its attempt's files. */
export async function markArtifacts(redis: Redis, jobKey: string, delivery: number): Promise<void> {
  await redis.eval(SET_IF_EXISTS, 1, jobKey, ARTIFACTS_FIELD, String(delivery));
}
