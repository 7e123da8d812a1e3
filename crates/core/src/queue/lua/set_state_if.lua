-- KEYS: hash. ARGV: field, new value, then the values the field may have now ('' = absent).
-- Compare-and-set of one hash field, so a worker finishing a slice cannot undo an
-- operator's pause or cancel that landed meanwhile. Reply: 1 set, 0 left alone.
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
for i = 3, #ARGV do
  if current == ARGV[i] then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return 0
