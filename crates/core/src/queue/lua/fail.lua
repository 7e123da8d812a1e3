-- KEYS: due, active, dead, stats, failed-history.
-- ARGV: prefix, clock, failed_cap, then per job: id, claim, mode (retry|delay|dead|final),
-- delay_ms, error, record_json. One call settles a whole batch's failures, so they share
-- one clock reading: jobs delayed for the same reason come due at the same moment (delays
-- are rounded up to a whole second for that too) and go out again as one batch. As in
-- complete.lua, a job is settled only while active under this claim, and only once; each
-- job's hash is read and written once, the rest goes in one command for the batch.
-- Reply: per job, the mode applied, "requeued" (a webhook came in meanwhile) or "stale".
local due, active, dead, stats, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, now, failed_cap = ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local ids = {}
for i = 4, #ARGV, 6 do ids[#ids + 1] = ARGV[i] end
local leases = many({'ZMSCORE', active}, ids)
local counts, settled, deadlines, queued, buried, ended, records = counters(), {}, {}, {}, {}, {}, {}
local done = {}
local function settle(k, id, claim, mode, delay, err, record)
  local job = prefix .. 'job:' .. id
  local f = leases[k] and not done[id] and redis.call('HMGET', job, 'claim', 'rerun', 'attempts', 'log')
  if not f or f[1] ~= claim then return 'stale' end
  done[id] = true
  settled[#settled + 1] = id
  deadlines[#deadlines + 1] = leases[k]
  local attempts = tonumber(f[3]) or 0
  local log = cjson.decode(f[4] or '[]')
  log[#log + 1] = cjson.decode(record)
  while #log > 10 do table.remove(log, 1) end
  -- What every outcome that keeps the job writes, then its own fields: one HSET.
  local fields = {'lastError', err, 'updatedAt', now, 'log', cjson.encode(log), 'rerun', 0}
  local function keep(...)
    for _, v in ipairs({...}) do fields[#fields + 1] = v end
    redis.call('HSET', job, unpack(fields))
  end
  if mode == 'retry' or mode == 'delay' then
    local due_at = now + delay
    if mode == 'retry' then
      keep('attempts', attempts + 1, 'state', 'delayed', 'dueAt', due_at)
      counts.add('retried', 1)
    else
      due_at = math.ceil(due_at / 1000) * 1000
      keep('state', 'delayed', 'dueAt', due_at)
      counts.add('delayed', 1)
    end
    queued[#queued + 1] = due_at
    queued[#queued + 1] = id
    redis.call('SET', prefix .. 'timer:due:' .. id, 1, 'PX', math.max(1, due_at - now))
    return mode
  end
  counts.add('failed', 1)
  records[#records + 1] = record
  if f[2] == '1' then
    keep('state', 'waiting', 'attempts', 0, 'dueAt', now)
    queued[#queued + 1] = now
    queued[#queued + 1] = id
    return 'requeued'
  end
  if mode == 'dead' then
    keep('attempts', attempts + 1, 'state', 'dead')
    buried[#buried + 1] = now
    buried[#buried + 1] = id
    counts.add('dead', 1)
    return 'dead'
  end
  ended[#ended + 1] = job
  return 'final'
end
local out = {}
for k, id in ipairs(ids) do
  local i = 4 + (k - 1) * 6
  out[k] = settle(k, id, ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5])
end
many({'ZREM', active}, settled)
many({'ZADD', due}, queued)
many({'ZADD', dead}, buried)
many({'DEL'}, ended)
counts.write(stats)
push_history(failed, records, failed_cap)
drop_lease_timers(prefix, active, deadlines)
return out
