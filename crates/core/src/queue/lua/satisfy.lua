-- KEYS: due, stats. ARGV: prefix, listed_at (ms, Redis clock), then booking ids.
-- A bulk page just stored these bookings as Beds24 listed them at listed_at. A job still
-- waiting (or delayed) for one of them, unchanged since before that listing, would only
-- fetch the same data again: it is done. Jobs running, or touched by a webhook after the
-- listing, are left alone. Reply: the ids whose jobs ended.
local due, stats, prefix, listed_at = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local job = prefix .. 'job:' .. id
  local fields = redis.call('HMGET', job, 'state', 'updatedAt')
  local state, updated = fields[1], tonumber(fields[2] or '')
  if (state == 'waiting' or state == 'delayed') and updated and updated <= listed_at
      and redis.call('ZSCORE', due, id) then
    redis.call('ZREM', due, id)
    redis.call('DEL', job, prefix .. 'timer:due:' .. id)
    out[#out + 1] = id
  end
end
if #out > 0 then redis.call('HINCRBY', stats, 'satisfied', #out) end
return out
