-- Takes a caller out of its queue and returns when it first entered. With
-- keep = 1 (connected to an agent) the call's details stay a day for the
-- agent's screen; otherwise they go.
-- KEYS: call hash. ARGV: prefix, id, keep.
local q = redis.call('HGET', KEYS[1], 'queue')
if not q then
  return false
end
local entered = redis.call('HGET', KEYS[1], 'entered_ms')
redis.call('ZREM', ARGV[1] .. ':waiting:' .. q, ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'connected')
  redis.call('EXPIRE', KEYS[1], 86400)
else
  redis.call('DEL', KEYS[1])
end
return tonumber(entered)
