"""The hopper's Lua scripts: each batch of leads costs one round trip to Redis.

Why Lua: a policy check needs, per lead, the lead itself, its state, its person's cross-campaign state,
the DNC and abandon-lock status of each of its numbers and every suppression that may cover it, which
is a dozen reads whose keys depend on the lead's own content. A script does them next to the data and
returns one reply per batch; the decision itself stays in Python (`dialer.policy`, pure and tested).

Scripts read keys they build from the lead (numbers, person), so they assume a single Redis instance,
not Redis Cluster. `GATHER` is shared text, pasted into each script that needs it.
"""

from __future__ import annotations

__all__ = ["FILL_PEEK", "GATHER_ONLY", "INSERT", "LOOKUP", "TAKE_POP"]

_GATHER = r"""
local function gather(P, C, cid, lid)
  local blob = redis.call('GET', C .. 'l:' .. lid)
  if not blob then return {lid, ''} end
  local p1 = string.find(blob, '\31', 1, true)
  local p2 = string.find(blob, '\31', p1 + 1, true)
  local p3 = string.find(blob, '\31', p2 + 1, true)
  local p4 = string.find(blob, '\31', p3 + 1, true)
  local nums = string.sub(blob, p1 + 1, p2 - 1)
  local person = string.sub(blob, p2 + 1, p3 - 1)
  local area = string.sub(blob, p3 + 1, p4 - 1)
  local sups = {}
  local function addsup(subject)
    local h = redis.call('HGETALL', P .. ':sup:' .. subject)
    for j = 1, #h do sups[#sups + 1] = h[j] end
  end
  addsup('lead:' .. cid .. ':' .. lid)
  addsup(person)
  if area ~= '' then addsup('area:' .. area) end
  local numinfo = {}
  for num in string.gmatch(nums, '[^,]+') do
    local d = redis.call('SISMEMBER', P .. ':dnc', num)
    if d == 0 then d = redis.call('SISMEMBER', C .. 'dnc', num) end
    numinfo[#numinfo + 1] = d
    numinfo[#numinfo + 1] = redis.call('ZSCORE', P .. ':ab', num) or ''
    if person ~= 'number:' .. num then addsup('number:' .. num) end
  end
  return {lid, blob, redis.call('HGETALL', C .. 's:' .. lid), redis.call('HGETALL', P .. ':p:' .. person),
          redis.call('SISMEMBER', P .. ':dncp', person), numinfo, sups}
end
"""

# KEYS: the zone-set queues to merge. ARGV: prefix, campaign prefix, campaign id, k, max score, chunk.
# Returns up to k rows {key index, gathered...} in ascending score across all queues (a k-way merge).
FILL_PEEK = (
    _GATHER
    + r"""
local P, C, cid = ARGV[1], ARGV[2], ARGV[3]
local k, maxs, chunk = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local buf, pos, off, done = {}, {}, {}, {}
local function load(i)
  buf[i] = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', maxs, 'WITHSCORES', 'LIMIT', off[i], chunk)
  off[i] = off[i] + chunk
  pos[i] = 1
  done[i] = #buf[i] < 2 * chunk
end
for i = 1, #KEYS do off[i] = 0; load(i) end
local out = {}
while #out < k do
  local best, bi = nil, nil
  for i = 1, #KEYS do
    if pos[i] > #buf[i] and not done[i] then load(i) end
    if pos[i] <= #buf[i] then
      local s = tonumber(buf[i][pos[i] + 1])
      if best == nil or s < best then best = s; bi = i end
    end
  end
  if bi == nil then break end
  local row = gather(P, C, cid, buf[bi][pos[bi]])
  table.insert(row, 1, bi)
  out[#out + 1] = row
  pos[bi] = pos[bi] + 2
end
return out
"""
)

# KEYS: callbacks, ready, in flight. ARGV: prefix, campaign prefix, campaign id, n, now.
# Moves due callbacks first, then the best of the ready queue, into "in flight" and gathers them.
# Row tag: 'c' for a callback, else the ready score (its band says fresh or retry).
TAKE_POP = (
    _GATHER
    + r"""
local P, C, cid, n, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local out = {}
local cbs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n)
for _, lid in ipairs(cbs) do
  redis.call('ZREM', KEYS[1], lid)
  redis.call('ZADD', KEYS[3], now, lid)
  local row = gather(P, C, cid, lid)
  table.insert(row, 1, 'c')
  out[#out + 1] = row
end
local rest = n - #cbs
if rest > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], rest)
  for j = 1, #popped, 2 do
    redis.call('ZADD', KEYS[3], now, popped[j])
    local row = gather(P, C, cid, popped[j])
    table.insert(row, 1, popped[j + 1])
    out[#out + 1] = row
  end
end
return out
"""
)

# ARGV: prefix, campaign prefix, campaign id, lead ids...
GATHER_ONLY = (
    _GATHER
    + r"""
local out = {}
for i = 4, #ARGV do out[#out + 1] = gather(ARGV[1], ARGV[2], ARGV[3], ARGV[i]) end
return out
"""
)

# ARGV: global dnc key, then per lead: lead key, number count, then per number:
#   nx key, nx field, seen key, seen field, base key, base field, number.
# Returns per lead {exists, {nx lead id per number}, {seen per number}, {base per number}, {dnc per number}}.
LOOKUP = r"""
local dnc = ARGV[1]
local i = 2
local out = {}
while i <= #ARGV do
  local exists = redis.call('EXISTS', ARGV[i])
  local nn = tonumber(ARGV[i + 1])
  i = i + 2
  local nx, seen, base, d = {}, {}, {}, {}
  for j = 1, nn do
    nx[j] = redis.call('HGET', ARGV[i], ARGV[i + 1]) or ''
    seen[j] = redis.call('HGET', ARGV[i + 2], ARGV[i + 3]) or ''
    base[j] = redis.call('HGET', ARGV[i + 4], ARGV[i + 5]) or ''
    d[j] = redis.call('SISMEMBER', dnc, ARGV[i + 6])
    i = i + 7
  end
  out[#out + 1] = {exists, nx, seen, base, d}
end
return out
"""

# ARGV: zone-set registry key, lead counter key, seen value, zone-set count, zone sets...,
# then per lead: lead key, blob, fresh queue key, score, lead id, number count, then per number:
#   nx key, nx field, seen key, seen field.
# Writes only leads whose key does not exist yet (SET NX); returns how many were written.
INSERT = r"""
local zk, nkey, seenval = ARGV[1], ARGV[2], ARGV[3]
local nz = tonumber(ARGV[4])
for j = 1, nz do redis.call('SADD', zk, ARGV[4 + j]) end
local i = 5 + nz
local added = 0
while i <= #ARGV do
  local lkey, blob, fkey, score, lid = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local nn = tonumber(ARGV[i + 5])
  i = i + 6
  local fresh = redis.call('SET', lkey, blob, 'NX')
  if fresh then
    redis.call('ZADD', fkey, score, lid)
    added = added + 1
  end
  for j = 1, nn do
    if fresh then redis.call('HSET', ARGV[i], ARGV[i + 1], lid) end
    redis.call('HSET', ARGV[i + 2], ARGV[i + 3], seenval)
    i = i + 4
  end
end
redis.call('INCRBY', nkey, added)
return added
"""
