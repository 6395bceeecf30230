"""The hopper's Lua scripts: each batch of leads costs one round trip to Redis.

Why Lua: a policy check needs, per lead, the lead itself, its state, its person's cross-campaign state,
the DNC and abandon-lock status of each of its numbers and every suppression that may cover it: reads
whose keys depend on the lead's own content. A script does them next to the data and returns one reply
per batch; the decision itself stays in Python (`dialer.policy`, pure and tested).

Cost per lead is kept to a handful of Redis calls: multi-member commands (SMISMEMBER, ZMSCORE) cover
all numbers at once, a set of suppressed subjects (`supk`) is asked once per lead and the suppression
hashes are read only for its hits, and the DNC/lock/suppression reads are skipped entirely while those
lists are empty (checked once per script run). The operator's subscriber base is asked once per number
(one HGET: it is keyed by number, in buckets), and the person hash of a subscriber it names is read only
when that is not the lead's own person (a list without the account column, or with another account).

Replies are flat strings, one per lead: fields joined by GS (\\x1d), items inside a field by FS
(\\x1c); a batch payload sent to a script is records joined by RS (\\x1e). One bulk string per lead
parses in microseconds in Python, where nested arrays cost a dozen parser calls per lead. Stored values
never contain these separators (see `views.clean`).

Scripts build keys from the lead's content (numbers, person) with the layout of `keys.py`, so they
assume a single Redis instance, not Redis Cluster.
"""

from __future__ import annotations

from dialer.hopper.views import S
from dialer.policy.types import Block

__all__ = [
    "DUE_OWN",
    "FILL_PEEK",
    "GATHER_ONLY",
    "IMPORT",
    "INDEX_CALLBACKS",
    "LIST_OWN",
    "MOVE_ONE",
    "NOTE_CALLS",
    "NUMBER_CHECK",
    "REASSIGN_OWN",
    "TAKE_MANUAL",
    "TAKE_OWN",
    "TAKE_POP",
]

