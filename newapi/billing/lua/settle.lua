-- Settle a batch: the settlements, credit spends and releases that a worker gathered over a
-- few milliseconds, in one script call and one stream entry. Redis then does per request
-- only the balance arithmetic; the call, the XADD and the counter are paid once per batch.
--
-- KEYS[1]  holds index             (zset)
-- KEYS[2]  debit stream
-- KEYS[3]  backlog counter         (settlements in the stream not yet flushed; reserve.lua
--                                   and credit.lua refuse work above their bound)
-- KEYS[3i+1], KEYS[3i+2], KEYS[3i+3] for item i = 1..n:
--          the item's hold (a request's own, or the credit block's for a spend),
--          its user balance, its token balance
-- ARGV[1]  n, the number of items
-- ARGV[6i-4 .. 6i+1] for item i = 1..n:
--          kind     "s" settle a request's hold | "p" spend from a credit block | "r" release
--          request id
--          cost     (quota; negative values count as 0: a relay call never credits)
--          token    ("0" for an unlimited token)
--          sequence (a spend's number within its block; "0" otherwise)
--          record   (the debit record, a JSON array; "" for a release)
-- Every item is idempotent: a settle or release finds no hold the second time (settle
-- deletes it); a spend at or below its block's last applied sequence is skipped.
-- Returns the backlog counter after the batch.
local n = tonumber(ARGV[1])
local records = {}

local function adjust(key, delta)
  -- A balance that is not loaded is left alone: it is read from the database later,
  -- after the flusher has applied these debits.
  if delta ~= 0 and redis.call('EXISTS', key) == 1 then
    redis.call('INCRBY', key, delta)
  end
end

for i = 1, n do
  local a = 6 * i - 4
  local kind, id, token, record = ARGV[a], ARGV[a + 1], ARGV[a + 3], ARGV[a + 5]
  local cost = tonumber(ARGV[a + 2])
  if cost < 0 then
    cost = 0
  end
  local hold, user, tok = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  local limited = token ~= '0'
  if kind == 'p' then
    local seq = tonumber(ARGV[a + 4])
    local block = redis.call('HMGET', hold, 'a', 's')
    local held = 0
    local fresh = true
    if block[1] then
      fresh = seq > tonumber(block[2] or '0')
      held = tonumber(block[1])
    end
    if fresh then
      local from_block = math.min(held, cost)
      if block[1] then
        redis.call('HSET', hold, 'a', held - from_block, 's', seq)
      end
      adjust(user, from_block - cost)
      if limited then
        adjust(tok, from_block - cost)
      end
      records[#records + 1] = record
    end
  else
    local held = redis.call('HGET', hold, 'a')
    if held then
      held = tonumber(held)
      if kind == 'r' then
        cost = 0
      end
      adjust(user, held - cost)
      if redis.call('HGET', hold, 't') ~= '0' then
        adjust(tok, held - cost)
      end
      redis.call('DEL', hold)
      if kind == 's' then
        records[#records + 1] = record
      end
    end
    redis.call('ZREM', KEYS[1], id)
  end
end

if #records > 0 then
  redis.call('XADD', KEYS[2], '*', 'k', 'debits', 'r', '[' .. table.concat(records, ',') .. ']')
  return redis.call('INCRBY', KEYS[3], #records)
end
return tonumber(redis.call('GET', KEYS[3]) or '0')
