import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLocalImage } from '../../devices/docker/local-image.ts';
import { HEALTH_ACTOR } from '../../devices/health/health-monitor.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { redisUp, requireService } from '../support/services.ts';
import {
  describeResults,
  expectOneResultPerJob,
  type FaultLab,
  PrivateDockerd,
  startFaultLab,
  until,
  waitForEvent,
  waitForRunOrExplain,
  writeSuite,
  expectEngineClean,
} from './fault-lab.ts';
import { containerBox } from '../support/container-box.ts';

const AGENT = 'fault-flap';
const FLAP = 'flap-box';
const STEADY = 'steady-box';
/** The flapping device's image: removed and built again by the test. No build spec, no registry: when it
 * is gone the device's health check fails (and its tests cannot start) until it is back. */
const FLAP_IMAGE = 'devlab/fault-flap:1';
const STEADY_IMAGE = 'devlab/fault-steady:1';
const SPEC = REFERENCE_IMAGE_SPECS['stb-reference-1']!;
/**
 * An attempt whose lease was taken just before the quarantine records its start a moment later (the
 * lease is checked atomically, the start time is taken after it): starts this close to the quarantine
 * are not counted as "on a quarantined device".
 */
const LEASE_TO_START_MS = 1000;

/** Same model, firmware and capabilities: one pool, so either device may take any job. */
const box = (id: string, image: string, socket: string) =>
  containerBox({
    id,
    name: id,
    model: 'flap-box',
    host: AGENT,
    image,
    build: null,
    memoryMb: 32,
    settings: { socket },
  });

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const sleeper = (id) =>
  defineTest({ id, title: id, tags: ['flap'], component: 'faults', owner: 'qa', timeoutMs: 60000 }, async ({ container }) => {
    const out = await container.exec(['sleep', '1']);
    if (out.exitCode !== 0) throw new Error('sleep exited with ' + out.exitCode);
  });
