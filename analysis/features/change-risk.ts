import { ALL_KEY, type ChangeStats, relationKey, testKey, tokenKey, tokenModelKey } from './change.ts';
import type { Stats } from './stats.ts';

/**
 * How much a change raises one pair's failure risk, from what earlier cycles showed (strictly online:
 * the change statistics hold revealed cycles only). Rates are *excess* rates: the failure rate under the
 * change minus the rate the same entity has without it.
 *
 * A test can depend on a component it does not declare, so a (changed token, test) association has to
 * be learned from co-failures, and each test runs in few cycles of a given token: its own rate is
 * shrunk (Beta prior of PRIOR_RUNS pseudo-runs) towards the pooled excess of the tests in the same
 * relation to the token (declaring it as their component, or not).
 */
export interface ChangeRisk {
  /** Posterior excess failure rate of (token, test), over the changed tokens combined as a noisy-OR. */
  test: number;
  /** Pooled excess rate of (token, device model) over all tests: platform-specific regressions. */
  model: number;
  /** The test's excess scaled by how much more the token's regressions show on this model than on average. */
  testModel: number;
  /** How often a change to the token broke anything at all: its pooled excess rate over every pair. */
  propensity: number;
}

/** Pseudo-runs of the pooled prior of a (token, test) excess rate. */
export const PRIOR_RUNS = 8;
/** Pseudo-runs of the (token, model) rate's prior (the token's pooled rate). */
export const MODEL_PRIOR_RUNS = 30;

const NONE: ChangeRisk = { test: 0, model: 0, testModel: 0, propensity: 0 };

const rate = (s: ChangeStats | undefined): number => (s && s.runs > 0 ? s.fails / s.runs : 0);

/** Posterior excess failure rate of `test` when `token` changed (see the module comment). */
function testExcess(
  changes: ReadonlyMap<string, ChangeStats>,
  token: string,
  test: string,
  component: string | undefined,
  stats: Stats | undefined,
  lab: number,
): number {
  const prior = Math.max(0, rate(changes.get(relationKey(token, token === component))) - lab);
  const own = changes.get(testKey(token, test));
  const n = own?.runs ?? 0;
  const f = own?.fails ?? 0;
  // The test's rate without the token, else the lab's.
  const otherRuns = (stats?.runs ?? 0) - n;
  const base = otherRuns > 0 ? Math.max(0, (stats?.fails ?? 0) - f) / otherRuns : lab;
  return Math.min(1, Math.max(0, (f - n * base + PRIOR_RUNS * prior) / (n + PRIOR_RUNS)));
}

/** The change risk of one pair (all 0 without a change, or before any cycle with a change was revealed). */
export function changeRisk(
  changes: ReadonlyMap<string, ChangeStats>,
  changed: ReadonlySet<string>,
  q: { test: string; deviceModel?: string },
  component: string | undefined,
  test: Stats | undefined,
  model: Stats | undefined,
): ChangeRisk {
  const all = changes.get(ALL_KEY);
  if (changed.size === 0 || !all) return NONE;
  const lab = rate(all);
  let missTest = 1;
  let missModel = 1;
  let missTestModel = 1;
  let propensity = 0;
  for (const token of changed) {
    const pooled = changes.get(tokenKey(token));
    if (!pooled) continue;
    const tokenExcess = Math.max(0, rate(pooled) - lab);
    propensity = Math.max(propensity, tokenExcess);
    const excess = testExcess(changes, token, q.test, component, test, lab);
    missTest *= 1 - excess;
    let ratio = 1;
    if (q.deviceModel !== undefined) {
      const m = changes.get(tokenModelKey(token, q.deviceModel));
      const modelBase = model && model.runs > 0 ? model.fails / model.runs : lab;
      const mn = m?.runs ?? 0;
      const mRate = ((m?.fails ?? 0) + MODEL_PRIOR_RUNS * rate(pooled)) / (mn + MODEL_PRIOR_RUNS);
      const modelExcess = Math.max(0, mRate - modelBase);
      missModel *= 1 - Math.min(1, modelExcess);
      ratio = tokenExcess > 0 ? Math.min(3, modelExcess / tokenExcess) : 1;
    }
    missTestModel *= 1 - Math.min(1, excess * ratio);
  }
  return {
    test: 1 - missTest,
    model: 1 - missModel,
    testModel: 1 - missTestModel,
    propensity,
  };
}
