import type { Store } from '../store/store.ts';
import type { DuplicateExecutionView } from './schemas.ts';

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/**
 * The duplicate executions of a run's jobs, by job id: each `attempt.duplicate` event the control plane
 * recorded (a queue job handed out again after its lock was lost, e.g. in a Redis outage, and run a second
 * time) shown as what it is, with its own artifacts, beside the stored attempt the verdict came from.
 * One read of the run's events of that type.
 */
export function duplicateExecutions(store: Store, runId: string): Map<string, DuplicateExecutionView[]> {
  const byJob = new Map<string, DuplicateExecutionView[]>();
  for (const event of store.events.ofType(runId, 'attempt.duplicate')) {
    const p = event.payload;
    const jobId = text(p['jobId']);
    if (!jobId) continue; // not one the control plane wrote (it always names the job)
    const stored = (p['stored'] ?? {}) as Record<string, unknown>;
    const attempt = num(p['attempt']);
    const deviceId = text(p['deviceId']);
    const storedDevice = text(stored['deviceId']);
    const artifacts = Array.isArray(p['artifacts']) ? (p['artifacts'] as Record<string, unknown>[]) : [];
    const view: DuplicateExecutionView = {
      attempt,
      deviceId,
      agent: text(p['agent']) ?? '?',
      status: text(p['status']) ?? '?',
      errorKind: text(p['errorKind']),
      message: text(p['message']),
      startedAt: num(p['startedAt']),
      endedAt: num(p['endedAt']),
      artifacts: artifacts.map((a) => ({
        id: String(a['id']),
        name: String(a['name']),
        url: `/api/artifacts/${String(a['id'])}`,
      })),
      stored: {
        deviceId: storedDevice,
        agent: text(stored['agent']) ?? '?',
        status: text(stored['status']) ?? '?',
      },
      note: `attempt ${attempt} executed again on ${deviceId ?? 'an unknown device'} after a lost queue lock (e.g. a Redis outage): not counted in the verdict, which is the stored attempt's on ${storedDevice ?? 'an unknown device'}`,
    };
    byJob.set(jobId, [...(byJob.get(jobId) ?? []), view]);
  }
  return byJob;
}
