import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import { createDeviceContainer, KEEPALIVE_CMD } from '../../devices/docker/create-container.ts';
import { DockerDriver, dockerSettings } from '../../devices/docker/docker-driver.ts';
import { ImageProvider } from '../../devices/docker/images.ts';
import { LABEL_AGENT, LABEL_DEVICE, LABEL_INSTANCE, LABEL_LAB } from '../../devices/docker/labels.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { startAgentService } from '../../harness/lab/agent-service.ts';
import { containerBox } from '../support/container-box.ts';
import { containersOf } from '../support/container-probe.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { DOCKER_SOCKET, dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { type SocketProxy, startSocketProxy } from '../support/socket-proxy.ts';

/**
 * Issue 17: DEVLAB_DOCKER_SOCKET is the engine of the devices that name no socket, and an agent's start-up
 * reap takes only its own lab's containers (two labs, one engine, agents of the same host name).
 */
const HOST = `devlab-test-labreap-${randomUUID().slice(0, 8)}`;
const LAB_A = `labreap-a-${process.pid}`;
const LAB_B = `labreap-b-${process.pid}`;

/** The inventory: one container box of HOST that names no socket. */
const INVENTORY = `devices:${containerBox({ id: 'labreap-box', name: 'Lab reap box', model: 'LR-1', host: HOST })}`;

describe('docker engine and reaping by lab (real engine, Redis, agent start-up)', async () => {
  const up = (await requireService('Docker engine', dockerUp)) && (await requireService('Redis', redisUp));
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-labreap-'));
  const device: DeviceRecord = parseInventory(INVENTORY, 'labreap.yaml')[0]!;
  let proxy: SocketProxy;

  beforeAll(async () => {
    if (!up) return;
    // The configured engine: the real one behind a path of its own, so its use can be seen.
    proxy = await startSocketProxy(DOCKER_SOCKET, path.join(home, 'engine.sock'));
    await new ImageProvider(docker, REFERENCE_IMAGE_SPECS).ensure(dockerSettings(device));
  });
  afterAll(async () => {
    if (up) {
      for (const lab of [LAB_A, LAB_B]) await reapContainers(docker, HOST, 'none', lab);
      expect(await containersOf(docker, HOST)).toEqual([]);
      await proxy.close();
    }
    rmSync(home, { recursive: true, force: true });
  });

  it.skipIf(!up)(
    'a device that names no socket runs on the driver’s configured engine, labelled with its lab',
    async () => {
      const driver = new DockerDriver({ socket: proxy.path, lab: LAB_A, imageSpecs: REFERENCE_IMAGE_SPECS });
      const session = await driver.openSession(device);
      let labels: Record<string, string> = {};
      try {
        const result = await session.run(
          async ({ container }) => {
            labels = (await docker.getContainer(container!.id).inspect()).Config.Labels;
          },
          { timeoutMs: 30_000 },
        );
        expect(result.status).toBe('passed');
      } finally {
        await session.close();
        await driver.dispose();
      }
      // Before: the device fell back to /var/run/docker.sock and nothing went through the configured path.
      expect(proxy.connections).toBeGreaterThan(0);
      expect(labels).toMatchObject({ [LABEL_LAB]: LAB_A, [LABEL_AGENT]: HOST, [LABEL_DEVICE]: device.id });
    },
  );

  it.skipIf(!up)(
    'an agent’s start-up reap removes its own lab’s leftovers and leaves the other lab’s container alone',
    { timeout: 60_000 },
    async () => {
      const settings = dockerSettings(device);
      const leftover = (lab: string) =>
        createDeviceContainer(docker, device, settings, {
          instance: 'an-earlier-life',
          cmd: KEEPALIVE_CMD,
          lab,
        });
      const own = await leftover(LAB_A);
      const other = await leftover(LAB_B);
      // Made by a devlab from before the lab label: taken by its host's agent (see reaper.ts).
      const unlabelled = await docker.createContainer({
        Image: settings.image,
        Cmd: KEEPALIVE_CMD,
        Labels: { [LABEL_AGENT]: HOST, [LABEL_DEVICE]: device.id, [LABEL_INSTANCE]: 'an-older-version' },
      });
      for (const c of [own, other, unlabelled]) await c.start();

      const suites = path.join(home, 'suites');
      mkdirSync(suites, { recursive: true });
      const inventoryFile = path.join(home, 'inventory.yaml');
      writeFileSync(inventoryFile, INVENTORY);
      const config = loadConfig({
        env: {
          DEVLAB_HOME: home,
          DEVLAB_REDIS_URL: REDIS_URL,
          DEVLAB_REDIS_PREFIX: LAB_A,
          DEVLAB_DOCKER_SOCKET: proxy.path,
        },
        cwd: home,
      });
      const lines: string[] = [];
      const service = await startAgentService(config, {
        agentId: HOST,
        serverUrl: 'http://127.0.0.1:9',
        inventoryFile,
        suites: [suites],
        appUrl: 'http://127.0.0.1:9/',
        healthIntervalMs: 3_600_000,
        log: (line) => lines.push(line),
      });
      await service.close();
      const redis = redisConnection(REDIS_URL);
      await dropPrefix(redis, LAB_A).finally(() => redis.disconnect());

      const left = (await containersOf(docker, HOST)).map((c) => c.Id);
      expect(left, lines.join('\n')).toEqual([other.id]);
      expect(lines.join('\n')).toContain(`reaped 2 container(s) left by a previous life on ${proxy.path}`);
    },
  );
});
