import { setImmediate } from 'node:timers/promises';
import { z } from 'zod';
import type { DeviceRecord } from '../../devices/device.ts';
import { isQueryError } from '../../suites/query/errors.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { noMatchMessage } from '../../suites/query/no-match.ts';
import { RequestError, UnprocessableRequestError } from '../errors.ts';
import { ALL_PARTNERS } from '../protocol/all-partners.ts';
import { type Plan, planRun } from '../planner/planner.ts';
import type { DurationEstimator, Ranker } from '../planner/ranker.ts';
import { type RunRequest, type RunRequestInput, runRequestSchema } from '../protocol/run-request.ts';

/** What turning a run request into a plan needs from the lab. */
export interface PlanningDeps {
  /**
   * Tests matching a query, in catalog order; throws a QueryError for a bad query. The query's history
   * fields (`failrate`, `failed_in_last`, ...) read `historyPartner`'s own results, or the whole lab's
   * with ALL_PARTNERS.
   */
  resolveTests(query: string, historyPartner: string): Promise<TestMeta[]> | TestMeta[];
  /** Devices matching a selector that may take work; throws a QueryError for a bad selector. */
  resolveDevices(selector: string): Promise<DeviceRecord[]> | DeviceRecord[];
  ranker: Ranker;
  durations: DurationEstimator;
  /** The "did you mean" of a query that selected no test, e.g. `tag:smoke` for `tag:smok`. */
  suggestTestQuery?(query: string): string | undefined;
  /**
   * For a selector that left no device to plan on: undefined when it matches inventory devices (that
   * take no work now: blocked, draining, ...), else that it matches none, with its "did you mean".
   */
  unmatchedSelector?(
    selector: string,
  ): Promise<{ suggestion?: string } | undefined> | { suggestion?: string } | undefined;
}

/**
 * Whose history a plan reads: its history fields and its reasons reflect this partner's own results, or
 * every partner's with ALL_PARTNERS. A partner's requests read their own partner's; only an admin's own
 * view (a preview) may read the whole lab's.
 */
export interface HistoryView {
  historyPartner: string;
}

/** A partner id (the run request's rule) or ALL_PARTNERS. */
const historyPartnerSchema = z.union([z.literal(ALL_PARTNERS), runRequestSchema.shape.partner.unwrap()]);

/** A bad query or selector becomes a 400 that names the field and shows the caret under the bad token. */
async function asRequestError<T>(field: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isQueryError(err)) throw new RequestError(field, `${field}: ${err.message}`, err.caret);
    throw err;
  }
}

/** The view's partner, checked (it comes from the caller's code, not the request body), else the request's. */
function historyPartnerOf(request: RunRequest, view: HistoryView | undefined): string {
  if (view === undefined) return request.partner;
  const checked = historyPartnerSchema.safeParse(view.historyPartner);
  if (!checked.success)
    throw new Error(
      `history view: not a partner id or ${ALL_PARTNERS}: ${JSON.stringify(view.historyPartner)}`,
    );
  return checked.data;
}

/**
 * Validates a run request, resolves its tests and devices and plans it: what a submitted run queues,
 * and what a preview answers without creating anything. Bad input is a RequestError naming the field; a
 * query that selects no test, or a selector no device of the inventory, an UnprocessableRequestError.
 * The history it reads is `view`'s, by default the request's partner's own.
 */
export async function planRequest(
  deps: PlanningDeps,
  input: RunRequestInput,
  view?: HistoryView,
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
  const historyPartner = historyPartnerOf(request, view);
  const tests = await asRequestError('query', () => deps.resolveTests(request.query, historyPartner));
  const devices = await asRequestError('select', () => deps.resolveDevices(request.select));
  // Nothing to plan is the caller's to fix, said plainly (422), never a run that errs with 0 of 0 jobs.
  if (tests.length === 0)
    throw new UnprocessableRequestError(
      'query',
      noMatchMessage('test', request.query, deps.suggestTestQuery?.(request.query)),
    );
  const unmatched = devices.length === 0 ? await deps.unmatchedSelector?.(request.select) : undefined;
  if (unmatched !== undefined)
    throw new UnprocessableRequestError(
      'select',
      noMatchMessage('device', request.select, unmatched.suggestion),
    );
  const plan = await planRun({
    request,
    tests,
    devices,
    ranker: deps.ranker,
    durations: deps.durations,
    historyPartner,
  });
  // What the caller does next (serialize a 20,000-job answer, write the jobs) starts on a fresh turn of the
  // event loop, so that reports waiting since the ranking's last slice are read in between.
  await setImmediate();
  return { request, plan };
}
