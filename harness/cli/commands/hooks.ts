import type { Command } from 'commander';
import { HOOK_EVENTS, HOOK_TARGETS } from '../../store/hooks-repo.ts';
import { apiAction as act, type ServerOption } from '../api-action.ts';

interface HookView {
  id: string;
  partner: string | null;
  url: string;
  events: string[];
  query: string | null;
  target: string;
  spinnakerSource: string | null;
  githubRepo: string | null;
  githubContext: string | null;
  onlyPassed: boolean;
  createdAt: number;
}

interface DeliveryView {
  id: string;
  hookId: string;
  event: string;
  runId: string;
  state: string;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  log: {
    attempt: number;
    statusCode: number | null;
    durationMs: number;
    error: string | null;
    manual: boolean;
    at: number;
  }[];
}

const when = (ms: number) => new Date(ms).toISOString();

function hookLine(h: HookView): string {
  const target =
    h.target === 'github'
      ? ` github ${h.githubRepo} context: ${h.githubContext}`
      : h.target === 'spinnaker'
        ? ` spinnaker source: ${h.spinnakerSource}`
        : '';
  return `${h.id} ${h.partner ?? '(all partners)'} ${h.events.join(',')} ${h.url}${target}${h.onlyPassed ? ' only passed runs' : ''}${h.query ? ` query: ${h.query}` : ''}\n`;
}

function deliveryLines(d: DeliveryView): string {
  const next = d.nextAttemptAt === null ? '' : ` next retry ${when(d.nextAttemptAt)}`;
  const head = `${d.id} ${d.event} run ${d.runId} ${d.state} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'}) ${when(d.createdAt)}${next}\n`;
  const attempts = d.log.map(
    (a) =>
      `  #${a.attempt} ${when(a.at)} ${a.statusCode ?? '---'} ${a.durationMs} ms${a.manual ? ' (redelivery)' : ''}${a.error ? ` ${a.error}` : ''}\n`,
  );
  return head + attempts.join('');
}

/** `devlab hooks`: signed outbound webhooks through the control plane's API (`/api/hooks`). */
export function registerHooksCommands(program: Command): void {
  const hooks = program
    .command('hooks')
    .description(
      'signed webhooks: tell a pipeline when runs finish or fail (DEVLAB_TOKEN scopes them to a partner)',
    );
  const withServer = (cmd: Command) =>
    cmd.option('--server <url>', 'control plane URL').option('--json', 'print the answer as JSON');

  withServer(
    hooks
      .command('add')
      .description('subscribe a URL; prints the signing secret once')
      .option(
        '--target <kind>',
        `${HOOK_TARGETS.join(' | ')}: the signed devlab event, a Spinnaker webhook trigger, a GitHub commit status`,
        'generic',
      )
      .option(
        '--url <url>',
        'generic: where deliveries are POSTed; spinnaker: Gate\u2019s base URL (its host must be on hooks.allowHosts)',
      )
      .option(
        '--events <list>',
        `comma-separated: ${HOOK_EVENTS.join(', ')} (spinnaker default run.finished; github default run.started,run.finished)`,
      )
      .option('--spinnaker-source <source>', 'spinnaker: the webhook trigger\u2019s source')
      .option('--github-repo <owner/name>', 'github: the repository whose commits get statuses')
      .option('--github-context <context>', 'github: the status context (default devlab)')
      .option('--only-passed', 'send run.finished only for runs that passed (e.g. to start a promotion)')
      .option('--query <query>', 'only events about tests this test query selects')
      .option(
        '--partner <id>',
        'with an admin token: only this partner\u2019s runs (default: every partner\u2019s)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  $ devlab hooks add --url https://ci.example.com/devlab --events run.finished,job.failed\n' +
          '  Verify each delivery: HMAC-SHA256 of the raw body with the secret = X-Devlab-Signature-256.\n' +
          '  $ devlab hooks add --target spinnaker --url https://gate.example.net --spinnaker-source devlab-cert --only-passed\n' +
          '  $ devlab hooks add --target github --github-repo acme/player   # the run\u2019s build is the commit SHA',
      ),
  ).action(
    (
      opts: ServerOption & {
        target: string;
        url?: string;
        events?: string;
        spinnakerSource?: string;
        githubRepo?: string;
        githubContext?: string;
        onlyPassed?: boolean;
        query?: string;
        partner?: string;
      },
    ) =>
      act(
        opts,
        (api) =>
          api.request<HookView & { secret: string }>('POST', '/api/hooks', {
            target: opts.target,
            ...(opts.url ? { url: opts.url } : {}),
            ...(opts.events
              ? {
                  events: opts.events
                    .split(',')
                    .map((e) => e.trim())
                    .filter(Boolean),
                }
              : {}),
            ...(opts.spinnakerSource ? { spinnakerSource: opts.spinnakerSource } : {}),
            ...(opts.githubRepo ? { githubRepo: opts.githubRepo } : {}),
            ...(opts.githubContext ? { githubContext: opts.githubContext } : {}),
            ...(opts.onlyPassed ? { onlyPassed: true } : {}),
            ...(opts.query ? { query: opts.query } : {}),
            ...(opts.partner ? { partner: opts.partner } : {}),
          }),
        (h) => `${hookLine(h)}secret (shown once, keep it in your CI's secret store):\n${h.secret}\n`,
      ),
  );

  withServer(hooks.command('list').description('hooks (never their secrets)')).action((opts: ServerOption) =>
    act(
      opts,
      (api) => api.request<HookView[]>('GET', '/api/hooks'),
      (rows) => (rows.length ? rows.map(hookLine).join('') : 'no hooks\n'),
    ),
  );

  withServer(hooks.command('remove <hookId>').description('remove a hook; its delivery log stays')).action(
    (hookId: string, opts: ServerOption) =>
      act(
        opts,
        (api) => api.request<HookView>('DELETE', `/api/hooks/${encodeURIComponent(hookId)}`),
        (h) => `removed ${h.id}\n`,
      ),
  );

  withServer(
    hooks
      .command('deliveries <hookId>')
      .description('a hook\u2019s deliveries, newest first, with every attempt (status, duration, error)')
      .option('--limit <n>', 'how many', '20'),
  ).action((hookId: string, opts: ServerOption & { limit: string }) =>
    act(
      opts,
      (api) =>
        api.request<DeliveryView[]>(
          'GET',
          `/api/hooks/${encodeURIComponent(hookId)}/deliveries?limit=${encodeURIComponent(opts.limit)}`,
        ),
      (rows) => (rows.length ? rows.map(deliveryLines).join('') : 'no deliveries\n'),
    ),
  );

  withServer(
    hooks
      .command('redeliver <deliveryId>')
      .description('send a delivery again now (same body, same X-Devlab-Delivery id)'),
  ).action((deliveryId: string, opts: ServerOption) =>
    act(
      opts,
      (api) =>
        api.request<DeliveryView>(
          'POST',
          `/api/hooks/deliveries/${encodeURIComponent(deliveryId)}/redeliver`,
        ),
      (d) => `redelivery of ${d.id} queued\n`,
    ),
  );
}
