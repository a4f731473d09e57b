-- Puts a caller in a queue once; a caller already waiting keeps its place.
-- KEYS: waiting zset, call hash. ARGV: id, score, queue, priority,
-- entered_ms, caller, recall, owner, keyed (JSON).
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[2], 'queue', ARGV[3], 'priority', ARGV[4], 'entered_ms', ARGV[5],
  'caller', ARGV[6], 'recall', ARGV[7], 'owner', ARGV[8], 'keyed', ARGV[9], 'state', 'waiting')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
