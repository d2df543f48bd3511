import { FEATURE_COUNT } from '../features/vector.ts';

/** Id inputs of the network, already hashed to buckets. */
export interface IdColumns {
  test: Int32Array;
  device: Int32Array;
  model: Int32Array;
}

/** A batch of examples: dense features (row-major), hashed ids and labels (1 = failed). */
export interface Examples extends IdColumns {
  n: number;
  dense: Float32Array;
  labels: Uint8Array;
}

/** Growable example store, appended a cycle at a time (labels known only after the reveal). */
export class TrainingSet {
  n = 0;
  positives = 0;
  private cap: number;
  dense: Float32Array;
  test: Int32Array;
  device: Int32Array;
  model: Int32Array;
  labels: Uint8Array;

  /** `capacity`: the rows expected, when known (no doubling, no spare half of the arrays). */
  constructor(capacity = 1024) {
    this.cap = Math.max(1, capacity);
    this.dense = new Float32Array(this.cap * FEATURE_COUNT);
    this.test = new Int32Array(this.cap);
    this.device = new Int32Array(this.cap);
    this.model = new Int32Array(this.cap);
    this.labels = new Uint8Array(this.cap);
  }

  private grow(need: number): void {
    if (need <= this.cap) return;
    let cap = this.cap;
    while (cap < need) cap *= 2;
    const copy = <T extends Float32Array | Int32Array | Uint8Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a.subarray(0, this.n * (a.length / this.cap)));
      return b;
    };
    this.dense = copy(this.dense, cap * FEATURE_COUNT);
    this.test = copy(this.test, cap);
    this.device = copy(this.device, cap);
    this.model = copy(this.model, cap);
    this.labels = copy(this.labels, cap);
    this.cap = cap;
  }

  append(ex: Examples): void {
    this.grow(this.n + ex.n);
    this.dense.set(ex.dense.subarray(0, ex.n * FEATURE_COUNT), this.n * FEATURE_COUNT);
    this.test.set(ex.test.subarray(0, ex.n), this.n);
    this.device.set(ex.device.subarray(0, ex.n), this.n);
    this.model.set(ex.model.subarray(0, ex.n), this.n);
    this.labels.set(ex.labels.subarray(0, ex.n), this.n);
    for (let i = 0; i < ex.n; i++) this.positives += ex.labels[i]!;
    this.n += ex.n;
  }

  /** Rows [from, to) as a view (no copy). */
  slice(from: number, to: number): Examples {
    return {
      n: to - from,
      dense: this.dense.subarray(from * FEATURE_COUNT, to * FEATURE_COUNT),
      test: this.test.subarray(from, to),
      device: this.device.subarray(from, to),
      model: this.model.subarray(from, to),
      labels: this.labels.subarray(from, to),
    };
  }
}
