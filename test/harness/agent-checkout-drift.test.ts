import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseInventory } from '../../devices/inventory/load.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type AgentService, startAgentService } from '../../harness/lab/agent-service.ts';
import { capabilitiesHash, poolKey } from '../../harness/planner/pools.ts';
import { labKeys, poolQueueName } from '../../harness/queue/names.ts';
import { poolMapOf, publishPoolMap, readPoolMap } from '../../harness/queue/pool-map.ts';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { type FaultLab, startFaultLab, writeSuite } from '../faults/fault-lab.ts';
import { waitForRun } from '../support/lab-harness.ts';
import { redisUp, requireService } from '../support/services.ts';

/**
 * An agent whose checkout differs from the control plane's: its inventory copy puts a device in another
 * pool (so another queue), and its suites copy has another body under a test's id. The control plane
 * publishes its pool → queue map and carries each test's content hash in the job; the agent refuses the
 * drifted pool with an error naming both queues and capability hashes (serving its other pools), and
 * refuses the job of the edited test with an infrastructure error naming both hashes, never running it.
 */
const device = (id: string, model: string, capabilities: string) => `
  - id: ${id}
    name: ${id}
    driver: browser
    model: ${model}
    platform: web
    os: linux
    firmware: '1.0'
    host: agent-a
    capabilities: ${capabilities}
    settings: { viewport: { width: 800, height: 600 } }`;

const CAPS_A =
  '{ codecs: [h264], drm: { widevine: L1, playready: SL2000 }, resolution: 1080p, memoryMb: 4096, input: [pointer] }';
/** The same capabilities, keys in another order: the same pool. */
const CAPS_A_REORDERED =
  '{ input: [pointer], memoryMb: 4096, resolution: 1080p, drm: { playready: SL2000, widevine: L1 }, codecs: [h264] }';
const CAPS_B = '{ codecs: [h264], resolution: 720p, memoryMb: 2048, input: [pointer] }';
/** Drifted: this copy says 4096 MB. */
const CAPS_B_DRIFTED = '{ codecs: [h264], resolution: 720p, memoryMb: 4096, input: [pointer] }';

const INVENTORY = `devices:${device('web-a', 'web-a', CAPS_A)}${device('web-b', 'web-b', CAPS_B)}\n`;
const DRIFTED_INVENTORY = `devices:${device('web-a', 'web-a', CAPS_A_REORDERED)}${device('web-b', 'web-b', CAPS_B_DRIFTED)}\n`;

/** The suite; `marker` is the file the agent's copy of the body would write, had it run. */
const suite = (body: string) => `
import { writeFileSync } from 'node:fs';
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
export default [
  defineTest(
    { id: 'drift.body', title: 'drift body', tags: ['drift'], component: 'drift', owner: 'qa', retries: 0, requires: { drivers: ['browser'] } },
    async () => { ${body} },
  ),
];
`;

