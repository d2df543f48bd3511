import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { idempotencyKeySchema } from '../../protocol/idempotency-key.ts';
import { PRIORITY_CLASSES } from '../../protocol/run-request.ts';
import { exitCodeFor } from '../../scheduler/run-status.ts';
import type { RunStatus } from '../../store/runs-repo.ts';
import type { PlanPreview } from '../../api/schemas.ts';
import { ApiClient, ApiError, serverUrl } from '../api-client.ts';
import { type ApiRetryOptions, withApiRetry } from '../api-retry.ts';
import { formatPlanPreview } from '../plan-preview.ts';
import { deviceLine, progressLine, type RunStatusView } from '../run-progress.ts';
import { submitRun } from '../submit-run.ts';

interface SubmitOptions {
  query?: string;
  select?: string;
  priority?: string;
  partner?: string;
  build?: string;
  budget?: number;
  retries?: number;
  maxParallel?: number;
  ordering?: string;
  changed?: string;
  wait?: boolean;
  dryRun?: boolean;
  junit?: string;
  server?: string;
  json?: boolean;
  idempotencyKey?: string;
  retryFor: number;
}

function idempotencyKey(v: string): string {
  const parsed = idempotencyKeySchema.safeParse(v);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  return parsed.data;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected seconds >= 0, got "${v}"`);
  return n;
}

function client(server?: string): ApiClient {
  return new ApiClient(serverUrl(loadConfig(), server), process.env['DEVLAB_TOKEN']);
}

/** Prints an API error (with the query caret when there is one) and sets exit code 2. */
export function reportError(err: unknown): void {
  if (err instanceof ApiError) {
    process.stderr.write(
      `devlab: ${err.message}\n${err.detail ? `  ${err.detail.split('\n').join('\n  ')}\n` : ''}`,
    );
  } else {
    process.stderr.write(`devlab: ${(err as Error).message}\n`);
  }
  process.exitCode = 2;
}

/**
 * Polls the run until it is done, redrawing one progress line; returns the final view. A poll that gets
 * no answer (the control plane restarting, a proxy's 502/503/504) is tried again with backoff for
 * `retry.retryForMs` per outage, each retry told on stderr; CI then gets the run's verdict, not a
 * "cannot reach the server" for a restart.
 */
export async function waitForRun(
  api: ApiClient,
  runId: string,
  out: NodeJS.WriteStream,
  retry: ApiRetryOptions,
): Promise<RunStatusView> {
  let last = '';
  const poll = () =>
    withApiRetry(`waiting for run ${runId}`, () => api.request<RunStatusView>('GET', `/api/runs/${runId}`), {
      ...retry,
      giveUp: () => `The run goes on without this client: follow it with \`devlab run status ${runId}\``,
    });
  for (;;) {
    const run = await poll();
    const devices = deviceLine(run);
    const line = `${progressLine(run, Date.now())}${out.isTTY && devices ? ` | ${devices}` : ''}`;
    // A terminal gets a live line (ETA included); a log gets a line only when the counts change.
    const key = out.isTTY ? line : line.replace(/ · ETA \d+ s$/, '');
    if (key !== last) {
      out.write(out.isTTY ? `\r\u001b[2K${line}` : `${line}\n`);
      last = key;
    }
    if (run.done) {
      if (out.isTTY) out.write('\n');
      const devices = deviceLine(run);
      if (devices) out.write(`devices: ${devices}\n`);
      return run;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function registerRunCommands(program: Command): void {
  const run = program.command('run').description('submit and follow test runs');
  run
    .command('submit')
    .description('plan a run of the tests matching --query on the devices matching --select')
    .option('-q, --query <query>', 'test query, e.g. "tag:smoke and not tag:slow"', '')
    .option('-s, --select <selector>', 'device selector, e.g. "platform:tizen and firmware>=6.5"', '')
    .option('--priority <class>', `priority class: ${PRIORITY_CLASSES.join(' | ')}`, 'release')
    .option('--partner <id>', "partner the run belongs to (default: the token's partner, else 'default')")
    .option('--build <version>', 'build or app version under test', 'unknown')
    .option('--budget <seconds>', 'device-time budget: run the riskiest tests per second first', Number)
    .option('--retries <n>', 'retries after a test failure (overrides each test)', Number)
    .option('--max-parallel <n>', 'jobs of this run running at once', Number)
    .option('--ordering <order>', 'risk | fifo | duration', 'risk')
    .option('--changed <components>', 'comma-separated components this build changed')
    .option(
      '--wait',
      'follow progress until the run ends; exit 0 passed, 1 test failures, 2 infrastructure error',
    )
    .option('--junit <file>', 'with --wait: write the JUnit XML report here')
    .option('--dry-run', 'print the plan (order, risk, reasons, budget cuts) without creating the run')
    .option('--server <url>', 'control plane URL')
    .option('--json', 'print the created run as JSON')
    .option(
      '--idempotency-key <key>',
      'name this submit (default: a new UUID per invocation); the same key and request give the same run',
      idempotencyKey,
    )
    .option(
      '--retry-for <seconds>',
      'when the server gives no answer (down, restarting, connection reset, timeout), keep trying this long: the submit (with the same key), each --wait poll and the JUnit download',
      seconds,
      300,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ devlab run submit --query "tag:smoke" --select "caps.codecs:hevc" --priority ci-pr --wait --junit smoke.xml
  $ devlab run submit -q "component:player and priority>=2" -s "platform:tizen and firmware>=6.5" --budget 600
  $ devlab run submit -q "tag:smoke" --changed player --dry-run
  $ devlab run submit -q "tag:smoke" --idempotency-key "$CI_PIPELINE_ID-smoke" --wait`,
    )
    .action(async (opts: SubmitOptions) => {
      try {
        const api = client(opts.server);
        const body = {
          query: opts.query ?? '',
          select: opts.select ?? '',
          priority: opts.priority,
          ...(opts.partner ? { partner: opts.partner } : {}),
          build: opts.build,
          options: {
            ordering: opts.ordering,
            ...(opts.budget !== undefined ? { budgetS: opts.budget } : {}),
            ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
            ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
            changedComponents: opts.changed
              ? opts.changed
                  .split(',')
                  .map((c) => c.trim())
                  .filter(Boolean)
              : [],
          },
        };
        if (opts.dryRun) {
          if (opts.wait) throw new Error('--dry-run creates no run to --wait for');
          const plan = await api.request<PlanPreview>('POST', '/api/runs/preview', body);
          process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanPreview(plan));
          return;
        }
        const { run: created, replayed } = await submitRun<
          RunStatusView & { unplanned: { testId: string; reasons: string[] }[] }
        >(api, body, {
          key: opts.idempotencyKey ?? randomUUID(),
          retryForMs: opts.retryFor * 1000,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        else
          process.stdout.write(
            `run ${created.id}: ${created.total} job(s) planned${replayed ? ' (already submitted with this idempotency key)' : ''}\n`,
          );
        for (const u of created.unplanned)
          process.stderr.write(`not planned: ${u.testId}: ${u.reasons.join('; ')}\n`);
        if (!opts.wait) return;
        const retry = {
          retryForMs: opts.retryFor * 1000,
          log: (line: string) => process.stderr.write(`${line}\n`),
        };
        const final = await waitForRun(api, created.id, process.stdout, retry);
        if (opts.junit) {
          const junit = await withApiRetry(
            `JUnit report of run ${created.id}`,
            () => api.request<string>('GET', `/api/runs/${created.id}/junit`),
            retry,
          );
          writeFileSync(opts.junit, junit);
          process.stdout.write(`JUnit report: ${opts.junit}\n`);
        }
        process.exitCode = exitCodeFor(final.status as RunStatus);
      } catch (err) {
        reportError(err);
      }
    });

  run
    .command('status <runId>')
    .description('show a run: status, counts per verdict')
    .option('--server <url>', 'control plane URL')
    .action(async (runId: string, opts: { server?: string }) => {
      try {
        const view = await client(opts.server).request<RunStatusView>('GET', `/api/runs/${runId}`);
        process.stdout.write(`${progressLine(view, Date.now())}\n`);
        if (view.done) process.exitCode = exitCodeFor(view.status as RunStatus);
      } catch (err) {
        reportError(err);
      }
    });

  run
    .command('list')
    .description('recent runs')
    .option('--limit <n>', 'how many', '20')
    .option('--server <url>', 'control plane URL')
    .action(async (opts: { limit: string; server?: string }) => {
      try {
        const runs = await client(opts.server).request<RunStatusView[]>(
          'GET',
          `/api/runs?limit=${Number(opts.limit)}`,
        );
        for (const view of runs) process.stdout.write(`${progressLine(view, Date.now())}\n`);
      } catch (err) {
        reportError(err);
      }
    });

  run
    .command('cancel <runId>')
    .description('cancel a run: queued jobs removed, running tests stopped, devices released')
    .option('--server <url>', 'control plane URL')
    .action(async (runId: string, opts: { server?: string }) => {
      try {
        const view = await client(opts.server).request<RunStatusView>('POST', `/api/runs/${runId}/cancel`);
        process.stdout.write(`${progressLine(view, Date.now())}\n`);
      } catch (err) {
        reportError(err);
      }
    });
}
