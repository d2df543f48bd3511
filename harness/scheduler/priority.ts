import { PRIORITY_CLASSES, type PriorityClass } from '../protocol/run-request.ts';

/** BullMQ priorities run from 1 (first) to 2^21; each class gets its own band so a higher class always overtakes. */
const BAND = 600_000;

/**
 * The BullMQ priority of a job: its class band, then its position in the run's ranked order, so that
 * within a class the likely failures of every run come first and a large run cannot starve a small one.
 */
export function queuePriority(priorityClass: PriorityClass, rank: number): number {
  const band = PRIORITY_CLASSES.indexOf(priorityClass);
  return band * BAND + 1 + Math.min(Math.max(0, Math.floor(rank)), BAND - 1);
}
