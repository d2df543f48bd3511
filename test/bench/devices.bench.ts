import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { remote } from 'webdriverio';
import { AppiumDriver } from '../../devices/appium/appium-driver.ts';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { capabilitiesWithEmulation } from '../../devices/appium/emulation.ts';
import { withChromedriverPort } from '../../devices/appium/free-port.ts';
import type { AppiumSettings } from '../../devices/appium/settings.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { DockerDriver } from '../../devices/docker/docker-driver.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { startPageServer } from '../devices/page-server.ts';
import type { BenchResult } from './bench-result.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Not the tests' port, so a bench run and a test run never share a server. */
const BENCH_APPIUM_PORT = 4791;
const AGENT = 'devlab-bench-devices';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeEach(n: number, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

function reference(id: string, settings: Record<string, unknown>): DeviceRecord {
  const d = loadInventory().find((x) => x.id === id);
  if (!d) throw new Error(`no ${id} in the reference inventory`);
  return { ...d, host: AGENT, settings: { ...d.settings, ...settings } };
}

/** Per-test cost of the Appium session wrapper (reset + bookkeeping) over the same raw WebdriverIO calls. */
async function benchAppium(rounds: number): Promise<BenchResult[]> {
  const server = await new AppiumServer({
    host: '127.0.0.1',
    port: BENCH_APPIUM_PORT,
    appiumHome: process.env['APPIUM_HOME'] ?? ROOT,
    logFile: path.join(mkdtempSync(path.join(os.tmpdir(), 'devlab-bench-')), 'appium.log'),
  }).start();
  const page = await startPageServer();
  try {
    const device = reference('stick-1080p', { server: server.url });
    const settings = device.settings as AppiumSettings;
    const body = async (b: WebdriverIO.Browser) => {
      await b.url(page.url);
      await b.getTitle();
    };
    const raw = await remote({
      hostname: '127.0.0.1',
      port: BENCH_APPIUM_PORT,
      logLevel: 'silent',
      capabilities: {
        ...(await withChromedriverPort(capabilitiesWithEmulation(settings.capabilities, settings.emulation))),
        'wdio:enforceWebDriverClassic': true,
      } as WebdriverIO.Capabilities,
    });
    const sessions = {
      blank: await new AppiumDriver().openSession(
        reference('stick-1080p', { server: server.url, reset: 'blank-page' }),
      ),
      quiesce: await new AppiumDriver().openSession(
        reference('stick-1080p', { server: server.url, reset: 'quiesce' }),
      ),
    };
    const harnessRun = (session: typeof sessions.blank) => async () => {
      const res = await session.run(async ({ driver }) => body(driver!), { timeoutMs: 30_000 });
      if (res.status !== 'passed') throw new Error(`bench test ${res.status}: ${res.error?.message}`);
    };
    const times = { raw: [] as number[], blank: [] as number[], quiesce: [] as number[] };
    try {
      await body(raw);
      await harnessRun(sessions.blank)();
      await harnessRun(sessions.quiesce)();
      // Interleaved rounds, so that load drifts on the shared machine hit all three alike.
      for (let i = 0; i < rounds; i++) {
        times.raw.push(...(await timeEach(1, () => body(raw))));
        times.blank.push(...(await timeEach(1, harnessRun(sessions.blank))));
        times.quiesce.push(...(await timeEach(1, harnessRun(sessions.quiesce))));
      }
    } finally {
      await raw.deleteSession();
      await sessions.blank.close();
      await sessions.quiesce.close();
    }
    const rawMs = median(times.raw);
    const blank = median(times.blank);
    const quiesce = median(times.quiesce);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return [
      {
        name: 'appium reused session: overhead per test over raw WebdriverIO (reset: quiesce, default)',
        value: round(quiesce - rawMs),
        unit: 'ms',
        baseline: round(rawMs),
        goal: '<= 20 ms',
      },
      {
        name: 'appium reused session: overhead per test over raw WebdriverIO (reset: blank-page)',
        value: round(blank - rawMs),
        unit: 'ms',
        baseline: round(rawMs),
        goal: '<= 20 ms',
      },
    ];
  } finally {
    await page.close();
    await server.stop();
  }
}

/** A container test through the driver vs the bare dockerode create/start/wait/remove of the same command. */
async function benchDocker(rounds: number): Promise<BenchResult[]> {
  const docker = new Docker({ socketPath: process.env['DEVLAB_DOCKER_SOCKET'] ?? '/var/run/docker.sock' });
  const device = reference('stb-ref-r1', {});
  const session = await new DockerDriver({ imageSpecs: REFERENCE_IMAGE_SPECS }).openSession(device);
  const image = device.settings['image'] as string;
  const cmd = ['sh', '-c', 'echo ok'];
  try {
    const rawRun = async () => {
      const c = await docker.createContainer({
        Image: image,
        Cmd: cmd,
        Labels: { 'devlab.agent': AGENT },
        HostConfig: { NetworkMode: 'none' },
      });
      await c.start();
      await c.wait();
      await c.remove({ force: true });
    };
    const commandRun = async () => {
      const res = await session.runCommand({ timeoutMs: 30_000, cmd });
      if (res.status !== 'passed') throw new Error(`bench command ${res.status}: ${res.error?.message}`);
    };
    const bodyRun = async () => {
      const res = await session.run(
        async ({ container }) => {
          if ((await container!.exec(cmd)).exitCode !== 0) throw new Error('exec failed');
        },
        { timeoutMs: 30_000 },
      );
      if (res.status !== 'passed') throw new Error(`bench body ${res.status}: ${res.error?.message}`);
    };
    await rawRun();
    await commandRun();
    await bodyRun();
    const raw: number[] = [];
    const command: number[] = [];
    const body: number[] = [];
    // Interleaved, so that engine load drifts affect all three alike.
    for (let i = 0; i < rounds; i++) {
      raw.push(...(await timeEach(1, rawRun)));
      command.push(...(await timeEach(1, commandRun)));
      body.push(...(await timeEach(1, bodyRun)));
    }
    const rawMs = median(raw);
    return [
      {
        name: 'docker command test (limits, logs, results, removal) vs raw create/start/wait/remove',
        value: Math.round((median(command) / rawMs) * 100) / 100,
        unit: 'x',
        baseline: Math.round(rawMs),
        goal: '<= 1.2x',
      },
      {
        name: 'docker exec-body test (keepalive container + exec + results) vs raw create/start/wait/remove',
        value: Math.round((median(body) / rawMs) * 100) / 100,
        unit: 'x',
        baseline: Math.round(rawMs),
      },
    ];
  } finally {
    await session.close();
    await reapContainers(docker, AGENT, 'none');
  }
}

export async function benchDevices(): Promise<BenchResult[]> {
  return [...(await benchAppium(30)), ...(await benchDocker(12))];
}

// Runnable on its own: `npx tsx test/bench/devices.bench.ts`.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const r of await benchDevices()) console.log(JSON.stringify(r));
}
