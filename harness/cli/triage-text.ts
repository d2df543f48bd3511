import type { Triage } from '../../analysis/triage/triage.ts';

const day = (at: number | null): string =>
  at === null ? '' : ` (${new Date(at).toISOString().slice(0, 16)}Z)`;

/**
 * A failure's triage for the terminal: the label's one-line summary, then the evidence it rests on (runs
 * and failures on the device, the last runs, the base build), each line prefixed with `indent`.
 */
export function formatTriage(t: Triage, indent = ''): string {
  const e = t.evidence;
  const lines = [`[${t.label}] ${t.summary}`];
  const evidence = [
    `on this device before this run: ${e.failures} failure(s) in ${e.runs} run(s), ${e.recentFailures} in the last ${e.recentRuns}`,
  ];
  if (e.lastRun) evidence.push(`last run ${e.lastRun.run}${day(e.lastRun.at)}: ${e.lastRun.verdict}`);
  if (e.lastFailure && e.lastFailure.run !== e.lastRun?.run)
    evidence.push(`last failure ${e.lastFailure.run}${day(e.lastFailure.at)}`);
  if (e.flaky.retried + e.flaky.flipped > 0)
    evidence.push(
      `flaky events in the last ${e.flaky.window} runs: ${e.flaky.retried} passed on retry, ${e.flaky.flipped} same-build flip(s)`,
    );
  if (e.baseBuild)
    evidence.push(
      `base build ${e.baseBuild.build}: ${e.baseBuild.runs} run(s) in the history, ${e.baseBuild.runsOnDevice} on this device, ${e.baseBuild.failures} failure(s) of this test here`,
    );
  return [...lines, ...evidence.map((l) => `  ${l}`)].map((l) => `${indent}${l}`).join('\n');
}
