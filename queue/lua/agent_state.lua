-- Changes an agent's state if its current state allows it, and keeps the
-- ready sets of its queues in step. Returns the previous state.
-- KEYS: agent hash, agents set. ARGV: prefix, id, to, from (csv, empty:
-- any), endpoint, queues (csv, empty: unchanged), reason, call, now_ms,
-- until_ms, on_call (empty: any; else the agent's current call must be it).
-- Any change revokes a lease on the agent: its holder would ring it. A
-- change the state does not allow is refused with an error starting
-- "TRANSITION": any other error is Redis's own (read-only, out of memory).
local cur = redis.call('HGET', KEYS[1], 'state') or 'logged_out'
if ARGV[11] ~= '' and (redis.call('HGET', KEYS[1], 'call') or '') ~= ARGV[11] then
  return redis.error_reply('TRANSITION agent ' .. ARGV[2] .. ' is not on call ' .. ARGV[11])
end
if ARGV[4] ~= '' then
  local allowed = false
  for f in string.gmatch(ARGV[4], '[^,]+') do
    if f == cur then
      allowed = true
    end
  end
  if not allowed then
    return redis.error_reply('TRANSITION agent ' .. ARGV[2] .. ' is ' .. cur)
  end
end
revoke_leases(ARGV[1], ARGV[2], '')
local old = redis.call('HGET', KEYS[1], 'queues') or ''
for q in string.gmatch(old, '[^,]+') do
  redis.call('ZREM', ARGV[1] .. ':ready:' .. q, ARGV[2])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'endpoint', ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'queues', ARGV[6])
end
local to = ARGV[3]
redis.call('HSET', KEYS[1], 'state', to, 'reason', ARGV[7], 'call', ARGV[8], 'since_ms', ARGV[9], 'until_ms', ARGV[10])
redis.call('SADD', KEYS[2], ARGV[2])
local qs = redis.call('HGET', KEYS[1], 'queues') or ''
if to == 'ready' or to == 'wrap_up' then
  local score = ARGV[9]
  if to == 'wrap_up' then
    score = ARGV[10]
  end
  for q in string.gmatch(qs, '[^,]+') do
    redis.call('ZADD', ARGV[1] .. ':ready:' .. q, score, ARGV[2])
  end
end
return cur
