-- KEYS: due, active, dead, stats, failed-history.
-- ARGV: prefix, clock, failed_cap, then per job: id, claim, mode (retry|delay|dead|final),
-- delay_ms, error, record_json. One call settles a whole batch's failures, so they share
-- one clock reading: jobs delayed for the same reason come due at the same moment (delays
-- are rounded up to a whole second for that too) and go out again as one batch.
-- Reply: per job, the mode applied, "requeued" (a webhook came in meanwhile) or "stale".
local due, active, dead, stats, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, now, failed_cap = ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local function settle(id, claim, mode, delay, err, record)
  local job = prefix .. 'job:' .. id
  if redis.call('HGET', job, 'claim') ~= claim or not redis.call('ZSCORE', active, id) then
    return 'stale'
  end
  redis.call('ZREM', active, id)
  redis.call('DEL', prefix .. 'timer:lease:' .. id)
  redis.call('HSET', job, 'lastError', err, 'updatedAt', now)
  local log = cjson.decode(redis.call('HGET', job, 'log') or '[]')
  log[#log + 1] = cjson.decode(record)
  while #log > 10 do table.remove(log, 1) end
  redis.call('HSET', job, 'log', cjson.encode(log))
  local rerun = redis.call('HGET', job, 'rerun') == '1'
  redis.call('HSET', job, 'rerun', 0)
  if mode == 'retry' or mode == 'delay' then
    local due_at = now + delay
    if mode == 'retry' then
      redis.call('HINCRBY', job, 'attempts', 1)
      redis.call('HINCRBY', stats, 'retried', 1)
    else
      due_at = math.ceil(due_at / 1000) * 1000
      redis.call('HINCRBY', stats, 'delayed', 1)
    end
    redis.call('HSET', job, 'state', 'delayed', 'dueAt', due_at)
    redis.call('ZADD', due, due_at, id)
    redis.call('SET', prefix .. 'timer:due:' .. id, 1, 'PX', math.max(1, due_at - now))
    return mode
  end
  redis.call('HINCRBY', stats, 'failed', 1)
  redis.call('LPUSH', failed, record)
  if rerun then
    redis.call('HSET', job, 'state', 'waiting', 'attempts', 0, 'dueAt', now)
    redis.call('ZADD', due, now, id)
    return 'requeued'
  end
  if mode == 'dead' then
    redis.call('HINCRBY', job, 'attempts', 1)
    redis.call('HSET', job, 'state', 'dead')
    redis.call('ZADD', dead, now, id)
    redis.call('HINCRBY', stats, 'dead', 1)
    return 'dead'
  end
  redis.call('DEL', job)
  return 'final'
end
local out = {}
for i = 4, #ARGV, 6 do
  out[#out + 1] = settle(ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5])
end
redis.call('LTRIM', failed, 0, failed_cap - 1)
return out
