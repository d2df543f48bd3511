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
  // Errors surface through failed commands; an unhandled 'error' event would crash the process.
  redis.on('error', () => {});
  return redis;
}
