-- Adjust: add a delta to a loaded balance and queue it for the database, in one step.
-- Admin quota edits, redemptions and refunds use this instead of writing whole values.
--
-- KEYS[1]  balance                 (user or token)
-- KEYS[2]  debit stream
-- ARGV[1]  delta (may be negative)
-- ARGV[2]  "user" or "token"
-- ARGV[3]  user or token id
-- ARGV[4]  entry id (unique; makes the database write idempotent)
-- Returns {1, new balance} or {-1, "load"} when the balance is not loaded yet.
local value = redis.call('GET', KEYS[1])
if not value then
  return {-1, 'load'}
end
local balance = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
redis.call('XADD', KEYS[2], '*', 'k', 'adjust', 'id', ARGV[4], 'kind', ARGV[2], 'who', ARGV[3], 'delta', ARGV[1])
return {1, balance}
