import type { HistoryRow, Verdict } from '../history/row.ts';
import { seededRandom } from '../model/hash.ts';
import { buildWorld, COMPONENTS, type DeviceSpec, gaussian, pick, type TestSpec } from './world.ts';

export interface GenerateOptions {
  cycles: number;
  seed: number;
  /** Devices sampled per cycle. */
  devicesPerCycle: number;
  /** Tests sampled per device per cycle. */
  testsPerDevice: number;
  /** Start time of cycle 1 (ISO) and hours between cycles. */
  start: string;
  hoursBetween: number;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  cycles: 300,
  seed: 1,
  devicesPerCycle: 4,
  testsPerDevice: 25,
  start: '2026-01-05T00:00:00.000Z',
  hoursBetween: 6,
};

/** Chance that a change regresses a component it touches, and that such a change is merged anyway. */
export const REGRESSION_RATE = 0.3;
export const MERGED_RATE = 0.2;
/** Chance that a change that regresses nothing is merged (it then becomes the base of later changes). */
export const CLEAN_MERGE_RATE = 0.7;

interface Breakage {
  /** Which (test, device) the defect hits. */
  hits: (t: TestSpec, d: DeviceSpec, firmware: string) => boolean;
  probability: number;
  from: number;
  until: number;
}

/**
 * A seeded lab history. Failures a change explains: each cycle's change touches 1-2 components and
 * may regress them (the tests depending on a component, declared or hidden, on all models or on the
 * component's platform-specific models). Failures no change explains: firmware roll-outs that break
 * some tests on some models, capability defects (HEVC, HDR), flaky tests, new tests and new devices
 * joining, infrastructure errors, and a merged regression that stays after its cycle. Realistic durations.
 */
