import { fork } from 'node:child_process';
import { setPriority } from 'node:os';

const ENTRY = new URL('./process-entry.js', import.meta.url);

type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

/** How far below the control plane a helper process runs (nice value: the control plane goes first). */
const NICENESS = 10;

/**
 * Runs `run(data)` of a module in a helper process and resolves with its result: heavy work (training on a
 * million rows, the report over the whole history) off the control plane's event loop, in memory of its
 * own (a trainer that runs out of memory cannot take the control plane with it), at a lower CPU priority.
 * The process ends with the call; `log` hears what it printed on stderr.
 */
export function runInProcess<T>(module: URL, data: unknown, log?: (line: string) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let answered = false;
    const child = fork(ENTRY, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, NICENESS);
      } catch (err) {
        log?.(`helper process ${child.pid}: priority not lowered: ${(err as Error).message}`);
      }
    }
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim()) log?.(`${module.pathname}: ${line}`);
    });
    child.once('message', (answer: Answer<T>) => {
      answered = true;
      if (answer.ok) resolve(answer.value);
      else reject(new Error(`${module.pathname}: ${answer.error}`));
    });
    child.once('error', (err) => {
      answered = true;
      reject(err);
    });
    child.once('exit', (code, signal) => {
      if (!answered) reject(new Error(`${module.pathname} exited (${signal ?? code}) before answering`));
    });
    child.send({ module: module.href, data });
  });
}
