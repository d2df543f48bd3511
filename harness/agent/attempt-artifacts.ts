import type { Redis } from 'ioredis';
import type { Artifact } from '../../devices/device.ts';
import { parseJUnitXml } from '../../suites/manifest/junit.ts';
import type { ArtifactRef, CaseResult } from '../protocol/job.ts';
import { markArtifacts } from '../queue/execution-marks.ts';
import type { ArtifactOwner, ArtifactSink } from './artifact-sink.ts';
import type { Execution } from './execution.ts';

/**
 * A container test attaches its JUnit file: each test case in it becomes its own result. A file that does
 * not parse gives none (the attempt keeps its verdict and the file), and the log says why.
 */
export function junitCases(artifacts: readonly Artifact[], log: (line: string) => void): CaseResult[] {
  const junit = artifacts.find((a) => /junit.*\.xml$/i.test(a.name));
  if (!junit) return [];
  try {
    return parseJUnitXml(junit.data.toString('utf8')).map((c) => ({
      name: c.name,
      classname: c.classname ?? '',
      verdict: c.verdict,
      durationMs: c.durationMs,
      ...(c.message ? { message: c.message } : {}),
    }));
  } catch (err) {
    log(`${junit.name}: not read as JUnit, no test cases reported from it: ${(err as Error).message}`);
    return [];
  }
}

/**
 * An artifact's id is per (job, attempt, name): a second attachment of the same name in one attempt
 * would be the same artifact, so it is stored as `name-2.ext` (then `-3`, ...) instead of being lost.
 * A later delivery of the attempt's queue job that runs it again after an earlier delivery began storing
 * files (see `Execution.filesApart`) names its files `name.delivery-2.ext` (3, ...): the two executions'
 * files never share an id, so neither replaces nor hides the other.
 */
export function uniqueNames(artifacts: readonly Artifact[], delivery: number): Artifact[] {
  const seen = new Set<string>();
  return artifacts.map((artifact) => {
    const dot = artifact.name.lastIndexOf('.');
    const [stem, ext] =
      dot > 0 ? [artifact.name.slice(0, dot), artifact.name.slice(dot)] : [artifact.name, ''];
    const base = delivery > 1 ? `${stem}.delivery-${delivery}` : stem;
    let name = `${base}${ext}`;
    for (let n = 2; seen.has(name); n++) name = `${base}-${n}${ext}`;
    seen.add(name);
    return name === artifact.name ? artifact : { ...artifact, name };
  });
}

/**
 * Hands an attempt's artifacts to the sink one after another: spooled on this host and sent at once (so
 * the report follows its artifacts); if the control plane does not take one now, the sink keeps it and
 * sends it in the background (nothing here waits for that). An artifact that cannot be kept is logged and
 * left out: it must not lose the verdict.
 */
export async function keepArtifacts(
  deps: { connection: Redis; sink: ArtifactSink; log: (line: string) => void },
  owner: ArtifactOwner & { deviceId: string },
  artifacts: readonly Artifact[],
  execution: Execution,
): Promise<ArtifactRef[]> {
  const where = `run ${owner.runId} job ${owner.jobId} attempt ${owner.attempt} on ${owner.deviceId}`;
  // Said before the files go (a later delivery that runs the attempt again then names its own apart);
  // not waited for: a delivery comes back only after a lock duration.
  if (artifacts.length > 0)
    void markArtifacts(deps.connection, execution.jobKey, execution.delivery).catch((err: unknown) => {
      deps.log(`${where}: its queue job not marked as storing files: ${(err as Error).message}`);
    });
  const refs: ArtifactRef[] = [];
  for (const artifact of uniqueNames(artifacts, execution.filesApart ? execution.delivery : 1)) {
    try {
      refs.push(await deps.sink.put(owner, artifact));
    } catch (err) {
      deps.log(`artifact ${artifact.name} of ${where} not kept: ${(err as Error).message ?? String(err)}`);
    }
  }
  return refs;
}
