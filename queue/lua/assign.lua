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
local ak = p .. ':agent:' .. a
revoke_leases(p, a, '')
redis.call('ZREM', KEYS[1], call)
redis.call('HSET', p .. ':call:' .. call, 'state', 'ringing', 'agent', a)
for aq in string.gmatch(redis.call('HGET', ak, 'queues') or '', '[^,]+') do
  redis.call('ZREM', p .. ':ready:' .. aq, a)
end
redis.call('HSET', ak, 'state', 'ringing', 'call', call, 'since_ms', ARGV[2], 'reason', '')
local owner = redis.call('HGET', p .. ':call:' .. call, 'owner') or ''
return {call, a, redis.call('HGET', ak, 'endpoint'), owner}
