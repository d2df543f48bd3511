/**
 * `npm run soak`: a bounded soak of the real harness. A control plane (in this process, so its memory is
 * this process's memory) and several `devlab agent` processes run thousands of cheap jobs on browser
 * devices (Playwright + Debian's Chromium, one context per test), over several runs and partners, while
 * agents are restarted at seeded random points (SIGKILL some, SIGTERM others). It then checks that every
 * job has exactly one final verdict, that no lease, queued attempt or unfinished run is left, and that no
 * agent process (or a browser it started) outlived it; it prints a table, writes JSON and exits 1 when a
 * check fails. Everything it creates (Redis keys of its own prefix, the temp dir, child processes) is
 * removed at the end, also on failure or Ctrl-C.
 *
 *   npm run soak -- [--jobs 5000] [--agents 4] [--devices-per-agent 2] [--restarts N] [--seed 1]
 *                   [--signal mixed|SIGKILL|SIGTERM]
 *                   [--per-run 1000] [--timeout-s 3600] [--out .devlab/bench/soak.json]
 *
 * The parts live in test/bench/soak/: options, the generated suite and inventory, the lab (Redis prefix,
 * temp dir, shared state), the agent processes and their restarts (chaos), progress and memory sampling,
 * the end checks, the figures, the report, and the cleanup.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startControlPlaneService } from '../../harness/lab/control-plane-service.ts';
import { slots, startAgent } from './soak/agents.ts';
import { restartPlan, startChaos } from './soak/chaos.ts';
import { endChecks, leftoverCheck } from './soak/checks.ts';
import { cleanUpOnSignals, cleanup } from './soak/cleanup.ts';
import { collectFigures } from './soak/figures.ts';
import { config, flakyDir, inventoryFile, prefix, state, suitesDir } from './soak/lab.ts';
import { followProgress, startSampler } from './soak/monitor.ts';
import { AGENTS, DEVICES_PER_AGENT, JOBS, RESTARTS, RUNS, SEED } from './soak/options.ts';
import { report } from './soak/report.ts';
import { submitRuns, waitForRuns } from './soak/runs.ts';
import { inventoryYaml, suiteSource } from './soak/suite.ts';

cleanUpOnSignals();

async function main(): Promise<number> {
  mkdirSync(suitesDir, { recursive: true });
  mkdirSync(flakyDir, { recursive: true });
  writeFileSync(path.join(suitesDir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(suitesDir, 'soak.test-def.ts'), suiteSource(flakyDir));
  writeFileSync(inventoryFile, inventoryYaml());

  process.stderr.write(
    `soak: ${JOBS} jobs in ${RUNS} run(s), ${AGENTS} agents × ${DEVICES_PER_AGENT} browser devices, ${RESTARTS} restarts, seed ${SEED}, prefix ${prefix}\n`,
  );
  const setupStarted = Date.now();
  const server = await startControlPlaneService(config, {
    port: 0,
    suites: [suitesDir],
    inventoryFile,
    log: (line) => process.stderr.write(`[server] ${line}\n`),
  });
  state.server = server;
  if (server.catalog.catalog.entries.length !== JOBS)
    throw new Error(`catalog has ${server.catalog.catalog.entries.length} tests, expected ${JOBS}`);
  await Promise.all(slots.map((_, i) => startAgent(i)));
  process.stderr.write(`soak: control plane and ${AGENTS} agents up in ${Date.now() - setupStarted} ms\n`);

  const plan = restartPlan();
  const { progress, off } = followProgress(server);
  const usage = startSampler();
  const { runs, submitter } = submitRuns(progress);
  const chaos = startChaos(plan, progress, runs);

  const waited = await waitForRuns(server, runs, progress);
  if (!waited) return 130;
  const { timedOut, durationS } = waited;
  runs.allDone = true;
  await submitter;
  await chaos.chaos;
  await Promise.all(chaos.reaping);
  off();

  const ended = await endChecks(server, runs, timedOut, plan, chaos);
  const { checks } = ended;
  const figures = await collectFigures(server, runs, ended, progress, usage);

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
