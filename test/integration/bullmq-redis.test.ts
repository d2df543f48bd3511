import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
const name = `devlab-it-roundtrip-${process.pid}`;

describe('BullMQ on the real Redis', async () => {
  const up = await requireService('Redis', redisUp);
  let queue: Queue;
  let worker: Worker;
  let events: QueueEvents;

  beforeAll(async () => {
    if (!up) return;
    queue = new Queue(name, { connection });
    events = new QueueEvents(name, { connection });
    worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2, by: 'worker' }), {
      connection,
    });
    await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  });

  afterAll(async () => {
    if (!up) return;
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it.skipIf(!up)('round-trips a job: add, process in a worker, read the return value', async () => {
    const job = await queue.add('double', { n: 21 });
    const result = await job.waitUntilFinished(events, 10_000);
    expect(result).toEqual({ doubled: 42, by: 'worker' });
    expect(await job.getState()).toBe('completed');
  });
});
