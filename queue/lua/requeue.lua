-- Puts a caller (or recall) whose agent did not answer back in its lane,
-- ranked as before, so it is served next (a hash from before lanes has no
-- score: it is the rank of its priority and first entry).
-- KEYS: call hash. ARGV: prefix, id.
local c = redis.call('HMGET', KEYS[1], 'queue', 'score', 'lane', 'priority', 'entered_ms', 'recall')
if not c[1] then
  return false
end
local score = c[2]
if not score then
  score = (9 - tonumber(c[4])) * 1e13 + tonumber(c[5])
end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'agent', '')
if c[6] == '1' then
  -- A recall is dialled by whoever pairs it next.
  redis.call('HSET', KEYS[1], 'owner', '')
end
redis.call('ZADD', ARGV[1] .. ':' .. (c[3] or 'waiting') .. ':' .. c[1], score, ARGV[2])
return 1