_GATHER = r"""
local GS, FS = '\29', '\28'
local P, C, cid = ARGV[1], ARGV[2], ARGV[3]
local BASE = P .. ':base:'
local has_cdnc = redis.call('SCARD', C .. 'dnc') > 0
local has_dnc = redis.call('SCARD', P .. ':dnc') > 0
local has_ab = redis.call('ZCARD', P .. ':ab') > 0
local has_sup = redis.call('SCARD', P .. ':supk') > 0
local has_dncp = redis.call('SCARD', P .. ':dncp') > 0
local has_bcp = redis.call('SCARD', P .. ':bcp') > 0

-- A multi-member command over any number of members (Lua's unpack is limited to a few thousand).
local function mcall(cmd, key, items)
  local out = {}
  for i = 1, #items, 4000 do
    local part = redis.call(cmd, key, unpack(items, i, math.min(i + 3999, #items)))
    for j = 1, #part do out[#out + 1] = part[j] end
  end
  return out
end

-- The subscribers the operator's base lists for the numbers nums[n0..n1] (`base:<bucket>`, keyed by number as
-- `keys.bucket` splits it), as persons (`subscriber:<id>`), each once, the lead's own `person` left out: the same
-- person as the lead's, whatever key its list gave it. An id with a control character would break the reply's
-- separators: it names no person here.
local function base_persons(person, nums, n0, n1)
  local out = {}
  for j = n0, n1 do
    local num = nums[j]
    local sub = redis.call('HGET', BASE .. string.sub(num, -6), string.sub(num, 2, -7))
    if sub then
      local bp = 'subscriber:' .. sub
      if bp ~= person and not string.find(sub, '%c') then
        local seen = false
        for _, x in ipairs(out) do seen = seen or x == bp end
        if not seen then out[#out + 1] = bp end
      end
    end
  end
  return out
end

-- Everything the policy needs about each lead, one reply string per lead: lead id, stored lead, state,
-- person state, per number (DNC, lock end), suppressions, '1' when a `number:<e164>` person of one of its
-- numbers, or a subscriber the base lists for one of them, asked not to be called (else ''), per number the
-- contact fields (bc, m, mc) of its `number:<e164>` person when that is not the lead's person and has any (set
-- `bcp`), else empty ones, and per subscriber the base lists for its numbers (`base_persons`) the person and
-- its contact fields (bc, m, mc). Multi-member reads (DNC, locks, suppressed subjects, those number persons)
-- are done once for the whole batch; a number person's hash is read only when `bcp` lists it, a base person's
-- always (a subscriber's contacts are written on it, not listed).
local function gather_many(lids)
  local recs, nums, subjects = {}, {}, {}
  for _, lid in ipairs(lids) do
    local blob = redis.call('GET', C .. 'l:' .. lid)
    local r = {lid = lid, blob = blob}
    recs[#recs + 1] = r
    if blob then
      local p1 = string.find(blob, '\31', 1, true)
      local p2 = string.find(blob, '\31', p1 + 1, true)
      local p3 = string.find(blob, '\31', p2 + 1, true)
      local p4 = string.find(blob, '\31', p3 + 1, true)
      local person = string.sub(blob, p2 + 1, p3 - 1)
      local area = string.sub(blob, p3 + 1, p4 - 1)
      r.pk = person
      r.state = table.concat(redis.call('HGETALL', C .. 's:' .. lid), FS)
      r.person = table.concat(redis.call('HGETALL', P .. ':p:' .. person), FS)
      r.n0 = #nums + 1
      for num in string.gmatch(string.sub(blob, p1 + 1, p2 - 1), '[^,]+') do nums[#nums + 1] = num end
      r.n1 = #nums
      r.bp = base_persons(person, nums, r.n0, r.n1)
      if has_sup then
        r.s0 = #subjects + 1
        subjects[#subjects + 1] = 'lead:' .. cid .. ':' .. lid
        subjects[#subjects + 1] = person
        if area ~= '' then subjects[#subjects + 1] = 'area:' .. area end
        for j = r.n0, r.n1 do
          if person ~= 'number:' .. nums[j] then subjects[#subjects + 1] = 'number:' .. nums[j] end
        end
        for _, bp in ipairs(r.bp) do subjects[#subjects + 1] = bp end
        r.s1 = #subjects
      end
    end
  end
  local dnc, cdnc, locks, hit = {}, {}, {}, {}
  if has_dnc and #nums > 0 then dnc = mcall('SMISMEMBER', P .. ':dnc', nums) end
  if has_cdnc and #nums > 0 then cdnc = mcall('SMISMEMBER', C .. 'dnc', nums) end
  if has_ab and #nums > 0 then locks = mcall('ZMSCORE', P .. ':ab', nums) end
  if has_sup and #subjects > 0 then hit = mcall('SMISMEMBER', P .. ':supk', subjects) end
  -- A person known by one of the lead's numbers (`number:<e164>`) who asked not to be called is the lead's
  -- person too, whatever key the lead has now (a later import may have named the subscriber account).
  local marked, contacted, pkeys = {}, {}, {}
  if (has_dncp or has_bcp) and #nums > 0 then
    for j = 1, #nums do pkeys[j] = 'number:' .. nums[j] end
  end
  if has_dncp and #nums > 0 then marked = mcall('SMISMEMBER', P .. ':dncp', pkeys) end
  -- A contact is written on the person of each of its lead's numbers too (`number:<e164>`, listed in `bcp`):
  -- a lead with another key for the same person (an import without the account column) reads it there.
  if has_bcp and #nums > 0 then contacted = mcall('SMISMEMBER', P .. ':bcp', pkeys) end
  local out = {}
  for _, r in ipairs(recs) do
    if not r.blob then
      out[#out + 1] = r.lid .. GS
    else
      local numinfo, pdnc, npc = {}, '', {}
      for j = r.n0, r.n1 do
        local d = 0
        if dnc[j] == 1 or cdnc[j] == 1 then d = 1 end
        numinfo[#numinfo + 1] = d
        numinfo[#numinfo + 1] = locks[j] or ''
        if marked[j] == 1 then pdnc = '1' end
        local got = nil
        if contacted[j] == 1 and pkeys[j] ~= r.pk then
          got = redis.call('HMGET', P .. ':p:' .. pkeys[j], 'bc', 'm', 'mc')
        end
        for x = 1, 3 do npc[#npc + 1] = (got and got[x]) or '' end
      end
      local bpc = {}
      for _, bp in ipairs(r.bp) do
        local got = redis.call('HMGET', P .. ':p:' .. bp, 'dnc', 'bc', 'm', 'mc')
        if got[1] == '1' then pdnc = '1' end
        bpc[#bpc + 1] = bp
        for x = 2, 4 do bpc[#bpc + 1] = got[x] or '' end
      end
      local sups = {}
      if has_sup then
        for j = r.s0, r.s1 do
          if hit[j] == 1 then
            local h = redis.call('HGETALL', P .. ':sup:' .. subjects[j])
            for x = 1, #h do sups[#sups + 1] = h[x] end
          end
        end
      end
      out[#out + 1] = table.concat({r.lid, r.blob, r.state, r.person, table.concat(numinfo, FS),
        table.concat(sups, FS), pdnc, table.concat(npc, FS), table.concat(bpc, FS)}, GS)
    end
  end
  return out
end
"""

_LIST_PAUSED = str(Block.LIST_PAUSED)  # a deferral for this reason also parks the lead
_MAX_ATTEMPTS = str(Block.MAX_ATTEMPTS)  # a finish for this reason also lists the lead in `capped` (recycle)

_SPLIT = r"""
local function split(s, sep)
  local out, i = {}, 1
  while true do
    local j = string.find(s, sep, i, true)
    if not j then out[#out + 1] = string.sub(s, i); return out end
    out[#out + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end
"""

