-- Release: give a request's whole hold back (it failed, or the sweeper found it orphaned).
--
-- KEYS[1]  hold                    (hash written by reserve.lua)
-- KEYS[2]  user balance
-- KEYS[3]  token balance
-- KEYS[4]  holds index             (zset)
-- ARGV[1]  request id
-- ARGV[2]  tombstone lifetime in ms (the sweeper: "0" for a failed request). An orphan's
--          request may still finish, later than its hold's expiry; its hold is kept with
--          nothing held for this long, so that a late settle still records its debit.
-- Returns the amount given back (0 when there was no hold).
redis.call('ZREM', KEYS[4], ARGV[1])
local held = redis.call('HGET', KEYS[1], 'a')
if not held then
  return 0
end
held = tonumber(held)
if held ~= 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('INCRBY', KEYS[2], held)
  end
  if redis.call('HGET', KEYS[1], 't') ~= '0' and redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('INCRBY', KEYS[3], held)
  end
end
local keep = tonumber(ARGV[2] or '0')
if keep > 0 then
  redis.call('HSET', KEYS[1], 'a', 0)
  redis.call('PEXPIRE', KEYS[1], keep)
else
  redis.call('DEL', KEYS[1])
end
return held
