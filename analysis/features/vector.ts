import { componentModelKey, lift, testKey, testModelKey } from './change.ts';
import { changeRisk } from './change-risk.ts';
import { flakyRate } from './flakiness.ts';
import type { CycleContext, HistoryState, PairQuery } from './state.ts';
import { decayAt, recentFails, type Stats } from './stats.ts';

/** Names of the dense features, in column order. All values lie roughly in [0, 1]. */
export const FEATURE_NAMES = [
  'pair_decay',
  'pair_ewma_fast',
  'pair_ewma_slow',
  'pair_last1',
  'pair_last2',
  'pair_last3',
  'pair_last5_frac',
  'pair_recency',
  'pair_fail_rate',
  'pair_flaky_rate',
  'pair_log_runs',
  'pair_new',
  'test_decay',
  'test_ewma_fast',
  'test_ewma_slow',
  'test_last5_frac',
  'test_recency',
  'test_time_recency',
  'test_flaky_rate',
  'test_log_runs',
  'test_new',
  'test_age',
  'test_idle',
  'device_ewma_slow',
  'device_last5_frac',
  'device_new',
  'model_ewma_slow',
  'test_model_ewma',
  'test_fw_ewma',
  'test_fw_last5_frac',
  'fw_new',
  'test_fw_new',
  'device_fw_changed',
  'log_duration',
  'component_changed',
  'component_ewma',
  'change_size',
  'change_test_lift',
  'change_test_model_lift',
  'change_component_model_lift',
  'test_fail_rate',
  'change_test_excess',
  'change_model_excess',
  'change_test_model_excess',
  'change_propensity',
] as const;

/**
 * The features that read the change under test (`CycleContext.changed`); all 0 without one. A ranking
 * without change features (the evaluation's history-only model) is the same ranking given no change.
 */
export const CHANGE_FEATURES: readonly (typeof FEATURE_NAMES)[number][] = [
  'component_changed',
  'change_size',
  'change_test_lift',
  'change_test_model_lift',
  'change_component_model_lift',
  'change_test_excess',
  'change_model_excess',
  'change_test_model_excess',
  'change_propensity',
];

export const FEATURE_COUNT = FEATURE_NAMES.length;
const HOUR = 3_600_000;
/** Failure rates are small: scaled so that a rate of 25 % reads 1, like the other columns' range. */
const RATE_SCALE = 4;

function recency(s: Stats | undefined, cycle: number): number {
  return s && s.lastFailCycle >= 0 ? 1 / (1 + (cycle - s.lastFailCycle - 1)) : 0;
}

/** Fills `out` (length FEATURE_COUNT, at `offset`) with the features of one pair. */
export function pairFeatures(
  state: HistoryState,
  q: PairQuery,
  ctx: CycleContext,
  out: Float32Array,
  offset: number,
  changed: ReadonlySet<string>,
): void {
  const c = state.cycles;
  const k = state.keysOf(q);
  const {
    pair,
    test,
    device,
    model,
    testModel,
    testFirmware: testFw,
    firmware: fw,
    component: comp,
  } = state.statsOf(q, k);
  const nowMs = ctx.timeMs ?? Number.NaN;
  let timeRec = recency(test, c);
  if (test && Number.isFinite(nowMs) && Number.isFinite(test.lastFailTimeMs))
    timeRec = 1 / (1 + Math.max(0, nowMs - test.lastFailTimeMs) / (24 * HOUR));
  const pr = pair?.runs ?? 0;
  const tr = test?.runs ?? 0;
  const lastFw = state.deviceFirmware.get(q.device);
  // Learned associations of the changed tokens with this test / (test, model) / (component, model):
  // the strongest over the tokens, as lift over the entity's own failure rate.
  let testLift = 0;
  let testModelLift = 0;
  let componentModelLift = 0;
  if (changed.size > 0) {
    for (const token of changed) {
      testLift = Math.max(testLift, lift(state.changes.get(testKey(token, q.test)), test));
      if (q.deviceModel === undefined) continue;
      testModelLift = Math.max(
        testModelLift,
        lift(state.changes.get(testModelKey(token, q.test, q.deviceModel)), testModel),
      );
      if (k.component !== undefined)
        componentModelLift = Math.max(
          componentModelLift,
          lift(state.changes.get(componentModelKey(token, k.component, q.deviceModel)), comp),
        );
    }
  }
  const risk = changeRisk(state.changes, changed, q, k.component, test, model);
  const v = [
    1 - Math.exp(-(pair ? decayAt(pair, c) : 0)),
    pair?.ewmaFast ?? 0,
    pair?.ewmaSlow ?? 0,
    pair && pr >= 1 ? pair.recent & 1 : 0,
    pair && pr >= 2 ? (pair.recent >> 1) & 1 : 0,
    pair && pr >= 3 ? (pair.recent >> 2) & 1 : 0,
    pair ? recentFails(pair, 5) / 5 : 0,
    recency(pair, c),
    pair ? pair.fails / (pr + 1) : 0,
    flakyRate(pair),
    Math.log1p(pr) / 6,
    pr === 0 ? 1 : 0,
    1 - Math.exp(-(test ? decayAt(test, c) : 0)),
    test?.ewmaFast ?? 0,
    test?.ewmaSlow ?? 0,
    test ? recentFails(test, 5) / 5 : 0,
    recency(test, c),
    timeRec,
    flakyRate(test),
    Math.log1p(tr) / 6,
    tr === 0 ? 1 : 0,
    test ? 1 / (1 + c - test.firstCycle) : 1,
    test ? Math.log1p(c - test.lastRunCycle - 1) / 5 : 0,
    device?.ewmaSlow ?? 0,
    device ? recentFails(device, 5) / 5 : 0,
    device ? 0 : 1,
    model?.ewmaSlow ?? 0,
    testModel?.ewmaSlow ?? 0,
    testFw?.ewmaFast ?? 0,
    testFw ? recentFails(testFw, 5) / 5 : 0,
    k.firmware !== undefined && (!fw || c - fw.firstCycle < 3) ? 1 : 0,
    k.testFirmware !== undefined && !testFw && (testModel?.runs ?? 0) > 0 ? 1 : 0,
    q.firmware !== undefined && lastFw !== undefined && lastFw !== q.firmware ? 1 : 0,
    Math.log1p(test?.durationEwma ?? 0) / 8,
    k.component !== undefined && changed.has(k.component) ? 1 : 0,
    comp?.ewmaFast ?? 0,
    Math.log1p(changed.size) / 3,
    testLift,
    testModelLift,
    componentModelLift,
    Math.min(1, (RATE_SCALE * (test?.fails ?? 0)) / (tr + 2)),
    Math.min(1, RATE_SCALE * risk.test),
    Math.min(1, RATE_SCALE * risk.model),
    Math.min(1, RATE_SCALE * risk.testModel),
    Math.min(1, RATE_SCALE * risk.propensity),
  ];
  for (let i = 0; i < FEATURE_COUNT; i++) out[offset + i] = v[i]!;
}

/** The feature matrix (row-major, pairs.length x FEATURE_COUNT) for a cycle about to run. */
export function featureMatrix(
  state: HistoryState,
  pairs: readonly PairQuery[],
  ctx: CycleContext,
): Float32Array {
  const out = new Float32Array(pairs.length * FEATURE_COUNT);
  const changed = new Set(ctx.changed ?? []);
  for (let i = 0; i < pairs.length; i++) pairFeatures(state, pairs[i]!, ctx, out, i * FEATURE_COUNT, changed);
  return out;
}
