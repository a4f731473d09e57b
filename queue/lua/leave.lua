-- Removes a caller from its queue and returns when it first entered.
-- KEYS: call hash. ARGV: prefix, id.
local q = redis.call('HGET', KEYS[1], 'queue')
if not q then
  return false
end
local entered = redis.call('HGET', KEYS[1], 'entered_ms')
redis.call('ZREM', ARGV[1] .. ':waiting:' .. q, ARGV[2])
redis.call('DEL', KEYS[1])
return tonumber(entered)
