-- Puts a caller whose agent did not answer back in its queue, ranked by
-- its priority and first entry as before, so it is served next.
-- KEYS: call hash. ARGV: prefix, id.
local c = redis.call('HMGET', KEYS[1], 'queue', 'priority', 'entered_ms')
if not c[1] then
  return false
end
local score = (9 - tonumber(c[2])) * 1e13 + tonumber(c[3])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'agent', '')
redis.call('ZADD', ARGV[1] .. ':waiting:' .. c[1], score, ARGV[2])
return 1