export function generateLabHistory(options: Partial<GenerateOptions> = {}): HistoryRow[] {
  const o = { ...DEFAULT_GENERATE, ...options };
  const rnd = seededRandom(o.seed);
  // Merges of changes that regress nothing draw from a stream of their own: the rows of every other
  // decision are as they were before the base build was recorded.
  const mergeRnd = seededRandom(o.seed + 0x5bd1e995);
  const world = buildWorld(o.seed, o.cycles);
  const breakages: Breakage[] = [];
  // Capability defects: an HEVC test that fails on devices without HEVC until fixed.
  for (const t of world.tests.filter((x) => x.needsHevc).slice(0, 3)) {
    const from = Math.floor(rnd() * o.cycles * 0.5);
    breakages.push({
      hits: (tt, d) => tt === t && !d.model.hevc,
      probability: 0.9,
      from,
      until: from + 40 + Math.floor(rnd() * 120),
    });
  }
  for (const t of world.tests.filter((x) => x.needsHdr).slice(0, 2))
    breakages.push({ hits: (tt, d) => tt === t && !d.model.hdr, probability: 0.8, from: 0, until: o.cycles });
  // Firmware roll-outs: each model releases new firmware every ~60 cycles, rolled out device by
  // device over ~10 cycles; a release breaks 1-3 tests of its model until the next one.
  const firmwareAt = new Map<string, { version: number; at: number }[]>();
  for (const m of world.models) {
    const releases = [{ version: 0, at: -1000 }];
    let at = 20 + Math.floor(rnd() * 60);
    for (let v = 1; v < m.firmwares.length && at < o.cycles; v++) {
      releases.push({ version: v, at });
      const fw = m.firmwares[v]!;
      if (rnd() < 0.6) {
        const victims = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(rnd, world.tests));
        breakages.push({
          hits: (tt, d, f) => victims.includes(tt) && d.model === m && f === fw,
          probability: 0.85,
          from: at,
          until: o.cycles,
        });
      }
      at += 40 + Math.floor(rnd() * 60);
    }
    firmwareAt.set(m.name, releases);
  }
  const firmwareOf = (d: DeviceSpec, cycle: number): string => {
    const lag = Math.floor(d.speed * 7);
    const rel = firmwareAt.get(d.model.name)!.filter((r) => r.at + lag <= cycle);
    return d.model.firmwares[rel[rel.length - 1]!.version]!;
  };
  const rows: HistoryRow[] = [];
  const t0 = Date.parse(o.start);
  const runs = new Map<string, number>();
  // The main line the changes are based on: the build of the last merged change (b999 at the start).
  let baseBuild = 'b999';
  for (let c = 0; c < o.cycles; c++) {
    // The change under test (a pull request's run) touches 1-2 components. A change regresses each
    // component it touches with probability REGRESSION_RATE: the tests that depend on the component
    // (declared or not; each by its sensitivity) fail on every model or, as often, only on the models with
    // platform-specific code in it. Most such changes are not merged: their failures are this cycle's
    // only. A merged one (MERGED_RATE) breaks the base build for a few more cycles, whatever those
    // cycles' changes touch.
    const changed = [
      ...new Set([pick(rnd, COMPONENTS), ...(rnd() < 0.4 ? [pick(rnd, COMPONENTS)] : [])]),
    ].sort();
    let regressed = false;
    let mergedRegression = false;
    for (const comp of changed) {
      if (rnd() >= REGRESSION_RATE) continue;
      regressed = true;
      const victims = new Set(
        world.tests.filter((t) => {
          const dep = t.depends.find((d) => d.component === comp);
          return dep !== undefined && rnd() < dep.sensitivity;
        }),
      );
      const modelsHit = rnd() < 0.5 ? null : new Set(world.platformModels.get(comp));
      const merged = rnd() < MERGED_RATE;
      mergedRegression ||= merged;
      breakages.push({
        hits: (tt, d) => victims.has(tt) && (!modelsHit || modelsHit.has(d.model.name)),
        probability: 0.8,
        from: c,
        until: merged ? c + 2 + Math.floor(rnd() * 5) : c + 1,
      });
    }
    const active = world.devices.filter((d) => d.joins <= c);
    const tests = world.tests.filter((t) => t.added <= c);
    const devices = [...active].sort(() => rnd() - 0.5).slice(0, o.devicesPerCycle);
    const time = new Date(t0 + c * o.hoursBetween * 3_600_000).toISOString();
    for (const d of devices) {
      const firmware = firmwareOf(d, c);
      const chosen = [...tests].sort(() => rnd() - 0.5).slice(0, o.testsPerDevice);
      for (const t of chosen) {
        const n = runs.get(t.id) ?? 0;
        runs.set(t.id, n + 1);
        let pFail = 0.002 + t.flakiness;
        if (n < 5 && t.added > 0) pFail += 0.15;
        if (d.joins > 0 && c - d.joins < 5) pFail += 0.05;
        for (const b of breakages)
          if (c >= b.from && c < b.until && b.hits(t, d, firmware))
            pFail = 1 - (1 - pFail) * (1 - b.probability);
        const failed = rnd() < pFail;
        const infra = rnd() < 0.002;
        const verdict: Verdict = infra ? 'error' : failed ? 'fail' : 'pass';
        const duration = t.baseDurationS * d.speed * Math.exp(0.15 * gaussian(rnd)) * (failed ? 0.7 : 1);
        rows.push({
          cycle: String(c + 1),
          time,
          test: t.id,
          device: d.id,
          deviceModel: d.model.name,
          os: d.model.os,
          firmware,
          build: `b${1000 + c}`,
          baseBuild,
          verdict,
          durationS: Math.round(duration * 100) / 100,
          component: t.component,
          changed,
        });
      }
    }
    // A merged change is the base of the changes after it (a merged regression breaks them until fixed).
    if (mergedRegression || (!regressed && mergeRnd() < CLEAN_MERGE_RATE)) baseBuild = `b${1000 + c}`;
  }
  return rows;
}
