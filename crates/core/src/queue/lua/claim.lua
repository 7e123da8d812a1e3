-- KEYS: due, active, dead, stats, paused, failed-history, wake, hold.
-- ARGV: prefix, clock, lease_ms, batch, max_tries, failed_cap.
-- Returns jobs whose lease ran out to the queue (counting the lost try, unless a webhook
-- came in during it: then the job starts afresh, since the lost try said nothing about
-- the new data). Unless paused or held (`hold`: the Beds24 account or its credit window
-- cannot take calls now; its expiry wakes a worker), clears the pending wake-up (work
-- enqueued from now on publishes again) and claims up to `batch` due jobs; while paused
-- or held the wake-up stays pending until its TTL, so webhooks wake a worker at most
-- about once a second for nothing. A due id that is not a Beds24 id (a whole number
-- without leading zeros; left from an older version) ends failed instead of being
-- claimed. The batch shares one lease deadline, one lease timer and one reservation of
-- claim numbers; each job costs only its own hash (written, then read).
-- Reply: flat [id, claim, attempts, action, …].
local due, active, dead, stats, paused, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local prefix, now, lease = ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local batch, max_tries, failed_cap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', active, '-inf', now, 'LIMIT', 0, 1000)) do
  local job = prefix .. 'job:' .. id
  redis.call('ZREM', active, id)
  local err = 'lease expired: the worker stopped or stalled mid-job'
  redis.call('HINCRBY', stats, 'stalled', 1)
  if redis.call('HGET', job, 'rerun') == '1' then
    redis.call('HSET', job, 'state', 'waiting', 'attempts', 0, 'rerun', 0, 'dueAt', now,
      'updatedAt', now, 'lastError', err)
    redis.call('ZADD', due, now, id)
  else
    local attempts = redis.call('HINCRBY', job, 'attempts', 1)
    redis.call('HSET', job, 'lastError', err, 'updatedAt', now)
    if attempts >= max_tries then
      redis.call('HSET', job, 'state', 'dead')
      redis.call('ZADD', dead, now, id)
      redis.call('HINCRBY', stats, 'failed', 1)
      redis.call('HINCRBY', stats, 'dead', 1)
      redis.call('LPUSH', failed, cjson.encode({bookingId = id, error = err, attempts = attempts,
        action = redis.call('HGET', job, 'action'), finishedAt = now, outcome = 'dead'}))
      redis.call('LTRIM', failed, 0, failed_cap - 1)
    else
      redis.call('HSET', job, 'state', 'waiting', 'dueAt', now)
      redis.call('ZADD', due, now, id)
      redis.call('HINCRBY', stats, 'retried', 1)
    end
  end
end
if redis.call('EXISTS', paused, KEYS[8]) > 0 then return {} end
redis.call('DEL', KEYS[7])
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, batch)
many({'ZREM', due}, ids)
local valid, legacy = {}, {}
for _, id in ipairs(ids) do
  if string.match(id, '^[1-9]%d*$') then valid[#valid + 1] = id else legacy[#legacy + 1] = id end
end
if #legacy > 0 then
  -- Queued before ids had to be Beds24's whole numbers: never sent to Beds24, and they
  -- must not stall every claim. They end failed, in the history.
  local jobs, records = {}, {}
  for i, id in ipairs(legacy) do
    jobs[i] = prefix .. 'job:' .. id
    records[i] = cjson.encode({bookingId = id, outcome = 'final', attempts = 0,
      error = 'not a Beds24 booking id (Beds24 ids are whole numbers)', finishedAt = now})
  end
  many({'DEL'}, jobs)
  redis.call('HINCRBY', stats, 'failed', #legacy)
  many({'LPUSH', failed}, records)
  redis.call('LTRIM', failed, 0, failed_cap - 1)
end
if #valid == 0 then return {} end
-- Claim numbers base+1 … base+n, reserved at once: as unique as one INCR each.
local base = redis.call('INCRBY', prefix .. 'claimseq', #valid) - #valid
local deadline = now + lease
local leased = {}
for _, id in ipairs(valid) do
  leased[#leased + 1] = deadline
  leased[#leased + 1] = id
end
many({'ZADD', active}, leased)
local out = {}
for i, id in ipairs(valid) do
  local job = prefix .. 'job:' .. id
  redis.call('HSET', job, 'state', 'active', 'startedAt', now, 'claim', base + i, 'rerun', 0, 'updatedAt', now)
  local fields = redis.call('HMGET', job, 'attempts', 'action')
  out[#out + 1] = id
  out[#out + 1] = base + i
  out[#out + 1] = fields[1] or '0'
  out[#out + 1] = fields[2] or 'MODIFY'
end
-- Expires just after the batch's deadline: the worker it wakes takes back what is left.
redis.call('SET', lease_timer(prefix, deadline), 1, 'PX', lease + 50)
return out
