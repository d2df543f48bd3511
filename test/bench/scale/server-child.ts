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
