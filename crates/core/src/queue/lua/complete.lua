-- KEYS: due, active, stats, completed-history.
-- ARGV: prefix, clock, completed_cap, then per job: id, claim, record_json, duration_bucket, duration_ms.
-- Settles a whole batch of successes in one round trip. Reply: per job, in order,
-- "completed" | "requeued" (a webhook came in meanwhile) | "stale" (lease lost).
local due, active, stats, completed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, now, cap = ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 5 do
  local id, claim = ARGV[i], ARGV[i + 1]
  local job = prefix .. 'job:' .. id
  if redis.call('HGET', job, 'claim') ~= claim or not redis.call('ZSCORE', active, id) then
    out[#out + 1] = 'stale'
  else
    redis.call('ZREM', active, id)
    redis.call('DEL', prefix .. 'timer:lease:' .. id)
    redis.call('HINCRBY', stats, 'processed', 1)
    redis.call('HINCRBY', stats, 'duration_bucket:' .. ARGV[i + 3], 1)
    redis.call('HINCRBY', stats, 'duration_ms_sum', ARGV[i + 4])
    redis.call('LPUSH', completed, ARGV[i + 2])
    if redis.call('HGET', job, 'rerun') == '1' then
      redis.call('HSET', job, 'state', 'waiting', 'attempts', 0, 'rerun', 0, 'dueAt', now, 'updatedAt', now)
      redis.call('ZADD', due, now, id)
      out[#out + 1] = 'requeued'
    else
      redis.call('DEL', job)
      out[#out + 1] = 'completed'
    end
  end
end
redis.call('LTRIM', completed, 0, cap - 1)
return out
