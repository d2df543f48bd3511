import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../../harness/errors.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { type LabKeys, labKeys } from '../../harness/queue/names.ts';
import { ReportConsumer, reportStreamCounts, sendReport } from '../../harness/queue/report-stream.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { REDIS_URL } from '../support/services.ts';

/** The report stream on the real Redis: batches, redelivery of what was not stored, dead letters. */
describe('report stream', () => {
  const redis = redisConnection(REDIS_URL);
  let n = 0;
  const cleanups: (() => Promise<void>)[] = [];
  const freshKeys = () => {
    const keys = labKeys(`devlab-test-stream-${process.pid}-${++n}`);
    cleanups.push(() => dropPrefix(redis, keys.queuePrefix));
    return keys;
  };
  const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** A consumer that stores every report in `seen` (or runs `handle`), polling fast for the tests. */
  const consumerOf = (keys: LabKeys, handle: (data: unknown) => Promise<void>, retryMs?: number) =>
    new ReportConsumer({ connection: redis, keys, handle, blockMs: 100, ...(retryMs ? { retryMs } : {}) });
  const collector = (keys: LabKeys, seen: unknown[]) =>
    consumerOf(keys, async (data) => {
      seen.push(data);
    });

  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(() => redis.disconnect());

  it('hands over reports sent before and after the consumer started, in order, and removes them once stored', async () => {
    const keys = freshKeys();
    await sendReport(redis, keys, { i: 0 });
    const seen: unknown[] = [];
    const consumer = collector(keys, seen);
    await consumer.start();
    try {
      for (let i = 1; i < 50; i++) await sendReport(redis, keys, { i });
      await until('50 reports', () => seen.length === 50);
      expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
      await until('the stream to empty', async () => (await reportStreamCounts(redis, keys)).waiting === 0);
      expect(await reportStreamCounts(redis, keys)).toEqual({ waiting: 0, dead: 0 });
    } finally {
      await consumer.stop();
    }
  });

  it('start resolves once the reports already waiting were handed over (the control plane recovers after that)', async () => {
    const keys = freshKeys();
    for (let i = 0; i < 1200; i++) await sendReport(redis, keys, { i });
    const seen: number[] = [];
    const consumer = consumerOf(keys, async (data) => {
      seen.push((data as { i: number }).i);
    });
    await consumer.start();
    try {
      // More than two reads' worth, all stored before start() returned.
      expect(seen).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    } finally {
      await consumer.stop();
    }
  });

  it('keeps a report whose storing failed and hands it over again; the others are not repeated', async () => {
    const keys = freshKeys();
    const calls = new Map<number, number>();
    let failFirst = true;
    const consumer = consumerOf(
      keys,
      async (data) => {
        const i = (data as { i: number }).i;
        calls.set(i, (calls.get(i) ?? 0) + 1);
        if (i === 3 && failFirst) {
          failFirst = false;
          throw new Error('SQLITE_BUSY: database is locked');
        }
      },
      200,
    );
    await consumer.start();
    try {
      for (let i = 0; i < 6; i++) await sendReport(redis, keys, { i });
      await until('report 3 stored on its second delivery', () => calls.get(3) === 2);
      await until('the stream to empty', async () => (await reportStreamCounts(redis, keys)).waiting === 0);
      expect([...calls.entries()].sort((a, b) => a[0] - b[0])).toEqual([
        [0, 1],
        [1, 1],
        [2, 1],
        [3, 2],
        [4, 1],
        [5, 1],
      ]);
    } finally {
      await consumer.stop();
    }
  });

  it('sets malformed reports aside in the dead-letter stream with the reason, and goes on', async () => {
    const keys = freshKeys();
    const stored: unknown[] = [];
    const consumer = consumerOf(keys, async (data) => {
      if (!(data as { ok?: boolean }).ok)
        throw new MalformedMessageError('malformed attempt report: jobId: Required');
      stored.push(data);
    });
    await consumer.start();
    try {
      await redis.xadd(keys.reportStream, '*', 'report', '{not json');
      await sendReport(redis, keys, { ok: false });
      await sendReport(redis, keys, { ok: true });
      await until('the good report', () => stored.length === 1);
      await until('two dead letters', async () => (await reportStreamCounts(redis, keys)).dead === 2);
      const dead = (await redis.xrange(keys.deadReportStream, '-', '+')).map(([, f]) => f);
      expect(dead[0]).toEqual(['report', '{not json', 'error', 'not JSON: {not json']);
      expect(dead[1]).toEqual([
        'report',
        '{"ok":false}',
        'error',
        'malformed attempt report: jobId: Required',
      ]);
      expect((await reportStreamCounts(redis, keys)).waiting).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('goes on after its stream was deleted under it (a flushed Redis)', async () => {
    const keys = freshKeys();
    const seen: unknown[] = [];
    const consumer = collector(keys, seen);
    await consumer.start();
    try {
      await sendReport(redis, keys, { i: 1 });
      await until('the first report', () => seen.length === 1);
      await dropPrefix(redis, keys.queuePrefix);
      // Until the group is back, what is sent waits in the new stream and is read from its start.
      await sendReport(redis, keys, { i: 2 });
      await until('the report sent after the deletion', () => seen.length === 2);
      expect(seen).toEqual([{ i: 1 }, { i: 2 }]);
    } finally {
      await consumer.stop();
    }
  });

  it('a consumer stopped before storing a batch reads it again after its restart', async () => {
    const keys = freshKeys();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const first: unknown[] = [];
    // Never finishes storing until stopped: like a control plane killed mid-batch.
    const consumer = consumerOf(keys, async (data) => {
      first.push(data);
      await gate;
      throw new Error('control plane going down');
    });
    // Waiting before it starts, the three come in one read.
    for (let i = 0; i < 3; i++) await sendReport(redis, keys, { i });
    const starting = consumer.start();
    await until('the batch read', () => first.length === 3);
    const stopped = consumer.stop();
    release();
    await stopped;
    await starting;

    const second: unknown[] = [];
    const restarted = collector(keys, second);
    await restarted.start();
    try {
      await until('the pending batch again', () => second.length === 3);
      expect(second).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
      await until('the stream to empty', async () => (await reportStreamCounts(redis, keys)).waiting === 0);
    } finally {
      await restarted.stop();
    }
  });
});
