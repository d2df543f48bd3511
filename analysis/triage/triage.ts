import { z } from 'zod';
import { isFlakyNow, recentFlakiness } from '../features/flakiness.ts';
import type { HistoryState } from '../features/state.ts';
import { recentFails } from '../features/stats.ts';
import { pairKey } from '../history/cycles.ts';
import type { TriageState } from './triage-state.ts';

/**
 * What a failed result most likely is, from the history before its run, on its device:
 *
 * | label | when |
 * |---|---|
 * | infrastructure | the verdict is an infrastructure `error`: not a test result |
 * | known | the pair failed on the run's base build on this device, or in its recent runs on this device |
 * | flaky | the pair is flaky on this device (analysis/features/flakiness.ts) and the base build did not fail |
 * | new | none of these: likely from this change |
 *
 * A failure on the base build is the strongest evidence and wins over flakiness; flakiness wins over a
 * recent failure (a flaky pair fails now and then).
 */
export const TRIAGE_LABELS = ['new', 'known', 'flaky', 'infrastructure'] as const;
export type TriageLabel = (typeof TRIAGE_LABELS)[number];

/** Runs of a pair looked at for "failed recently on this device". */
export const RECENT_RUNS = 5;

const runRef = z.object({ run: z.string(), at: z.number().nullable().describe('epoch ms of the run') });

export const triageSchema = z.object({
  label: z.enum(TRIAGE_LABELS),
  /** One line saying why, e.g. "known: failing on this device since ... (run ...), 3 runs in a row". */
  summary: z.string(),
  evidence: z.object({
    /** Earlier runs of the test on this device in the history held (the partner's own), and failures. */
    runs: z.number().int(),
    failures: z.number().int(),
    /** Failures among the last `recentRuns` of them. */
    recentRuns: z.number().int(),
    recentFailures: z.number().int(),
    lastRun: runRef.extend({ verdict: z.enum(['pass', 'fail', 'flaky']) }).nullable(),
    lastFailure: runRef.nullable(),
    /** The failing streak up to the last run: its first run and its length. */
    failingSince: runRef.extend({ runs: z.number().int() }).nullable(),
    /** Flaky events on this device among its last `window` runs. */
    flaky: z.object({ window: z.number().int(), retried: z.number().int(), flipped: z.number().int() }),
    baseBuild: z
      .object({
        build: z.string(),
        /** Runs of the base build in the history held, and on this device. */
        runs: z.number().int(),
        runsOnDevice: z.number().int(),
        /** Failures of this test on this device on the base build, with the first and last. */
        failures: z.number().int(),
        firstFailure: runRef.nullable(),
        lastFailure: runRef.nullable(),
      })
      .nullable(),
  }),
});
export type Triage = z.infer<typeof triageSchema>;

export interface TriageInput {
  test: string;
  device: string;
  /** `fail` (failed, timed out) or `error` (infrastructure). */
  outcome: 'fail' | 'error';
  baseBuild?: string | undefined;
}

const finite = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);
const when = (ms: number | null): string => (ms === null ? '' : ` ${new Date(ms).toISOString()}`);

/**
 * Triage of one failed result from `state` and `trails`: the history of the run's partner before the
 * run. O(1): a few map lookups, never a scan of the history.
 */
export function triageFailure(input: TriageInput, state: HistoryState, trails: TriageState): Triage {
  const s = state.get('pair', state.keysOf({ test: input.test, device: input.device }).pair);
  const t = trails.trail(input.test, input.device);
  const recentRuns = Math.min(RECENT_RUNS, s?.runs ?? 0);
  const recentFailures = s ? recentFails(s, RECENT_RUNS) : 0;
  const flaky = s ? recentFlakiness(s) : { window: 0, retried: 0, flipped: 0 };
  const base = input.baseBuild !== undefined ? trails.build(input.baseBuild) : undefined;
  const baseFail = base?.failing.get(pairKey(input.test, input.device));
  const evidence: Triage['evidence'] = {
    runs: s?.runs ?? 0,
    failures: s?.fails ?? 0,
    recentRuns,
    recentFailures,
    lastRun: t ? { run: t.lastRun, at: finite(t.lastMs), verdict: t.lastVerdict } : null,
    lastFailure: t?.lastFailRun ? { run: t.lastFailRun, at: finite(t.lastFailMs) } : null,
    failingSince:
      t && t.streak > 0 ? { run: t.streakSinceRun, at: finite(t.streakSinceMs), runs: t.streak } : null,
    flaky: { window: flaky.window, retried: flaky.retried, flipped: flaky.flipped },
    baseBuild:
      input.baseBuild !== undefined
        ? {
            build: input.baseBuild,
            runs: base?.runs ?? 0,
            runsOnDevice: base?.devices.get(input.device) ?? 0,
            failures: baseFail?.fails ?? 0,
            firstFailure: baseFail ? { run: baseFail.firstRun, at: finite(baseFail.firstMs) } : null,
            lastFailure: baseFail ? { run: baseFail.lastRun, at: finite(baseFail.lastMs) } : null,
          }
        : null,
  };
  return { ...decide(input, evidence, isFlakyNow(s)), evidence };
}

function decide(
  input: TriageInput,
  e: Triage['evidence'],
  flakyNow: boolean,
): { label: TriageLabel; summary: string } {
  if (input.outcome === 'error')
    return {
      label: 'infrastructure',
      summary: 'infrastructure: a lab error, not a test result (not counted against the test)',
    };
  const b = e.baseBuild;
  if (b && b.failures > 0)
    return {
      label: 'known',
      summary: `known: failed on the base build ${b.build} on this device ${b.failures} time(s) since${when(b.firstFailure!.at)} (run ${b.firstFailure!.run})`,
    };
  if (flakyNow) {
    const parts = [
      e.flaky.retried > 0 ? `failed then passed on retry in ${e.flaky.retried}` : '',
      e.flaky.flipped > 0 ? `flipped verdict on the same build ${e.flaky.flipped} time(s)` : '',
    ].filter(Boolean);
    return {
      label: 'flaky',
      summary: `flaky on this device: ${parts.join(', ')} of its last ${e.flaky.window} runs`,
    };
  }
  if (e.recentFailures > 0) {
    const since = e.failingSince;
    return {
      label: 'known',
      summary: since
        ? `known: failing on this device since${when(since.at)} (run ${since.run}), ${since.runs} run(s) in a row`
        : `known: failed ${e.recentFailures} of its last ${e.recentRuns} runs on this device, last${when(e.lastFailure?.at ?? null)} (run ${e.lastFailure?.run ?? '?'})`,
    };
  }
  // The history keeps which pairs failed on a build, not which ran on it: a test that never ran on this
  // device cannot have run on the base build here, and of one that did, only "no failure" is known.
  const onBase = b
    ? b.runsOnDevice === 0
      ? `; the base build ${b.build} never ran on this device in the history held`
      : e.runs === 0
        ? `; the base build ${b.build} ran on this device ${b.runsOnDevice} time(s), never this test`
        : `; no failure of it in the base build ${b.build}'s ${b.runsOnDevice} run(s) on this device`
    : '';
  if (e.runs === 0) return { label: 'new', summary: `new: first run of this test on this device${onBase}` };
  return {
    label: 'new',
    summary: `new: likely from this change; passed its last ${e.recentRuns} run(s) on this device (last: run ${e.lastRun?.run ?? '?'}${when(e.lastRun?.at ?? null)})${onBase}`,
  };
}
