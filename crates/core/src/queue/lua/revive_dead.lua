-- KEYS: due, dead, stats. ARGV: prefix, clock, since_ms, only_id ("" for all).
-- Moves dead jobs (all, those dead since `since_ms`, or one) back to the queue with
-- fresh tries. Reply: number revived.
local due, dead, stats = KEYS[1], KEYS[2], KEYS[3]
local prefix, now, since, only = ARGV[1], clock(ARGV[2]), ARGV[3], ARGV[4]
local ids
if only ~= '' then
  ids = {}
  if redis.call('ZSCORE', dead, only) then ids[1] = only end
else
  ids = redis.call('ZRANGEBYSCORE', dead, since, '+inf')
end
for _, id in ipairs(ids) do
  local job = prefix .. 'job:' .. id
  redis.call('ZREM', dead, id)
  redis.call('HDEL', job, 'log', 'lastError')
  redis.call('HSET', job, 'id', id, 'state', 'waiting', 'attempts', 0, 'dueAt', now, 'updatedAt', now, 'rerun', 0)
  redis.call('ZADD', due, now, id)
end
redis.call('HINCRBY', stats, 'replayed', #ids)
return #ids
