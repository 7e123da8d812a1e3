-- KEYS: dead. ARGV: prefix. Drops every dead job and its record. Reply: number purged.
local dead, prefix = KEYS[1], ARGV[1]
local ids = redis.call('ZRANGE', dead, 0, -1)
for _, id in ipairs(ids) do redis.call('DEL', prefix .. 'job:' .. id) end
redis.call('DEL', dead)
return ids
