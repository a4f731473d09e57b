-- Pairs the head of a queue with the ready agent idle the longest, and
-- marks both ringing. An agent in wrap-up is in the ready set with the
-- score of its wrap-up's end, and counts once that has passed.
-- KEYS: waiting zset, ready zset. ARGV: prefix, now_ms.
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if #head == 0 then
  return false
end
local now = tonumber(ARGV[2])
local agents = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, a in ipairs(agents) do
  local ak = ARGV[1] .. ':agent:' .. a
  local st = redis.call('HGET', ak, 'state')
  local due = st == 'wrap_up' and tonumber(redis.call('HGET', ak, 'until_ms') or '0') <= now
  if st == 'ready' or due then
    local call = head[1]
    redis.call('ZREM', KEYS[1], call)
    redis.call('HSET', ARGV[1] .. ':call:' .. call, 'state', 'ringing', 'agent', a)
    local qs = redis.call('HGET', ak, 'queues') or ''
    for q in string.gmatch(qs, '[^,]+') do
      redis.call('ZREM', ARGV[1] .. ':ready:' .. q, a)
    end
    redis.call('HSET', ak, 'state', 'ringing', 'call', call, 'since_ms', ARGV[2], 'reason', '')
    local owner = redis.call('HGET', ARGV[1] .. ':call:' .. call, 'owner') or ''
    return {call, a, redis.call('HGET', ak, 'endpoint'), owner}
  elseif st ~= 'wrap_up' then
    -- Not available any more (a stale entry): drop it.
    redis.call('ZREM', KEYS[2], a)
  end
end
return false