describe('an agent on another checkout', async () => {
  const ok = await requireService('redis', redisUp);
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-drift-'));
  const marker = path.join(dir, 'other-body-ran');
  let lab: FaultLab;
  let agent: AgentService | null = null;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    if (!ok) return;
    lab = await startFaultLab({
      dir,
      name: 'drift',
      inventoryYaml: INVENTORY,
      suites: writeSuite(dir, 'drift', suite('/* the control plane body */')),
    });
    const otherCheckout = path.join(dir, 'other');
    const otherSuites = writeSuite(
      otherCheckout,
      'drift',
      suite(`writeFileSync(${JSON.stringify(marker)}, 'ran');`),
    );
    const otherInventory = path.join(otherCheckout, 'inventory.yaml');
    writeFileSync(otherInventory, DRIFTED_INVENTORY);
    agent = await startAgentService(lab.config, {
      agentId: 'agent-a',
      serverUrl: lab.server.url,
      inventoryFile: otherInventory,
      suites: [otherSuites],
      appUrl: 'http://127.0.0.1:9',
      healthIntervalMs: 3_600_000,
      logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
    if (ok) await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.runIf(ok)(
    'refuses a pool whose queue differs from the published map, and serves the others',
    async () => {
      const mine = parseInventory(INVENTORY);
      const drifted = parseInventory(DRIFTED_INVENTORY);
      const [a, b] = mine;
      const [driftedA, driftedB] = drifted;
      // Key order does not change a pool: web-a's copy lists its capabilities in another order.
      expect(poolKey(driftedA!)).toBe(poolKey(a!));
      expect(poolKey(driftedB!)).not.toBe(poolKey(b!));

      const { map } = await readPoolMap(lab.server.redis, labKeysOf(lab));
      expect([...(map?.keys() ?? [])].sort()).toEqual([poolKey(a!), poolKey(b!)].sort());

      const refused = agent!.agent.refusedPools.get(poolKey(driftedB!));
      expect(refused).toBeDefined();
      for (const named of [
        poolKey(driftedB!),
        poolQueueName(poolKey(driftedB!)),
        capabilitiesHash(driftedB!),
        poolQueueName(poolKey(b!)),
        capabilitiesHash(b!),
      ])
        expect(refused).toContain(named);
      expect(agent!.agent.servedPools).toEqual([poolKey(a!)]);
      const logged = lines.find((l) => l['pool'] === poolKey(driftedB!) && l['level'] === 50);
      expect(logged?.['msg']).toBe(refused);

      // The control plane publishes a map that gives the pool this agent's queue: it is served from then on.
      await publishPoolMap(lab.server.redis, labKeysOf(lab), poolMapOf(drifted));
      await vi.waitFor(
        () => expect(agent!.agent.servedPools.sort()).toEqual([poolKey(a!), poolKey(driftedB!)].sort()),
        { timeout: 10_000, interval: 50 },
      );
      expect(agent!.agent.refusedPools.size).toBe(0);
      // And back to the control plane's own map: refused again.
      await publishPoolMap(lab.server.redis, labKeysOf(lab), poolMapOf(mine));
      await vi.waitFor(() => expect(agent!.agent.servedPools).toEqual([poolKey(a!)]), {
        timeout: 10_000,
        interval: 50,
      });
    },
  );

  it.runIf(ok)('gives a test the same content hash in every process that reads its file', async () => {
    // This process compiles test files with Vite, a devlab process with tsx: the hash must not depend on it.
    const inProcess = (await loadCatalog([lab.suites])).get('drift.body')!.hash;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'harness/cli/devlab.js'),
        'tests',
        'show',
        'drift.body',
        '--suites',
        lab.suites,
        '--json',
      ],
      { env: { ...process.env, ...lab.env } },
    );
    expect((JSON.parse(stdout) as { hash: string }).hash).toBe(inProcess);
  });

  it.runIf(ok)(
    'refuses a job whose test body has another content hash, as an infrastructure error',
    async () => {
      const theirs = (await loadCatalog([lab.suites])).get('drift.body')!.hash;
      const ours = (await loadCatalog([path.join(dir, 'other', 'suites')])).get('drift.body')!.hash;
      expect(ours).not.toBe(theirs);
      const { store, controlPlane } = lab.server;
      const { run } = await controlPlane.submit({ query: 'tag:drift', select: 'model:web-a' });
      expect(await waitForRun(store, run.id, 90_000)).toBe('error');
      const [job] = store.jobs.listByRun(run.id);
      expect(job?.verdict).toBe('error');
      const attempts = store.attempts.listByJob(job!.id);
      expect(attempts.length).toBeGreaterThan(0);
      for (const attempt of attempts) {
        expect(attempt.status).toBe('error');
        expect(attempt.errorKind).toBe('infra');
        expect(attempt.message).toContain('content hash mismatch');
        expect(attempt.message).toContain(theirs);
        expect(attempt.message).toContain(ours);
      }
      // The other checkout's body never ran.
      expect(existsSync(marker)).toBe(false);
    },
  );
});

const labKeysOf = (lab: FaultLab) => labKeys(lab.config.redisPrefix);
