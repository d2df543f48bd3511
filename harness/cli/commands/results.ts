import type { Command } from 'commander';
import type { Triage } from '../../../analysis/triage/triage.ts';
import type { DuplicateExecutionView } from '../../api/schemas.ts';
import { loadConfig } from '../../config/config.ts';
import { isTestFailureName } from '../../protocol/verdict.ts';
import { ApiClient, serverUrl } from '../api-client.ts';
import { type MatrixJob, resultsMatrix } from '../results-matrix.ts';
import { progressLine, type RunStatusView } from '../run-progress.ts';
import { duplicatesSection } from '../duplicates-text.ts';
import { reportError } from './run.ts';
import { formatTriage } from '../triage-text.ts';
import { WEBDRIVER_TEST_ID } from '../../webdriver/session-store.ts';

export function registerResultsCommands(program: Command): void {
  program
    .command('results')
    .description('results of runs')
    .command('show <runId>')
    .description('the test × device matrix of a run')
    .option('--server <url>', 'control plane URL')
    .option('--json', 'print the results as JSON')
    .action(async (runId: string, opts: { server?: string; json?: boolean }) => {
      try {
        const api = new ApiClient(serverUrl(loadConfig(), opts.server), process.env['DEVLAB_TOKEN']);
        const results = await api.request<{
          run: RunStatusView & { plan?: { unplanned: { testId: string; reasons: string[] }[] } | null };
          jobs: (MatrixJob & {
            message: string | null;
            triage?: Triage | null;
            duplicates?: DuplicateExecutionView[];
          })[];
        }>('GET', `/api/runs/${runId}/results`);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${progressLine(results.run, Date.now())}\n\n`);
        process.stdout.write(resultsMatrix(results.jobs, process.stdout.isTTY === true));
        const sections: [string, typeof results.jobs][] = [
          ['test failures', results.jobs.filter((j) => isTestFailureName(j.verdict))],
          [
            'infrastructure errors (not counted against the tests)',
            results.jobs.filter((j) => j.verdict === 'error'),
          ],
          // A WebDriver client's own session: how it ended (its test's verdict is the client's, not known here).
          [
            'WebDriver sessions',
            results.jobs.filter((j) => j.testId === WEBDRIVER_TEST_ID && j.verdict !== 'error'),
          ],
        ];
        for (const [title, jobs] of sections) {
          if (jobs.length) process.stdout.write(`\n${title}:\n`);
          for (const j of jobs) {
            // The whole message: a container test's first line only says how many of its cases failed.
            const message = j.message?.trimEnd().replaceAll('\n', '\n      ');
            process.stdout.write(
              `  ${j.testId} on ${j.deviceId ?? j.pool}${message ? `: ${message}` : ''}\n`,
            );
            // Infrastructure errors say so in their heading; a test failure gets its triage and evidence.
            if (j.triage && j.triage.label !== 'infrastructure')
              process.stdout.write(`${formatTriage(j.triage, '    ')}\n`);
          }
        }
        const unplanned = results.run.plan?.unplanned ?? [];
        if (unplanned.length) process.stdout.write('\nnot run (no device can run them):\n');
        for (const u of unplanned) process.stdout.write(`  ${u.testId}: ${u.reasons.join('; ')}\n`);
        process.stdout.write(duplicatesSection(results.jobs));
      } catch (err) {
        reportError(err);
      }
    });
}
