import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { isTestFailureName } from '../../protocol/verdict.ts';
import { ApiClient, serverUrl } from '../api-client.ts';
import { type MatrixJob, resultsMatrix } from '../results-matrix.ts';
import { progressLine, type RunStatusView } from '../run-progress.ts';
import { reportError } from './run.ts';

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
          run: RunStatusView;
          jobs: (MatrixJob & { message: string | null })[];
        }>('GET', `/api/runs/${runId}/results`);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${progressLine(results.run, Date.now())}\n\n`);
        process.stdout.write(resultsMatrix(results.jobs, process.stdout.isTTY === true));
        const withMessage = results.jobs.filter((j) => j.message);
        const sections: [string, typeof withMessage][] = [
          ['test failures', withMessage.filter((j) => isTestFailureName(j.verdict))],
          [
            'infrastructure errors (not counted against the tests)',
            withMessage.filter((j) => j.verdict === 'error'),
          ],
        ];
        for (const [title, jobs] of sections) {
          if (jobs.length) process.stdout.write(`\n${title}:\n`);
          for (const j of jobs)
            process.stdout.write(`  ${j.testId} on ${j.deviceId ?? j.pool}: ${j.message?.split('\n')[0]}\n`);
        }
      } catch (err) {
        reportError(err);
      }
    });
}
