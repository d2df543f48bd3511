import { Redis } from 'ioredis';

/**
 * A one-shot connection to Redis at `url` for a probe or a short CLI command: no reconnection, no queued
 * commands, connected before it is returned. Rejects with the connect error (the caller reports it: doctor,
 * `devlab devices`, the demo's "is Redis up?"); the connection is closed then.
 */
export async function connectProbe(url: string, connectTimeoutMs = 2000): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Every error of this connection also rejects the connect or the command that met it, and that rejection
  // reaches the caller; without a listener the 'error' event would crash the process instead.
  redis.on('error', () => {});
  try {
    await redis.connect();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
