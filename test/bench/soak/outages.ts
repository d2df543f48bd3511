// The outages of the soak's schedule beside agent restarts: the control plane stopped and started again
// on the same port and store, the soak's private redis-server stopped and started again (its data kept),
// and the artifacts folder made read-only or full (a mount over it) and writable again.
import { mkdirSync } from 'node:fs';
import pRetry from 'p-retry';
import { mountFull, mountReadOnly, unmountAll } from '../../support/mounts.ts';
import { rng } from '../makespan.ts';
import { artifactsDir, privateRedis } from './lab.ts';
import { FAULTS, JOB_LOCK_MS, JOBS, OUTAGE_MS, OUTAGES, SEED } from './options.ts';
import { startServer, stopServer } from './server.ts';
import { sleep } from './sleep.ts';

export type OutageKind = 'control-plane' | 'redis' | 'artifacts';

export interface OutageStep {
  index: number;
  kind: OutageKind;
  atJobs: number;
  /** How long the part stays away (a Redis outage always outlasts a job lock). */
  downMs: number;
  /** An artifacts outage: a read-only folder (EROFS, answered 503) or a full one (ENOSPC, 507). */
  mode?: 'read-only' | 'full';
}

export interface OutageRecord extends OutageStep {
  atS: number;
  /** From the start of the outage to the part answering again. */
  totalMs: number;
  error?: string;
}

/** The shortest Redis outage: longer than a job lock, so running attempts lose theirs. */
export const MIN_REDIS_OUTAGE_MS = JOB_LOCK_MS + 2000;

/** Takes the part away for `step.downMs`, then brings it back; resolves once it is back. */
export async function runOutage(step: OutageStep): Promise<void> {
  if (step.kind === 'control-plane') {
    await stopServer();
    await sleep(step.downMs);
    // Its port may still be held for a moment: a few tries before the outage counts as failed.
    await pRetry(startServer, {
      retries: 3,
      minTimeout: 1000,
      onFailedAttempt: ({ error, attemptNumber }) => {
        process.stderr.write(
          `soak: control plane not started again (try ${attemptNumber}): ${error.message}\n`,
        );
      },
    });
  } else if (step.kind === 'redis') {
    if (!privateRedis) throw new Error('a Redis outage needs the soak’s private redis-server');
    await privateRedis.stop();
    await sleep(step.downMs);
    await privateRedis.start();
  } else {
    mkdirSync(artifactsDir, { recursive: true });
    try {
      if (step.mode === 'full') mountFull(artifactsDir);
      else mountReadOnly(artifactsDir);
      await sleep(step.downMs);
    } finally {
      unmountAll(artifactsDir);
    }
  }
}

// Outage plan: for each kind asked for, OUTAGES points stratified over 10–80 % of the jobs, from draws of
// their own (a seed gives the same agent restarts with and without outages).
export function outagePlan(): OutageStep[] {
  const random = rng(SEED + 7919);
  const kinds: OutageKind[] = (['control-plane', 'redis', 'artifacts'] as const).filter((k) => FAULTS.has(k));
  const steps: Omit<OutageStep, 'index'>[] = kinds.flatMap((kind) =>
    Array.from({ length: OUTAGES }, (_, r) => {
      const atJobs = Math.floor(JOBS * (0.1 + (0.7 * (r + random())) / Math.max(1, OUTAGES)));
      const drawn = Math.round(OUTAGE_MS * (0.5 + 0.5 * random()));
      const coin = random();
      return {
        kind,
        atJobs,
        downMs: kind === 'redis' ? Math.max(MIN_REDIS_OUTAGE_MS, drawn) : drawn,
        ...(kind === 'artifacts' ? { mode: coin < 0.5 ? ('read-only' as const) : ('full' as const) } : {}),
      };
    }),
  );
  return steps.sort((a, b) => a.atJobs - b.atJobs).map((s, index) => ({ index, ...s }));
}
