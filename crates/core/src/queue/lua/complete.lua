-- KEYS: due, active, stats, completed-history.
-- ARGV: prefix, clock, completed_cap, then per job: id, claim, record_json, duration_bucket, duration_ms.
-- Settles a whole batch of successes in one round trip. A job is settled only while it
-- is active (its lease score, read for the whole batch at once) under this claim, and
-- only once. Per job it reads its hash (claim, rerun); the batch's leases, deletions,
-- counters and history records each go in one command, the history newest first as
-- if pushed one by one. Reply: per job, in order, "completed" | "requeued" (a webhook
-- came in meanwhile) | "stale" (lease lost).
local due, active, stats, completed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, now, cap = ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local ids = {}
for i = 4, #ARGV, 5 do ids[#ids + 1] = ARGV[i] end
local leases = many({'ZMSCORE', active}, ids)
local counts, settled, deadlines, requeued, ended, records = counters(), {}, {}, {}, {}, {}
local done, out = {}, {}
for k, id in ipairs(ids) do
  local i = 4 + (k - 1) * 5
  local job = prefix .. 'job:' .. id
  local fields = leases[k] and not done[id] and redis.call('HMGET', job, 'claim', 'rerun')
  if not fields or fields[1] ~= ARGV[i + 1] then
    out[k] = 'stale'
  else
    done[id] = true
    settled[#settled + 1] = id
    deadlines[#deadlines + 1] = leases[k]
    records[#records + 1] = ARGV[i + 2]
    counts.add('processed', 1)
    counts.add('duration_bucket:' .. ARGV[i + 3], 1)
    counts.add('duration_ms_sum', tonumber(ARGV[i + 4]))
    if fields[2] == '1' then
      redis.call('HSET', job, 'state', 'waiting', 'attempts', 0, 'rerun', 0, 'dueAt', now, 'updatedAt', now)
      requeued[#requeued + 1] = now
      requeued[#requeued + 1] = id
      out[k] = 'requeued'
    else
      ended[#ended + 1] = job
      out[k] = 'completed'
    end
  end
end
many({'ZREM', active}, settled)
many({'ZADD', due}, requeued)
many({'DEL'}, ended)
counts.write(stats)
push_history(completed, records, cap)
drop_lease_timers(prefix, active, deadlines)
return out
