-- Gives an instance the lease of a queue, or renews it (lib.lua).
-- KEYS: lease hash. ARGV: prefix, queue, instance, now_ms, ttl_ms.
return acquire_lease(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
