-- KEYS: due, active, dead, stats, wake.
-- ARGV: prefix, id, action, clock, counter, channel, then the webhook's record (source,
-- receivedAt ms, bodyBytes; all '' for a manual sync).
-- Stores the job with its record and wakes a worker in the same round trip. Wake-ups are
-- deduplicated: one PUBLISH until a worker's next claim clears `wake` (or it expires after
-- 1 s, whose expiry event is itself a wake-up), so a burst does not start a worker run
-- per webhook. Reply: flat ["queued" | "coalesced" | "rerun", woke (1 if this call
-- published the wake-up, so an HTTP-driven deployment knows to start a drain)].
local due, active, dead, stats, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, id, action, now = ARGV[1], ARGV[2], ARGV[3], clock(ARGV[4])
local job = prefix .. 'job:' .. id
local function wake_worker()
  if redis.call('SET', wake, 1, 'NX', 'PX', 1000) then
    redis.call('PUBLISH', ARGV[6], 'wake')
    return 1
  end
  return 0
end
local function keep_record()
  if ARGV[7] ~= '' then
    redis.call('HSET', job, 'source', ARGV[7], 'receivedAt', ARGV[8], 'bodyBytes', ARGV[9])
  end
end
redis.call('HINCRBY', stats, ARGV[5], 1)
if redis.call('ZSCORE', active, id) then
  redis.call('HSET', job, 'rerun', 1, 'action', action, 'updatedAt', now)
  redis.call('HINCRBY', job, 'webhooks', 1)
  redis.call('HINCRBY', stats, 'coalesced', 1)
  keep_record()
  return {'rerun', 0}
end
if redis.call('ZSCORE', due, id) then
  redis.call('ZADD', due, 'LT', now, id)
  redis.call('HSET', job, 'action', action, 'state', 'waiting', 'dueAt', now, 'updatedAt', now)
  redis.call('HINCRBY', job, 'webhooks', 1)
  redis.call('HINCRBY', stats, 'coalesced', 1)
  keep_record()
  return {'coalesced', wake_worker()}
end
redis.call('ZREM', dead, id)
redis.call('DEL', job)
redis.call('HSET', job, 'id', id, 'action', action, 'state', 'waiting', 'attempts', 0,
  'enqueuedAt', now, 'dueAt', now, 'updatedAt', now, 'webhooks', 1, 'rerun', 0, 'claim', 0)
keep_record()
redis.call('ZADD', due, now, id)
return {'queued', wake_worker()}