# KEYS: the zone-set queues to merge. ARGV: prefix, campaign prefix, campaign id, k, max score, chunk,
# ready-sequence key, decisions. First applies the decisions the hopper took on the previous batch
# (records RS, fields GS; state fields "w" and "fn" as in views.S):
#   r GS lead GS source queue GS ready score GS old reason    -> to the ready queue
#   d GS lead GS source queue GS due queue GS time GS reason GS old reason  -> deferred (parked too when
#     the reason is that its lists are paused: see Hopper.resume_list)
#   f GS lead GS source queue GS reason GS old reason GS lstats field ('' : none) GS due queue  -> finished (only
#     dropped from the queue when finished already; listed in `capped` too when the reason is the attempt cap;
#     a lead with a follow-up waiting in its state, field fu, starts afresh in the due queue at its time instead,
#     as `Hopper._finish` does)
#   x GS lead GS source queue                                 -> dropped (the lead no longer exists)
# then returns up to k strings "key index GS gathered" in ascending score across all the queues (a
# k-way merge), with the last of as many reserved ready-queue sequence numbers first.
FILL_PEEK = (
    _GATHER
    + _SPLIT
    + r"""
local function apply(payload)
  if payload == '' then return end
  for _, rec in ipairs(split(payload, '\30')) do
    local f = split(rec, '\29')
    local op, lid, src = f[1], f[2], f[3]
    local st = C .. 's:' .. lid
    if op == 'r' then
      redis.call('ZREM', src, lid)
      redis.call('ZADD', C .. 'r', f[4], lid)
      if f[5] ~= '' then
        redis.call('HDEL', st, 'w')
        redis.call('HINCRBY', C .. 'why', f[5], -1)
      end
    elseif op == 'd' then
      if src ~= f[4] then redis.call('ZREM', src, lid) end
      redis.call('ZADD', f[4], f[5], lid)
      if f[6] ~= f[7] then
        if f[7] ~= '' then redis.call('HINCRBY', C .. 'why', f[7], -1) end
        redis.call('HINCRBY', C .. 'why', f[6], 1)
        redis.call('HSET', st, 'w', f[6])
      end
      if f[6] == '""" + _LIST_PAUSED + r"""' then redis.call('SADD', C .. 'parked', lid) end
    elseif op == 'x' then
      redis.call('ZREM', src, lid)
    elseif redis.call('HEXISTS', st, 'fn') == 1 then
      redis.call('ZREM', src, lid)  -- finished meanwhile: done once, for its own reason
    elseif redis.call('HEXISTS', st, '""" + S.FOLLOW_UP + r"""') == 1 and f[7] ~= nil then
      local at = redis.call('HGET', st, '""" + S.FOLLOW_UP + r"""')
      redis.call('ZREM', src, lid)
      if f[5] ~= '' then redis.call('HINCRBY', C .. 'why', f[5], -1) end
      redis.call('DEL', st)
      redis.call('ZADD', f[7], at, lid)  -- the source queue's zone set, listed in `zk` already
    else
      redis.call('ZREM', src, lid)
      if f[5] ~= '' then
        redis.call('HDEL', st, 'w')
        redis.call('HINCRBY', C .. 'why', f[5], -1)
      end
      redis.call('HSET', st, 'fn', f[4])
      redis.call('HINCRBY', C .. 'fin', f[4], 1)
      if f[4] == '""" + _MAX_ATTEMPTS + r"""' then redis.call('SADD', C .. 'capped', lid) end
      if f[6] ~= nil and f[6] ~= '' then redis.call('HINCRBY', C .. 'lstats', f[6], 1) end
    end
  end
end
apply(ARGV[8])
local k, maxs, chunk = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local buf, pos, off, done, head = {}, {}, {}, {}, {}
local function load(i)
  buf[i] = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', maxs, 'WITHSCORES', 'LIMIT', off[i], chunk)
  off[i] = off[i] + chunk
  pos[i] = 1
  done[i] = #buf[i] < 2 * chunk
end
local function advance(i)
  if pos[i] > #buf[i] and not done[i] then load(i) end
  if pos[i] <= #buf[i] then head[i] = tonumber(buf[i][pos[i] + 1]) else head[i] = nil end
end
for i = 1, #KEYS do off[i] = 0; load(i); advance(i) end
local lids, idx = {}, {}
while #lids < k do
  local best, bi = nil, nil
  for i = 1, #KEYS do
    local h = head[i]
    if h ~= nil and (best == nil or h < best) then best = h; bi = i end
  end
  if bi == nil then break end
  lids[#lids + 1] = buf[bi][pos[bi]]
  idx[#idx + 1] = bi
  pos[bi] = pos[bi] + 2
  advance(bi)
end
local out = {0}
if #lids > 0 then
  out[1] = redis.call('INCRBY', ARGV[7], #lids)
  local got = gather_many(lids)
  for j = 1, #got do out[j + 1] = idx[j] .. GS .. got[j] end
end
return out
"""
)

# How many due callbacks a take looks through for ones it may hand out (others are kept for their agent).
_SCAN = 1000

# The callbacks for anyone (no agent kept them) are also indexed: `<campaign prefix>cba`, scored by the same
# time as in the callbacks set, so that a take whose scan of the due callbacks is full of ones kept for agents
# (away, and kept for them for ever or for `personal_callback_wait_s`) still finds the ones for anyone behind
# them. Like the per-agent index it is a hint, added where a callback for anyone is scheduled, moved or handed
# to anyone, and checked by its reader against the callbacks set and the lead's state (no cbag): stale entries
# are dropped there. Those scheduled before the index existed are added once per campaign (INDEX_CALLBACKS).
_ANY = r"""
-- Up to `limit` due callbacks for anyone from the index, with their time in the callbacks set; stale entries
-- (gone from the callbacks, or kept for an agent since) leave the index.
local function any_due(C, cb, now, limit)
  local out = {}
  local got = redis.call('ZRANGEBYSCORE', C .. 'cba', '-inf', now, 'LIMIT', 0, limit)
  for _, lid in ipairs(got) do
    local at = redis.call('ZSCORE', cb, lid)
    local owner = redis.call('HGET', C .. 's:' .. lid, 'cbag')
    if not at or (owner and owner ~= '') then
      redis.call('ZREM', C .. 'cba', lid)
    else
      out[#out + 1] = {lid, tonumber(at)}
    end
  end
  return out
end
"""

