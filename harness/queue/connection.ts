import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection for BullMQ and devlab's own keys. `maxRetriesPerRequest: null` lets commands wait
 * through a Redis restart instead of failing, which is what keeps workers alive across it.
 */
export function redisConnection(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...options,
  });
  // An unhandled 'error' event would crash the process. Errors surface through failed commands, and the
  // long-lived holders of a connection (control plane, agent, device workers, report stream) attach
  // logConnectionErrors (harness/log/connection-errors.ts), which logs the first error of an outage, a
  // changed one and the reconnection.
  redis.on('error', () => {});
  return redis;
}
