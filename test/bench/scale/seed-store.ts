import type { DeviceRecord } from '../../../devices/device.ts';
import { poolKey } from '../../../harness/planner/pools.ts';
import { runRequestSchema } from '../../../harness/protocol/run-request.ts';
import type { Verdict } from '../../../harness/protocol/verdict.ts';
import { finalRunStatus } from '../../../harness/scheduler/run-status.ts';
import { migrateCatalog, syncCatalog } from '../../../harness/store/catalog-repo.ts';
import type { JobRow, NewJob } from '../../../harness/store/jobs-repo.ts';
import { Store } from '../../../harness/store/store.ts';
import { loadCatalog } from '../../../suites/catalog/catalog.ts';
import type { TestMeta } from '../../../suites/test-api.ts';
import { rng } from '../makespan.ts';
import { LabBehaviour } from './lab-behaviour.ts';
import type { ScaleLab } from './lab-files.ts';
import { scaleDevices, scaleTests } from './lab-shape.ts';
import { type RunSpec, runMix, SPAN_DAYS } from './run-mix.ts';

/** Bump when the lab, its behaviour or the run mix change: cached stores of another version are not reused. */
export const SEEDER_VERSION = 1;

/** Jobs per store transaction: big commits, bounded memory. */
const BATCH_JOBS = 250_000;

type SeedJob = NewJob & Pick<JobRow, 'deviceModel' | 'deviceFirmware' | 'devicePlatform' | 'component'>;

/** The catalog's tests and the inventory's devices, in the lab shape's order (what the behaviour indexes). */
interface Aligned {
  tests: TestMeta[];
  devices: DeviceRecord[];
}

function align(lab: ScaleLab): Aligned {
  const pick = <T extends { id: string }>(list: readonly T[], ids: string[]): T[] => {
    const byId = new Map(list.map((x) => [x.id, x]));
    return ids.map((id) => {
      const found = byId.get(id);
      if (!found) throw new Error(`scale lab: ${id} is not in the generated catalog or inventory`);
      return found;
    });
  };
  return {
    tests: pick(
      lab.tests,
      scaleTests().map((t) => t.id),
    ),
    devices: pick(
      lab.devices,
      scaleDevices().map((d) => d.id),
    ),
  };
}

function writeRun(
  store: Store,
  lab: Aligned,
  behaviour: LabBehaviour,
  spec: RunSpec,
  random: () => number,
): void {
  const request = runRequestSchema.parse({
    query: spec.query,
    build: spec.build,
    partner: spec.partner,
    priority: spec.priority,
    options: { changedComponents: spec.changed },
  });
  const devices: DeviceRecord[] = spec.devices.map((d) => lab.devices[d]!);
  const pools = devices.map(poolKey);
  const jobs: SeedJob[] = [];
  for (let k = 0; k < spec.jobs; k++) {
    const t = spec.tests[Math.floor(k / devices.length)]!;
    const d = k % devices.length;
    const test = lab.tests[t]!;
    const device = devices[d]!;
    jobs.push({
      id: `${spec.id}-${String(k).padStart(5, '0')}`,
      runId: spec.id,
      seq: k,
      testId: test.id,
      pool: pools[d]!,
      deviceModel: device.model,
      deviceFirmware: device.firmware,
      devicePlatform: device.platform,
      component: test.component,
      score: 0,
      reasons: [],
      estDurationMs: Math.max(1000, Math.round(test.timeoutMs / 10)),
      maxRetries: test.retries,
      timeoutMs: test.timeoutMs,
    });
  }
  store.runs.insert({
    id: spec.id,
    request,
    createdAt: spec.createdAt,
    plan: {
      pools: Object.fromEntries(devices.map((d, i) => [pools[i], [d.id]])),
      unplanned: [],
      ranker: 'failure-record',
      budget: null,
    },
  });
  store.jobs.insertMany(jobs, spec.createdAt);
  store.runs.markStarted(spec.id, spec.createdAt + 2000);
  const outcomes = jobs.map((_, k) =>
    behaviour.outcome(
      spec.tests[Math.floor(k / devices.length)]!,
      spec.devices[k % devices.length]!,
      spec.day,
      spec.changed.includes(jobs[k]!.component),
      random,
    ),
  );
  // Devices work in parallel: the run lasts about its device time over its devices, at most 10 hours.
  const deviceMs = outcomes.reduce((s, o) => s + o.durationMs, 0) / devices.length;
  const span = Math.min(10 * 3600_000, deviceMs);
  const verdicts: Verdict[] = [];
  outcomes.forEach((o, k) => {
    const job = jobs[k]!;
    verdicts.push(o.verdict);
    store.jobs.finish(job.id, {
      ...o,
      deviceId: devices[k % devices.length]!.id,
      at: spec.createdAt + 2000 + Math.round(((k + 1) / jobs.length) * span),
    });
  });
  store.runs.finish(spec.id, finalRunStatus(verdicts, false), spec.createdAt + 3000 + Math.round(span));
}

/**
 * Writes a store of `size` finished jobs through the store's own code (runs, jobs, their verdicts, the
 * runs' final status), runs batched into large transactions; progress on stderr.
 */
export async function seedStore(file: string, size: number, lab: ScaleLab, now = Date.now()): Promise<void> {
  const store = Store.open(file);
  store.db.pragma('cache_size = -262144');
  migrateCatalog(store.db);
  syncCatalog(store.db, (await loadCatalog([lab.suitesDir])).entries);
  const specs = runMix(size, scaleTests(), lab.devices.length, now);
  const behaviour = new LabBehaviour(scaleTests(), scaleDevices(), SPAN_DAYS);
  const random = rng(size);
  const aligned = align(lab);
  const t0 = performance.now();
  let written = 0;
  for (let i = 0; i < specs.length; ) {
    let batch = 0;
    store.transaction(() => {
      while (i < specs.length && batch < BATCH_JOBS) {
        writeRun(store, aligned, behaviour, specs[i]!, random);
        batch += specs[i]!.jobs;
        i++;
      }
    });
    written += batch;
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(
      `scale: seeding ${size.toLocaleString('en')} jobs: ${written.toLocaleString('en')} (${i}/${specs.length} runs) in ${s.toFixed(0)} s, ${Math.round(written / s).toLocaleString('en')} jobs/s\n`,
    );
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.close();
}