# Callbacks kept for an agent are also indexed per agent: `<campaign prefix>cbo:<agent>`, scored by the
# same time as in the callbacks set. The index is a hint, kept up where a callback is scheduled, moved or
# taken: a reader checks each entry against the callbacks set and the lead's state (field cbag), drops
# the stale ones (done, taken by anyone after the wait, moved) and corrects a score that moved.
_OWN = r"""
local function own_key(C, agent) return C .. 'cbo:' .. agent end

-- The entries of an agent's index up to `upto` ('+inf': all) that are still theirs, by time: {lead id, its
-- time as Redis wrote it (full precision), that time as a number}.
local function own_entries(C, cb, agent, upto)
  local ix = own_key(C, agent)
  local out = {}
  local got = redis.call('ZRANGEBYSCORE', ix, '-inf', upto, 'WITHSCORES')
  for j = 1, #got, 2 do
    local lid = got[j]
    local at = redis.call('ZSCORE', cb, lid)
    if not at or redis.call('HGET', C .. 's:' .. lid, 'cbag') ~= agent then
      redis.call('ZREM', ix, lid)
    else
      if at ~= got[j + 1] then redis.call('ZADD', ix, at, lid) end
      out[#out + 1] = {lid, at, tonumber(at)}
    end
  end
  table.sort(out, function(a, b) return a[3] < b[3] or (a[3] == b[3] and a[1] < b[1]) end)
  return out
end
"""

# Every callback kept for an agent (state field cbag) is also in `<campaign prefix>cbk`, by the same time as in the
# callbacks set. Not a hint: each write that schedules, takes, moves, finishes or hands a callback to anyone keeps
# it, in the same script or batch (here, `results.write_plan`, `Hopper._release` and `give_back`,
# `subscriber_dnc`), so the status counts the ones waiting for their agent with one ZCOUNT. Those scheduled before
# it existed are added once per campaign (INDEX_CALLBACKS).

# Whether a due callback is still kept for its agent: its state names one (field cbag) and it is less than
# `wait` s past its time `at` (wait < 0: kept for ever). Returns that, and the agent (nil: anyone's). TAKE_POP
# and `Hopper.status` (its count of the kept index `cbk` in the window of `wait`) must agree on it: one takes
# what the other does not count.
_KEPT = r"""
local function kept(C, lid, at, now, wait)
  local owner = redis.call('HGET', C .. 's:' .. lid, 'cbag')
  if not owner or owner == '' then return false, nil end
  return wait < 0 or at + wait > now, owner
end
"""

# A number out being dialed is marked, across the campaigns that share the prefix: `<prefix>:out:<e164>` holds
# "<campaign>\31<lead>" of the take that has it, with a TTL (`Hopper.take`: a little more than
# `inflight_timeout_s`). A take marks every number of the lead it takes (the person may answer on any of them),
# and refuses a lead any of whose numbers another take has marked, or a lead in flight already: check and mark
# happen here, in one script, so two takes cannot both see a number free. Whatever ends a take (its result, a
# give-back, a recheck or a take that releases it, the recovery of a lost take) deletes the marks it still
# holds, in the same script as its other writes (`writes.APPLY`); the TTL only frees the numbers of a take that
# nothing ends (a lead deleted while in flight, a campaign nobody fills again).
_OUT = r"""
-- The numbers of a lead (empty when it is gone) and its zone set (nil when gone).
local function lead_numbers(lid)
  local blob = redis.call('GET', C .. 'l:' .. lid)
  if not blob then return {}, nil end
  local cuts, at = {}, 0
  for x = 1, 6 do
    at = string.find(blob, '\31', at + 1, true)
    if not at then return {}, nil end
    cuts[x] = at
  end
  local nums = {}
  for num in string.gmatch(string.sub(blob, cuts[1] + 1, cuts[2] - 1), '[^,]+') do nums[#nums + 1] = num end
  return nums, string.sub(blob, cuts[5] + 1, cuts[6] - 1)
end

-- Whether a take may have the lead: not in flight already, and none of its numbers marked by another take (a
-- mark of its own is one an earlier take of it failed to delete: it is not another dial).
local function out_free(iset, lid, nums)
  if redis.call('ZSCORE', iset, lid) then return false end
  local mine = cid .. '\31' .. lid
  for _, num in ipairs(nums) do
    local v = redis.call('GET', P .. ':out:' .. num)
    if v and v ~= mine then return false end
  end
  return true
end

-- The marks, and the numbers marked in the lead's state (field `on`): what ends the take deletes those, though
-- the lead's numbers may change meanwhile (a follow-up or an import writing the lead while it is in flight).
local function mark_out(lid, nums, ttl)
  if #nums == 0 then return end
  local mine = cid .. '\31' .. lid
  for _, num in ipairs(nums) do redis.call('SET', P .. ':out:' .. num, mine, 'PX', ttl) end
  redis.call('HSET', C .. 's:' .. lid, '""" + S.OUT + r"""', table.concat(nums, ','))
end

-- The take's stamp (`Hopper.release_dead_takes`): the run of the process that took the lead, and whether its dial
-- may have gone out ('1': a pacer's take, dialed at once; '': a preview, marked when its agent dials it). NOTE_CALLS
-- puts the call id in place of the '1' once the daemon has placed the dial.
local function stamp_take(lid, run, dialed)
  local st = C .. 's:' .. lid
  redis.call('HSET', st, '""" + S.TAKEN_RUN + r"""', run)
  if dialed == '1' then
    redis.call('HSET', st, '""" + S.DIALED + r"""', '1')
  else
    redis.call('HDEL', st, '""" + S.DIALED + r"""')
  end
end
"""

