-- KEYS: due, dead, stats, wake.
-- ARGV: prefix, id, action, clock, counter, channel, then the webhook's record (source,
-- receivedAt ms, bodyBytes; all '' for a manual sync).
-- Stores the job with its record and wakes a worker in the same round trip. Wake-ups are
-- deduplicated: one PUBLISH until a worker's next claim clears `wake` (or it expires after
-- 1 s, whose expiry event is itself a wake-up), so a burst does not start a worker run
-- per webhook. Where the job is comes from its hash's `state`, not from a lookup in each
-- set: every script that moves a job between `due`, `active` and `dead` (or deletes it)
-- sets its `state` (or deletes its hash) in the same step, so the two always agree.
-- Reply: flat ["queued" | "coalesced" | "rerun", woke (1 if this call published the
-- wake-up, so an HTTP-driven deployment knows to start a drain)].
local due, dead, stats, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, id, action, now = ARGV[1], ARGV[2], ARGV[3], clock(ARGV[4])
local job = prefix .. 'job:' .. id
local function wake_worker()
  if redis.call('SET', wake, 1, 'NX', 'PX', 1000) then
    redis.call('PUBLISH', ARGV[6], 'wake')
    return 1
  end
  return 0
end
-- The given fields, then the webhook's record if there is one: one HSET for both.
local function with_record(...)
  local fields = {...}
  if ARGV[7] ~= '' then
    for _, v in ipairs({'source', ARGV[7], 'receivedAt', ARGV[8], 'bodyBytes', ARGV[9]}) do
      fields[#fields + 1] = v
    end
  end
  return unpack(fields)
end
redis.call('HINCRBY', stats, ARGV[5], 1)
local current = redis.call('HMGET', job, 'state', 'webhooks')
local state, webhooks = current[1], (tonumber(current[2]) or 0) + 1
if state == 'active' then
  redis.call('HSET', job, with_record('rerun', 1, 'action', action, 'updatedAt', now, 'webhooks', webhooks))
  redis.call('HINCRBY', stats, 'coalesced', 1)
  return {'rerun', 0}
end
if state == 'waiting' or state == 'delayed' then
  redis.call('ZADD', due, 'LT', now, id)
  redis.call('HSET', job, with_record('action', action, 'state', 'waiting', 'dueAt', now,
    'updatedAt', now, 'webhooks', webhooks))
  redis.call('HINCRBY', stats, 'coalesced', 1)
  return {'coalesced', wake_worker()}
end
if state then
  -- Dead: started afresh. (No other state is ever written; one would be treated so too.)
  redis.call('ZREM', dead, id)
  redis.call('DEL', job)
end
redis.call('HSET', job, with_record('id', id, 'action', action, 'state', 'waiting', 'attempts', 0,
  'enqueuedAt', now, 'dueAt', now, 'updatedAt', now, 'webhooks', 1, 'rerun', 0, 'claim', 0))
redis.call('ZADD', due, now, id)
return {'queued', wake_worker()}
