import type { EvaluationResult } from '../../analysis/evaluation/online.ts';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** What `devlab analysis evaluate` prints: who ranked, each strategy's metrics, the confidence selections. */
export function evaluationText(result: EvaluationResult, backend: string): string {
  const lines = Object.entries(result.summary).map(
    ([s, m]) =>
      `${s.padEnd(13)} APFD ${m.apfd.toFixed(3)}  NAPFD ${m.napfd.toFixed(3)}  APFDc ${m.apfdc.toFixed(3)}  ` +
      `recall@1/3 time ${pct(m.recallThirdPooled)}  ` +
      `first failure at ${m.firstPosition.toFixed(1)} (${pct(m.firstTimeFraction)} of run time)`,
  );
  const conf = Object.entries(result.confidence).map(
    ([s, c]) =>
      `${s.padEnd(13)} --confidence ${c.confidence}: found ${pct(c.recall)} of the failing pairs ` +
      `(cycle mean ${pct(c.meanCycleRecall)}) running ${pct(c.cost)} of the device time ` +
      `(cycle mean ${pct(c.meanCycleCost)}; ${c.cutCycles} cycles cut, the rest ran whole)`,
  );
  return (
    `${result.cycles} cycles, ${result.failingCycles} failing, ${result.retrainings} retrainings on ${backend} ` +
    `in ${(result.elapsedMs / 1000).toFixed(1)} s; the model was trusted to rank ${result.trustedCycles} ` +
    `cycles (${result.trustedFailingCycles} of the failing), the failure record then novelty ranked the rest` +
    `${result.hasChanges ? '' : '; no cycle carries a change, so historyModel is model'}\n` +
    `${lines.join('\n')}\n${(result.hasChanges ? conf : conf.slice(0, 1)).join('\n')}\n`
  );
}
