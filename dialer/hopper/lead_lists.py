"""A campaign's lead lists, as a supervisor manages them: which lists it has, and pausing one (a vendor
sent the wrong file, a partner's consent is in doubt) until it is resumed.

A list's name is the import's `list_name` (`dialer.leads.model.list_key`); every lead's header names the
lists it came from. A lead waits while **every** one of its lists is paused: the contact policy blocks it
(`Block.LIST_PAUSED`, `ContactPolicy.check(paused_lists=...)`), and the hopper defers it 30 days ahead and
marks it parked (`parked`). Resuming a list brings its parked leads back due at once, those still held by
another paused list excepted. A due callback is not held: the person asked for it.

The paused set lives in Redis (`lpaused`), so every daemon sharing the campaign sees it; each hopper
reads it again at every fill and, between fills, at most every `PAUSED_TTL_S` seconds before a take.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from dialer.errors import LeadError
from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.types import LeadList
from dialer.hopper.views import text
from dialer.hopper.writes import Batch
from dialer.leads.model import decode_header, list_key
from dialer.policy.contact import held_by_paused_lists

__all__ = [
    "PAUSED_TTL_S",
    "ListMetric",
    "PausedLists",
    "count_for_list",
    "lead_lists_of",
    "list_lists",
    "list_stat",
    "pause_list",
    "resume_list",
]

PAUSED_TTL_S = 5.0
_SCAN = 1000
_US = "\x1f"


class ListMetric(StrEnum):
    """What `lstats` counts per list, for the leads the list brought."""

    DIALS = "dials"  # results recorded (each attempt once, a late disposition not again)
    CONTACTS = "contacts"  # the person reached (taken back when a late disposition says otherwise)
    SALES = "sales"
    FINISHED = "finished"  # leads done with: no more dials (a recycle or a re-import takes one back)


def list_stat(lists: Sequence[str], metric: ListMetric) -> str | None:
    """The `lstats` field that counts `metric` for a lead from `lists`: its first list's, the one that brought
    it (so a list's figures add up against the leads it brought); None for a lead without lists."""
    return f"{lists[0]}{_US}{metric}" if lists else None


def count_for_list(pipe: Pipeline | Batch, keys: CampaignKeys, lists: Sequence[str], metric: ListMetric,
                   by: int) -> None:
    """Queue on `pipe` the change of `metric` by `by` for a lead from `lists` (nothing for a lead without)."""
    stat = list_stat(lists, metric)
    if stat:
        pipe.hincrby(keys.lstats, stat, by)


class PausedLists:
    """The campaign's paused lists as last read from Redis."""

    def __init__(self, redis: Redis, keys: CampaignKeys, timeout_s: float) -> None:
        self._r = redis
        self._k = keys
        self._timeout = timeout_s
        self.names: frozenset[str] = frozenset()
        self._read_at = -float("inf")

    def set(self, names: frozenset[str], now: float) -> None:
        self.names = names
        self._read_at = now

    async def refresh(self, now: float) -> frozenset[str]:
        """Read them again unless read in the last `PAUSED_TTL_S` seconds."""
        if now - self._read_at >= PAUSED_TTL_S or now < self._read_at:
            async with redis_call("reading the paused lists", self._timeout):
                got = await self._r.smembers(self._k.lpaused)
            self.set(frozenset(text(x) for x in got), now)
        return self.names


async def list_lists(redis: Redis, keys: CampaignKeys, campaign_id: str, timeout_s: float) -> list[LeadList]:
    """The campaign's lists, by name."""
    async with redis_call(f"listing the lead lists of {campaign_id}", timeout_s):
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.lists)
        pipe.smembers(keys.lpaused)
        pipe.hgetall(keys.lstats)
        counts, paused, stats = await pipe.execute()
    return lead_lists_of(counts, {text(x) for x in paused}, stats)


def lead_lists_of(counts: Mapping[Any, Any], paused: Collection[str], stats: Mapping[Any, Any]) -> list[LeadList]:
    """The lists, by name, from the campaign's `lists` and `lstats` hashes as read, and its paused names."""
    names = set(paused)
    known = {text(a): int(b) for a, b in counts.items()}
    per: dict[str, dict[str, int]] = {}
    for field, value in stats.items():
        name, _, metric = text(field).rpartition(_US)
        # counted since this version: a lead finished before it and taken back since would read below 0
        per.setdefault(name, {})[metric] = max(0, int(value))
    out = []
    for name in sorted(known.keys() | names | per.keys()):
        got = per.get(name, {})
        out.append(LeadList(name, known.get(name, 0), name in names, dials=got.get(ListMetric.DIALS, 0),
                            contacts=got.get(ListMetric.CONTACTS, 0), sales=got.get(ListMetric.SALES, 0),
                            finished=got.get(ListMetric.FINISHED, 0)))
    return out


async def _known(redis: Redis, keys: CampaignKeys, campaign_id: str, name: str, timeout_s: float) -> str:
    key = list_key(name)
    async with redis_call(f"looking up list {key} of {campaign_id}", timeout_s):
        if await redis.hexists(keys.lists, key) or await redis.sismember(keys.lpaused, key):
            return key
        have = sorted(text(x) for x in await redis.hkeys(keys.lists))
    raise LeadError(f"campaign {campaign_id} has no list {name!r}; its lists: {', '.join(have) or 'none'}")


async def pause_list(redis: Redis, keys: CampaignKeys, campaign_id: str, name: str, timeout_s: float) -> str:
    """Pause list `name` (LeadError when the campaign has no such list); its key."""
    key = await _known(redis, keys, campaign_id, name, timeout_s)
    async with redis_call(f"pausing list {key} of {campaign_id}", timeout_s):
        await redis.sadd(keys.lpaused, key)
    return key


async def resume_list(redis: Redis, keys: CampaignKeys, campaign_id: str, name: str, now: float,
                      timeout_s: float) -> tuple[str, int, frozenset[str]]:
    """Resume list `name` (LeadError when the campaign has no such list) and bring back due now the leads
    parked for it that no other paused list holds. Returns its key, how many came back, and the lists
    still paused."""
    key = await _known(redis, keys, campaign_id, name, timeout_s)
    async with redis_call(f"resuming list {key} of {campaign_id}", timeout_s):
        await redis.srem(keys.lpaused, key)
        paused = frozenset(text(x) for x in await redis.smembers(keys.lpaused))
    released = 0
    cursor = 0
    while True:
        async with redis_call(f"bringing back the parked leads of list {key} in {campaign_id}", timeout_s):
            cursor, ids = await redis.sscan(keys.parked, cursor, count=_SCAN)
            lids = [text(x) for x in ids]
            blobs = await redis.mget([keys.lead(lid) for lid in lids]) if lids else []
            pipe = redis.pipeline(transaction=True)
            moves: list[int] = []  # the ZADDs' places among the replies
            for lid, blob in zip(lids, blobs, strict=True):
                if blob is not None:
                    h = decode_header(text(blob))
                    if held_by_paused_lists(h.lists, paused):
                        continue  # another paused list holds it still
                    # XX: only where the deferral put it; a lead taken or moved since is not queued twice
                    moves.append(len(pipe))
                    pipe.zadd(keys.due(h.zone_key), {lid: now}, xx=True, ch=True)
                pipe.srem(keys.parked, lid)
            replies = await pipe.execute() if len(pipe) else []
            released += sum(int(replies[i]) for i in moves)
        if int(cursor) == 0:
            return key, released, paused
