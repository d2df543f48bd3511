/** Latencies of one metric at one size; `timedOut` when a request hit the cap (its latency is the cap). */
export interface Series {
  ms: number[];
  timedOut: boolean;
  errors: string[];
}

/** Per request: answers later than this count as the cap (a timeout). */
export const REQUEST_CAP_MS = 300_000;
/** A request slower than this ends the metric's repetitions at this size: one size must not take hours. */
export const SLOW_MS = 60_000;

/** POSTs JSON on loopback and reads the whole answer; resolves to the latency, throws on a non-2xx answer. */
export async function timedPost(url: string, body: unknown): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_CAP_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status}: ${text.slice(0, 200)}`);
  return performance.now() - t0;
}

/** Runs `once` up to `reps` times one after another, stopping early after a slow or failed one. */
export async function series(reps: number, once: () => Promise<number>): Promise<Series> {
  const out: Series = { ms: [], timedOut: false, errors: [] };
  for (let i = 0; i < reps; i++) {
    try {
      out.ms.push(await once());
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') {
        out.timedOut = true;
        out.ms.push(REQUEST_CAP_MS);
      } else out.errors.push(e.message);
      break;
    }
    if (out.ms.at(-1)! > SLOW_MS) break;
  }
  return out;
}

/** The q-th quantile (0..1) by nearest rank; NaN for no samples. */
export function quantile(ms: readonly number[], q: number): number {
  if (ms.length === 0) return Number.NaN;
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
