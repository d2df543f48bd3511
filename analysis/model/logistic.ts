/**
 * Logistic regression baseline on the dense features: L2-regularised, class-weighted, trained by
 * full-batch gradient descent with Adam in plain TypeScript (fast for tens of thousands of rows).
 * Warm-starts from the current weights on each `fit`.
 */
export class LogisticRegression {
  weights: Float64Array;
  bias = 0;
  private m: Float64Array;
  private v: Float64Array;
  private mb = 0;
  private vb = 0;
  private step = 0;

  constructor(
    readonly features: number,
    readonly l2 = 1e-3,
  ) {
    this.weights = new Float64Array(features);
    this.m = new Float64Array(features);
    this.v = new Float64Array(features);
  }

  fit(x: Float32Array, y: ArrayLike<number>, iterations = 60, lr = 0.05): void {
    const n = y.length;
    const d = this.features;
    if (n === 0) return;
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i]!;
    if (pos === 0 || pos === n) {
      this.bias = pos === 0 ? -6 : 6;
      return;
    }
    const wPos = Math.min(50, (n - pos) / pos);
    const grad = new Float64Array(d);
    const norm = 1 / (n - pos + pos * wPos);
    for (let it = 0; it < iterations; it++) {
      grad.fill(0);
      let gb = 0;
      for (let i = 0; i < n; i++) {
        const o = i * d;
        let z = this.bias;
        for (let j = 0; j < d; j++) z += this.weights[j]! * x[o + j]!;
        const p = 1 / (1 + Math.exp(-z));
        const w = y[i]! > 0.5 ? wPos : 1;
        const e = (p - y[i]!) * w;
        gb += e;
        for (let j = 0; j < d; j++) grad[j]! += e * x[o + j]!;
      }
      this.step++;
      const b1 = 0.9;
      const b2 = 0.999;
      const c1 = 1 - b1 ** this.step;
      const c2 = 1 - b2 ** this.step;
      for (let j = 0; j < d; j++) {
        const g = grad[j]! * norm + this.l2 * this.weights[j]!;
        this.m[j] = b1 * this.m[j]! + (1 - b1) * g;
        this.v[j] = b2 * this.v[j]! + (1 - b2) * g * g;
        this.weights[j]! -= (lr * (this.m[j]! / c1)) / (Math.sqrt(this.v[j]! / c2) + 1e-8);
      }
      const g = gb * norm;
      this.mb = b1 * this.mb + (1 - b1) * g;
      this.vb = b2 * this.vb + (1 - b2) * g * g;
      this.bias -= (lr * (this.mb / c1)) / (Math.sqrt(this.vb / c2) + 1e-8);
    }
  }

  predict(x: Float32Array, n: number): Float64Array {
    const d = this.features;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let z = this.bias;
      for (let j = 0; j < d; j++) z += this.weights[j]! * x[i * d + j]!;
      out[i] = 1 / (1 + Math.exp(-z));
    }
    return out;
  }
}
