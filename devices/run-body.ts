import type { SessionHandles } from './device.ts';
import type { RunOptions, RunStatus, TestBodyFn } from './driver.ts';
import { type ErrorInfo, errorInfo, isInfrastructureError } from './errors.ts';

export interface BodyOutcome {
  status: RunStatus;
  error?: ErrorInfo;
  durationMs: number;
}

/**
 * Runs a test body with a deadline and a cancel signal. The body cannot be stopped from outside, so on
 * timeout or abort it is abandoned: the driver must then kill its session (hung sessions are not reused).
 */
export async function runBody(
  body: TestBodyFn,
  handles: SessionHandles,
  options: RunOptions,
  classify: (err: unknown) => boolean = isInfrastructureError,
): Promise<BodyOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<BodyOutcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: 'timed-out',
          error: errorInfo(new Error(`Test timed out after ${options.timeoutMs} ms`), 'timeout'),
          durationMs: performance.now() - started,
        }),
      options.timeoutMs,
    );
    onAbort = () =>
      resolve({
        status: 'error',
        error: errorInfo(
          new Error(`Run cancelled: ${String(options.signal?.reason ?? 'aborted')}`),
          'timeout',
        ),
        durationMs: performance.now() - started,
      });
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const work = (async (): Promise<BodyOutcome> => {
    try {
      await body(handles);
      return { status: 'passed', durationMs: performance.now() - started };
    } catch (err) {
      const infra = classify(err);
      return {
        status: infra ? 'error' : 'failed',
        error: errorInfo(err, infra ? 'infrastructure' : 'test'),
        durationMs: performance.now() - started,
      };
    }
  })();
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Resolves with the promise's value, or rejects when it takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
