import type { Redis } from 'ioredis';

/** Counting semaphore with expiring holders: a crashed holder frees its slot when its TTL runs out. */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
`;

type SemRedis = Redis & {
  devlabSemAcquire(
    key: string,
    now: string,
    expires: string,
    holder: string,
    limit: string,
    ttl: string,
  ): Promise<number>;
};

export class Semaphore {
  private readonly redis: SemRedis;

  constructor(redis: Redis) {
    if (!('devlabSemAcquire' in redis))
      redis.defineCommand('devlabSemAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    this.redis = redis as SemRedis;
  }

  /** Takes (or refreshes) a slot for `holder`; false when `limit` others hold one. */
  async acquire(key: string, holder: string, limit: number, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const ok = await this.redis.devlabSemAcquire(
      key,
      String(now),
      String(now + ttlMs),
      holder,
      String(limit),
      String(ttlMs * 4),
    );
    return ok === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await this.redis.zrem(key, holder);
  }
}
