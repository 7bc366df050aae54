-- Release: give a request's whole hold back (it failed, or the sweeper found it orphaned).
--
-- KEYS[1]  hold                    (hash written by reserve.lua)
-- KEYS[2]  user balance
-- KEYS[3]  token balance
-- KEYS[4]  holds index             (zset)
-- KEYS[5]  settled marker          (a settled request has no hold left to release)
-- ARGV[1]  request id
-- Returns the amount given back (0 when there was no hold).
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 0
end
local held = redis.call('HGET', KEYS[1], 'a')
if not held then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 0
end
held = tonumber(held)
redis.call('INCRBY', KEYS[2], held)
if redis.call('HGET', KEYS[1], 't') ~= '0' then
  redis.call('INCRBY', KEYS[3], held)
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return held
