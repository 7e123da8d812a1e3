-- KEYS: drains, seq. ARGV: clock, lease_ms, slots.
-- An HTTP-driven worker run (a drain) takes one of `slots` places, each a member of
-- `drains` scored by when its lease ends: a drain that died frees its place when the
-- lease runs out. Reply: [owner] (a new number > 0) when a place is taken, [0, running]
-- when all are held.
local drains, now = KEYS[1], clock(ARGV[1])
local lease, slots = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', drains, '-inf', now)
local running = redis.call('ZCARD', drains)
if running >= slots then return {0, running} end
local owner = redis.call('INCR', KEYS[2])
redis.call('ZADD', drains, now + lease, owner)
redis.call('PEXPIRE', drains, lease)
return {owner}