# KEYS: callbacks, ready, in flight. ARGV: prefix, campaign prefix, campaign id, n, now, owner wait (s; -1:
# for ever), mark TTL (ms), when a lead whose number is out is due again, the reason it waits (`_OUT`), the taking
# run, '1' when the takes are dialed at once ('': for preview screens; `stamp_take`).
# Moves due callbacks first, then the best of the ready queue, into "in flight", marks their numbers out and
# gathers them. A callback kept for its agent (state field cbag) is skipped until it is `owner wait` past due:
# its agent gets it (TAKE_OWN). A lead whose number is out under another take is not taken: a callback stays
# where it is (due, first in line once the number is free), a ready lead goes to its retry queue, due a little
# later (up to `_SCAN` of them per call). Reply tag: 'c' for a callback, else the ready score (its band says
# fresh or retry).
TAKE_POP = (
    _GATHER
    + _KEPT
    + _OUT
    + _ANY
    + r"""
local n, now, wait = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local ttl, later, why = ARGV[7], ARGV[8], ARGV[9]
local run, dialed = ARGV[10], ARGV[11]
local lids, tags = {}, {}
local scan = n + """ + str(_SCAN) + r"""
local got = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, scan)
local due, seen = {}, {}
for j = 1, #got, 2 do
  due[#due + 1] = {got[j], tonumber(got[j + 1])}
  seen[got[j]] = true
end
if #due >= scan then  -- more due than the scan: the callbacks for anyone behind it count too (`_ANY`)
  for _, e in ipairs(any_due(C, KEYS[1], now, scan)) do
    if not seen[e[1]] then due[#due + 1] = e end
  end
  table.sort(due, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
end
local taken = 0
for _, e in ipairs(due) do
  if taken >= n then break end
  local lid = e[1]
  local held, owner = kept(C, lid, e[2], tonumber(now), wait)
  local nums = {}
  if not held then nums = lead_numbers(lid) end
  if not held and out_free(KEYS[3], lid, nums) then
    redis.call('ZREM', KEYS[1], lid)
    redis.call('ZREM', C .. 'cba', lid)
    redis.call('ZREM', C .. 'cbk', lid)
    redis.call('ZADD', KEYS[3], now, lid)
    if owner then redis.call('ZREM', C .. 'cbo:' .. owner, lid) end
    mark_out(lid, nums, ttl)
    stamp_take(lid, run, dialed)
    lids[#lids + 1] = lid
    tags[#tags + 1] = 'c'
    taken = taken + 1
  end
end
local rest, skipped = n - taken, 0
while rest > 0 and skipped < """ + str(_SCAN) + r""" do
  local popped = redis.call('ZPOPMIN', KEYS[2])
  if #popped == 0 then break end
  local lid = popped[1]
  local nums, zone = lead_numbers(lid)
  if out_free(KEYS[3], lid, nums) then
    redis.call('ZADD', KEYS[3], now, lid)
    mark_out(lid, nums, ttl)
    stamp_take(lid, run, dialed)
    lids[#lids + 1] = lid
    tags[#tags + 1] = popped[2]
    rest = rest - 1
  else
    skipped = skipped + 1
    if zone then
      redis.call('ZADD', C .. 'd:' .. zone, later, lid)
      redis.call('SADD', C .. 'zk', zone)
      local st = C .. 's:' .. lid
      local old = redis.call('HGET', st, 'w')
      if old ~= why then
        if old then redis.call('HINCRBY', C .. 'why', old, -1) end
        redis.call('HINCRBY', C .. 'why', why, 1)
        redis.call('HSET', st, 'w', why)
      end
    end
  end
end
local out = {}
if #lids > 0 then
  local got = gather_many(lids)
  for j = 1, #got do out[j] = tags[j] .. GS .. got[j] end
end
return out
"""
)

# KEYS: callbacks, in flight. ARGV: prefix, campaign prefix, campaign id, now, mark TTL (ms), the taking run, agent
# ids... For each listed agent, the earliest due callback kept for them (from their index) that no other take has a
# number of out (`_OUT`), moved into "in flight", its numbers marked out, stamped as a preview's take (not dialed
# until its agent dials it: `stamp_take`), and gathered. Reply: "<agent id>" GS
# "<gathered lead>" per callback.
TAKE_OWN = (
    _GATHER
    + _OWN
    + _OUT
    + r"""
local now, ttl, run = ARGV[4], ARGV[5], ARGV[6]
local lids, owners = {}, {}
for i = 7, #ARGV do
  local agent = ARGV[i]
  for _, e in ipairs(own_entries(C, KEYS[1], agent, now)) do
    if e[3] > tonumber(now) then break end
    local lid = e[1]
    local nums = lead_numbers(lid)
    if out_free(KEYS[2], lid, nums) then
      redis.call('ZREM', KEYS[1], lid)
      redis.call('ZREM', C .. 'cba', lid)
      redis.call('ZREM', C .. 'cbk', lid)
      redis.call('ZREM', own_key(C, agent), lid)
      redis.call('ZADD', KEYS[2], now, lid)
      mark_out(lid, nums, ttl)
      stamp_take(lid, run, '')
      lids[#lids + 1] = lid
      owners[#owners + 1] = agent
      break
    end
  end
end
local out = {}
if #lids > 0 then
  local got = gather_many(lids)
  for j = 1, #got do out[j] = owners[j] .. GS .. got[j] end
end
return out
"""
)

