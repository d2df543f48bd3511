import { pathToFileURL } from 'node:url';
import { redisConnection } from '../../harness/queue/connection.ts';
import { REDIS_URL } from '../support/services.ts';
import type { BenchResult } from './bench-result.ts';
import { writeScaleLab } from './scale/lab-files.ts';
import { measureSize, type SizeResult } from './scale/measure-size.ts';
import { markdownTable, sizeLabel, sizeRows } from './scale/scale-report.ts';
import { scaleLabDir } from './scale/store-cache.ts';
import { quantile } from './scale/timed-series.ts';

const DEFAULT_SIZES = [10_000, 100_000, 1_000_000, 5_000_000];
const DEFAULT_REPS = 20;

/**
 * DEVLAB_SCALE_SIZES=10000,100000 picks the sizes; DEVLAB_SCALE_REPS the repetitions (default 20, at least
 * 5). With 20 samples a p95 is the 19th of 20; with 5 it would be the largest, one noisy sample.
 */
function sizes(): number[] {
  const raw = process.env['DEVLAB_SCALE_SIZES'];
  if (!raw) return DEFAULT_SIZES;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`DEVLAB_SCALE_SIZES: bad list "${raw}"`);
  return list;
}

/**
 * Each size queues its submits' attempts in Redis and removes them after: the keys go, but Redis's
 * append-only file keeps every write until it is rewritten, and a setup that restarts Redis then replays
 * hundreds of MB. The rewrite runs in Redis's background; a refusal (one already running) is said.
 */
async function compactRedisLog(): Promise<void> {
  const redis = redisConnection(REDIS_URL);
  try {
    await redis.bgrewriteaof();
  } catch (err) {
    process.stderr.write(`scale: Redis did not rewrite its append-only file: ${(err as Error).message}\n`);
  } finally {
    redis.disconnect();
  }
}

/**
 * The control plane against a busy lab's history of 10k, 100k, 1M and 5M finished jobs: start-up, preview
 * and submit of 500 tests × 40 devices, history-field queries, event-loop stalls, training, RSS.
 */
export async function benchScale(): Promise<BenchResult[]> {
  const reps = Math.max(5, Number(process.env['DEVLAB_SCALE_REPS'] ?? DEFAULT_REPS) || DEFAULT_REPS);
  const lab = await writeScaleLab(scaleLabDir());
  const results: SizeResult[] = [];
  const rows: BenchResult[] = [];
  for (const size of sizes()) {
    const started = performance.now();
    const result = await measureSize(size, lab, reps);
    results.push(result);
    const smokeBaseline = quantile(results[0]!.smoke.ms, 0.5);
    rows.push(...sizeRows(result, Number.isNaN(smokeBaseline) ? undefined : smokeBaseline));
    process.stderr.write(
      `scale: ${sizeLabel(size)} measured in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
  }
  await compactRedisLog();
  process.stdout.write(
    `\nscale (${reps} repetitions per metric; a request over 60 s ends its metric's repetitions):\n\n`,
  );
  process.stdout.write(markdownTable(results));
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await benchScale()) console.log(r);
  process.exit(0);
}
