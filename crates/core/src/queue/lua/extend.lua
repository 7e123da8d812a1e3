-- KEYS: active. ARGV: prefix, clock, lease_ms, then per job: id, claim.
-- Renews the lease of each job still held with that claim (between a batch's phases,
-- so a slow batch is not taken over while it runs). Reply: per job 1 (renewed) or 0.
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