export default Array.from({ length: 24 }, (_, i) => sleeper('flap.' + String(i + 1).padStart(2, '0')));
`;

describe('a device whose health flaps during a run (image removed and built again, a private dockerd)', async () => {
  const up = await requireService('Redis', redisUp);
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fault-flap-'));
  const engine = new PrivateDockerd();
  let lab: FaultLab | undefined;

  beforeAll(async () => {
    if (!up) return;
    await engine.start();
    await buildLocalImage(engine.docker, { ...SPEC, tag: FLAP_IMAGE });
    await buildLocalImage(engine.docker, { ...SPEC, tag: STEADY_IMAGE });
  });
  afterAll(async () => {
    await lab?.close();
    await engine.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!up)(
    'is quarantined and comes back each time, with reasons; jobs go to the healthy device meanwhile; one result per job',
    async () => {
      lab = await startFaultLab({
        dir,
        name: 'flap',
        inventoryYaml: `devices:${box(FLAP, FLAP_IMAGE, engine.socket)}${box(STEADY, STEADY_IMAGE, engine.socket)}\n`,
        suites: writeSuite(dir, 'flap', SUITE),
        env: { DEVLAB_DOCKER_SOCKET: engine.socket, DEVLAB_HEALTH_INTERVAL_MS: '300' },
      });
      const { server } = lab;
      const redis: Redis = server.redis;
      const states = new DeviceStateStore(redis, { prefix: `${lab.config.redisPrefix}:` });
      const agent = await lab.startAgent(AGENT, ['--app-url', 'http://127.0.0.1:9/']);
      const { run } = await server.controlPlane.submit({ query: 'tag:flap', options: { ordering: 'fifo' } });
      await waitForEvent(server.store, run.id, 'the first job to start', (e) => e.type === 'job.started');

      const windows: { from: number; to: number }[] = [];
      for (let cycle = 1; cycle <= 2; cycle++) {
        // Down: the image is gone, so the health check fails until the monitor quarantines the device.
        await engine.docker.getImage(FLAP_IMAGE).remove({ force: true });
        const down = await until(
          `${FLAP} to be quarantined (cycle ${cycle})`,
          async () => {
            const s = await states.get(FLAP);
            return s.state === 'quarantined' && s;
          },
          20_000,
          50,
        );
        expect(down.by).toBe(HEALTH_ACTOR);
        if (cycle === 1) {
          // The API shows it too, with the reason.
          const devices = (await (await fetch(`${server.url}/api/devices`)).json()) as {
            id: string;
            state: string;
            reason?: string;
          }[];
          expect(devices.find((d) => d.id === FLAP)).toMatchObject({
            state: 'quarantined',
            reason: expect.stringContaining(`image ${FLAP_IMAGE} is missing`),
          });
          expect(devices.find((d) => d.id === STEADY)?.state).toBe('available');
        }
        // Meanwhile the healthy device takes the pool's jobs.
        await waitForEvent(
          server.store,
          run.id,
          `a job to start on ${STEADY} while ${FLAP} is quarantined (cycle ${cycle})`,
          (e) =>
            e.type === 'job.started' &&
            e.payload['deviceId'] === STEADY &&
            e.at > down.since + LEASE_TO_START_MS,
          30_000,
        );
        // Up: the image is back, and the next periodic check lifts the quarantine.
        await buildLocalImage(engine.docker, { ...SPEC, tag: FLAP_IMAGE });
        const back = await until(
          `${FLAP} to come back (cycle ${cycle})`,
          async () => {
            const s = await states.get(FLAP);
            return s.state === 'available' && s.since > down.since && s;
          },
          20_000,
          50,
        );
        windows.push({ from: down.since, to: back.since });
      }

      const status = await waitForRunOrExplain(lab, run.id, 60_000);
      const results = expectOneResultPerJob(server.store, run.id);
      const story = `quarantined ${JSON.stringify(windows)}\n${describeResults(results)}`;
      if (process.env['DEVLAB_FAULT_VERBOSE']) console.log(story);

      const attempts = results.flatMap((r) => r.attempts);
      for (const { job } of results) expect(['passed', 'error'], story).toContain(job.verdict);
      expect(['passed', 'error']).toContain(status);
      for (const a of attempts) {
        // Whatever the missing image broke is an infrastructure error of the flapping device, never a failure.
        expect(['passed', 'error'], story).toContain(a.status);
        if (a.status === 'error') {
          expect(a.deviceId, story).toBe(FLAP);
          expect(a.message, story).toMatch(/devlab\/fault-flap:1|No such image/i);
        }
      }
      for (const w of windows) {
        const during = attempts.filter((a) => a.startedAt > w.from + LEASE_TO_START_MS && a.startedAt < w.to);
        expect(
          during.filter((a) => a.deviceId === FLAP),
          story,
        ).toEqual([]);
        expect(
          attempts.some((a) => a.deviceId === STEADY && a.startedAt > w.from && a.startedAt < w.to),
          story,
        ).toBe(true);
      }
      // The device was back in the run: it took jobs again after its last quarantine.
      expect(
        attempts.some((a) => a.deviceId === FLAP && a.startedAt > windows.at(-1)!.to),
        story,
      ).toBe(true);

      // Every move is recorded, by the health monitor, with its reason (newest first).
      const history = await states.history(FLAP);
      expect(history.map((h) => [h.from, h.to, h.by])).toEqual([
        ['quarantined', 'available', HEALTH_ACTOR],
        ['available', 'quarantined', HEALTH_ACTOR],
        ['quarantined', 'available', HEALTH_ACTOR],
        ['available', 'quarantined', HEALTH_ACTOR],
      ]);
      for (const h of history) {
        if (h.to === 'quarantined')
          expect(h.reason).toMatch(
            /^health: image devlab\/fault-flap:1 is missing and has no build spec or registry \(\d+ consecutive failures\)$/,
          );
        else expect(h.reason).toBe(`health re-check passed: engine up, image ${FLAP_IMAGE} present`);
      }
      expect(await states.history(STEADY)).toEqual([]);

      await expectEngineClean(lab, engine, AGENT, agent);
    },
    120_000,
  );
});
