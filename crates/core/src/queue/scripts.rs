//! Lua scripts for every queue transition, so each one is atomic across all worker processes.
//!
//! Conventions: ARGV[1] is the key prefix; per-booking keys (`<prefix>job:<id>`,
//! `<prefix>timer:…`) are derived inside the script. Replies are flat arrays because
//! Spin's `execute` flattens nested ones. Timer keys exist only to expire: their
//! expiry event (`notify-keyspace-events Ex`) wakes a worker when a delay ends.
//! Times come from Redis's own `TIME` (the one clock every worker process shares)
//! unless the caller pins the clock (see [`super::Clock`]).

/// KEYS: due, active, dead, stats, wake. ARGV: prefix, id, action, clock, counter, channel.
/// Stores the job and wakes a worker in the same round trip. Wake-ups are deduplicated:
/// one PUBLISH until a worker's next claim clears `wake` (or it expires after 1 s, whose
/// expiry event is itself a wake-up), so a burst does not start a worker run per webhook.
/// Reply: "queued" | "coalesced" | "rerun".
pub const ENQUEUE: &str = with_clock!(
    r#"
local due, active, dead, stats, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, id, action, now = ARGV[1], ARGV[2], ARGV[3], clock(ARGV[4])
local job = prefix .. 'job:' .. id
local function wake_worker()
  if redis.call('SET', wake, 1, 'NX', 'PX', 1000) then redis.call('PUBLISH', ARGV[6], 'wake') end
end
redis.call('HINCRBY', stats, ARGV[5], 1)
if redis.call('ZSCORE', active, id) then
  redis.call('HSET', job, 'rerun', 1, 'action', action, 'updatedAt', now)
  redis.call('HINCRBY', job, 'webhooks', 1)
  redis.call('HINCRBY', stats, 'coalesced', 1)
  return 'rerun'
end
if redis.call('ZSCORE', due, id) then
  redis.call('ZADD', due, 'LT', now, id)
  redis.call('HSET', job, 'action', action, 'state', 'waiting', 'dueAt', now, 'updatedAt', now)
  redis.call('HINCRBY', job, 'webhooks', 1)
  redis.call('HINCRBY', stats, 'coalesced', 1)
  wake_worker()
  return 'coalesced'
end
redis.call('ZREM', dead, id)
redis.call('DEL', job)
redis.call('HSET', job, 'id', id, 'action', action, 'state', 'waiting', 'attempts', 0,
  'enqueuedAt', now, 'dueAt', now, 'updatedAt', now, 'webhooks', 1, 'rerun', 0, 'claim', 0)
redis.call('ZADD', due, now, id)
wake_worker()
return 'queued'
"#
);

/// KEYS: due, active, dead, stats, paused, failed-history, wake, hold.
/// ARGV: prefix, clock, lease_ms, batch, max_tries, failed_cap.
/// Returns jobs whose lease ran out to the queue (counting the lost try, unless a webhook
/// came in during it: then the job starts afresh, since the lost try said nothing about
/// the new data). Unless paused or held (`hold`: the Beds24 account or its credit window
/// cannot take calls now; its expiry wakes a worker), clears the pending wake-up (work
/// enqueued from now on publishes again) and claims up to `batch` due jobs; while paused
/// or held the wake-up stays pending until its TTL, so webhooks wake a worker at most
/// about once a second for nothing. A due id that is not a Beds24 id (a whole number
/// without leading zeros; left from an older version) ends failed instead of being
/// claimed. Reply: flat [id, claim, attempts, action, …].
pub const CLAIM: &str = with_clock!(
    r#"
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
if redis.call('EXISTS', paused) == 1 or redis.call('EXISTS', KEYS[8]) == 1 then return {} end
redis.call('DEL', KEYS[7])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, batch)) do
  local job = prefix .. 'job:' .. id
  if not string.match(id, '^[1-9]%d*$') then
    -- Queued before ids had to be Beds24's whole numbers: never sent to Beds24, and it
    -- must not stall every claim. It ends failed, in the history.
    redis.call('ZREM', due, id)
    redis.call('DEL', job)
    redis.call('HINCRBY', stats, 'failed', 1)
    redis.call('LPUSH', failed, cjson.encode({bookingId = id, outcome = 'final', attempts = 0,
      error = 'not a Beds24 booking id (Beds24 ids are whole numbers)', finishedAt = now}))
    redis.call('LTRIM', failed, 0, failed_cap - 1)
  else
    local claim = redis.call('INCR', prefix .. 'claimseq')
    redis.call('ZREM', due, id)
    redis.call('ZADD', active, now + lease, id)
    redis.call('HSET', job, 'state', 'active', 'startedAt', now, 'claim', claim, 'rerun', 0, 'updatedAt', now)
    redis.call('SET', prefix .. 'timer:lease:' .. id, 1, 'PX', lease + 50)
    out[#out + 1] = id
    out[#out + 1] = claim
    out[#out + 1] = redis.call('HGET', job, 'attempts') or '0'
    out[#out + 1] = redis.call('HGET', job, 'action') or 'MODIFY'
  end
end
return out
"#
);

/// KEYS: active. ARGV: prefix, clock, lease_ms, then per job: id, claim.
/// Renews the lease of each job still held with that claim (between a batch's phases,
/// so a slow batch is not taken over while it runs). Reply: per job 1 (renewed) or 0.
pub const EXTEND: &str = with_clock!(
    r#"
local active, prefix, now, lease = KEYS[1], ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 2 do
  local id, claim = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', prefix .. 'job:' .. id, 'claim') == claim and redis.call('ZSCORE', active, id) then
    redis.call('ZADD', active, 'XX', now + lease, id)
    redis.call('SET', prefix .. 'timer:lease:' .. id, 1, 'PX', lease + 50)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"#
);

/// KEYS: due, active, stats, completed-history.
/// ARGV: prefix, clock, completed_cap, then per job: id, claim, record_json, duration_bucket, duration_ms.
/// Settles a whole batch of successes in one round trip. Reply: per job, in order,
/// "completed" | "requeued" (a webhook came in meanwhile) | "stale" (lease lost).
pub const COMPLETE: &str = with_clock!(
    r#"
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
"#
);

/// KEYS: due, active, dead, stats, failed-history.
/// ARGV: prefix, clock, failed_cap, then per job: id, claim, mode (retry|delay|dead|final),
/// delay_ms, error, record_json. One call settles a whole batch's failures, so they share
/// one clock reading: jobs delayed for the same reason come due at the same moment (delays
/// are rounded up to a whole second for that too) and go out again as one batch.
/// Reply: per job, the mode applied, "requeued" (a webhook came in meanwhile) or "stale".
pub const FAIL: &str = with_clock!(
    r#"
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
"#
);

/// KEYS: due, active, dead, stats, completed-history, failed-history, paused, hold.
/// ARGV: clock. Reply: flat [waiting, delayed, active, completed, failed, dead, paused,
/// oldest_waiting_age_ms (-1: none), hold_ttl_ms, hold_reason ("": none), stat-name, stat-value, …].
pub const STATS: &str = with_clock!(
    r#"
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
"#
);
