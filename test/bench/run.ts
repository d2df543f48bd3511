import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { benchAnalysis } from './analysis.bench.ts';
import { benchCliStartup } from './cli-startup.bench.ts';
import { benchDevices } from './devices.bench.ts';
import { benchHarness } from './harness.bench.ts';
import { benchQuery } from './query.bench.ts';
import { benchScale } from './scale.bench.ts';
import { benchWebdriver } from './webdriver.bench.ts';

interface Row {
  group: string;
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  goal?: string;
}

const GROUPS: [string, () => Promise<Omit<Row, 'group'>[]>][] = [
  ['query', benchQuery],
  ['harness', benchHarness],
  ['devices', benchDevices],
  ['analysis', benchAnalysis],
  ['scale', benchScale],
  ['cli', benchCliStartup],
  ['webdriver', benchWebdriver],
];

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** `npm run bench`: every benchmark, each beside its raw baseline measured in the same run. */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const rows: Row[] = [];
  const failures: { group: string; error: string }[] = [];
  for (const [group, run] of GROUPS) {
    if (only.length && !only.includes(group)) continue;
    process.stderr.write(`bench: ${group}...\n`);
    const started = Date.now();
    try {
      for (const r of await run()) rows.push({ group, ...r });
    } catch (err) {
      failures.push({ group, error: (err as Error).stack ?? String(err) });
    }
    process.stderr.write(`bench: ${group} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    at: new Date().toISOString(),
  };
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 10);
  process.stdout.write(
    `\nmachine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}\n\n`,
  );
  process.stdout.write(
    `${'benchmark'.padEnd(nameWidth)}  ${'value'.padStart(10)}  ${'unit'.padEnd(7)}  ${'baseline'.padStart(10)}  goal\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(nameWidth)}  ${fmt(r.value).padStart(10)}  ${r.unit.padEnd(7)}  ${fmt(r.baseline).padStart(10)}  ${r.goal ?? ''}\n`,
    );
  }
  for (const f of failures) process.stdout.write(`\nFAILED ${f.group}: ${f.error}\n`);
  const dir = path.join(PROJECT_ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'bench.json');
  writeFileSync(file, `${JSON.stringify({ machine, rows, failures }, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
  process.exit(failures.length ? 1 : 0);
}

await main();
