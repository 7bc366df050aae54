-- Credit: hold a block of quota for one worker, which then admits requests against it
-- without a round trip each. The block is an ordinary hold (the sweeper releases it if the
-- worker dies); a second call tops it up. It is only granted out of a balance at least
-- four times the block, so small balances keep exact per-request reservations.
--
-- KEYS[1]  credit hold             (hash: u, t, a, s = last applied spend sequence, w = worker)
-- KEYS[2]  user balance
-- KEYS[3]  token balance           (ignored when ARGV[4] == "0")
-- KEYS[4]  holds index             (zset: hold id -> expiry, ms)
-- KEYS[5]  backlog counter         (settlements in the stream not yet flushed)
-- ARGV[1]  credit id
-- ARGV[2]  amount to add to the block (> 0)
-- ARGV[3]  user id
-- ARGV[4]  token id ("0" when the token is unlimited)
-- ARGV[5]  expiry of a new block, unix ms
-- ARGV[6]  maximum backlog of unflushed settlements
-- ARGV[7]  the worker holding it
-- Returns {1, amount held in the block} | {0, "user" | "token" | "backlog" | "unloaded"}
local amount = tonumber(ARGV[2])
local user = redis.call('GET', KEYS[2])
if not user then
  return {0, 'unloaded'}
end
local limited = ARGV[4] ~= '0'
local token = nil
if limited then
  token = redis.call('GET', KEYS[3])
  if not token then
    return {0, 'unloaded'}
  end
end
if tonumber(redis.call('GET', KEYS[5]) or '0') > tonumber(ARGV[6]) then
  return {0, 'backlog'}
end
if tonumber(user) < 4 * amount then
  return {0, 'user'}
end
if limited and tonumber(token) < 4 * amount then
  return {0, 'token'}
end
redis.call('DECRBY', KEYS[2], amount)
if limited then
  redis.call('DECRBY', KEYS[3], amount)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'u', ARGV[3], 't', ARGV[4], 'a', 0, 's', 0, 'w', ARGV[7])
  redis.call('ZADD', KEYS[4], tonumber(ARGV[5]), ARGV[1])
end
return {1, redis.call('HINCRBY', KEYS[1], 'a', amount)}
