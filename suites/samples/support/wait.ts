import { setTimeout as sleep } from 'node:timers/promises';
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Polls `check` until it returns a value other than undefined/false; throws `message` on timeout. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false>,
  message: string,
  { timeoutMs = 5000, intervalMs = 50, signal }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`${message} (waited ${timeoutMs} ms)`);
    await sleep(intervalMs);
  }
}
