-- KEYS: due, active, dead, stats, completed-history, failed-history, paused, hold.
-- ARGV: clock. Reply: flat [waiting, delayed, active, completed, failed, dead, paused,
-- oldest_waiting_age_ms (-1: none), hold_ttl_ms, hold_reason ("": none), stat-name, stat-value, …].
local due, active, dead, stats, completed, failed, paused = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now = clock(ARGV[1])
local oldest = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
local out = {
  redis.call('ZCOUNT', due, '-inf', now),
  redis.call('ZCOUNT', due, '(' .. now, '+inf'),
  redis.call('ZCARD', active),
  redis.call('LLEN', completed),
  redis.call('LLEN', failed),
  redis.call('ZCARD', dead),
  redis.call('EXISTS', paused),
  oldest[2] and (now - tonumber(oldest[2])) or -1,
  redis.call('PTTL', KEYS[8]),
  redis.call('GET', KEYS[8]) or '',
}
for _, v in ipairs(redis.call('HGETALL', stats)) do out[#out + 1] = v end
return out
