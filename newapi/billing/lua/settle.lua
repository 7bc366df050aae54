-- Settle: replace a request's hold by its real cost and queue the debit for the database.
-- The hold is the settlement's idempotency key: settle deletes it, so a second settle of the
-- same request id finds none and changes nothing (no per-request marker is kept).
--
-- KEYS[1]  hold                    (hash written by reserve.lua; "a" is 0 after the sweeper
--                                   released an orphan, which leaves it as a tombstone)
-- KEYS[2]  user balance
-- KEYS[3]  token balance           (ignored when ARGV[3] == "0")
-- KEYS[4]  holds index             (zset)
-- KEYS[5]  debit stream
-- ARGV[1]  request id
-- ARGV[2]  cost (quota; negative values are treated as 0: a relay call never credits)
-- ARGV[3]  token id ("0" for an unlimited token)
-- ARGV[4]  debit record (JSON array: the consume-log row, then the log and unlimited flags)
-- Returns the stream's length once the debit is recorded (the worker watches the backlog
-- through it), 0 when there was no hold (already settled or released).
local held = redis.call('HGET', KEYS[1], 'a')
if not held then
  return 0
end
local cost = tonumber(ARGV[2])
if cost < 0 then
  cost = 0
end
-- The hold comes back and the cost goes out in one write. A balance that is not loaded is
-- left alone: it is read from the database later, after the flusher has applied this debit.
local delta = tonumber(held) - cost
if delta ~= 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('INCRBY', KEYS[2], delta)
  end
  if ARGV[3] ~= '0' and redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('INCRBY', KEYS[3], delta)
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], '*', 'k', 'debit', 'id', ARGV[1], 'r', ARGV[4])
return redis.call('XLEN', KEYS[5])
