-- Takes a caller (or recall) out of its queue and returns when it first
-- entered. With keep = 1 (connected to an agent) the call's details stay
-- a day for the agent's screen; otherwise they go.
-- KEYS: call hash. ARGV: prefix, id, keep.
local c = redis.call('HMGET', KEYS[1], 'queue', 'lane', 'entered_ms')
if not c[1] then
  return false
end
redis.call('ZREM', ARGV[1] .. ':' .. (c[2] or 'waiting') .. ':' .. c[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'connected')
  redis.call('EXPIRE', KEYS[1], 86400)
else
  redis.call('DEL', KEYS[1])
end
return tonumber(c[3])
