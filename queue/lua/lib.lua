-- Shared by the scripts that pair callers with agents (prepended to each).
--
-- A lease lets one instance ring a queue's longest-idle ready agent the
-- moment a caller arrives, before Redis hears of the caller (claim.lua
-- confirms it in the same breath). p:lease:<queue> is a hash (holder,
-- agent, token) with a time to live; the agent stays in the ready set, so
-- whoever else pairs it first takes it and revokes the lease, and its
-- holder hears so on its instance channel ("revoke|<queue>|<token>").

-- available: the agent can take a call now (ready, or its wrap-up has
-- ended); st is its state.
local function available(p, a, now)
  local ak = p .. ':agent:' .. a
  local st = redis.call('HGET', ak, 'state')
  if st == 'ready' then
    return true, st
  end
  if st == 'wrap_up' and tonumber(redis.call('HGET', ak, 'until_ms') or '0') <= now then
    return true, st
  end
  return false, st
end

-- revoke_leases ends every lease on agent a (in the queues it serves) and
-- tells each holder other than except.
local function revoke_leases(p, a, except)
  local qs = redis.call('HGET', p .. ':agent:' .. a, 'queues') or ''
  for q in string.gmatch(qs, '[^,]+') do
    local lk = p .. ':lease:' .. q
    local l = redis.call('HMGET', lk, 'holder', 'agent', 'token')
    if l[2] == a then
      redis.call('DEL', lk)
      if l[1] ~= except then
        redis.call('PUBLISH', p .. ':owner:' .. l[1], 'revoke|' .. q .. '|' .. l[3])
      end
    end
  end
end

-- ring_agent marks agent a ringing for call at now_ms: out of the ready
-- sets of its queues, its leases revoked (holder except is not told).
local function ring_agent(p, a, call, now_ms, except)
  local ak = p .. ':agent:' .. a
  revoke_leases(p, a, except)
  for q in string.gmatch(redis.call('HGET', ak, 'queues') or '', '[^,]+') do
    redis.call('ZREM', p .. ':ready:' .. q, a)
  end
  redis.call('HSET', ak, 'state', 'ringing', 'call', call, 'since_ms', now_ms, 'reason', '')
end

-- longest_idle is the queue's ready agent idle the longest (dropping
-- stale entries of agents no longer available), or nil.
local function longest_idle(p, q, now)
  local rk = p .. ':ready:' .. q
  for _, a in ipairs(redis.call('ZRANGE', rk, 0, -1)) do
    local ok, st = available(p, a, now)
    if ok then
      return a
    end
    if st ~= 'wrap_up' then
      redis.call('ZREM', rk, a)
    end
  end
  return nil
end

-- acquire_lease gives instance inst the lease of queue q (renewed for ttl
-- ms when it holds it already): {agent, endpoint, token}, or false when
-- callers or recalls are waiting (they go first), no agent is free, or
-- another instance holds it.
local function acquire_lease(p, q, inst, now, ttl)
  local lk = p .. ':lease:' .. q
  local l = redis.call('HMGET', lk, 'holder', 'agent', 'token')
  if l[1] and l[1] ~= inst then
    return false
  end
  if redis.call('ZCARD', p .. ':waiting:' .. q) > 0 or redis.call('ZCARD', p .. ':ooh:' .. q) > 0 then
    if l[1] then
      redis.call('DEL', lk)
    end
    return false
  end
  local a = longest_idle(p, q, now)
  if not a then
    if l[1] then
      redis.call('DEL', lk)
    end
    return false
  end
  local token = l[3]
  if l[2] ~= a then
    token = tostring(redis.call('INCR', p .. ':lease_seq'))
    redis.call('HSET', lk, 'holder', inst, 'agent', a, 'token', token)
  end
  redis.call('PEXPIRE', lk, ttl)
  return {a, redis.call('HGET', p .. ':agent:' .. a, 'endpoint'), token}
end

