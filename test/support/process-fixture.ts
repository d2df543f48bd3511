/** A module for harness/history/run-in-process.ts tests: answers, fails, or reports its priority. */
import { getPriority } from 'node:os';

export async function run(data: { kind: 'double' | 'fail' | 'priority'; n?: number }): Promise<number> {
  if (data.kind === 'fail') throw new Error('fixture failed on purpose');
  if (data.kind === 'priority') return getPriority();
  return (data.n ?? 0) * 2;
}
