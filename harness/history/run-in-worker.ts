import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./worker-entry.js', import.meta.url);

type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Runs `run(data)` of a module in a worker thread and resolves with its result: heavy work (training on a
 * million rows) off the control plane's event loop. The worker ends with the call.
 */
export function runInWorker<T>(module: URL, data: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let answered = false;
    const worker = new Worker(ENTRY, { workerData: { module: module.href, data } });
    worker.once('message', (answer: Answer<T>) => {
      answered = true;
      if (answer.ok) resolve(answer.value);
      else reject(new Error(`worker ${module.pathname}: ${answer.error}`));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      answered = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`worker ${module.pathname} exited with code ${code} before answering`));
    });
  });
}
