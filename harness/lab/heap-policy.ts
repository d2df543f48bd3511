import { setFlagsFromString } from 'node:v8';

/** How far V8 lets the control plane's heap grow past what was live at the last full collection. */
export const DEFAULT_HEAP_GROWTH_PERCENT = 100;

/**
 * The control plane's heap policy, set once at `devlab server` start (`DEVLAB_HEAP_GROWTH_PERCENT`
 * overrides; 0 leaves V8's own). The server keeps ~200 MB of history live at 1M finished jobs, and
 * each 20,000-job submit makes ~80 MB of short-lived garbage (payloads, rows, the answer) that outlives
 * a scavenge. V8's default factor (up to 4× the live heap) let that garbage pile up to ~1 GB of RSS
 * before a full collection; 2× keeps the peak near 650 MB for a few ms more of collection per submit.
 * Measured in `npm run bench -- scale` (docs/BENCHMARKS.md).
 */
export function applyHeapPolicy(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['DEVLAB_HEAP_GROWTH_PERCENT'];
  const percent = raw === undefined || raw === '' ? DEFAULT_HEAP_GROWTH_PERCENT : Number(raw);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000)
    throw new Error(`DEVLAB_HEAP_GROWTH_PERCENT: expected a whole number 0..1000, got "${raw}"`);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
