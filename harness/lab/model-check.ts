import path from 'node:path';
import { initBackend } from '../../analysis/backend.ts';
import { evaluateOnline } from '../../analysis/evaluation/online.ts';
import { writeEvaluation } from '../../analysis/evaluation/write.ts';
import { generateLabHistory } from '../../analysis/generator/lab.ts';
import { writeHistoryReport } from '../../analysis/report/history-report.ts';

/**
 * The demo's look at the failure model where a lab history is long enough to judge it: a generated
 * 300-cycle lab history (seed 1) evaluated strictly online against the baselines, written to
 * `home/model-check/` (metrics.json, rankings.jsonl) with its full report. Returns the report's path.
 */
export async function evaluateGeneratedLab(home: string, log: (line: string) => void): Promise<string> {
  const backend = await initBackend();
  const rows = generateLabHistory({ seed: 1 });
  log('\nmodel check: strictly online evaluation of a generated 300-cycle lab history');
  const result = await evaluateOnline(rows, { seed: 1 });
  const dir = path.join(home, 'model-check');
  await writeEvaluation(dir, result);
  for (const [strategy, m] of Object.entries(result.summary))
    log(
      `  ${strategy.padEnd(10)} APFD ${m.apfd.toFixed(3)}, first failure after ${(m.firstTimeFraction * 100).toFixed(1)}% of run time`,
    );
  log(
    `  ${result.failingCycles} failing cycles, the model trusted to rank ${result.trustedFailingCycles} of them; ` +
      `${result.retrainings} retrainings on ${backend.name} in ${(result.elapsedMs / 1000).toFixed(1)} s`,
  );
  const report = await writeHistoryReport(
    { rows, evalDir: dir, title: 'devlab failure prediction: generated lab history (seed 1)' },
    path.join(dir, 'report.html'),
  );
  return report.html;
}
