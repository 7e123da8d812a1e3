-- KEYS: hash. ARGV: guard field, k, k values the guard may have now ('' = absent), then
-- field, value pairs to set.
-- A conditional HSET, so a worker finishing a slice cannot undo an operator's pause or
-- cancel that landed meanwhile (nor write progress into a cancelled run's hash).
-- Reply: 1 set, 0 left alone.
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local k = tonumber(ARGV[2])
for i = 3, 2 + k do
  if current == ARGV[i] then
    local pairs = {}
    for j = 3 + k, #ARGV do pairs[#pairs + 1] = ARGV[j] end
    if #pairs > 0 then redis.call('HSET', KEYS[1], unpack(pairs)) end
    return 1
  end
end
return 0
