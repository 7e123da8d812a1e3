-- Prelude of every script that reads the time: clock(arg) is the pinned time in ms
-- when arg is a number (tests), else Redis's own TIME (the one clock every worker shares).
local function clock(pinned)
  local n = tonumber(pinned)
  if n then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
