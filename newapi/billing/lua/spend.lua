-- Spend: settle a request that a worker admitted against its credit (credit.lua).
-- The cost comes out of the credit block; what the block lacks comes out of the balances.
-- Spends of one block carry increasing sequence numbers, sent in order: one at or below the
-- block's last applied number was applied already (a retry after a lost reply) and changes
-- nothing.
--
-- KEYS[1]  credit hold             (hash written by credit.lua; may be gone once swept)
-- KEYS[2]  user balance
-- KEYS[3]  token balance           (ignored when ARGV[3] == "0")
-- KEYS[4]  debit stream
-- ARGV[1]  request id
-- ARGV[2]  cost (quota; negative values are treated as 0: a relay call never credits)
-- ARGV[3]  token id ("0" for an unlimited token)
-- ARGV[4]  debit record (JSON array, as settle.lua)
-- ARGV[5]  sequence number of this spend within the block
-- Returns the stream's length once the debit is recorded (the worker watches the backlog
-- through it), 0 when this spend was applied before.
local seq = tonumber(ARGV[5])
local block = redis.call('HMGET', KEYS[1], 'a', 's')
local held = 0
if block[1] then
  if seq <= tonumber(block[2] or '0') then
    return 0
  end
  held = tonumber(block[1])
end
local cost = tonumber(ARGV[2])
if cost < 0 then
  cost = 0
end
local from_block = math.min(held, cost)
if block[1] then
  redis.call('HSET', KEYS[1], 'a', held - from_block, 's', seq)
end
local excess = cost - from_block
if excess > 0 then
  -- An unloaded balance is left alone: it is read from the database after the flush.
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('DECRBY', KEYS[2], excess)
  end
  if ARGV[3] ~= '0' and redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('DECRBY', KEYS[3], excess)
  end
end
redis.call('XADD', KEYS[4], '*', 'k', 'debit', 'id', ARGV[1], 'r', ARGV[4])
return redis.call('XLEN', KEYS[4])
