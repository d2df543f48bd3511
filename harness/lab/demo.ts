import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { AppiumServer } from '../../devices/appium/appium-server.ts';
import { ensureAppiumServers } from './agent-appium.ts';
import { type DevlabConfig, configSchema } from '../config/config.ts';
import type { RunRequestInput } from '../protocol/run-request.ts';
import { isRunOver, type RunStatus } from '../store/runs-repo.ts';
import { ChildAgent } from './child-agent.ts';
import { type ControlPlaneService, startControlPlaneService } from './control-plane-service.ts';
import { LocalServices } from './local-services.ts';
import { evaluateGeneratedLab } from './model-check.ts';
import { redisConnection } from '../queue/connection.ts';
import { labKeys } from '../queue/names.ts';
import { removeLabKeys } from '../queue/remove-lab-keys.ts';

export interface DemoOptions {
  /** Tests of the demo runs (a small, telling part of the sample suites). */
  query: string;
  /** Devices of the demo runs. */
  select: string;
  agents: string[];
  log: (line: string) => void;
  /** A run still open after this long is cancelled and the demo fails with the agents' last words. */
  runTimeoutMs?: number;
}

export const DEMO_DEFAULTS = {
  query:
    'tag:smoke or tag:conformance or id:app.playback.hevc-title-fallback or id:app.navigation.row-end-stops',
  select:
    'id in [tv-4k-hdr, stick-1080p, stb-720p-lowmem, tizen-tv, web-desktop, stb-ref-r1, stb-ref-r2-lite]',
  agents: ['agent-a', 'agent-b'],
};

export interface DemoResult {
  runs: { id: string; status: RunStatus; counts: Record<string, number> }[];
  dashboardUrl: string;
  reportPath: string | null;
  /** The report of the online evaluation on a generated lab history (harness/lab/model-check.ts). */
  modelCheckPath: string | null;
  /** 0 when the demo ran; the runs' own verdicts do not fail it (the reference app has real defects). */
  exitCode: number;
}

async function follow(
  service: ControlPlaneService,
  runId: string,
  log: (line: string) => void,
  timeoutMs: number,
): Promise<RunStatus | 'timed-out'> {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (Date.now() > deadline) {
      await service.controlPlane.cancel(runId);
      return 'timed-out';
    }
    const run = service.store.runs.get(runId)!;
    const counts = service.store.jobs.verdictCounts(runId);
    const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
    const line = `  ${runId}: ${total - (counts.pending ?? 0)}/${total} done · ${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`;
    if (line !== last) log(line);
    last = line;
    if (isRunOver(run.status)) return run.status;
    await sleep(1000);
  }
}

/**
 * `devlab demo`: starts what is missing (Redis, the Docker engine, Appium), the control plane and two
 * agents on the reference lab, runs a first run that becomes the lab's history, then a CI run ordered by
 * risk, prints the summary and the report, and stops everything it started.
 */