# KEYS: callbacks. ARGV: campaign prefix, now, agent ids... For each listed agent with due callbacks kept for
# them: the agent id, then their lead ids by time, joined by GS. Reads (and drops stale index entries) only.
DUE_OWN = (
    _OWN
    + r"""
local C, now = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local lids = {ARGV[i]}
  for _, e in ipairs(own_entries(C, KEYS[1], ARGV[i], now)) do
    if e[3] <= tonumber(now) then lids[#lids + 1] = e[1] end
  end
  if #lids > 1 then out[#out + 1] = table.concat(lids, '\29') end
end
return out
"""
)

# KEYS: callbacks. ARGV: campaign prefix, agent id, limit. The scheduled callbacks kept for the agent, by
# time, from their index: a flat reply of lead id, time, stored lead, per callback.
LIST_OWN = (
    _OWN
    + r"""
local C, agent, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for _, e in ipairs(own_entries(C, KEYS[1], agent, '+inf')) do
  if #out >= 3 * limit then break end
  out[#out + 1] = e[1]
  out[#out + 1] = e[2]
  out[#out + 1] = redis.call('GET', C .. 'l:' .. e[1]) or ''
end
return out
"""
)

# KEYS: callbacks. ARGV: campaign prefix, from agent, to agent ('' : anyone). Every scheduled callback kept
# for `from` is kept for `to` instead (or for anyone). Reply: how many.
REASSIGN_OWN = (
    _OWN
    + r"""
local C, from, to = ARGV[1], ARGV[2], ARGV[3]
local moved = 0
for _, e in ipairs(own_entries(C, KEYS[1], from, '+inf')) do
  local state = C .. 's:' .. e[1]
  if to == '' then
    redis.call('HDEL', state, 'cbag')
    redis.call('ZADD', C .. 'cba', e[2], e[1])
    redis.call('ZREM', C .. 'cbk', e[1])
  else
    redis.call('HSET', state, 'cbag', to)
    redis.call('ZADD', own_key(C, to), e[2], e[1])
    redis.call('ZADD', C .. 'cbk', e[2], e[1])
  end
  moved = moved + 1
end
redis.call('DEL', own_key(C, from))
return moved
"""
)

# KEYS: callbacks. ARGV: campaign prefix, lead id, the agent it must be kept for ('' : no check), time ('' :
# unchanged), the agent to keep it for from now on ('' : anyone). One scheduled callback moved in time and/or
# to another owner. Reply: 'moved', 'not_scheduled' (not waiting in the callbacks: being dialed, on a
# preview screen, done) or 'not_yours' (kept for another agent, or for anyone).
MOVE_ONE = (
    _OWN
    + r"""
local C, lid, must, at, to = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local was = redis.call('ZSCORE', KEYS[1], lid)
if not was then return 'not_scheduled' end
local state = C .. 's:' .. lid
local owner = redis.call('HGET', state, 'cbag')
if must ~= '' and owner ~= must then return 'not_yours' end
if at ~= '' then
  redis.call('ZADD', KEYS[1], at, lid)
  redis.call('HSET', state, 'cbat', at)
else
  at = was
end
if owner and owner ~= '' then redis.call('ZREM', own_key(C, owner), lid) end
if to == '' then
  redis.call('HDEL', state, 'cbag')
  redis.call('ZADD', C .. 'cba', at, lid)
  redis.call('ZREM', C .. 'cbk', lid)
else
  redis.call('HSET', state, 'cbag', to)
  redis.call('ZADD', own_key(C, to), at, lid)
  redis.call('ZADD', C .. 'cbk', at, lid)
  redis.call('ZREM', C .. 'cba', lid)
end
return 'moved'
"""
)

# KEYS: callbacks. ARGV: campaign prefix, which index ("own": the callbacks kept for agents, `cbo:<agent>`;
# "any": the callbacks for anyone, `cba`; "kept": every callback kept for an agent, `cbk`). Once per campaign and
# index (marker `<campaign prefix>cbix`, `cbaix` or `cbkix`): indexes the callbacks a version without that index
# scheduled. Reply: how many (-1: done before).
INDEX_CALLBACKS = r"""
local C, which = ARGV[1], ARGV[2]
local marker = ({own = 'cbix', any = 'cbaix', kept = 'cbkix'})[which]
if not redis.call('SET', C .. marker, '1', 'NX') then return -1 end
local n, start = 0, 0
while true do
  local part = redis.call('ZRANGE', KEYS[1], start, start + 999, 'WITHSCORES')
  if #part == 0 then break end
  for j = 1, #part, 2 do
    local owner = redis.call('HGET', C .. 's:' .. part[j], 'cbag')
    local kept = owner and owner ~= ''
    local ix = nil
    if which == 'own' and kept then ix = C .. 'cbo:' .. owner
    elseif which == 'kept' and kept then ix = C .. 'cbk'
    elseif which == 'any' and not kept then ix = C .. 'cba' end
    if ix then
      redis.call('ZADD', ix, part[j + 1], part[j])
      n = n + 1
    end
  end
  start = start + 1000
end
return n
"""

