import { expect } from 'vitest';
import type { JobView } from '../../harness/api/schemas.ts';

/** A run's jobs as `GET /api/runs/:id/results` answers them (200 expected), by `<testId>@<deviceId>`. */
export async function resultsByPair(serverUrl: string, runId: string): Promise<Record<string, JobView>> {
  const res = await fetch(`${serverUrl}/api/runs/${runId}/results`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { jobs: JobView[] };
  return Object.fromEntries(body.jobs.map((j) => [`${j.testId}@${j.deviceId}`, j]));
}
