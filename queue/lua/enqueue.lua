-- Puts a caller in a queue once; a caller already waiting keeps its place.
-- KEYS: waiting zset, call hash. ARGV: id, score, queue, priority,
-- entered_ms, caller, recall, owner, keyed (JSON), handoff (why the IVR
-- handed the caller over, for the agent's screen).
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  -- A caller re-adopted by another instance after a restart keeps its
  -- place; only the owner changes.
  redis.call('HSET', KEYS[2], 'owner', ARGV[8])
  return 0
end
redis.call('HSET', KEYS[2], 'queue', ARGV[3], 'priority', ARGV[4], 'entered_ms', ARGV[5],
  'caller', ARGV[6], 'recall', ARGV[7], 'owner', ARGV[8], 'keyed', ARGV[9], 'state', 'waiting',
  'lane', 'waiting', 'score', ARGV[2], 'handoff', ARGV[10])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
