-- Settle: replace a request's hold by its real cost and queue the debit for the database.
-- A second settle of the same request id changes nothing.
--
-- KEYS[1]  hold                    (hash written by reserve.lua; may be gone if swept)
-- KEYS[2]  user balance
-- KEYS[3]  token balance           (ignored when ARGV[4] == "0")
-- KEYS[4]  holds index             (zset)
-- KEYS[5]  settled marker          (string; its presence makes this a no-op)
-- KEYS[6]  debit stream
-- ARGV[1]  request id
-- ARGV[2]  cost (quota; negative values are treated as 0: a relay call never credits)
-- ARGV[3]  user id
-- ARGV[4]  token id ("0" for an unlimited token)
-- ARGV[5]  debit record (JSON: the consume log row and its counters)
-- ARGV[6]  seconds to remember the settled marker
-- Returns 1 when the debit was recorded, 0 when it was already settled.
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 0
end
local cost = tonumber(ARGV[2])
if cost < 0 then
  cost = 0
end
local limited = ARGV[4] ~= '0'
local held = redis.call('HGET', KEYS[1], 'a')
if held then
  held = tonumber(held)
  redis.call('INCRBY', KEYS[2], held)
  if limited then
    redis.call('INCRBY', KEYS[3], held)
  end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
if cost > 0 then
  -- Balances are only debited when loaded; an unloaded one is read from the
  -- database later, after the flusher has applied this very debit.
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('DECRBY', KEYS[2], cost)
  end
  if limited and redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('DECRBY', KEYS[3], cost)
  end
end
redis.call('XADD', KEYS[6], '*', 'k', 'debit', 'id', ARGV[1], 'd', ARGV[5])
redis.call('SET', KEYS[5], '1', 'EX', tonumber(ARGV[6]))
return 1
