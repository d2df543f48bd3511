import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
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
        const failures = results.jobs.filter(
          (j) => j.message && j.verdict !== 'passed' && j.verdict !== 'flaky',
        );
        if (failures.length) process.stdout.write('\nfailures:\n');
        for (const j of failures) {
          process.stdout.write(`  ${j.testId} on ${j.deviceId ?? j.pool}: ${j.message?.split('\n')[0]}\n`);
        }
      } catch (err) {
        reportError(err);
      }
    });
}
