"""A subscriber's own do-not-call request, applied to everything the store knows of the subscriber.

The request is final across all campaigns, so it reaches every number the subscriber has: the ones given,
those of every lead in any campaign carrying the account (`subscriber:<id>` as its person), and those the
subscriber base lists for the account. Each goes on the global list, and the person each names
(`number:<e164>`) is marked, so a lead that knows the subscriber by one number only is not dialed on any
of its numbers (the hopper blocks a whole lead when any of its numbers' persons is marked). The
subscriber's leads are finished as do-not-call at once, not left for the hopper to find.

The subscriber's leads and base numbers are read from the account indexes (`<prefix>:acct:<id>`, the leads,
written by the imports and the follow-ups; `<prefix>:basea:<id>`, the numbers, written by the base imports):
one script call, which checks each entry (the lead still names the account, the base still gives the number to
the subscriber) and drops the stale ones. Data written before those indexes existed is indexed once, by the
first request since (marker `<prefix>:acix`): that request walks the keyspace (SCAN, once for the leads and once
for the base, a Lua script per batch indexing server side), about 15 s per million leads (300,000 leads,
600,000 keys: 4.3 s on a 2-core host), as every request did before. A daemon of an earlier version importing
leads after that would leave them out of the index: upgrade every daemon that shares a Redis together.

The daemon runs it for a do-not-call request made on a call (`AgentCalls._subscriber_dnc`), the supervisors'
API for `POST /api/dnc` with `subscriber_id`, and the hopper for a `dnc` result written on a lead of the
subscriber (`Hopper._spread_dnc`): the result queues the request in `dncs` (`pending_spreads`) in its own
write, and it leaves the queue only once spread (`spread_done`), so Redis failing in between loses nothing.

Order of the writes, each safe to repeat: the account and the given numbers first (the person mark alone
stops every lead carrying the account at its next check, while the walk runs), then every number found,
then the leads' finish. A lead in flight (being dialed, on a preview screen) is left to its result: its
dial is under way, and the policy finishes it at its next check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys, GlobalKeys, lead_ref
from dialer.hopper.lead_lists import ListMetric, list_stat
from dialer.hopper.results import queue_dnc_marks
from dialer.hopper.views import S, text
from dialer.leads.model import decode_header
from dialer.leads.phone import normalize
from dialer.policy.types import Block

__all__ = ["FINISH", "LeadRef", "SubscriberDnc", "pending_spreads", "spread_done", "subscriber_dnc"]

# KEYS: lead keys. ARGV: prefix, then each lead's entry in the account index (`keys.lead_ref`). Lists every lead
# whose person is a subscriber under that account (`<prefix>:acct:<id>`); returns how many.
_INDEX_LEADS = r"""
local n = 0
for i, key in ipairs(KEYS) do
  local blob = redis.call('GET', key)
  if blob then
    local p1 = string.find(blob, '\31', 1, true)
    local p2 = p1 and string.find(blob, '\31', p1 + 1, true)
    local p3 = p2 and string.find(blob, '\31', p2 + 1, true)
    if p3 and string.sub(blob, p2 + 1, p2 + 11) == 'subscriber:' then
      n = n + redis.call('SADD', ARGV[1] .. ':acct:' .. string.sub(blob, p2 + 12, p3 - 1), ARGV[i + 1])
    end
  end
end
return n
"""

# KEYS: subscriber-base buckets. ARGV[1]: prefix. Lists each number of each bucket under its subscriber
# (`<prefix>:basea:<id>`; the number is "+", the field, then the bucket: see `keys.bucket`); returns how many.
_INDEX_BASE = r"""
local n = 0
local cut = string.len(ARGV[1]) + 7
for _, key in ipairs(KEYS) do
  local h = redis.call('HGETALL', key)
  for j = 1, #h, 2 do
    n = n + redis.call('SADD', ARGV[1] .. ':basea:' .. h[j + 1], '+' .. h[j] .. string.sub(key, cut))
  end
