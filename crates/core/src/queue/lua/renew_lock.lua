-- KEYS: lock. ARGV: owner, ms.
-- Extend a lock only if this owner still holds it (a slow holder keeps it; one that
-- lost it does not take it back). Reply: 1 renewed, 0 not held.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
