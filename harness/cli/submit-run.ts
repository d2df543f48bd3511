import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from '../protocol/idempotency-key.ts';
import { type ApiClient, ApiError, ApiUnreachableError } from './api-client.ts';

export interface SubmitRetryOptions {
  /** The submit's idempotency key: every try sends the same one, so the server creates one run. */
  key: string;
  /** Keep trying this long after the first try (0: try once). */
  retryForMs: number;
  /** How long one try waits for its answer. */
  timeoutMs?: number;
  /** Where the retries are told (stderr). */
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Waits before try n + 1 (n >= 1): 0.5 s, 1 s, 2 s, 4 s, then every 8 s. */
export function submitBackoffMs(n: number): number {
  return Math.min(8000, 500 * 2 ** Math.max(0, n - 1));
}

/**
 * No answer (refused, reset, timed out) or a gateway's "try again" (502/503/504): the submit may not
 * have happened, or may still be running; with the same key, trying again cannot make a second run.
 */
function retryable(err: unknown): err is ApiError {
  return (
    err instanceof ApiUnreachableError || (err instanceof ApiError && [502, 503, 504].includes(err.status))
  );
}

function why(err: ApiError): string {
  return err instanceof ApiUnreachableError ? err.reason : `HTTP ${err.status}`;
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
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + o.retryForMs;
  for (let tries = 1; ; tries++) {
    try {
      const res = await api.send<T>('POST', '/api/runs', body, {
        headers: { [IDEMPOTENCY_KEY_HEADER]: o.key },
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      });
      return { run: res.body, replayed: res.headers.get(IDEMPOTENT_REPLAYED_HEADER) === 'true' };
    } catch (err) {
      if (!retryable(err)) throw err;
      const wait = submitBackoffMs(tries);
      const left = deadline - now();
      if (wait > left)
        throw new ApiError(
          err.status,
          `${err.message}; gave up after ${tries} tr${tries === 1 ? 'y' : 'ies'}. The run may exist: ` +
            `submit again with --idempotency-key ${o.key} to get it instead of a second one`,
        );
      o.log(
        `devlab: submit: ${why(err)}; trying again in ${(wait / 1000).toFixed(1)} s with ` +
          `the same idempotency key ${o.key} (for ${Math.ceil(left / 1000)} s more)`,
      );
      await sleep(wait);
    }
  }
}
