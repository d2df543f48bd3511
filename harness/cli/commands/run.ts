import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { idempotencyKeySchema } from '../../protocol/idempotency-key.ts';
import { PRIORITY_CLASSES } from '../../protocol/run-request.ts';
import type { PlanPreview } from '../../api/schemas.ts';
import { ApiClient, ApiError, serverUrl } from '../api-client.ts';
import { FAIL_ON, type FailOn, parseFailOn, runExitCode } from '../fail-on.ts';
import { EXIT_NO_MATCH } from '../exit-codes.ts';
import { type ApiRetryOptions, withApiRetry } from '../api-retry.ts';
import { formatPlanPreview } from '../plan-preview.ts';
import { deviceLine, progressLine, type RunStatusView } from '../run-progress.ts';
import { submitRun } from '../submit-run.ts';
import { changeFromFlags, confidenceLevel, listOrFile } from '../change-flags.ts';

interface SubmitOptions {
  query?: string;
  select?: string;
  priority?: string;
  partner?: string;
  build?: string;
  baseBuild?: string;
  failOn: FailOn;
  budget?: number;
  retries?: number;
  maxParallel?: number;
  ordering?: string;
  changed?: string;
  changedPaths?: string[];
  commit?: string;
  confidence?: number;
  wait?: boolean;
  dryRun?: boolean;
  junit?: string;
  server?: string;
  json?: boolean;
  idempotencyKey?: string;
  retryFor: number;
  allowBroken?: boolean;
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

/**
 * Prints an API error (with the query caret when there is one) and sets exit code 2, or EXIT_NO_MATCH when
 * the query selected no test or the selector no device.
 */
export function reportError(err: unknown): void {
  if (err instanceof ApiError) {
    process.stderr.write(
      `devlab: ${err.message}\n${err.detail ? `  ${err.detail.split('\n').join('\n  ')}\n` : ''}`,
    );
  } else {
    process.stderr.write(`devlab: ${(err as Error).message}\n`);
  }
  const noMatch =
    err instanceof ApiError && err.status === 422 && (err.field === 'query' || err.field === 'select');
  process.exitCode = noMatch ? EXIT_NO_MATCH : 2;
}

/** Each suite file the lab planned without (it was told --allow-broken), on stderr. */
function warnDropped(dropped: readonly string[] | undefined): void {
  for (const d of dropped ?? [])
    process.stderr.write(`warning: the lab dropped the tests of ${d} (--allow-broken)\n`);
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
    .option(
      '--base-build <version>',
      'the build this change is based on: a failure that also failed on it on the same device is known, not new',
    )
    .option('--budget <seconds>', 'device-time budget: run the riskiest tests per second first', Number)
    .option(
      '--confidence <recall>',
      'run the fewest device-seconds (riskiest per second first) whose predicted recall of the failing tests reaches this, e.g. 0.95',
      confidenceLevel,
    )
    .option('--retries <n>', 'retries after a test failure (overrides each test)', Number)
    .option('--max-parallel <n>', 'jobs of this run running at once', Number)
    .option('--ordering <order>', 'risk | fifo | duration', 'risk')
    .option('--changed <components>', 'comma-separated components this change touched')
    .option(
      '--changed-paths <paths>',
      'paths this change touched: comma-separated, or @FILE with one per line (mapped to components by the config)',
      listOrFile,
    )
    .option('--commit <sha>', 'the commit under test')
    .option(
      '--wait',
      `follow progress until the run ends; exit 0 passed, 1 test failures, 2 infrastructure error (${EXIT_NO_MATCH}: no test or device matched, nothing ran)`,
    )
    .option('--junit <file>', 'with --wait: write the JUnit XML report here')
    .option(
      '--fail-on <which>',
      `with --wait: ${FAIL_ON.join(' | ')}; new: exit 0 when every test failure is known (failing on the base build or recently on that device) or flaky on that device`,
      parseFailOn,
      'any',
    )
    .option('--dry-run', 'print the plan (order, risk, reasons, budget cuts) without creating the run')
    .option('--server <url>', 'control plane URL')
    .option(
      '--allow-broken',
      'plan even though suite files of the lab did not load (each named on stderr); by default the lab refuses (exit 2)',
    )
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
  $ devlab run submit -q "tag:smoke" --base-build main-1234 --commit "$GIT_SHA" \
      --changed-paths @<(git diff --name-only origin/main) --confidence 0.95 --wait --fail-on new
  $ devlab run submit -q "tag:smoke" --idempotency-key "$CI_PIPELINE_ID-smoke" --wait`,
    )
    .action(async (opts: SubmitOptions) => {
      try {
        const api = client(opts.server);
        const change = changeFromFlags(opts, loadConfig().components);
        const body = {
          query: opts.query ?? '',
          select: opts.select ?? '',
          priority: opts.priority,
          ...(opts.partner ? { partner: opts.partner } : {}),
          build: opts.build,
          ...(opts.baseBuild ? { baseBuild: opts.baseBuild } : {}),
          ...(change ? { change } : {}),
          options: {
            ordering: opts.ordering,
            ...(opts.budget !== undefined ? { budgetS: opts.budget } : {}),
            ...(opts.confidence !== undefined ? { confidence: opts.confidence } : {}),
            ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
            ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
          },
        };
        if (opts.dryRun) {
          if (opts.wait) throw new Error('--dry-run creates no run to --wait for');
          const preview = `/api/runs/preview${opts.allowBroken ? '?allowBroken=true' : ''}`;
          const plan = await api.request<PlanPreview>('POST', preview, body);
          warnDropped(plan.droppedSuites);
          process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanPreview(plan));
          return;
        }
        const { run: created, replayed } = await submitRun<
          RunStatusView & { unplanned: { testId: string; reasons: string[] }[]; droppedSuites?: string[] }
        >(api, body, {
          ...(opts.allowBroken ? { allowBroken: true } : {}),
          key: opts.idempotencyKey ?? randomUUID(),
          retryForMs: opts.retryFor * 1000,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        else
          process.stdout.write(
            `run ${created.id}: ${created.total} job(s) planned${replayed ? ' (already submitted with this idempotency key)' : ''}\n`,
          );
        warnDropped(created.droppedSuites);
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
        process.exitCode = await runExitCode(api, final, opts.failOn, process.stdout, retry);
      } catch (err) {
        reportError(err);
      }
    });

  run
    .command('status <runId>')
    .description('show a run: status, counts per verdict')
    .option('--server <url>', 'control plane URL')
    .option(
      '--fail-on <which>',
      `exit code of a finished run: ${FAIL_ON.join(' | ')} (see run submit)`,
      parseFailOn,
      'any',
    )
    .action(async (runId: string, opts: { server?: string; failOn: FailOn }) => {
      try {
        const api = client(opts.server);
        const view = await api.request<RunStatusView>('GET', `/api/runs/${runId}`);
        process.stdout.write(`${progressLine(view, Date.now())}\n`);
        if (view.done) process.exitCode = await runExitCode(api, view, opts.failOn, process.stdout);
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
