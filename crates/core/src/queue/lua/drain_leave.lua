-- KEYS: drains, due, paused, hold. ARGV: clock, owner, force, wait_limit_ms.
-- A drain that found nothing to claim gives its place back, unless a job came due since
-- (and the queue can be claimed): then it keeps the place and claims again. Checking and
-- leaving in one step means a webhook's kick that found every place taken is never lost:
-- either its job is seen here, or the place is already free when the kicked drain asks.
-- A job due within `wait_limit_ms` (a retry the drain itself just scheduled) keeps the
-- place too: the drain waits for it rather than leave it to the next cron call.
-- `force` (the time budget ran out) leaves whatever is due.
-- Reply: ["left"] | ["more"] | ["wait", ms].
local drains, due, now = KEYS[1], KEYS[2], clock(ARGV[1])
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[4]) == 0 then
  local next = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
  if next[2] then
    local wait = tonumber(next[2]) - now
    if wait <= 0 then return {'more'} end
    if wait <= tonumber(ARGV[4]) then return {'wait', wait} end
  end
end
redis.call('ZREM', drains, ARGV[2])
return {'left'}
