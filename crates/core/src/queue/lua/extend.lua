-- KEYS: active. ARGV: prefix, clock, lease_ms, then per job: id, claim.
-- Renews the lease of each job still held with that claim (between a batch's phases,
-- so a slow batch is not taken over while it runs): one new deadline and one timer for
-- all of them; the timer of a deadline no job keeps any more goes.
-- Reply: per job 1 (renewed) or 0.
local active, prefix, now, lease = KEYS[1], ARGV[1], clock(ARGV[2]), tonumber(ARGV[3])
local ids = {}
for i = 4, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local leases = many({'ZMSCORE', active}, ids)
local deadline = now + lease
local renewed, before, out = {}, {}, {}
for k, id in ipairs(ids) do
  local claim = ARGV[4 + (k - 1) * 2 + 1]
  if leases[k] and redis.call('HGET', prefix .. 'job:' .. id, 'claim') == claim then
    renewed[#renewed + 1] = deadline
    renewed[#renewed + 1] = id
    before[#before + 1] = leases[k]
    out[k] = 1
  else
    out[k] = 0
  end
end
if #renewed > 0 then
  -- Each is a member (just read in this script), so a plain ZADD only moves its deadline.
  many({'ZADD', active}, renewed)
  redis.call('SET', lease_timer(prefix, deadline), 1, 'PX', lease + 50)
  drop_lease_timers(prefix, active, before)
end
return out
