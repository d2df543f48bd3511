/** Platt scaling: p = sigmoid(a * logit(raw) + b). `a` is kept positive so ranking is unchanged. */
export interface Platt {
  a: number;
  b: number;
}

export const IDENTITY_PLATT: Platt = { a: 1, b: 0 };

const logit = (p: number): number => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function applyPlatt(c: Platt, raw: number): number {
  return sigmoid(c.a * logit(raw) + c.b);
}

/** Cross-entropy of Platt's targets under sigmoid(a x + b), computed without overflow. */
function plattLoss(x: readonly number[], t: readonly number[], a: number, b: number): number {
  let loss = 0;
  for (let i = 0; i < x.length; i++) {
    const f = a * x[i]! + b;
    // -[t log p + (1 - t) log(1 - p)] = softplus(-f) + (1 - t) f
    loss += Math.max(-f, 0) + Math.log1p(Math.exp(-Math.abs(f))) + (1 - t[i]!) * f;
  }
  return loss;
}

/**
 * Fits Platt scaling on held-out (raw probability, label) pairs by Newton's method with Platt's
 * smoothed targets. Returns the identity when the window has too few positives or negatives.
 */
export function fitPlatt(raw: ArrayLike<number>, labels: ArrayLike<number>, minEach = 3): Platt {
  const n = raw.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i]! > 0.5 ? 1 : 0;
  if (pos < minEach || n - pos < minEach) return IDENTITY_PLATT;
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (n - pos + 2);
  const x = Array.from({ length: n }, (_, i) => logit(raw[i]!));
  const t = Array.from({ length: n }, (_, i) => (labels[i]! > 0.5 ? hi : lo));
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-6;
    let hab = 0;
    let hbb = 1e-6;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * x[i]! + b);
      const d = p - t[i]!;
      const w = p * (1 - p);
      ga += d * x[i]!;
      gb += d;
      haa += w * x[i]! * x[i]!;
      hab += w * x[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-12) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    // Backtracking line search (Lin, Lin and Weng, 2007): a full Newton step on nearly separable
    // held-out rows can overshoot to a huge slope that maps every score to 0 or 1.
    const f0 = plattLoss(x, t, a, b);
    let step = 1;
    while (
      step >= 1e-10 &&
      plattLoss(x, t, a - step * da, b - step * db) > f0 - 1e-4 * step * (ga * da + gb * db)
    )
      step /= 2;
    if (step < 1e-10) break;
    a -= step * da;
    b -= step * db;
    if (step * (Math.abs(da) + Math.abs(db)) < 1e-7) break;
  }
  if (!Number.isFinite(a) || !Number.isFinite(b) || a <= 0) return IDENTITY_PLATT;
  return { a, b };
}
