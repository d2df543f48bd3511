import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvaluationResult } from './online.ts';

/** Writes DIR/rankings.jsonl (one line per cycle) and DIR/metrics.json. */
export async function writeEvaluation(dir: string, result: EvaluationResult): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lines = result.rankings.map((r) => {
    const cycle = /^\d+$/.test(r.cycle) ? Number(r.cycle) : r.cycle;
    return JSON.stringify({ cycle, order: r.order });
  });
  await writeFile(path.join(dir, 'rankings.jsonl'), lines.length ? `${lines.join('\n')}\n` : '');
  const { rankings: _r, calibration, ...rest } = result;
  const metrics = { ...rest, calibration: calibrationBins(calibration) };
  await writeFile(path.join(dir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
}

export interface CalibrationBin {
  from: number;
  to: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** Reliability bins (10 equal-width) of predicted probability against the observed failure rate. */
export function calibrationBins(
  points: readonly { predicted: number; observed: number }[],
  bins = 10,
): CalibrationBin[] {
  const acc = Array.from({ length: bins }, () => ({ n: 0, p: 0, y: 0 }));
  for (const pt of points) {
    const b = acc[Math.min(bins - 1, Math.floor(pt.predicted * bins))]!;
    b.n++;
    b.p += pt.predicted;
    b.y += pt.observed;
  }
  return acc.flatMap((b, i) =>
    b.n === 0
      ? []
      : [
          {
            from: i / bins,
            to: (i + 1) / bins,
            count: b.n,
            meanPredicted: b.p / b.n,
            observedRate: b.y / b.n,
          },
        ],
  );
}
