-- Reserve: hold a request's estimated cost on the user's (and token's) balance.
-- All checks run before the first write (Redis does not roll back a script).
--
-- KEYS[1]  user balance            (string, integer quota)
-- KEYS[2]  token balance           (string; ignored when ARGV[4] == "0": unlimited token)
-- KEYS[3]  hold                    (hash: u, t, a, w)
-- KEYS[4]  holds index             (zset: request id -> expiry, ms)
-- KEYS[5]  backlog counter         (settlements in the stream not yet flushed)
-- ARGV[1]  request id
-- ARGV[2]  amount to hold (>= 0)
-- ARGV[3]  user id
-- ARGV[4]  token id ("0" when the token is unlimited)
-- ARGV[5]  hold expiry, unix ms
-- ARGV[6]  overdraft allowed below zero (>= 0)
-- ARGV[7]  maximum backlog of unflushed settlements
-- ARGV[8]  the worker holding it (its dead-worker cleanup releases it at once)
-- ARGV[9]  that worker's settlements not yet counted in KEYS[5] (queued or in flight)
-- Returns {1, "ok"} | {1, "dup"} | {0, "user"} | {0, "token"} | {0, "backlog"}
--         | {-1, "load_user"} | {-2, "load_token"}
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {1, 'dup'}
end
local amount = tonumber(ARGV[2])
local user = redis.call('GET', KEYS[1])
if not user then
  return {-1, 'load_user'}
end
local limited = ARGV[4] ~= '0'
local token = nil
if limited then
  token = redis.call('GET', KEYS[2])
  if not token then
    return {-2, 'load_token'}
  end
end
if tonumber(redis.call('GET', KEYS[5]) or '0') + tonumber(ARGV[9] or '0') > tonumber(ARGV[7]) then
  return {0, 'backlog'}
end
user = tonumber(user)
-- New API: a non-positive balance never starts a request, even a free one.
if user <= 0 or user - amount < -tonumber(ARGV[6]) then
  return {0, 'user'}
end
if limited and tonumber(token) < amount then
  return {0, 'token'}
end
if amount > 0 then
  redis.call('DECRBY', KEYS[1], amount)
  if limited then
    redis.call('DECRBY', KEYS[2], amount)
  end
end
redis.call('HSET', KEYS[3], 'u', ARGV[3], 't', ARGV[4], 'a', amount, 'w', ARGV[8])
redis.call('ZADD', KEYS[4], tonumber(ARGV[5]), ARGV[1])
return {1, 'ok'}
