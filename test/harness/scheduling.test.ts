import Docker from 'dockerode';
import { expect as assert } from 'expect';
import { afterEach, describe, expect, it } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { defineTest } from '../../suites/define-test.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { type LabHarness, startLabHarness, waitForRun } from '../support/lab-harness.ts';
import { DOCKER_SOCKET, dockerUp, redisUp, requireService } from '../support/services.ts';
import { containerBox } from '../support/container-box.ts';

const box = (id: string, model: string) =>
  containerBox({ id, name: id, model, host: 'sched-agent', memoryMb: 32 });

const sleeper = (id: string, tag: string, seconds: number): TestDefinition =>
  defineTest(
    { id, title: id, tags: [tag], component: 'sched', owner: 'qa', timeoutMs: 60_000 },
    async ({ container }) => {
      const out = await container!.exec(['sleep', String(seconds)]);
      assert(out.exitCode).toBe(0);
    },
  );

describe('scheduling on the real Redis queues with container devices', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it.skipIf(!up)('a ci-pr run overtakes a nightly run queued before it', async () => {
    const tests = [
      ...Array.from({ length: 5 }, (_, i) => sleeper(`nightly.${i}`, 'nightly', 0.05)),
      sleeper('pr.0', 'pr', 0.05),
      sleeper('pr.1', 'pr', 0.05),
    ];
    lab = await startLabHarness({
      inventory: parseInventory(`devices:${box('prio-box', 'prio-box-model')}`),
      tests,
      registry: createDriverRegistry({}),
      agentIds: ['sched-agent'],
      appUrl: 'http://127.0.0.1:9/',
      deferAgents: true,
    });
    const nightly = await lab.controlPlane.submit({
      query: 'tag:nightly',
      priority: 'nightly',
      partner: 'acme',
    });
    const pr = await lab.controlPlane.submit({ query: 'tag:pr', priority: 'ci-pr', partner: 'acme' });
    await lab.startAgents();
    expect(await waitForRun(lab.store, pr.run.id, 90_000)).toBe('passed');
    expect(await waitForRun(lab.store, nightly.run.id, 90_000)).toBe('passed');
    const lastPr = Math.max(...lab.store.jobs.listByRun(pr.run.id).map((j) => j.finishedAt!));
    const firstNightly = Math.min(...lab.store.jobs.listByRun(nightly.run.id).map((j) => j.finishedAt!));
    expect(lastPr).toBeLessThan(firstNightly);
  });

  it.skipIf(!up)(
    'a partner cap of 1 never lets two of its jobs run at once, even on two free devices',
    async () => {
      const tests = Array.from({ length: 3 }, (_, i) => sleeper(`cap.${i}`, 'cap', 0.4));
      lab = await startLabHarness({
        inventory: parseInventory(
          `devices:${box('cap-box-1', 'cap-model-a')}${box('cap-box-2', 'cap-model-b')}`,
        ),
        tests,
        registry: createDriverRegistry({}),
        agentIds: ['sched-agent'],
        appUrl: 'http://127.0.0.1:9/',
        partnerCaps: { capped: 1 },
      });
      const { run } = await lab.controlPlane.submit({ query: 'tag:cap', partner: 'capped' });
      expect(await waitForRun(lab.store, run.id, 120_000)).toBe('passed');
      const spans = lab.store.jobs
        .listByRun(run.id)
        .flatMap((j) => lab!.store.attempts.listByJob(j.id))
        .map((a) => [a.startedAt, a.endedAt] as const)
        .sort((x, y) => x[0] - y[0]);
      expect(spans).toHaveLength(6);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    },
  );

  it.skipIf(!up)(
    'cancelling stops the running test within seconds, removes queued jobs and frees the device',
    async () => {
      const tests = [
        sleeper('cancel.long', 'cancel', 30),
        ...Array.from({ length: 3 }, (_, i) => sleeper(`cancel.q${i}`, 'cancel', 0.1)),
      ];
      lab = await startLabHarness({
        inventory: parseInventory(`devices:${box('cancel-box', 'cancel-model')}`),
        tests,
        registry: createDriverRegistry({}),
        agentIds: ['sched-agent'],
        appUrl: 'http://127.0.0.1:9/',
      });
      const { run } = await lab.controlPlane.submit({ query: 'tag:cancel', options: { ordering: 'fifo' } });
      const harness = lab;
      await new Promise<void>((resolve) => {
        const off = harness.controlPlane.events.subscribe((e) => {
          if (e.type === 'job.started') {
            off();
            resolve();
          }
        }, run.id);
      });
      await new Promise((r) => setTimeout(r, 500));
      const cancelledAt = Date.now();
      const res = await fetch(`${lab.apiUrl}/api/runs/${run.id}/cancel`, { method: 'POST' });
      expect(((await res.json()) as { status: string }).status).toBe('cancelled');
      const jobs = lab.store.jobs.listByRun(run.id);
      expect(jobs.map((j) => j.verdict)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
      // The running attempt is stopped and its device released well before the 30 s test would end.
      const leases = new LeaseManager(lab.redis, { prefix: lab.keys.keyPrefix });
      const deadline = Date.now() + 15_000;
      while ((await leases.holder('cancel-box')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(await leases.holder('cancel-box')).toBeNull();
      expect(Date.now() - cancelledAt).toBeLessThan(15_000);
      const docker = new Docker({ socketPath: DOCKER_SOCKET });
      const left = await docker.listContainers({
        all: true,
        filters: { label: ['devlab.device=cancel-box'] },
      });
      expect(left).toHaveLength(0);
    },
  );
});
