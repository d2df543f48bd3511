import { knownBuild } from './flakiness.ts';

/**
 * Which builds a test (on a device model, or on any) failed on: the last few failing builds of each,
 * oldest first. With the run request's base build (what the change under test is based on, the lab's
 * main line), a failure "on the base build" is one the change did not bring: a regression that was
 * merged breaks the base, and every change based on it, until it is fixed. The lab knows which build
 * a run is based on before it runs; nothing here reads a verdict of the cycle being ranked.
 *
 * Only failures are kept, a few per key: memory grows with the (test, model)s that ever failed, never
 * with the runs.
 */
export type BuildFailures = Map<string, string[]>;

/** Failing builds kept per key: enough for a base a few merges behind the newest failure. */
export const KEPT_FAILING_BUILDS = 4;

const SEP = '\u0000';

export function buildTestKey(test: string): string {
  return `t${SEP}${test}`;
}
export function buildTestModelKey(test: string, model: string): string {
  return `m${SEP}${test}${SEP}${model}`;
}

function note(table: BuildFailures, key: string, build: string): void {
  const builds = table.get(key);
  if (!builds) {
    table.set(key, [build]);
    return;
  }
  if (builds[builds.length - 1] === build) return;
  const at = builds.indexOf(build);
  if (at >= 0) builds.splice(at, 1);
  builds.push(build);
  if (builds.length > KEPT_FAILING_BUILDS) builds.shift();
}

/** Records a revealed failure of `test` on `model` (when known) in a run of `build` (when known). */
export function recordBuildFailure(
  table: BuildFailures,
  test: string,
  model: string | undefined,
  build: string | undefined,
): void {
  const b = knownBuild(build);
  if (b === '') return;
  note(table, buildTestKey(test), b);
  if (model !== undefined) note(table, buildTestModelKey(test, model), b);
}

/** Whether the key's test failed in a run of `build` (among its last KEPT_FAILING_BUILDS failing builds). */
export function failedOnBuild(table: BuildFailures, key: string, build: string | undefined): boolean {
  const b = knownBuild(build);
  return b !== '' && (table.get(key)?.includes(b) ?? false);
}
