import { describe, expect, it } from 'vitest';
import { changeRisk } from '../../analysis/features/change-risk.ts';
import { cycleContext, cycleQueries, HistoryState, type PairQuery } from '../../analysis/features/state.ts';
import {
  CHANGE_FEATURES,
  FEATURE_COUNT,
  FEATURE_NAMES,
  featureMatrix,
} from '../../analysis/features/vector.ts';
import type { Cycle, CyclePair } from '../../analysis/history/cycles.ts';
import { seededRandom } from '../../analysis/model/hash.ts';
import { LogisticRegression } from '../../analysis/model/logistic.ts';

/*
 * A lab where changes to `drm` break `player/t1` on model m1 only: player/t1 declares component `player`,
 * so nothing but the history of earlier cycles can tie it to drm. Every cycle runs player/t1 and ui/t2
 * on one device of m1 and one of m2; a seeded 40 % of the cycles change drm (cycle 0 among them), the
 * others ui: no pattern in time for the pair's own record to follow.
 */
const rnd = seededRandom(7);
const DRM = Array.from({ length: 60 }, (_, i) => i === 0 || rnd() < 0.4);
const T1_M1: PairQuery = { test: 'player/t1', device: 'm1-1', deviceModel: 'm1', component: 'player' };

function pair(test: string, device: string, model: string, component: string, failed: boolean): CyclePair {
  return { test, device, deviceModel: model, component, failed, mixed: false, durationS: 10 };
}

function cycle(index: number, drmBreaksT1 = true): Cycle {
  const changed = DRM[index] ? ['drm'] : ['ui'];
  const broken = drmBreaksT1 && changed[0] === 'drm';
  return {
    index,
    id: String(index + 1),
    changed,
    pairs: [
      pair('player/t1', 'm1-1', 'm1', 'player', broken),
      pair('player/t1', 'm2-1', 'm2', 'player', false),
      pair('ui/t2', 'm1-1', 'm1', 'ui', false),
      pair('ui/t2', 'm2-1', 'm2', 'ui', false),
    ],
  };
}

function col(x: Float32Array, row: number, name: (typeof FEATURE_NAMES)[number]): number {
  return x[row * FEATURE_COUNT + FEATURE_NAMES.indexOf(name)]!;
}

function risk(state: HistoryState, lr: LogisticRegression, q: PairQuery, changed: string[]): number {
  return lr.predict(featureMatrix(state, [q], { changed }), 1)[0]!;
}

