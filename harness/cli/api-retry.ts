import { setTimeout as delay } from 'node:timers/promises';
import { ApiError, ApiUnreachableError } from './api-client.ts';

export interface ApiRetryOptions {
  /** Keep trying this long after the first failed try of an outage (0: try once). */
  retryForMs: number;
  /** Where the retries are told (stderr). */
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Waits before try n + 1 (n >= 1): 0.5 s, 1 s, 2 s, 4 s, then every 8 s. */
export function apiBackoffMs(n: number): number {
  return Math.min(8000, 500 * 2 ** Math.max(0, n - 1));
}

/**
 * No answer (refused, reset, timed out) or a gateway's "try again" (502/503/504): the server is
 * restarting or overloaded, and the same request may be sent again.
 */
export function isRetryable(err: unknown): err is ApiError {
  return (
    err instanceof ApiUnreachableError || (err instanceof ApiError && [502, 503, 504].includes(err.status))
  );
}

function why(err: ApiError): string {
  return err instanceof ApiUnreachableError ? err.reason : `HTTP ${err.status}`;
}

/**
 * Runs `attempt` until it answers, trying again after a retryable failure (see isRetryable) with
 * backoff, each retry told through `log`, until `retryForMs` has passed; then the last error is thrown,
 * its message extended by `giveUp(tries)`. Any other error is thrown at once. A success after retries
 * is told too, so a log shows when the server came back.
 */
export async function withApiRetry<T>(
  what: string,
  attempt: () => Promise<T>,
  o: ApiRetryOptions & { giveUp?: (tries: number) => string; retryHint?: string },
): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => delay(ms));
  const started = now();
  const deadline = started + o.retryForMs;
  for (let tries = 1; ; tries++) {
    try {
      const answer = await attempt();
      if (tries > 1)
        o.log(`devlab: ${what}: the server answered again after ${Math.round((now() - started) / 1000)} s`);
      return answer;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const wait = apiBackoffMs(tries);
      const left = deadline - now();
      if (wait > left)
        throw new ApiError(
          err.status,
          `${err.message}; gave up after ${tries} tr${tries === 1 ? 'y' : 'ies'}${o.giveUp ? `. ${o.giveUp(tries)}` : ''}`,
        );
      o.log(
        `devlab: ${what}: ${why(err)}; trying again in ${(wait / 1000).toFixed(1)} s` +
          `${o.retryHint ? ` ${o.retryHint}` : ''} (for ${Math.ceil(left / 1000)} s more)`,
      );
      await sleep(wait);
    }
  }
}
