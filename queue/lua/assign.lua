-- Pairs the head of a queue with the ready agent idle the longest, and
-- marks both ringing. An agent in wrap-up is in the ready set with the
-- score of its wrap-up's end, and counts once that has passed. A lease on
-- the agent is revoked.
-- KEYS: waiting zset, ready zset. ARGV: prefix, now_ms, queue.
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if #head == 0 then
  return false
end
local p = ARGV[1]
local a = longest_idle(p, ARGV[3], tonumber(ARGV[2]))
if not a then
  return false
end
local call = head[1]
redis.call('ZREM', KEYS[1], call)
redis.call('HSET', p .. ':call:' .. call, 'state', 'ringing', 'agent', a)
ring_agent(p, a, call, ARGV[2], '')
local owner = redis.call('HGET', p .. ':call:' .. call, 'owner') or ''
return {call, a, redis.call('HGET', p .. ':agent:' .. a, 'endpoint'), owner}
