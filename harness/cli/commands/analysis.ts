import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { initBackend } from '../../../analysis/backend.ts';
import { evaluateOnline } from '../../../analysis/evaluation/online.ts';
import { writeEvaluation } from '../../../analysis/evaluation/write.ts';
import { generateLabHistory } from '../../../analysis/generator/lab.ts';
import { historyToCsv, readHistoryCsv } from '../../../analysis/history/csv.ts';
import { groupCycles } from '../../../analysis/history/cycles.ts';
import { importHistory } from '../../../analysis/history/summary.ts';
import { writeHistoryReport } from '../../../analysis/report/history-report.ts';
import { loadConfig } from '../../config/config.ts';
import { serverUrl } from '../api-client.ts';
import { streamDownload } from '../stream-download.ts';
import { confidenceLevel } from '../change-flags.ts';
import { evaluationText } from '../evaluation-text.ts';
import { reportError } from './run.ts';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

function fraction(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError(`budget must be in (0, 1], got "${v}"`);
  return n;
}

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${v}"`);
  return n;
}

async function progressBar(total: number): Promise<{ update(done: number): void; stop(): void }> {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'evaluating [{bar}] {value}/{total} cycles | {eta_formatted} left' },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (d) => bar.update(d), stop: () => bar.stop() };
}

/** `devlab analysis ...`: import, evaluate, generate and report on lab histories. */
export function registerAnalysisCommands(program: Command): void {
  const analysis = program
    .command('analysis')
    .description('failure prediction: histories, evaluation, reports');

  analysis
    .command('import')
    .description('validate an external history (CSV or a directory of JUnit XML) and print a summary')
    .option('--history <file>', 'history CSV (cycle,test,device,verdict,duration_s)')
    .option('--junit <dir>', 'directory of JUnit XML files, one per cycle')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { history?: string; junit?: string; json?: boolean }) => {
      if (!opts.history === !opts.junit) throw new Error('give exactly one of --history FILE or --junit DIR');
      const { summary } = await importHistory(opts.history ? { csv: opts.history } : { junit: opts.junit! });
      if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else
        process.stdout.write(
          `${summary.rows} rows, ${summary.cycles} cycles (${summary.failingCycles} with failures), ` +
            `${summary.tests} tests, ${summary.devices} devices, ${summary.failures} failing pairs\n` +
            `verdicts: ${Object.entries(summary.verdicts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}\n`,
        );
    });

  analysis
    .command('export')
    .description(
      "the lab's own history from its store as a history CSV (what `analysis report|evaluate|import` read); " +
        "a partner's token exports its own runs only",
    )
    .option('--out <file>', 'CSV file to write (default: stdout)')
    .option('--partner <name>', "admins: one partner's runs only (default: every partner's)")
    .option('--server <url>', 'control plane URL')
    .action(async (opts: { out?: string; partner?: string; server?: string }) => {
      const query = opts.partner ? `?partner=${encodeURIComponent(opts.partner)}` : '';
      try {
        await streamDownload(
          serverUrl(loadConfig(), opts.server),
          process.env['DEVLAB_TOKEN'],
          `/api/history.csv${query}`,
          opts.out ? createWriteStream(opts.out) : process.stdout,
        );
        if (opts.out) process.stderr.write(`wrote ${opts.out}\n`);
      } catch (err) {
        reportError(err);
      }
    });

  analysis
    .command('evaluate')
    .description('strictly online evaluation of the ranking against baselines')
    .requiredOption('--history <file>', 'history CSV')
    .requiredOption('--out <dir>', 'output directory (rankings.jsonl, metrics.json)')
    .option('--budget <fraction>', 'NAPFD budget (fraction of pairs / run time)', fraction, 0.5)
    .option('--retrain-every <k>', 'retrain the model every K cycles', positiveInt('retrain-every'))
    .option('--seed <n>', 'seed (random order, training)', int, 1)
    .option(
      '--confidence <recall>',
      'confidence selection: the fewest device-seconds whose predicted recall (calibrated on earlier cycles) reaches this',
      confidenceLevel,
      0.95,
    )
    .action(
      async (opts: {
        history: string;
        out: string;
        budget: number;
        retrainEvery?: number;
        seed: number;
        confidence: number;
      }) => {
        const backend = await initBackend();
        const cycles = groupCycles(await readHistoryCsv(opts.history));
        const bar = await progressBar(cycles.length);
        let result: Awaited<ReturnType<typeof evaluateOnline>>;
        try {
          result = await evaluateOnline(cycles, {
            budget: opts.budget,
            seed: opts.seed,
            confidence: opts.confidence,
            ...(opts.retrainEvery ? { retrainEvery: opts.retrainEvery } : {}),
            onProgress: (done) => bar.update(done),
          });
        } finally {
          bar.stop();
        }
        await writeEvaluation(opts.out, result);
        process.stdout.write(
          `${evaluationText(result, backend.name)}wrote ${path.join(opts.out, 'metrics.json')}\n`,
        );
      },
    );

  analysis
    .command('generate')
    .description('generate a seeded synthetic lab history as CSV')
    .requiredOption('--out <file>', 'CSV file to write')
    .option('--cycles <n>', 'number of cycles', positiveInt('cycles'), 300)
    .option('--seed <s>', 'seed', int, 1)
    .action(async (opts: { out: string; cycles: number; seed: number }) => {
      const rows = generateLabHistory({ cycles: opts.cycles, seed: opts.seed });
      await writeFile(opts.out, historyToCsv(rows));
      process.stdout.write(`wrote ${rows.length} rows (${opts.cycles} cycles) to ${opts.out}\n`);
    });

  analysis
    .command('report')
    .description('self-contained HTML report (risk heatmap, top pairs, calibration, APFD, flaky tests)')
    .option('--history <file>', 'history CSV')
    .option('--eval <dir>', 'evaluation directory written by `devlab analysis evaluate`')
    .option('--out <file>', 'HTML file to write', 'analysis-report.html')
    .action(async (opts: { history?: string; eval?: string; out: string }) => {
      if (!opts.history && !opts.eval) throw new Error('give --history FILE and/or --eval DIR');
      const rows = opts.history ? await readHistoryCsv(opts.history) : undefined;
      const out = await writeHistoryReport({ rows, evalDir: opts.eval }, opts.out);
      process.stdout.write(`wrote ${out.html} and ${out.json}\n`);
    });
}
