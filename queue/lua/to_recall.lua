-- A waiting caller accepted the recall offer: its place passes to the
-- recall (the better of the two, should the number have one already), and
-- the caller leaves.
-- KEYS: waiting zset, caller hash, recall hash, out-of-hours zset (where
-- the number's recall may wait already). ARGV: caller id, recall member
-- id, recall id, requested_ms.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return 0
end
local c = redis.call('HMGET', KEYS[2], 'queue', 'priority', 'entered_ms', 'caller', 'keyed')
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('DEL', KEYS[2])
local st = redis.call('HGET', KEYS[3], 'state')
if st == 'ringing' or st == 'connected' then
  return 1 -- the number's recall is being dialled: the citizen is called now
end
local had = redis.call('ZSCORE', KEYS[1], ARGV[2])
if had and tonumber(had) < tonumber(score) then
  score = had
end
redis.call('HSET', KEYS[3], 'queue', c[1], 'priority', c[2], 'entered_ms', c[3], 'caller', c[4], 'keyed', c[5] or '{}',
  'recall', '1', 'owner', '', 'state', 'waiting', 'agent', '', 'recall_id', ARGV[3], 'reason', 'wait',
  'requested_ms', ARGV[4], 'lane', 'waiting', 'score', score, 'waited_ms', tostring(tonumber(ARGV[4]) - tonumber(c[3])))
redis.call('ZADD', KEYS[1], score, ARGV[2])
return 1
