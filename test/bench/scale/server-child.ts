import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../../harness/config/config.ts';
import { startControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import { applyHeapPolicy } from '../../../harness/lab/heap-policy.ts';
import type { ChildReply, ChildRequest, ServerSpec } from './server-protocol.ts';

/**
 * The measured control plane, in its own process so that its RSS and event-loop stalls are its own:
 * `devlab server` as deployed (config from DEVLAB_HOME, DEVLAB_REDIS_PREFIX, ...), plus an event-loop
 * delay meter, answering the bench over IPC.
 */
// As `devlab server` does at start.
applyHeapPolicy();
const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;
const stalls = monitorEventLoopDelay({ resolution: 2 });
stalls.enable();
// BENCH_PROF: also where each stall of 40+ ms was (monotonic µs, the CPU profile's clock), to read the
// profile's samples inside it (/tmp/prof/gaps-<pid>.json).
const gaps: [number, number][] = [];
if (process.env['BENCH_PROF']) {
  let last = process.hrtime.bigint();
  setInterval(() => {
    const now = process.hrtime.bigint();
    if (now - last > 40_000_000n) gaps.push([Number(last / 1000n), Number(now / 1000n)]);
    last = now;
  }, 2).unref();
  process.on('exit', () => writeFileSync(`/tmp/prof/gaps-${process.pid}.json`, JSON.stringify(gaps)));
  // And the RSS and heap every 250 ms (ms since start, MB): where the peak RSS comes from.
  const memory: number[][] = [];
  setInterval(() => {
    const m = process.memoryUsage();
    memory.push([
      Math.round(performance.now()),
      Math.round(m.rss / 2 ** 20),
      Math.round(m.heapUsed / 2 ** 20),
    ]);
  }, 250).unref();
  process.on('exit', () => writeFileSync(`/tmp/prof/memory-${process.pid}.json`, JSON.stringify(memory)));
}
const send = (reply: ChildReply): void => {
  process.send?.(reply);
};
const stats = () => ({
  maxStallMs: stalls.max / 1e6,
  rssMb: process.memoryUsage.rss() / 2 ** 20,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
});

const service = await startControlPlaneService(loadConfig(), {
  suites: [spec.suitesDir],
  inventoryFile: spec.inventoryFile,
  port: spec.port,
  auth: false,
});
send({ id: 0, ready: true, uptimeMs: performance.now(), ...stats() });

process.on('message', (message: ChildRequest) => {
  const { id, cmd } = message;
  if (cmd === 'reset') {
    stalls.reset();
    send({ id, ...stats() });
  } else if (cmd === 'stats') {
    send({ id, ...stats() });
  } else if (cmd === 'train') {
    service.trainer.schedule();
    send({ id, ...stats() });
  } else if (cmd === 'trained') {
    void service.trainer.idle().then(() => send({ id, ...stats(), error: service.trainer.lastError }));
  } else if (cmd === 'settled') {
    void service.controlPlane.allQueued().then(() => send({ id, ...stats() }));
  } else if (cmd === 'close') {
    void service.close().finally(() => {
      send({ id, ...stats() });
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(0));
