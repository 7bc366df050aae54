-- Fixed-window counter: count one hit and say whether it is within the limit.
-- KEYS[1]  the counter key (one per limiter mark and subject, e.g. an IP)
-- ARGV[1]  limit: hits allowed per window
-- ARGV[2]  window length in seconds
-- Returns {allowed (1|0), seconds until the window resets}
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
  ttl = tonumber(ARGV[2])
end
if count > tonumber(ARGV[1]) then
  return {0, ttl}
end
return {1, ttl}
