/**
 * Lease scripts: each runs atomically in Redis, so agents on many hosts agree on one holder.
 * KEYS[1] lease hash, KEYS[2] fencing counter, KEYS[3] device state hash.
 */

/** ARGV: holder, ttlMs, now, unleasable states (comma separated). Returns {token} or {0, reason}. */
export const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, 'held by ' .. (redis.call('HGET', KEYS[1], 'holder') or '?')}
end
local state = redis.call('HGET', KEYS[3], 'state')
if state and string.find(',' .. ARGV[4] .. ',', ',' .. state .. ',', 1, true) then
  return {0, 'device is ' .. state}
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token, 'acquiredAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {token, 'ok'}
`;

/** ARGV: token, ttlMs. Returns 1 when the caller still holds the lease and it was extended. */
export const RENEW = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** ARGV: token. Returns 1 when the caller held the lease and it is now free. */
export const RELEASE = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * ARGV: token, ttlMs, unleasable states. Between two tests of one holder: 1 when the caller still holds
 * the lease and the device may take more work (extended); 0 when the device's state says stop (blocked,
 * draining, quarantined...), so the lease was released; -1 when the caller no longer held it.
 */
export const KEEP = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return -1
end
local state = redis.call('HGET', KEYS[3], 'state')
if state and string.find(',' .. ARGV[3] .. ',', ',' .. state .. ',', 1, true) then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
