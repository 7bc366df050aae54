-- New API's per-user model request limit: a success window and a total window.
--
-- KEYS[1]  successes (zset of unix-ms timestamps of successful requests)
-- KEYS[2]  total (counter of every attempt in the current window)
-- ARGV[1]  now, unix ms
-- ARGV[2]  window, ms
-- ARGV[3]  maximum successful requests per window (0 = unlimited)
-- ARGV[4]  maximum requests per window (0 = unlimited)
-- Returns {1, 0} when allowed, {0, retry_after_seconds} when refused.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local success_limit = tonumber(ARGV[3])
local total_limit = tonumber(ARGV[4])
if success_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - window)
  if redis.call('ZCARD', KEYS[1]) >= success_limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, math.ceil((tonumber(oldest[2]) + window - now) / 1000)}
  end
end
if total_limit > 0 then
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then
    redis.call('PEXPIRE', KEYS[2], window)
  end
  if count > total_limit then
    return {0, math.ceil(redis.call('PTTL', KEYS[2]) / 1000)}
  end
end
return {1, 0}
