-- Fleet mode's lease exchange (cluster/fleet.h), run atomically by Redis for one node.
-- ARGV: prefix, node, lease ttl (ms), claim count, then five words per claim:
--   key (a destination), holder (node/shard), limit (connections; -1 = none), want, held.
-- Keys: PREFIX:nodes, a sorted set of live nodes scored by the time their lease ends;
--   PREFIX:lease:KEY, a hash of holder -> "grant held want node".
-- Returns: { live nodes, then per claim: connections granted, holders sharing the key }.
-- Invariant: over a key's holders, the sum of max(grant, held) never exceeds its limit. A grant
-- only grows into what no other holder has granted or still holds; it shrinks to the holder's
-- fair share (water-filling over every holder's want) when others want more, and the holder
-- then closes connections down to it, which the next exchange sees as its held count.
local prefix, node, ttl, count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local nodes = prefix .. ':nodes'
redis.call('ZADD', nodes, now + ttl, node)
redis.call('ZREMRANGEBYSCORE', nodes, '-inf', now)
local out = { redis.call('ZCARD', nodes) }

-- This holder's share of `limit` when every holder in `wants` ({holder, want}) gets at most
-- what it wants and the rest is split evenly; remainders go to the holders last in name order.
local function fair_share(limit, wants, holder)
  table.sort(wants, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  local remaining = limit
  for i, entry in ipairs(wants) do
    local share = math.min(entry[2], math.floor(remaining / (#wants - i + 1)))
    if entry[1] == holder then return share end
    remaining = remaining - share
  end
  return 0
end

for i = 0, count - 1 do
  local at = 5 + i * 5
  local key, holder = prefix .. ':lease:' .. ARGV[at], ARGV[at + 1]
  local limit, want, held = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4])
  local entries = redis.call('HGETALL', key)
  local used, holders, wants = 0, 0, { { holder, want } }
  for j = 1, #entries, 2 do
    local other = entries[j]
    if other ~= holder then
      local grant, other_held, other_want, owner =
        string.match(entries[j + 1], '^(%d+) (%d+) (%d+) (.+)$')
      if owner == nil or not redis.call('ZSCORE', nodes, owner) then
        redis.call('HDEL', key, other)  -- its node's lease ended: its share is free
      else
        grant, other_held, other_want = tonumber(grant), tonumber(other_held), tonumber(other_want)
        used = used + math.max(grant, other_held)
        if other_want > 0 or other_held > 0 then holders = holders + 1 end
        table.insert(wants, { other, other_want })
      end
    end
  end
  local grant = want
  if limit >= 0 then
    grant = math.max(0, math.min(want, fair_share(limit, wants, holder), limit - used))
  end
  -- Until its next claim the holder may still use the grant before this one (it may not have
  -- heard of this one yet): that counts as held.
  local before = redis.call('HGET', key, holder)
  if before then held = math.max(held, tonumber(string.match(before, '^(%d+)')) or 0) end
  if want > 0 or held > 0 then
    holders = holders + 1
    redis.call('HSET', key, holder, grant .. ' ' .. held .. ' ' .. want .. ' ' .. node)
    redis.call('PEXPIRE', key, ttl * 4)
  else
    redis.call('HDEL', key, holder)
  end
  table.insert(out, grant)
  table.insert(out, math.max(holders, 1))
end
return out