end
return n
"""

# ARGV: prefix, subscriber id. The subscriber's leads and base numbers from the account indexes, each checked:
# a lead that no longer exists or no longer names the account, a number the base no longer gives the subscriber,
# leaves its index. Reply: {lead entries and stored leads, alternating; numbers}.
_FIND_ACCOUNT = r"""
local P, sub = ARGV[1], ARGV[2]
local person = 'subscriber:' .. sub
local acct, basea = P .. ':acct:' .. sub, P .. ':basea:' .. sub
local leads, nums = {}, {}
for _, ref in ipairs(redis.call('SMEMBERS', acct)) do
  local cut = string.find(ref, '\31', 1, true)
  local blob = cut and redis.call('GET', P .. ':c:' .. string.sub(ref, 1, cut - 1) .. ':l:' .. string.sub(ref, cut + 1))
  local p1 = blob and string.find(blob, '\31', 1, true)
  local p2 = p1 and string.find(blob, '\31', p1 + 1, true)
  local p3 = p2 and string.find(blob, '\31', p2 + 1, true)
  if p3 and string.sub(blob, p2 + 1, p3 - 1) == person then
    leads[#leads + 1] = ref
    leads[#leads + 1] = blob
  else
    redis.call('SREM', acct, ref)
  end
end
for _, num in ipairs(redis.call('SMEMBERS', basea)) do
  local digits = string.sub(num, 2)
  local b, f = string.sub(digits, -6), string.sub(digits, 1, -7)
  if redis.call('HGET', P .. ':base:' .. b, f) == sub then nums[#nums + 1] = num else redis.call('SREM', basea, num) end
end
return {leads, nums}
"""

# ARGV: campaign prefix, lead id, its zone set, its list's `lstats` field ('' : none), the finish reason.
# Finishes the lead as the hopper's own final block does (`Hopper._finish`, `_release`), out of every queue,
# unless it is gone, in flight, or finished already (done once, for its own reason). Returns which. The importer
# finishes with it a cold list's lead whose person the base lists now (`Block.CURRENT_SUBSCRIBER`).
FINISH = f"""
local C, lid, zkey, stat, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local st = C .. 's:' .. lid
if redis.call('EXISTS', C .. 'l:' .. lid) == 0 then return 'gone' end
if redis.call('ZSCORE', C .. 'i', lid) then return 'flying' end
if redis.call('HEXISTS', st, '{S.FINISHED}') == 1 then return 'done' end
redis.call('ZREM', C .. 'r', lid)
redis.call('ZREM', C .. 'cb', lid)
redis.call('ZREM', C .. 'cba', lid)
redis.call('ZREM', C .. 'cbk', lid)
local zones = redis.call('SMEMBERS', C .. 'zk')
zones[#zones + 1] = zkey
for _, z in ipairs(zones) do
  redis.call('ZREM', C .. 'f:' .. z, lid)
  redis.call('ZREM', C .. 'd:' .. z, lid)
end
local agent = redis.call('HGET', st, '{S.CB_AGENT}')
if agent then redis.call('ZREM', C .. 'cbo:' .. agent, lid) end
redis.call('SREM', C .. 'parked', lid)
local why = redis.call('HGET', st, '{S.WHY}')
if why then redis.call('HINCRBY', C .. 'why', why, -1) end
redis.call('HDEL', st, '{S.WHY}', '{S.CB_AT}', '{S.CB_AGENT}')
redis.call('HSET', st, '{S.FINISHED}', reason)
redis.call('HINCRBY', C .. 'fin', reason, 1)
if stat ~= '' then redis.call('HINCRBY', C .. 'lstats', stat, 1) end
return 'finished'
"""


# KEYS[1]: the queue of requests to spread (`GlobalKeys.dncs`). ARGV: subscriber id, the count read before the
# spread. Deleted only while no request came for the subscriber since (that one's spread may have begun first).
_SPREAD_DONE = r"""
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


@dataclass(frozen=True, slots=True, order=True)
class LeadRef:
    """One lead of one campaign."""

    campaign_id: str
    lead_id: str


@dataclass(frozen=True, slots=True)
class SubscriberDnc:
    """What a subscriber's do-not-call request marked and finished.

    `numbers`: every number now on the global list for it (given, from its leads, from the base).
    `finished`: its leads finished as do-not-call now. `in_flight`: those being dialed or on a preview
    screen, finished by the policy at their next check. `already_finished`: those finished before."""

    subscriber_id: str
    numbers: tuple[str, ...]
    finished: tuple[LeadRef, ...]
    in_flight: tuple[LeadRef, ...]
    already_finished: tuple[LeadRef, ...]


def _glob(text_: str) -> str:
    """`text_` as a literal in a Redis SCAN pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text_)


async def _scan(redis: Redis, match: str, batch: int, timeout_s: float, what: str) -> AsyncIterator[list[str]]:
    """The keys matching `match`, batch by batch (one SCAN call per deadline; never all of them at once)."""
    cursor = 0
    while True:
        async with redis_call(what, timeout_s):
            cursor, keys = await redis.scan(cursor, match=match, count=batch)
        if keys:
            yield [text(k) for k in keys]
        if int(cursor) == 0:
            return


async def _mark(redis: Redis, g: GlobalKeys, person: str, numbers: list[str], timeout_s: float) -> None:
    async with redis_call(f"marking {person} do-not-call", timeout_s):
        pipe = redis.pipeline(transaction=True)
        queue_dnc_marks(pipe, g, person, numbers)
        if numbers:
            pipe.sadd(g.dnc, *numbers)
        await pipe.execute()


async def _index_accounts(redis: Redis, prefix: str, batch: int, timeout_s: float) -> None:
    """Once per Redis (marker `acix`): list the leads and base numbers written before the account indexes in
    them. Walks the keyspace (about 15 s per million leads); the marker is set after the walk, so one cut
    short is walked again by the next request."""
    g = GlobalKeys(prefix)
    async with redis_call("reading the account-index marker", timeout_s):
        if await redis.exists(g.acix):
            return
    # lead keys are `<prefix>:c:<campaign>:l:<lead>`; campaign ids have no ':', lead ids may
    head = f"{prefix}:c:"
    index_leads = redis.register_script(_INDEX_LEADS)
    async for keys in _scan(redis, f"{_glob(head)}*:l:*", batch, timeout_s, "listing leads"):
        refs: list[tuple[str, str]] = []
        for key in keys:
            cid, _, rest = key[len(head):].partition(":")
            if key.startswith(head) and rest.startswith("l:"):
                refs.append((key, lead_ref(cid, rest[2:])))
        if refs:
            async with redis_call("indexing leads by account", timeout_s):
                await index_leads(keys=[k for k, _ in refs], args=[prefix, *(r for _, r in refs)])
    index_base = redis.register_script(_INDEX_BASE)
    async for keys in _scan(redis, f"{_glob(prefix)}:base:*", batch, timeout_s, "listing the subscriber base"):
        async with redis_call("indexing the subscriber base by account", timeout_s):
            await index_base(keys=keys, args=[prefix])
    async with redis_call("marking the account indexes complete", timeout_s):
        await redis.set(g.acix, "1")


async def subscriber_dnc(
    redis: Redis,
    subscriber_id: str,
    numbers: Iterable[str] = (),
    *,
    prefix: str = "dialer",
    timeout_s: float = 30.0,
    batch: int = 1000,
) -> SubscriberDnc:
    """Apply subscriber `subscriber_id`'s do-not-call request (see the module docstring). `numbers` are
    E.164 numbers the request names. Raises StateStoreError; the marks written before stay, and calling
    again with the same request completes it."""
    g = GlobalKeys(prefix)
    person = f"subscriber:{subscriber_id}"
    given = list(dict.fromkeys(normalize(n, "ZZ") for n in numbers))
    await _mark(redis, g, person, given, timeout_s)
    await _index_accounts(redis, prefix, batch, timeout_s)

    async with redis_call(f"reading the leads and numbers of {person}", timeout_s):
        got_leads, got_numbers = await redis.register_script(_FIND_ACCOUNT)(args=[prefix, subscriber_id])
    leads: dict[tuple[str, str], str] = {}  # (campaign, lead id) -> stored lead
    flat = [text(x) for x in got_leads]
    for ref, blob in zip(flat[::2], flat[1::2], strict=True):
        cid, _, lid = ref.partition("\x1f")
        leads[(cid, lid)] = blob
    found = list(given)
    for blob in leads.values():
        found.extend(decode_header(blob).numbers)
    found.extend(text(n) for n in got_numbers)
    every = list(dict.fromkeys(found))
    if len(every) > len(given):
        await _mark(redis, g, person, every, timeout_s)

    finish = redis.register_script(FINISH)
    reason = str(Block.DNC)
    done: dict[str, list[LeadRef]] = {"finished": [], "flying": [], "done": [], "gone": []}
    for (cid, lid), blob in sorted(leads.items()):
        header = decode_header(blob)
        stat = list_stat(header.lists, ListMetric.FINISHED) or ""
        async with redis_call(f"finishing lead {lid} of {cid} as do-not-call", timeout_s):
            outcome = text(await finish(args=[CampaignKeys(prefix, cid).p, lid, header.zone_key, stat, reason]))
        done[outcome].append(LeadRef(cid, lid))
    return SubscriberDnc(subscriber_id=subscriber_id, numbers=tuple(sorted(every)),
                         finished=tuple(sorted(done["finished"])), in_flight=tuple(sorted(done["flying"])),
                         already_finished=tuple(sorted(done["done"])))


async def pending_spreads(redis: Redis, prefix: str, timeout_s: float,
                          only: Iterable[str] | None = None) -> dict[str, str]:
    """The do-not-call requests a result queued (`GlobalKeys.dncs`) and `subscriber_dnc` has not spread yet:
    subscriber id -> the queue's count for it (to give `spread_done`). `only`: of these subscribers alone."""
    key = GlobalKeys(prefix).dncs
    async with redis_call("reading the do-not-call requests still to spread", timeout_s):
        if only is None:
            got = await redis.hgetall(key)
            return {text(k): text(v) for k, v in got.items()}
        subs = list(dict.fromkeys(only))
        values = await redis.hmget(key, subs) if subs else []
    return {sub: text(v) for sub, v in zip(subs, values, strict=True) if v is not None}


async def spread_done(redis: Redis, prefix: str, subscriber_id: str, count: str, timeout_s: float) -> None:
    """`subscriber_dnc` has spread the requests `pending_spreads` read for the subscriber (`count`): off the
    queue, unless another came meanwhile (then it stays, for that one's spread)."""
    async with redis_call(f"marking the do-not-call request of subscriber {subscriber_id} spread", timeout_s):
        await redis.register_script(_SPREAD_DONE)(keys=[GlobalKeys(prefix).dncs], args=[subscriber_id, count])
