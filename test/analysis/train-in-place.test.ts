import { describe, expect, it } from 'vitest';
import { initBackend } from '../../analysis/backend.ts';
import { FEATURE_COUNT } from '../../analysis/features/vector.ts';
import { FailureModel } from '../../analysis/model/failure-model.ts';
import { seededRandom } from '../../analysis/model/hash.ts';
import { TrainingSet } from '../../analysis/model/training-set.ts';

/** A synthetic set: feature 0 carries the failure signal, the rest is noise. */
function exampleSet(n: number): TrainingSet {
  const rnd = seededRandom(11);
  const set = new TrainingSet(n);
  const dense = new Float32Array(n * FEATURE_COUNT);
  const labels = new Uint8Array(n);
  const ids = () => Int32Array.from({ length: n }, () => Math.floor(rnd() * 50));
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < FEATURE_COUNT; f++) dense[i * FEATURE_COUNT + f] = rnd();
    labels[i] = rnd() < dense[i * FEATURE_COUNT]! * 0.3 ? 1 : 0;
  }
  set.append({ n, dense, test: ids(), device: ids(), model: ids(), labels });
  return set;
}

describe('training in place (the lab worker discards its examples)', () => {
  it('fits exactly what training on a shuffled copy fits, and leaves the held-out rows in order', async () => {
    await initBackend();
    const copy = exampleSet(3000);
    const inPlace = exampleSet(3000);
    const tailBefore = Array.from(inPlace.labels.subarray(2700, 3000));
    const a = FailureModel.create();
    const b = FailureModel.create();
    const ra = await a.train(copy.slice(0, copy.n), { epochs: 1 });
    const rb = await b.train(inPlace.slice(0, inPlace.n), { epochs: 1, inPlace: true });
    expect(rb).toEqual(ra);
    // The rows were reordered in place (the copy's were not), the calibration tail was not.
    expect(Array.from(inPlace.labels.subarray(0, 2700))).not.toEqual(
      Array.from(copy.labels.subarray(0, 2700)),
    );
    expect(Array.from(inPlace.labels.subarray(2700, 3000))).toEqual(tailBefore);
    const probe = exampleSet(200).slice(0, 200);
    expect(Array.from(b.predict(probe))).toEqual(Array.from(a.predict(probe)));
    a.dispose();
    b.dispose();
  }, 60_000);
});
