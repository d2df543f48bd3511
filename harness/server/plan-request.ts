import { setImmediate } from 'node:timers/promises';
import type { DeviceRecord } from '../../devices/device.ts';
import { isQueryError } from '../../suites/query/errors.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { RequestError } from '../errors.ts';
import { type Plan, planRun } from '../planner/planner.ts';
import type { DurationEstimator, Ranker } from '../planner/ranker.ts';
import { type RunRequest, type RunRequestInput, runRequestSchema } from '../protocol/run-request.ts';

/** What turning a run request into a plan needs from the lab. */
export interface PlanningDeps {
  /** Tests matching a query, in catalog order; throws a QueryError for a bad query. */
  resolveTests(query: string): Promise<TestMeta[]> | TestMeta[];
  /** Devices matching a selector that may take work; throws a QueryError for a bad selector. */
  resolveDevices(selector: string): Promise<DeviceRecord[]> | DeviceRecord[];
  ranker: Ranker;
  durations: DurationEstimator;
}

/** A bad query or selector becomes a 400 that names the field and shows the caret under the bad token. */
async function asRequestError<T>(field: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isQueryError(err)) throw new RequestError(field, `${field}: ${err.message}`, err.caret);
    throw err;
  }
}

/**
 * Validates a run request, resolves its tests and devices and plans it: what a submitted run queues,
 * and what a preview answers without creating anything. Bad input is a RequestError naming the field.
 */
export async function planRequest(
  deps: PlanningDeps,
  input: RunRequestInput,
): Promise<{ request: RunRequest; plan: Plan }> {
  const parsed = runRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RequestError(
      issue.path.join('.') || '(body)',
      `${issue.path.join('.') || 'body'}: ${issue.message}`,
    );
  }
  const request = parsed.data;
  const tests = await asRequestError('query', () => deps.resolveTests(request.query));
  const devices = await asRequestError('select', () => deps.resolveDevices(request.select));
  const plan = await planRun({ request, tests, devices, ranker: deps.ranker, durations: deps.durations });
  // What the caller does next (serialize a 20,000-job answer, write the jobs) starts on a fresh turn of the
  // event loop, so that reports waiting since the ranking's last slice are read in between.
  await setImmediate();
  return { request, plan };
}
