import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from '../protocol/idempotency-key.ts';
import type { ApiClient } from './api-client.ts';
import { type ApiRetryOptions, withApiRetry } from './api-retry.ts';

export interface SubmitRetryOptions extends ApiRetryOptions {
  /** The submit's idempotency key: every try sends the same one, so the server creates one run. */
  key: string;
  /** How long one try waits for its answer. */
  timeoutMs?: number;
  /** Plan even though suite files of the lab did not load (the answer names them in `droppedSuites`). */
  allowBroken?: boolean;
}

/**
 * `POST /api/runs` with an idempotency key, tried again with that key after no answer or a gateway
 * error until `retryForMs` has passed: a slow submit is waited for, not abandoned, and a submit whose
 * answer was lost is answered by the run it created (`replayed`), never by a second run.
 */
export async function submitRun<T>(
  api: ApiClient,
  body: unknown,
  o: SubmitRetryOptions,
): Promise<{ run: T; replayed: boolean }> {
  return withApiRetry(
    'submit',
    async () => {
      const path = o.allowBroken ? '/api/runs?allowBroken=true' : '/api/runs';
      const res = await api.send<T>('POST', path, body, {
        headers: { [IDEMPOTENCY_KEY_HEADER]: o.key },
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      });
      return { run: res.body, replayed: res.headers.get(IDEMPOTENT_REPLAYED_HEADER) === 'true' };
    },
    {
      ...o,
      retryHint: `with the same idempotency key ${o.key}`,
      giveUp: () =>
        `The run may exist: submit again with --idempotency-key ${o.key} to get it instead of a second one`,
    },
  );
}