export async function runDemo(base: DevlabConfig, options: DemoOptions): Promise<DemoResult> {
  const { log } = options;
  const home = path.join(base.home, 'demo');
  if (existsSync(home)) rmSync(home, { recursive: true, force: true });
  // Its own home and Redis prefix: a demo never mixes with a lab already running on this machine.
  const config = configSchema.parse({ ...base, home, redisPrefix: `${base.redisPrefix}-demo` });
  const services = new LocalServices(config, log);
  let appium: AppiumServer[] = [];
  let service: ControlPlaneService | null = null;
  const agents: ChildAgent[] = [];
  const started = Date.now();
  try {
    await services.ensure();
    // Like its home, the demo's Redis keys start empty: a device quarantined by an earlier demo (its
    // Appium server was gone) must not be skipped by this one.
    const redis = redisConnection(config.redisUrl);
    try {
      await removeLabKeys(redis, labKeys(config.redisPrefix));
    } finally {
      redis.disconnect();
    }
    service = await startControlPlaneService(config, { port: 0, log });
    // The Appium servers the inventory's devices point at, started once here so the agents share them.
    appium = await ensureAppiumServers(config, service.devices.inventory);
    for (const server of appium) log(`started Appium on ${server.url}`);
    log(
      `control plane on ${service.url} (${service.catalog.catalog.entries.length} tests, ${service.devices.inventory.length} devices)`,
    );
    const env = {
      DEVLAB_HOME: home,
      DEVLAB_REDIS_URL: config.redisUrl,
      DEVLAB_REDIS_PREFIX: config.redisPrefix,
      DEVLAB_DOCKER_SOCKET: config.dockerSocket,
      // Emulated devices share this host's cores: one session per agent keeps every session healthy.
      DEVLAB_MAX_SESSIONS: '1',
    };
    for (const host of options.agents) {
      const agent = new ChildAgent(host, ['--server', service.url], env);
      await agent.start();
      agents.push(agent);
      log(`agent ${host} started`);
    }

    const runs: DemoResult['runs'] = [];
    const submit = async (label: string, request: RunRequestInput) => {
      const { run, plan } = await service!.controlPlane.submit(request);
      log(`\n${label}: run ${run.id}, ${plan.jobs.length} jobs ordered by ${plan.ranker}`);
      for (const u of plan.unplanned) log(`  not planned: ${u.testId}: ${u.reasons.join('; ')}`);
      for (const job of plan.jobs.slice(0, 5)) {
        log(
          `  ${job.seq + 1}. ${job.testId} on ${plan.pools[job.pool]?.join('/')} — risk ${job.score.toFixed(2)}${job.reasons[0] ? ` (${job.reasons[0]})` : ''}`,
        );
      }
      const status = await follow(service!, run.id, log, options.runTimeoutMs ?? 300_000);
      if (status === 'timed-out') {
        for (const agent of agents)
          log(`agent ${agent.host} said:\n${agent.output.split('\n').slice(-20).join('\n')}`);
        throw new Error(
          `run ${run.id} did not finish within ${Math.round((options.runTimeoutMs ?? 300_000) / 1000)} s; cancelled`,
        );
      }
      runs.push({
        id: run.id,
        status,
        counts: service!.store.jobs.verdictCounts(run.id) as Record<string, number>,
      });
      return run.id;
    };
    await submit('1/2 nightly run: builds the lab history', {
      query: options.query,
      select: options.select,
      priority: 'nightly',
      partner: 'demo',
      build: 'demo-1.0.0',
      options: { ordering: 'fifo', retries: 0 },
    });
    // The first run finished: the control plane retrains the model in the background; wait for it.
    await service.trainer.idle();
    const prRun = await submit('2/2 PR run: likely failures first, from that history', {
      query: options.query,
      select: options.select,
      priority: 'ci-pr',
      partner: 'demo',
      build: 'demo-1.0.1',
      options: { ordering: 'risk', retries: 1, changedComponents: ['player'] },
    });

    log('\nsummary');
    for (const job of service.store.jobs.listByRun(prRun)) {
      if (job.verdict === 'passed') continue;
      log(
        `  ${job.verdict?.padEnd(9)} ${job.testId} on ${job.deviceId ?? job.pool}${job.message ? `: ${job.message.split('\n')[0]?.slice(0, 120)}` : ''}`,
      );
    }
    await service.trainer.idle();
    const modelCheck = await evaluateGeneratedLab(home, log);
    const reportPath = path.join(home, 'failure-prediction.html');
    writeFileSync(reportPath, await service.report.html(null));
    writeFileSync(
      path.join(home, 'runs.json'),
      `${JSON.stringify({ runs, jobs: service.store.jobs.listByRun(prRun) }, null, 2)}\n`,
    );
    log(`\nruns: ${runs.map((r) => `${r.id} ${r.status}`).join(', ')}`);
    log(`failure-prediction report: ${reportPath}`);
    log(`model check on a generated lab history: ${modelCheck}`);
    log(
      `dashboard/API: ${service.url} (while the demo runs; \`devlab server\` serves the same store: DEVLAB_HOME=${home})`,
    );
    log(`took ${Math.round((Date.now() - started) / 1000)} s`);
    return { runs, dashboardUrl: service.url, reportPath, modelCheckPath: modelCheck, exitCode: 0 };
  } finally {
    for (const agent of agents.reverse()) await agent.stop();
    await service?.close();
    for (const server of appium) await server.stop();
    await services.stop();
    const docker = new Docker({ socketPath: config.dockerSocket });
    const left = await docker
      .listContainers({ all: true, filters: { label: options.agents.map((a) => `devlab.agent=${a}`) } })
      .catch(() => []);
    if (left.length) log(`warning: ${left.length} container(s) left behind`);
  }
}