# ARGV: prefix, campaign prefix, E.164 number, its base bucket, its field there (`keys.bucket`). What a number an
# agent typed (manual dialing) may not be dialed for: {'1' when it is on the global or the campaign's DNC list,
# or its `number:<e164>` person or the subscriber the base lists for it asked not to be called, else ''; the
# mark of the take that has it out being dialed (`_OUT`: "<campaign>\31<lead>"), else ''}. Reads only.
NUMBER_CHECK = r"""
local P, C, num = ARGV[1], ARGV[2], ARGV[3]
local dnc = redis.call('SISMEMBER', P .. ':dnc', num) == 1 or redis.call('SISMEMBER', C .. 'dnc', num) == 1
  or redis.call('SISMEMBER', P .. ':dncp', 'number:' .. num) == 1
if not dnc then
  local sub = redis.call('HGET', P .. ':base:' .. ARGV[4], ARGV[5])
  dnc = sub ~= false and redis.call('HGET', P .. ':p:subscriber:' .. sub, 'dnc') == '1'
end
return {dnc and '1' or '', redis.call('GET', P .. ':out:' .. num) or ''}
"""

# KEYS: in flight. ARGV: prefix, campaign prefix, campaign id, lead id, the stored lead, its number (E.164), mark TTL
# (ms), now, its list (the key in the campaign's `lists`), the subscriber it is ('' : none), the taking run
# (`stamp_take`: dialed at once). The lead of an agent's manual dial (`Hopper.take_manual`), created and taken at
# once, as a take of the hopper takes a lead: stored, in flight since `now`, its number marked out (`_OUT`), its state
# saying so (the number marked, number #0 taken, not a callback, that attempt 1 is the manual dial, the run that took
# it and that it is dialed), counted among the campaign's leads and its list's, and under the
# subscriber's account (`GlobalKeys.account`). Check and writes in one script: no take can mark the number in
# between. Reply: '' (done); the mark of the dial that has the number out, nothing written; '=' when the lead id is
# taken already, nothing written.
TAKE_MANUAL = (
    r"""
local P, C, cid, lid, num = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]
local mark = P .. ':out:' .. num
local held = redis.call('GET', mark)
if held then return held end
if not redis.call('SET', C .. 'l:' .. lid, ARGV[5], 'NX') then return '=' end
redis.call('ZADD', KEYS[1], ARGV[8], lid)
redis.call('SET', mark, cid .. '\31' .. lid, 'PX', ARGV[7])
redis.call('HSET', C .. 's:' .. lid, '""" + S.OUT + r"""', num, '""" + S.TAKEN_INDEX + r"""', '0',
  '""" + S.TAKEN_CALLBACK + r"""', '0', '""" + S.MANUAL + r"""', '1', '""" + S.TAKEN_RUN + r"""', ARGV[11],
  '""" + S.DIALED + r"""', '1')
redis.call('INCR', C .. 'n')
redis.call('HINCRBY', C .. 'lists', ARGV[9], 1)
redis.call('SADD', P .. ':campaigns', cid)
if ARGV[10] ~= '' then redis.call('SADD', P .. ':acct:' .. ARGV[10], cid .. '\31' .. lid) end
return ''
"""
)

# ARGV: prefix, campaign prefix, campaign id, lead ids...
GATHER_ONLY = (
    _GATHER
    + r"""
local lids = {}
for i = 4, #ARGV do lids[#lids + 1] = ARGV[i] end
return gather_many(lids)
"""
)

