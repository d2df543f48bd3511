import { describe, expect, it } from 'vitest';
import type { PoolQueues } from '../../../harness/queue/pool-queues.ts';
import { RunEnqueuer } from '../../../harness/server/run-enqueuer.ts';

type Items = Parameters<PoolQueues['enqueueMany']>[0];

/** Pure scheduling logic: a recording stand-in for the pool queues. */
function recordingQueues() {
  const calls: Items[] = [];
  const queues = {
    enqueueMany: async (items: Items) => {
      calls.push(items);
    },
  } as unknown as PoolQueues;
  return { calls, queues };
}

const items = [{ payload: { jobId: 'j1', pool: 'p' }, priority: 1 }] as unknown as Items;

describe('RunEnqueuer', () => {
  it("queues a run's attempts only once the answer that created it was sent", async () => {
    const { calls, queues } = recordingQueues();
    const enqueuer = new RunEnqueuer(queues, () => {});
    let sent!: () => void;
    const answered = new Promise<void>((resolve) => {
      sent = resolve;
    });
    enqueuer.queue('run-1', items, answered);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(0);
    sent();
    await enqueuer.queued('run-1');
    expect(calls).toEqual([items]);
  });

  it('without an answer to wait for, queues on the next turn', async () => {
    const { calls, queues } = recordingQueues();
    const enqueuer = new RunEnqueuer(queues, () => {});
    enqueuer.queue('run-2', items);
    expect(calls).toHaveLength(0);
    await enqueuer.queued('run-2');
    expect(calls).toEqual([items]);
  });
});
