/**
 * `npm run soak`: a bounded soak of the real harness. A control plane (in this process, so its memory is
 * this process's memory) and several `devlab agent` processes run thousands of cheap jobs on browser
 * devices (Playwright + Debian's Chromium, one context per test), over several runs and partners, while
 * faults strike at seeded random points: agents restarted (SIGKILL some, SIGTERM others), the control
 * plane stopped and started again on the same port and store, the soak's own redis-server stopped for
 * longer than a job lock, the artifacts folder read-only or full (a mount over it; root only). It then
 * checks that every job has exactly one final verdict, that no lease, queued attempt or unfinished run is
 * left, that no agent process (or a browser it started) outlived it, that no artifact an attempt made is
 * lost and that every execution of a test is an attempt or a recorded duplicate; it prints a table, writes
 * JSON and exits 1 when a check fails. Everything it creates (Redis keys of its own prefix or its own
 * redis-server, the temp dir and its mounts, child processes) is removed at the end, also on failure or
 * Ctrl-C.
 *
 *   npm run soak -- [--jobs 5000] [--agents 4] [--devices-per-agent 2] [--restarts N] [--seed 1]
 *                   [--signal mixed|SIGKILL|SIGTERM]
 *                   [--faults agents,control-plane,redis,artifacts|none] [--outages N] [--outage-s 10]
 *                   [--per-run 1000] [--timeout-s 3600] [--out .devlab/bench/soak.json]
 *
 * `--outages N`: outages of each kind besides agent restarts (default one per 2,500 jobs, at least one),
 * each lasting between half of `--outage-s` and all of it (a Redis outage at least a job lock + 2 s).
 *
 * The parts live in test/bench/soak/: options, the generated suite and inventory, the lab (Redis prefix,
 * temp dir, shared state), the agent processes and their restarts (chaos), progress and memory sampling,
 * the end checks, the figures, the report, and the cleanup.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { slots, startAgent } from './soak/agents.ts';
import { restartPlan, startChaos } from './soak/chaos.ts';
import { endChecks, leftoverCheck } from './soak/checks.ts';
import { cleanUpOnSignals, cleanup } from './soak/cleanup.ts';
import { collectFigures } from './soak/figures.ts';
import { evidenceChecks } from './soak/evidence.ts';
import {
  execDir,
  flakyDir,
  inventoryFile,
  prefix,
  privateRedis,
  state,
  suitesDir,
  withServer,
} from './soak/lab.ts';
import { followProgress, startSampler } from './soak/monitor.ts';
import { AGENTS, DEVICES_PER_AGENT, FAULTS, JOBS, OUTAGES, RESTARTS, RUNS, SEED } from './soak/options.ts';
import { outagePlan } from './soak/outages.ts';
import { report } from './soak/report.ts';
import { submitRuns, waitForRuns } from './soak/runs.ts';
import { serverStarted, startServer } from './soak/server.ts';
import { inventoryYaml, suiteSource } from './soak/suite.ts';

cleanUpOnSignals();

async function main(): Promise<number> {
  mkdirSync(suitesDir, { recursive: true });
  mkdirSync(flakyDir, { recursive: true });
  mkdirSync(execDir, { recursive: true });
  writeFileSync(path.join(suitesDir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(suitesDir, 'soak.test-def.ts'), suiteSource(flakyDir, execDir));
  writeFileSync(inventoryFile, inventoryYaml());

  const outages = outagePlan();
  process.stderr.write(
    `soak: ${JOBS} jobs in ${RUNS} run(s), ${AGENTS} agents × ${DEVICES_PER_AGENT} browser devices, faults ${[...FAULTS].join(',') || 'none'}: ${RESTARTS} restarts, ${OUTAGES} outage(s) of each other kind (${outages.length}), seed ${SEED}, ${privateRedis ? `own redis-server ${privateRedis.url}` : 'shared Redis'}, prefix ${prefix}\n`,
  );
  const setupStarted = Date.now();
  if (privateRedis) await privateRedis.start();
  const { progress, attach, off } = followProgress();
  serverStarted.push(attach);
  const server = await startServer();
  if (server.catalog.catalog.entries.length !== JOBS)
    throw new Error(`catalog has ${server.catalog.catalog.entries.length} tests, expected ${JOBS}`);
  await Promise.all(slots.map((_, i) => startAgent(i)));
  process.stderr.write(`soak: control plane and ${AGENTS} agents up in ${Date.now() - setupStarted} ms\n`);

  const plan = restartPlan();
  const usage = startSampler();
  const { runs, submitter } = submitRuns(progress);
  const chaos = startChaos(plan, outages, progress, runs);

  const waited = await waitForRuns(runs, progress);
  if (!waited) return 130;
  const { timedOut, durationS } = waited;
  runs.allDone = true;
  await submitter;
  await chaos.chaos;
  await Promise.all(chaos.reaping);
  off();

  // The control plane of the end (a restart may have replaced the first one).
  const last = await withServer((s) => s);
  const ended = await endChecks(last, runs, timedOut, plan, chaos);
  const { checks } = ended;
  const evidence = await evidenceChecks(last, runs, chaos);
  checks.push(...evidence.checks);
  const figures = await collectFigures(last, runs, ended, progress, usage);

  // ---- stop everything and check nothing outlived it ------------------------------------------------
  const { leftover, stops: finalStops } = await cleanup();
  checks.push(leftoverCheck(chaos.restarts, leftover));

  return report({
    usage,
    progress,
    durationS,
    ended,
    checks,
    figures,
    restarts: chaos.restarts,
    outages: { planned: outages.length, list: chaos.outages },
    evidence: evidence.figures,
    finalStops,
  });
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!state.interrupted) {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    for (const agent of slots)
      if (agent) process.stderr.write(`--- ${agent.host} output (tail) ---\n${agent.output.slice(-2000)}\n`);
  }
  code = 1;
} finally {
  if (!state.interrupted)
    await cleanup().catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
}
if (!state.interrupted) process.exit(code);
