-- Confirms a lease's use: the holder is already ringing the leased agent
-- for a new caller. The caller is recorded ringing that agent, as assign
-- would have paired them, if the lease still stands, the agent is still
-- available and no caller waiting in the queue ranks ahead; otherwise
-- nothing changes and the holder hangs up its ring. Either way the holder
-- gets the queue's next lease, if any.
-- KEYS: waiting zset, call hash, lease hash. ARGV: prefix, id, score,
-- queue, priority, entered_ms, caller, recall, owner, keyed (JSON),
-- handoff, agent, token, now_ms, ttl_ms. Returns {1 or 0, next agent, endpoint, token}.
local p, id, q, inst, a = ARGV[1], ARGV[2], ARGV[4], ARGV[9], ARGV[12]
local now = tonumber(ARGV[14])
local ok = 0
local l = redis.call('HMGET', KEYS[3], 'holder', 'agent', 'token')
if l[1] == inst and l[2] == a and l[3] == ARGV[13] and available(p, a, now)
    and redis.call('EXISTS', KEYS[2]) == 0 then
  local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #head == 0 or tonumber(head[2]) > tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[2], 'queue', q, 'priority', ARGV[5], 'entered_ms', ARGV[6], 'caller', ARGV[7],
      'recall', ARGV[8], 'owner', inst, 'keyed', ARGV[10], 'state', 'ringing', 'agent', a,
      'lane', 'waiting', 'score', ARGV[3], 'handoff', ARGV[11])
    ring_agent(p, a, id, ARGV[14], inst)
    ok = 1
  end
end
local n = acquire_lease(p, q, inst, now, tonumber(ARGV[15]))
if not n then
  return {ok, '', '', ''}
end
return {ok, n[1], n[2], n[3]}
