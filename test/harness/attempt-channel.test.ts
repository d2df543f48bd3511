import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../../harness/errors.ts';
import type { AttemptReport, AttemptStarted } from '../../harness/protocol/job.ts';
import {
  listenForStarts,
  RedisAttemptChannel,
  readAttemptReport,
} from '../../harness/queue/attempt-channel.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { REDIS_URL } from '../support/services.ts';

/** The agent → control plane channel on the real Redis: both ends, each message kind on its own way. */
describe('attempt channel', () => {
  const redis = redisConnection(REDIS_URL);
  const keys = labKeys(`devlab-channel-${process.pid}`);
  const subscriber = redis.duplicate();
  afterEach(() => dropPrefix(redis, keys.queuePrefix));
  afterAll(async () => {
    await subscriber.quit();
    redis.disconnect();
  });

  const report: AttemptReport = {
    runId: 'run-1',
    jobId: 'job-1',
    attempt: 1,
    deviceId: 'tv-1',
    agent: 'agent-a',
    status: 'failed',
    error: { message: 'GET https://user:s3cret@hub.example/wd failed', kind: 'test' },
    startedAt: 1,
    endedAt: 2,
    artifacts: [],
    cases: [],
  };

  it('brings a start to the control plane as a typed notice, and drops a malformed one, saying so', async () => {
    const starts: AttemptStarted[] = [];
    const lines: string[] = [];
    await listenForStarts(
      subscriber,
      keys,
      (s) => starts.push(s),
      (line) => lines.push(line),
    );
    await redis.publish(keys.startedChannel, '{"type":"started","runId":"run-1"}');
    await redis.publish(keys.startedChannel, 'not json');
    const channel = new RedisAttemptChannel(redis, keys);
    await channel.announceStart({
      runId: 'run-1',
      jobId: 'job-1',
      attempt: 1,
      deviceId: 'tv-1',
      agent: 'agent-a',
      at: 5,
    });
    await expect.poll(() => starts.length).toBe(1);
    expect(starts[0]).toEqual({
      type: 'started',
      runId: 'run-1',
      jobId: 'job-1',
      attempt: 1,
      deviceId: 'tv-1',
      agent: 'agent-a',
      at: 5,
    });
    expect(lines).toEqual([
      expect.stringContaining('start notice dropped (malformed'),
      expect.stringContaining('start notice dropped (not JSON)'),
    ]);
  });

  it('puts a report on the report stream with credentials masked, read back as an attempt report', async () => {
    await new RedisAttemptChannel(redis, keys).report(report);
    const entries = await redis.xrange(keys.reportStream, '-', '+');
    expect(entries).toHaveLength(1);
    const read = readAttemptReport(JSON.parse(entries[0]![1][1]!));
    expect(read.error?.message).not.toContain('s3cret');
    expect(read).toMatchObject({ runId: 'run-1', jobId: 'job-1', status: 'failed' });
  });

  it('refuses a malformed report as a dead letter, naming what is wrong', () => {
    expect(() => readAttemptReport({ ...report, status: 'maybe' })).toThrow(MalformedMessageError);
    expect(() => readAttemptReport({ ...report, attempt: 0 })).toThrow(/malformed attempt report/);
  });
});
