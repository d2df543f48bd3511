// Entry of devlab's worker threads: loads the TypeScript module named in workerData through tsx (as the
// `devlab` bin does for the main thread) and answers with what its `run(data)` resolves to, or its error.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
try {
  const mod = await import(workerData.module);
  parentPort.postMessage({ ok: true, value: await mod.run(workerData.data) });
} catch (err) {
  parentPort.postMessage({
    ok: false,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
}
