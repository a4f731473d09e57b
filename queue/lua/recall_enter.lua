-- Puts a recall whose time has come in its queue's lane, once: a recall
-- already there keeps its place, and one being dialled (its agent rung or
-- talking) is not entered again.
-- KEYS: lane zset, call hash. ARGV: id, score, queue, priority, entered_ms,
-- caller, keyed (JSON), recall id, reason, requested_ms, lane, waited_ms.
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local st = redis.call('HGET', KEYS[2], 'state')
if st == 'ringing' or st == 'connected' then
  return 0
end
redis.call('HSET', KEYS[2], 'queue', ARGV[3], 'priority', ARGV[4], 'entered_ms', ARGV[5],
  'caller', ARGV[6], 'recall', '1', 'owner', '', 'keyed', ARGV[7], 'state', 'waiting', 'agent', '',
  'recall_id', ARGV[8], 'reason', ARGV[9], 'requested_ms', ARGV[10], 'lane', ARGV[11], 'score', ARGV[2],
  'waited_ms', ARGV[12])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
