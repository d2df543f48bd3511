import { execFile, execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import type { BenchResult } from './bench-result.ts';

const execFileAsync = promisify(execFile);
const BIN = path.join(PROJECT_ROOT, 'harness/cli/devlab.js');
const RUNS = 15;
const RUN_ID = 'run-0123456789ab';

/** A control plane that answers `GET /api/runs/:id` with a finished run, as `devlab run status` reads it. */
function fakeControlPlane(): Promise<Server> {
  const view = {
    id: RUN_ID,
    status: 'passed',
    done: true,
    counts: { passed: 40, flaky: 2 },
    total: 42,
    createdAt: Date.now() - 60_000,
    startedAt: Date.now() - 59_000,
    devices: { 'browser:desktop-chrome@host#1': { done: 42, failed: 0, errors: 0, total: 42 } },
  };
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === `/api/runs/${RUN_ID}` ? view : { message: 'not found' }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Median wall time of `node args` over RUNS runs (after one warm-up run for the file cache), in ms. */
async function medianMs(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = process.hrtime.bigint();
    // Asynchronous: the fake control plane answers from this process's event loop.
    await execFileAsync(process.execPath, args, { env: { ...process.env, ...env } }).catch((err: Error) => {
      throw new Error(`node ${args.join(' ')} failed: ${err.message}`);
    });
    if (i > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * `devlab --help` and `devlab run status ID` as a process, start to exit: the compiled CLI (what a partner's
 * `npx devlab` runs; dist/ is built first), and the checkout's (its sources through tsx). Baseline: a bare
 * `node` start. Commands load only their own modules (harness/cli/main.ts), so neither loads TF.js, Appium,
 * Playwright, dockerode or BullMQ.
 */
export async function benchCliStartup(): Promise<BenchResult[]> {
  execFileSync('npm', ['run', 'build', '--silent'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const server = await fakeControlPlane();
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const help = [BIN, '--help'];
    const status = [BIN, 'run', 'status', RUN_ID, '--server', url];
    const compiled = { DEVLAB_COMPILED: '1' };
    const bare = await medianMs(['-e', '0']);
    return [
      {
        name: 'devlab --help (compiled)',
        value: await medianMs(help, compiled),
        unit: 'ms',
        baseline: bare,
        goal: '< 300 ms',
      },
      {
        name: 'devlab run status ID (compiled)',
        value: await medianMs(status, compiled),
        unit: 'ms',
        baseline: bare,
        goal: '< 600 ms',
      },
      { name: 'devlab --help (checkout, tsx)', value: await medianMs(help), unit: 'ms', baseline: bare },
      {
        name: 'devlab run status ID (checkout, tsx)',
        value: await medianMs(status),
        unit: 'ms',
        baseline: bare,
      },
    ];
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

// Runnable alone: `npx tsx test/bench/cli-startup.bench.ts`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchCliStartup()) {
    process.stdout.write(
      `${r.name}: ${r.value.toFixed(0)} ${r.unit} (bare node ${r.baseline?.toFixed(0)} ms) ${r.goal ?? ''}\n`,
    );
  }
}
