-- Ack: after the database commit, drop a flushed batch from the stream and from the backlog
-- counter in one step (so the counter never drifts from what the stream still holds).
--
-- KEYS[1]  debit stream
-- KEYS[2]  backlog counter
-- ARGV[1]  consumer group
-- ARGV[2]  settlements in these entries (what settle.lua added to the counter for them)
-- ARGV[3..] stream entry ids
-- Returns the backlog counter after the ack.
local ids = {}
for i = 3, #ARGV do
  ids[#ids + 1] = ARGV[i]
end
if #ids > 0 then
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
  redis.call('XDEL', KEYS[1], unpack(ids))
end
local left = redis.call('DECRBY', KEYS[2], tonumber(ARGV[2]))
if left < 0 then
  redis.call('SET', KEYS[2], 0)
  left = 0
end
return left
