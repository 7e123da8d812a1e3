-- Prelude of the scripts that claim and settle batches. A batch pays a command per job
-- only where Redis has no multi-key form (a job's own hash): set members, job deletions,
-- history records and counters go in one command for the whole batch.
--
-- many(head, list): the command `head` (a table: the command and its leading arguments)
-- with the values of `list` appended, in chunks of 1000 values (even, so score/member
-- pairs stay together; Lua cannot unpack many thousands at once). Nothing is sent for
-- an empty list. Returns the replies' elements, concatenated.
local function many(head, list)
  local reply = {}
  for first = 1, #list, 1000 do
    local args = {unpack(head)}
    for i = first, math.min(#list, first + 999) do args[#args + 1] = list[i] end
    local part = redis.call(unpack(args))
    if type(part) == 'table' then
      for i = 1, #part do reply[#reply + 1] = part[i] end
    end
  end
  return reply
end
-- Pushes a batch's history records (each newest-first, as LPUSH leaves them) and keeps the
-- list bounded to `cap`; nothing is sent when the batch has none.
local function push_history(key, records, cap)
  if #records > 0 then
    many({'LPUSH', key}, records)
    redis.call('LTRIM', key, 0, cap - 1)
  end
end
-- Counters summed in Lua and written once per field: add(field, n), then write(key).
local function counters()
  local fields, by = {}, {}
  return {
    add = function(field, n)
      if not by[field] then fields[#fields + 1] = field; by[field] = 0 end
      by[field] = by[field] + n
    end,
    write = function(key)
      for _, field in ipairs(fields) do
        redis.call('HINCRBY', key, field, string.format('%.0f', by[field]))
      end
    end,
  }
end
-- The key whose expiry wakes a Redis-triggered worker when the leases ending at
-- `deadline` (ms) run out: one per lease deadline, which a claimed batch shares, rather
-- than one per job. Its claim then takes back whatever is left of the batch.
local function lease_timer(prefix, deadline)
  return prefix .. 'timer:lease:at:' .. string.format('%.0f', tonumber(deadline))
end
-- Drops the timer of each of `deadlines` (lease scores, repeats allowed) that no active
-- job has any more: no lease is left to wake a worker for, so no run is spent on nothing.
local function drop_lease_timers(prefix, active, deadlines)
  local seen = {}
  for _, deadline in ipairs(deadlines) do
    if not seen[deadline] then
      seen[deadline] = true
      if redis.call('ZCOUNT', active, deadline, deadline) == 0 then
        redis.call('DEL', lease_timer(prefix, deadline))
      end
    end
  end
end
