import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import type { ControlPlaneService } from '../../harness/lab/control-plane-service.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { sendReport } from '../../harness/queue/report-stream.ts';
import { isRunOver } from '../../harness/store/runs-repo.ts';
import { call } from '../api/authed-api.ts';
import { REDIS_URL } from './services.ts';

/** Helpers of the webhook tests: loopback receivers, the control plane's settings and runs finished by reports. */

export interface Received {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What a receiver answers a request: no body is `ok`. */
export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A loopback receiver: every request recorded by path; `answer` decides the answer per path and how many
 * requests that path has seen (this one included).
 */
export async function startReceiver(answer: (path: string, seen: number) => ReceiverAnswer) {
  const got = new Map<string, Received[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const p = req.url ?? '/';
      const list = got.get(p) ?? [];
      list.push({
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      got.set(p, list);
      const { status, headers, body } = answer(p, list.length);
      res.writeHead(status, headers).end(body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got: (p: string) => got.get(p) ?? [],
    all: () => [...got.values()].flat(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Polls `check` every 25 ms until it holds; throws after `ms`. */
export const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 20_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** A control plane's settings for hook tests: its own home and Redis prefix, auth on, quick retries. */
export function hooksEnv(home: string, prefix: string): Record<string, string> {
  return {
    DEVLAB_HOME: home,
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: prefix,
    DEVLAB_API_AUTH: 'true',
    DEVLAB_LOG_LEVEL: 'silent',
    DEVLAB_HOOKS_BACKOFF_MS: '200',
    DEVLAB_HOOKS_MAX_BACKOFF_MS: '800',
    DEVLAB_HOOKS_TIMEOUT_MS: '3000',
  };
}

/** `devlab hooks ...args --server <serverUrl>` as `token`, in `env`: its exit status and output. */
export function hooksCli(serverUrl: string, env: Record<string, string>, token: string, args: string[]) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), 'hooks', ...args, '--server', serverUrl],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env, DEVLAB_TOKEN: token },
        encoding: 'utf8',
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

/**
 * Submits a run of `tag:smoke` for `build` as `token`'s partner and finishes it like an agent would: a
 * report per open job's next attempt on the lab's report stream (under `prefix`), from `agent` on the
 * device `<device>-<seq>`, until the run is over. The jobs `fails` picks fail with `message`;
 * `beforeReports` runs once the run is submitted, before any report.
 */
export async function finishRun(
  /** `server`: an in-process control plane, or one in a child process with its store opened here. */
  lab: { server: Pick<ControlPlaneService, 'url' | 'store'>; redis: Redis; prefix: string },
  token: string,
  build: string,
  as: {
    agent: string;
    device: string;
    fails: (seq: number) => boolean;
    message: string;
    beforeReports?: (() => Promise<void>) | undefined;
  },
): Promise<string> {
  const { server, redis, prefix } = lab;
  const res = await call(`${server.url}/api/runs`, token, {
    method: 'POST',
    body: { query: 'tag:smoke', build },
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await as.beforeReports?.();
  const sent = new Set<string>();
  await until(`run ${id} to finish`, async () => {
    const run = server.store.runs.get(id);
    if (run && isRunOver(run.status)) return true;
    for (const job of server.store.jobs.openJobs(id)) {
      const attempt = job.attempts + 1;
      if (sent.has(`${job.id}-${attempt}`)) continue;
      sent.add(`${job.id}-${attempt}`);
      const fails = as.fails(job.seq);
      await sendReport(redis, labKeys(prefix), {
        runId: id,
        jobId: job.id,
        attempt,
        deviceId: `${as.device}-${job.seq}`,
        agent: as.agent,
        status: fails ? 'failed' : 'passed',
        ...(fails ? { error: { message: as.message, kind: 'test' } } : {}),
        startedAt: Date.now() - 1000,
        endedAt: Date.now(),
        startSent: false,
      });
    }
    return false;
  });
  return id;
}