describe('change features', () => {
  it('tie a changed component to a (test, model) only once earlier cycles showed it, never from the cycle ranked', () => {
    const state = new HistoryState();
    // Before any cycle, a drm change says nothing about player/t1 (it does not declare drm).
    const before = featureMatrix(state, [T1_M1], { changed: ['drm'] });
    expect(col(before, 0, 'change_test_model_lift')).toBe(0);
    expect(col(before, 0, 'change_test_lift')).toBe(0);
    expect(col(before, 0, 'component_changed')).toBe(0);

    // The ranking of cycle 0 (a drm change that breaks player/t1 on m1) reads only what came before it.
    const c0 = cycle(0);
    const ranked = featureMatrix(state, cycleQueries(c0), cycleContext(c0));
    expect(col(ranked, 0, 'change_test_model_lift')).toBe(0);
    // What earlier cycles taught about changes is 0; the change itself (its size, the test's component) is not.
    for (const name of CHANGE_FEATURES.filter((n) => n !== 'change_size' && n !== 'component_changed'))
      expect(col(ranked, 0, name)).toBe(0);
    state.update(c0);

    // Revealed: a drm change now raises player/t1 on m1, and only when drm is what changed.
    const after = featureMatrix(state, [T1_M1], { changed: ['drm'] });
    expect(col(after, 0, 'change_test_model_lift')).toBeGreaterThan(0.2);
    const ui = featureMatrix(state, [T1_M1], { changed: ['ui'] });
    expect(col(ui, 0, 'change_test_model_lift')).toBe(0);
    const m2 = featureMatrix(state, [{ ...T1_M1, device: 'm2-1', deviceModel: 'm2' }], { changed: ['drm'] });
    expect(col(m2, 0, 'change_test_model_lift')).toBe(0);
  });

  it('raise the learned risk of the tests a change broke before, on the models it broke them on', () => {
    // Examples as the evaluation makes them: each cycle's features from the cycles before it.
    const state = new HistoryState();
    const rows: Float32Array[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 60; i++) {
      const c = cycle(i);
      rows.push(featureMatrix(state, cycleQueries(c), cycleContext(c)));
      for (const p of c.pairs) labels.push(p.failed ? 1 : 0);
      state.update(c);
    }
    const x = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    rows.reduce((at, r) => {
      x.set(r, at);
      return at + r.length;
    }, 0);
    const lr = new LogisticRegression(FEATURE_COUNT);
    lr.fit(x, labels, 200);
    const drm = risk(state, lr, T1_M1, ['drm']);
    expect(drm).toBeGreaterThan(0.5);
    expect(drm).toBeGreaterThan(risk(state, lr, T1_M1, ['ui']) + 0.3);
    expect(drm).toBeGreaterThan(
      risk(state, lr, { ...T1_M1, device: 'm2-1', deviceModel: 'm2' }, ['drm']) + 0.3,
    );

    // The same lab where drm never broke anything: no association, a drm change is no risk to player/t1.
    const quiet = new HistoryState();
    for (let i = 0; i < 60; i++) quiet.update(cycle(i, false));
    const x2 = featureMatrix(quiet, [T1_M1], { changed: ['drm'] });
    expect(col(x2, 0, 'change_test_model_lift')).toBe(0);
    expect(col(x2, 0, 'change_test_lift')).toBe(0);
  });

  it('learn a hidden dependency as a smoothed excess rate: per test, per device model, and how often a change broke anything', () => {
    const state = new HistoryState();
    for (let i = 0; i < 60; i++) state.update(cycle(i));
    const x = (q: PairQuery, changed: string[]) => featureMatrix(state, [q], { changed });
    const m2 = { ...T1_M1, device: 'm2-1', deviceModel: 'm2' };
    // drm broke player/t1 in about half its drm-cycle runs (m1 only): an excess over its rate without drm.
    expect(col(x(T1_M1, ['drm']), 0, 'change_test_excess')).toBeGreaterThan(0.5);
    expect(col(x(T1_M1, ['ui']), 0, 'change_test_excess')).toBe(0);
    // The failures were all on m1: the (drm, model) excess and the test's excess on that model say so.
    expect(col(x(T1_M1, ['drm']), 0, 'change_model_excess')).toBeGreaterThan(
      col(x(m2, ['drm']), 0, 'change_model_excess'),
    );
    // Unscaled (the columns saturate at 1): the test's excess weighs more on the model drm broke it on.
    const riskOn = (q: PairQuery) =>
      changeRisk(
        state.changes,
        new Set(['drm']),
        q,
        'player',
        state.get('test', q.test),
        state.get('model', q.deviceModel),
      );
    expect(riskOn(T1_M1).testModel).toBeGreaterThan(riskOn(m2).testModel);
    // drm changes broke something; ui changes never did.
    expect(col(x(T1_M1, ['drm']), 0, 'change_propensity')).toBeGreaterThan(0);
    expect(col(x(T1_M1, ['ui']), 0, 'change_propensity')).toBe(0);
    // ui/t2 never failed, so a drm change raises nothing for it beyond the pooled excess of tests that
    // do not declare drm: smaller than player/t1's learned one.
    const t2 = { test: 'ui/t2', device: 'm1-1', deviceModel: 'm1', component: 'ui' };
    expect(col(x(t2, ['drm']), 0, 'change_test_excess')).toBeLessThan(
      col(x(T1_M1, ['drm']), 0, 'change_test_excess') / 2,
    );
  });
});
