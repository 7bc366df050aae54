-- Settle a batch: the settlements, credit spends and releases that a worker gathered over a
-- few milliseconds, in one script call and one stream entry. Redis then does per request
-- only the balance arithmetic; the call, the XADD and the counter are paid once per batch,
-- and the spends of one credit block arrive merged, so a busy key costs one item a batch.
--
-- KEYS[1]  holds index             (zset)
-- KEYS[2]  debit stream
-- KEYS[3]  backlog counter         (settlements in the stream not yet flushed; reserve.lua
--                                   and credit.lua refuse work above their bound)
-- KEYS[3i+1], KEYS[3i+2], KEYS[3i+3] for item i = 1..n:
--          the item's hold (a request's own, or the credit block's for a spend),
--          its user balance, its token balance
-- ARGV[1]  n, the number of items
-- ARGV[7i-5 .. 7i+1] for item i = 1..n:
--          kind     "s" settle a request's hold | "p" spends from a credit block | "r" release
--          request id (a spend's first request)
--          cost     (quota, the spends' total; negative values count as 0: a relay call never
--                   credits)
--          token    ("0" for an unlimited token)
--          first    (the first spend's sequence number within its block; "0" otherwise)
--          last     (the last spend's: a "p" item carries the spends first..last, one each)
--          records  (the debit records, JSON arrays joined by commas; "" for a release)
-- Every item is idempotent: a settle or release finds no hold the second time (settle
-- deletes it); spends at or below their block's last applied sequence are skipped (a worker
-- sends a block's spends in order and never splits an item it sent once).
-- Returns the backlog counter after the batch.
local n = tonumber(ARGV[1])
local records = {}
local settled = 0

local function adjust(key, delta)
  -- A balance that is not loaded is left alone: it is read from the database later,
  -- after the flusher has applied these debits.
  if delta ~= 0 and redis.call('EXISTS', key) == 1 then
    redis.call('INCRBY', key, delta)
  end
end

for i = 1, n do
  local a = 7 * i - 5
  local kind, id, token, record = ARGV[a], ARGV[a + 1], ARGV[a + 3], ARGV[a + 6]
  local cost = tonumber(ARGV[a + 2])
  if cost < 0 then
    cost = 0
  end
  local hold, user, tok = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  local limited = token ~= '0'
  if kind == 'p' then
    local first, last = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
    local block = redis.call('HMGET', hold, 'a', 's')
    local held = 0
    local fresh = true
    if block[1] then
      fresh = first > tonumber(block[2] or '0')
      held = tonumber(block[1])
    end
    if fresh then
      local from_block = math.min(held, cost)
      if block[1] then
        redis.call('HSET', hold, 'a', held - from_block, 's', last)
      end
      adjust(user, from_block - cost)
      if limited then
        adjust(tok, from_block - cost)
      end
      records[#records + 1] = record
      settled = settled + last - first + 1
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
        settled = settled + 1
      end
    end
    redis.call('ZREM', KEYS[1], id)
  end
end

if #records > 0 then
  redis.call('XADD', KEYS[2], '*', 'k', 'debits', 'r', '[' .. table.concat(records, ',') .. ']')
  return redis.call('INCRBY', KEYS[3], settled)
end
return tonumber(redis.call('GET', KEYS[3]) or '0')
