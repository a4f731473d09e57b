-- Pairs the head of a queue with the ready agent idle the longest, and
-- marks both ringing. A queue has two lanes: live callers and wait
-- recalls (KEYS[1], ranked by priority then first entry) and out-of-hours
-- recalls (KEYS[3], ranked by when they were asked). While both have
-- someone, the out-of-hours lane gets at most `share` of the agents paired
-- (a credit per queue adds share per pairing and pays 1 for an
-- out-of-hours one). An agent in wrap-up is in the ready set with the
-- score of its wrap-up's end, and counts once that has passed. A lease on
-- the agent is revoked. A recall has no instance holding a channel: the
-- instance pairing it owns it (and dials it).
-- KEYS: waiting zset, ready zset, out-of-hours zset. ARGV: prefix, now_ms,
-- queue, instance, share. Returns {call, agent, endpoint, owner, recall id}.
local p, q = ARGV[1], ARGV[3]
local live = redis.call('ZRANGE', KEYS[1], 0, 0)
local ooh = redis.call('ZRANGE', KEYS[3], 0, 0)
if #live == 0 and #ooh == 0 then
  return false
end
local a = longest_idle(p, q, tonumber(ARGV[2]))
if not a then
  return false
end
local lane, call = KEYS[1], live[1]
if #live == 0 then
  lane, call = KEYS[3], ooh[1]
elseif #ooh > 0 then
  local ck = p .. ':ooh_credit:' .. q
  local credit = tonumber(redis.call('GET', ck) or '0') + tonumber(ARGV[5])
  if credit >= 1 then
    credit = credit - 1
    lane, call = KEYS[3], ooh[1]
  end
  redis.call('SET', ck, tostring(credit))
end
redis.call('ZREM', lane, call)
local ck = p .. ':call:' .. call
redis.call('HSET', ck, 'state', 'ringing', 'agent', a)
local owner = redis.call('HGET', ck, 'owner') or ''
if owner == '' then
  owner = ARGV[4]
  redis.call('HSET', ck, 'owner', owner)
end
ring_agent(p, a, call, ARGV[2], '')
return {call, a, redis.call('HGET', p .. ':agent:' .. a, 'endpoint'), owner, redis.call('HGET', ck, 'recall_id') or ''}