# Look up and insert a batch of imported leads in one pass.
# ARGV: prefix, campaign prefix, campaign id, reconcile ('1'/'0'), other campaigns' prefixes (RS),
#   zone sets (RS), payload, the list (its key in the campaign's `lists`: the inserted leads are counted
#   there, in this same script, so the list is known whenever its leads are), and per record (RS) the ids
#   (FS) of leads of other people that share a number with it (a household's landline: their hits do not
#   match it, and the number stays indexed under the lead that had it). Payload records (RS): lead id
#   GS blob GS rank GS zone set, then per number GS bucket GS field GS number. An inserted lead's fresh
#   score is rank * 1e9 + the campaign's next import sequence number (so the campaign's order, then import
#   order).
# A lead is inserted here when nothing matches it (no lead with its id, no lead with any of its numbers
# in this or, when given, another campaign, and no current subscriber when reconciling); the reply is
# "I" (inserted) or "I!" (inserted, a number is on DNC); an inserted lead of a subscriber is listed in the account
# index (`<prefix>:acct:<id>`, see dialer.hopper.keys). Anything else is left to the importer, with what
# was found: "X" GS exists GS lead ids by number GS subscriber ids GS DNC flags GS other-campaign hits
# (items FS; other hits per number are "campaign=lead" joined by ';').
IMPORT = (
    _SPLIT
    + r"""
local GS, FS = '\29', '\28'
local P, C, cid, reconcile = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local others = {}
if ARGV[5] ~= '' then others = split(ARGV[5], '\30') end
local seq = tonumber(redis.call('GET', C .. 'seq') or '0')
local recs, nums, fresh = {}, {}, {}
local apart = {}
if ARGV[9] and ARGV[9] ~= '' then apart = split(ARGV[9], '\30') end
for ri, rec in ipairs(split(ARGV[7], '\30')) do
  local f = split(rec, '\29')
  local r = {f = f, n0 = #nums + 1, clean = true, nx = {}, base = {}, hits = {}}
  local others_here = {}
  if apart[ri] and apart[ri] ~= '' then
    for _, x in ipairs(split(apart[ri], '\28')) do others_here[x] = true end
  end
  recs[#recs + 1] = r
  for j = 5, #f, 3 do
    local b, fld = f[j], f[j + 1]
    nums[#nums + 1] = f[j + 2]
    local v = redis.call('HGET', C .. 'nx:' .. b, fld) or ''
    r.nx[#r.nx + 1] = v
    if v ~= '' and not others_here[v] then r.clean = false end
    local s = ''
    if reconcile then s = redis.call('HGET', P .. ':base:' .. b, fld) or '' end
    r.base[#r.base + 1] = s
    if s ~= '' then r.clean = false end
    local h = {}
    for _, o in ipairs(others) do
      local ol = redis.call('HGET', o .. 'nx:' .. b, fld)
      if ol then h[#h + 1] = string.sub(o, string.len(P) + 4, -2) .. '=' .. ol end
    end
    if #h > 0 then r.clean = false end
    r.hits[#r.hits + 1] = table.concat(h, ';')
  end
  r.n1 = #nums
  r.exists = 0
  if r.clean then
    if redis.call('SET', C .. 'l:' .. f[1], f[2], 'NX') then
      seq = seq + 1
      local q = C .. 'f:' .. f[4]
      if not fresh[q] then fresh[q] = {} end
      local z = fresh[q]
      z[#z + 1] = string.format('%d', tonumber(f[3]) * 1000000000 + seq)
      z[#z + 1] = f[1]
      for j = 5, #f, 3 do redis.call('HSETNX', C .. 'nx:' .. f[j], f[j + 1], f[1]) end
      -- a subscriber's lead is listed under the account (the person, the header's third field)
      local p1 = string.find(f[2], '\31', 1, true)
      local p2 = p1 and string.find(f[2], '\31', p1 + 1, true)
      local p3 = p2 and string.find(f[2], '\31', p2 + 1, true)
      if p3 and string.sub(f[2], p2 + 1, p2 + 11) == 'subscriber:' then
        redis.call('SADD', P .. ':acct:' .. string.sub(f[2], p2 + 12, p3 - 1), cid .. '\31' .. f[1])
      end
    else
      r.clean = false
      r.exists = 1
    end
  else
    r.exists = redis.call('EXISTS', C .. 'l:' .. f[1])
  end
end
local dnc = {}
if #nums > 0 and redis.call('SCARD', P .. ':dnc') > 0 then
  for i = 1, #nums, 4000 do
    local part = redis.call('SMISMEMBER', P .. ':dnc', unpack(nums, i, math.min(i + 3999, #nums)))
    for j = 1, #part do dnc[#dnc + 1] = part[j] end
  end
end
local added = 0
for q, z in pairs(fresh) do
  for i = 1, #z, 4000 do redis.call('ZADD', q, unpack(z, i, math.min(i + 3999, #z))) end
  added = added + #z / 2
end
local out = {}
for _, r in ipairs(recs) do
  local d = {}
  local flag = ''
  for j = r.n0, r.n1 do
    d[#d + 1] = dnc[j] or 0
    if dnc[j] == 1 then flag = '!' end
  end
  if r.clean then
    out[#out + 1] = 'I' .. flag
  else
    out[#out + 1] = table.concat({'X', r.exists, table.concat(r.nx, FS), table.concat(r.base, FS),
      table.concat(d, FS), table.concat(r.hits, FS)}, GS)
  end
end
if added > 0 then
  redis.call('SET', C .. 'seq', seq)
  -- a campaign's first leads: no queue was written before every write named its zone set (see Hopper.fill)
  if redis.call('EXISTS', C .. 'zk') == 0 then redis.call('SET', C .. 'zkix', '1') end
  for _, z in ipairs(split(ARGV[6], '\30')) do redis.call('SADD', C .. 'zk', z) end
  redis.call('INCRBY', C .. 'n', added)
  redis.call('HINCRBY', C .. 'lists', ARGV[8], added)
  redis.call('SADD', P .. ':campaigns', cid)
end
return out
"""
)

# KEYS: in flight. ARGV: campaign prefix, the run that took the leads, then per call: lead id, the time it was
# taken (its in-flight score), the call id. `Hopper.note_calls`: the call id of each predictive dial placed, in
# place of the take's dialed flag ('1'), so that a daemon restarted after a crash can ask Asterisk for the call's
# answer mark (`Hopper.release_dead_takes`). Only on the very take (in flight since that time, stamped by that run,
# its dial marked): a result written meanwhile ended it, and its fields are gone. Reply: how many were noted.
NOTE_CALLS = r"""
local C, run = ARGV[1], ARGV[2]
local n = 0
for i = 3, #ARGV - 2, 3 do
  local lid, taken, call = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local at = redis.call('ZSCORE', KEYS[1], lid)
  local st = C .. 's:' .. lid
  if at and tonumber(at) == tonumber(taken) and redis.call('HGET', st, '""" + S.TAKEN_RUN + r"""') == run
      and redis.call('HEXISTS', st, '""" + S.DIALED + r"""') == 1 then
    redis.call('HSET', st, '""" + S.DIALED + r"""', call)
    n = n + 1
  end
end
return n
"""
