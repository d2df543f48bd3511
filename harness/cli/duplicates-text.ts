import type { DuplicateExecutionView } from '../api/schemas.ts';

/**
 * The section of `devlab results show` that lists second executions of attempts (a queue job handed out
 * again after its lock was lost, e.g. in a Redis outage): never hidden, never counted in a verdict.
 * '' when the run has none.
 */
export function duplicatesSection(
  jobs: readonly { testId: string; duplicates?: readonly DuplicateExecutionView[] }[],
): string {
  const lines: string[] = [];
  for (const job of jobs) {
    for (const d of job.duplicates ?? []) {
      const message = d.message?.split('\n')[0];
      const files = d.artifacts.length ? `; its artifacts: ${d.artifacts.map((a) => a.name).join(', ')}` : '';
      lines.push(
        `  ${job.testId} attempt ${d.attempt} on ${d.deviceId ?? '?'} (${d.agent}): ${d.status}${message ? ` (${message})` : ''}; the verdict is the stored attempt's on ${d.stored.deviceId ?? '?'} (${d.stored.status})${files}`,
      );
    }
  }
  if (lines.length === 0) return '';
  return `\nexecuted again after a lost queue lock (e.g. a Redis outage), not counted in the verdict:\n${lines.join('\n')}\n`;
}
