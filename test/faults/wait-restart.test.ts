import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import { type DevlabProcess, spawnDevlab } from '../support/agent-process.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { until } from './fault-lab.ts';
import { containerBox } from '../support/container-box.ts';

const INVENTORY = `devices:${containerBox({ id: 'wait-box', name: 'wait-box', model: 'wait-box', host: 'wait-host', memoryMb: 32 })}`;

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const meta = (id) => ({ id, title: id, tags: ['waitr'], component: 'cli', owner: 'qa', timeoutMs: 60000, retries: 0 });
export default [
  defineTest(meta('waitr.passes'), async ({ container }) => {
    const out = await container.exec(['sleep', '3']);
    if (out.exitCode !== 0) throw new Error('sleep failed');
  }),
  defineTest(meta('waitr.fails'), async ({ container }) => {
    await container.exec(['sleep', '3']);
    throw new Error('expected: this test fails');
  }),
];
`;

const OUTAGE_MS = 20_000;

describe('`devlab run submit --wait` across a control-plane restart', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-wait-restart-'));
  const env: Record<string, string> = {
    DEVLAB_HOME: path.join(dir, 'home'),
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: `devlab-wait-restart-${process.pid}`,
    DEVLAB_LEASE_TTL_MS: '3000',
    DEVLAB_JOB_LOCK_MS: '4000',
    DEVLAB_LOG_LEVEL: 'warn',
  };
  const suites = path.join(dir, 'suites');
  const inventory = path.join(dir, 'inventory.yaml');
  const processes: DevlabProcess[] = [];
  let server: ControlPlaneService | null = null;

  afterAll(async () => {
    for (const p of processes) await p.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
    if (!up) return;
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await dropPrefix(redis, env['DEVLAB_REDIS_PREFIX']!);
    await redis.quit();
  });

  it.skipIf(!up)(
    `rides out a ${OUTAGE_MS / 1000} s outage and exits with the run's verdict and its JUnit report`,
    async () => {
      mkdirSync(suites, { recursive: true });
      writeFileSync(path.join(suites, 'package.json'), '{"type":"module"}\n');
      writeFileSync(path.join(suites, 'waitr.test-def.ts'), SUITE);
      writeFileSync(inventory, INVENTORY);
      const config = loadConfig({ env: { ...process.env, ...env } });
      const port = await freePort();
      const start = () =>
        startControlPlaneService(config, { port, suites: [suites], inventoryFile: inventory });
      server = await start();
      const url = server.url;
      const track = (p: DevlabProcess) => processes.push(p);
      await spawnDevlab(
        'agent',
        ['--host', 'wait-host', '--inventory', inventory, '--suites', suites, '--server', url],
        env,
        {
          ready: 'devlab agent ',
          startTimeoutMs: 90_000,
          track,
        },
      );
      const junit = path.join(dir, 'junit.xml');
      const cli = await spawnDevlab(
        'run',
        ['submit', '-q', 'tag:waitr', '--wait', '--junit', junit, '--server', url, '--retry-for', '120'],
        env,
        { ready: 'job(s) planned', track },
      );
      const exited = new Promise<number | null>((resolve) => {
        if (cli.child.exitCode !== null) resolve(cli.child.exitCode);
        else cli.child.once('exit', (code) => resolve(code));
      });

      // The control plane goes away while the CLI waits, and comes back on the same port.
      await server.close();
      server = null;
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      expect(cli.child.exitCode).toBeNull();
      server = await start();

      expect(await exited).toBe(1);
      const output = cli.output();
      expect(output).toMatch(/waiting for run .*: ECONNREFUSED; trying again in/);
      expect(output).toMatch(/waiting for run .*: the server answered again after \d+ s/);
      expect(output).toContain(`JUnit report: ${junit}`);
      expect(existsSync(junit)).toBe(true);
      const xml = readFileSync(junit, 'utf8');
      expect(xml).toContain('waitr.passes');
      expect(xml).toMatch(/<failure[^>]*>[\s\S]*expected: this test fails/);
      const runId = /run (\S+): \d+ job\(s\) planned/.exec(output)?.[1];
      expect(runId).toBeDefined();
      await until(
        'the run stored as failed',
        () => server?.store.runs.get(runId!)?.status === 'failed',
        10_000,
      );
    },
    180_000,
  );
});
