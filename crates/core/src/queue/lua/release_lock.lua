-- KEYS: lock. ARGV: owner.
-- Compare-and-delete: only the holder that set the lock (its unique owner) releases it,
-- so a holder whose lock already expired cannot free another's. Reply: 1 released, 0 not.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
