"""The compliance ledger's durable copy in Redis, so that a restart never forgets the law's windows.

Every entry the pacer's ledger counts (`pacing.ledger.LedgerEntry`: a live answer, an abandon, a live
answer AMD screened, a machine verdict, a connected answer its agent dispositioned as a person) is
written as it happens through the store's outbox, so a Redis outage delays the writes but loses
none, and they land in order. Per campaign:

    <prefix>:ledger:<campaign>:m:<hour>   hash  "<minute>:l|a|s|p" -> live answers | abandons | screened |
                                          persons (the strict count; at the minute of the answer)
                                          (one hash per hour of minute buckets; expires 27 h after its
                                          last write: the UK window is 24 h)
    <prefix>:ledger:<campaign>:us         hash  start (the first live answer: the US periods count from it),
                                          "<period>:l|a|p", lives, abandons, amd, layout
                                          (expires 60 days after the last write)
    <prefix>:amd_audit:<campaign>         hash  machines, persons: the AMD audit sample; verdict_machines,
                                          verdict_humans: every AMD verdict while audits are on (`dialer.amd_audit`)

Live answers go through one Lua script, so Redis itself decides the US period start and each answer's
period: a daemon that restarted during an outage cannot write them under a period start of its own.
Persons go through another, which puts them in the period of their answer by the same start. A person
whose answer has no period start in Redis (its live answer was never written, or the key expired)
is left out of the periods: the strict count only ever misses persons, never invents them.

At start-up the daemon reads all of it back *in order behind the writes already queued*
(`RedisStore.read_in_order`) and merges it with what the campaign's ledger counted since
(`ComplianceLedger.restore`): every entry is counted exactly once.

After Redis lost its data while the daemon ran (`dialer.store.DataEpoch`), `rewrite` puts back what the
daemon's ledger holds in memory (its `export`, which has the history read at start-up and every entry since)
in place of whatever Redis holds, in the outbox's order: the writes queued before it are in the export, those
queued after land on top. The law's windows and the US period start are then those of before the loss.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from dialer.store import RedisStore
from pacing.ledger import BUCKET_S, UK_WINDOW_S, US_PERIOD_S, LedgerBucket, LedgerEntry, LedgerEntryKind, LedgerSnapshot

__all__ = ["LAYOUT", "LedgerStore", "StoredLedger", "parse_ledger"]

LAYOUT = "1"
BUCKET_TTL_S = 27 * 3600
PERIOD_TTL_S = int(2 * US_PERIOD_S)
_READ_BACK_S = UK_WINDOW_S + 2 * 3600.0  # the window, its look-ahead and the horizon, with room to spare

_RECORD_LIVE = """
local hour, us = KEYS[1], KEYS[2]
local at, minute, abandoned = ARGV[1], ARGV[2], ARGV[3]
redis.call('HINCRBY', hour, minute .. ':l', 1)
if abandoned == '1' then redis.call('HINCRBY', hour, minute .. ':a', 1) end
redis.call('EXPIRE', hour, ARGV[4])
local start = redis.call('HGET', us, 'start')
if not start then
  redis.call('HSET', us, 'start', at)
  start = at
end
local p = math.floor((tonumber(at) - tonumber(start)) / tonumber(ARGV[6]))
redis.call('HINCRBY', us, string.format('%d:l', p), 1)
redis.call('HINCRBY', us, 'lives', 1)
if abandoned == '1' then
  redis.call('HINCRBY', us, string.format('%d:a', p), 1)
  redis.call('HINCRBY', us, 'abandons', 1)
end
redis.call('HSET', us, 'layout', ARGV[7])
redis.call('EXPIRE', us, ARGV[5])
if KEYS[3] then redis.call('SET', KEYS[3], abandoned, 'EX', ARGV[8]) end
return p
"""

LEDGERED_TTL_S = 7 * 86400  # how long a call's "counted" note outlives its answer: past any restart that settles it

_RECORD_PERSON = """
local hour, us = KEYS[1], KEYS[2]
local at, minute = ARGV[1], ARGV[2]
redis.call('HINCRBY', hour, minute .. ':p', 1)
redis.call('EXPIRE', hour, ARGV[3])
local start = redis.call('HGET', us, 'start')
if not start then return false end
local p = math.floor((tonumber(at) - tonumber(start)) / tonumber(ARGV[5]))
redis.call('HINCRBY', us, string.format('%d:p', p), 1)
redis.call('HSET', us, 'layout', ARGV[6])
redis.call('EXPIRE', us, ARGV[4])
return p
"""

_FIELD = re.compile(r"^(-?\d+):([lasp])$")


@dataclass(frozen=True, slots=True)
class StoredLedger:
    """What Redis holds for one campaign: the ledger's history and the AMD audit sample."""

    ledger: LedgerSnapshot
    audit_machines: int = 0
    audit_persons: int = 0
    verdict_machines: int = 0
    verdict_humans: int = 0


class LedgerStore:
    """Per-campaign ledger entries and AMD audit results in Redis, through the store's outbox."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self._amd_noted: set[str] = set()

    def _keys(self, campaign_id: str) -> tuple[str, str]:
        return self.store.key("ledger", campaign_id, "m"), self.store.key("ledger", campaign_id, "us")

    def record(self, campaign_id: str, entry: LedgerEntry, *, call_id: str = "") -> None:
        """Queue one ledger entry (cheap: a few HINCRBYs). A live answer's `call_id` is noted with it, in the same
        script (`<prefix>:ledgered:<call id>`, "1" abandoned, "0" not): a daemon restarted after a kill -9 that
        settles this call by its answer mark, with no call record (written after the entry, by another queued
        write), reads it (`RedisStore.ledgered`) and does not count the answer again."""
        minute = math.floor(entry.at / BUCKET_S)
        hours, us = self._keys(campaign_id)
        hour = f"{hours}:{minute // 60}"
        k = entry.kind
        if k is LedgerEntryKind.LIVE or k is LedgerEntryKind.ABANDONED:
            args = (repr(entry.at), str(minute), "1" if k is LedgerEntryKind.ABANDONED else "0", str(BUCKET_TTL_S),
                    str(PERIOD_TTL_S), repr(US_PERIOD_S), LAYOUT, str(LEDGERED_TTL_S))
            keys = (hour, us, self.store.key("ledgered", call_id)) if call_id else (hour, us)

            async def live(r: aioredis.Redis) -> None:
                await r.eval(_RECORD_LIVE, len(keys), *keys, *args)  # type: ignore[no-untyped-call]

            self.store.enqueue(f"ledger {campaign_id} {k.value}", live)
            return
        if k is LedgerEntryKind.PERSON:
            person_args = (repr(entry.at), str(minute), str(BUCKET_TTL_S), str(PERIOD_TTL_S), repr(US_PERIOD_S), LAYOUT)

            async def person(r: aioredis.Redis) -> None:
                await r.eval(_RECORD_PERSON, 2, hour, us, *person_args)  # type: ignore[no-untyped-call]

            self.store.enqueue(f"ledger {campaign_id} person", person)
            return
        if k is LedgerEntryKind.AMD:
            if campaign_id in self._amd_noted:
                return  # only "AMD is in use" to note, and it is noted already
            self._amd_noted.add(campaign_id)

        async def screened(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as p:
                if k is LedgerEntryKind.SCREENED:
                    p.hincrby(hour, f"{minute}:s", 1)
                    p.expire(hour, BUCKET_TTL_S)
                p.hset(us, mapping={"amd": "1", "layout": LAYOUT})
                p.expire(us, PERIOD_TTL_S)
                await p.execute()

        self.store.enqueue(f"ledger {campaign_id} {k.value}", screened)

    def record_audit(self, campaign_id: str, person: bool) -> None:
        """Queue one AMD audit result: the agent found a person (AMD was wrong) or a machine."""
        key = self.store.key("amd_audit", campaign_id)
        field = "persons" if person else "machines"

        async def op(r: aioredis.Redis) -> None:
            await r.hincrby(key, field, 1)

        self.store.enqueue(f"amd audit {campaign_id}", op)

    def record_verdict(self, campaign_id: str, machine: bool) -> None:
        """Queue one AMD verdict for the audit's machine / live-answer mix (only while audits are on)."""
        key = self.store.key("amd_audit", campaign_id)
        field = "verdict_machines" if machine else "verdict_humans"

        async def op(r: aioredis.Redis) -> None:
            await r.hincrby(key, field, 1)

        self.store.enqueue(f"amd verdict {campaign_id}", op)

    def reset_audit(self, campaign_id: str) -> None:
        """Queue the deletion of the campaign's AMD audit sample (behind the audit writes already queued)."""
        key = self.store.key("amd_audit", campaign_id)

        async def op(r: aioredis.Redis) -> None:
            await r.delete(key)

        self.store.enqueue(f"amd audit reset {campaign_id}", op)

    def rewrite(self, campaign_id: str, snap: LedgerSnapshot, audit: tuple[int, int, int, int], now: float) -> None:
        """Queue the replacement of the campaign's ledger and AMD audit sample in Redis by `snap` (the ledger's
        `export` taken now) and `audit` (machines, persons, verdict machines, verdict humans). The export must be
        taken when this is called: the entries queued before it are in it, those queued after are not."""
        hours, us = self._keys(campaign_id)
        audit_key = self.store.key("amd_audit", campaign_id)
        by_hour: dict[int, dict[Any, Any]] = {}
        for b in snap.buckets:
            fields = by_hour.setdefault(b.minute // 60, {})
            for kind, n in (("l", b.lives), ("a", b.abandons), ("s", b.screened), ("p", b.persons)):
                if n > 0:
                    fields[f"{b.minute}:{kind}"] = str(int(n))
        us_fields: dict[Any, Any] = {"layout": LAYOUT, "lives": str(snap.total_lives),
                                     "abandons": str(snap.total_abandons)}
        if snap.period_start is not None:
            us_fields["start"] = repr(snap.period_start)
        if snap.amd_in_use:
            us_fields["amd"] = "1"
        for period, lives, abandons, persons in snap.periods:
            for kind, n in (("l", lives), ("a", abandons), ("p", persons)):
                if n > 0:
                    us_fields[f"{period}:{kind}"] = str(int(n))
        names = ("machines", "persons", "verdict_machines", "verdict_humans")
        audit_fields: dict[Any, Any] = {name: str(n) for name, n in zip(names, audit, strict=True) if n > 0}
        # each hour's hash expires when it would have, had its last minute been written then (`BUCKET_TTL_S`)
        ttl = {h: max(60, int((h + 1) * 3600 + BUCKET_TTL_S - now)) for h in by_hour}
        first, last = math.floor((now - _READ_BACK_S) / 3600.0), math.floor(now / 3600.0) + 1

        async def op(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as p:
                # the hours written since the loss, those with nothing in memory included, go first
                p.delete(*(f"{hours}:{h}" for h in range(first, last + 1)), *(f"{hours}:{h}" for h in by_hour), us,
                         audit_key)
                for h, fields in by_hour.items():
                    p.hset(f"{hours}:{h}", mapping=fields)
                    p.expire(f"{hours}:{h}", ttl[h])
                p.hset(us, mapping=us_fields)
                p.expire(us, PERIOD_TTL_S)
                if audit_fields:
                    p.hset(audit_key, mapping=audit_fields)
                await p.execute()

        self.store.enqueue(f"ledger {campaign_id} rewritten after Redis lost its data ({hours}:*, {us}, {audit_key})",
                           op)

    def read(self, campaign_id: str, now: float) -> asyncio.Future[tuple[list[tuple[int, dict[str, str]]],
                                                                         dict[str, str], dict[str, str]]]:
        """Read the campaign's history behind every write queued so far (see `RedisStore.read_in_order`)."""
        hours, us = self._keys(campaign_id)
        first, last = math.floor((now - _READ_BACK_S) / 3600.0), math.floor(now / 3600.0) + 1
        audit = self.store.key("amd_audit", campaign_id)

        async def read(r: aioredis.Redis) -> tuple[list[tuple[int, dict[str, str]]], dict[str, str], dict[str, str]]:
            async with r.pipeline(transaction=False) as p:
                for h in range(first, last + 1):
                    p.hgetall(f"{hours}:{h}")
                p.hgetall(us)
                p.hgetall(audit)
                got: list[Any] = await p.execute()
            return list(zip(range(first, last + 1), got[:-2], strict=True)), dict(got[-2]), dict(got[-1])

        return self.store.read_in_order(f"ledger {campaign_id} read", read)


def parse_ledger(
    campaign_id: str, hours: list[tuple[int, dict[str, str]]], us: dict[str, str], audit: dict[str, str], now: float
) -> StoredLedger:
    """What `LedgerStore.read` returned, as a snapshot. Raises ValueError naming the bad key and the fix."""
    where = f"Redis ledger of campaign {campaign_id}"
    fix = "fix or delete that key (deleting it forgets the campaign's abandons: dial progressive until the window ends)"
    layout = us.get("layout", LAYOUT)
    if layout != LAYOUT:
        raise ValueError(f"{where}: layout {layout!r}, this dialer reads {LAYOUT!r}: run the dialer that wrote it")
    try:
        counts: dict[int, dict[str, float]] = {}
        for _hour, fields in hours:
            for name, value in fields.items():
                minute, kind = _field(name)
                counts.setdefault(minute, {})[kind] = float(int(value))
        buckets = tuple(
            LedgerBucket(minute, c.get("l", 0.0), c.get("a", 0.0), c.get("s", 0.0), c.get("p", 0.0))
            for minute, c in sorted(counts.items())
        )
        periods: dict[int, list[float]] = {}
        for name, value in us.items():
            m = _FIELD.match(name)
            if m is not None and m.group(2) in "lap":
                periods.setdefault(int(m.group(1)), [0.0, 0.0, 0.0])["lap".index(m.group(2))] = float(int(value))
        start = float(us["start"]) if "start" in us else None
        snap = LedgerSnapshot(
            taken_at=now,
            buckets=buckets,
            period_start=start,
            periods=tuple((p, v[0], v[1], v[2]) for p, v in sorted(periods.items())),
            amd_in_use=us.get("amd") == "1",
            total_lives=int(us.get("lives", "0")),
            total_abandons=int(us.get("abandons", "0")),
        )
        tallies = [_count(audit, name) for name in ("machines", "persons", "verdict_machines", "verdict_humans")]
        return StoredLedger(snap, *tallies)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{where}: {exc}; {fix}") from None


def _count(fields: dict[str, str], name: str) -> int:
    n = int(fields.get(name, "0"))
    if n < 0:
        raise ValueError(f"AMD audit field {name!r} is negative ({n})")
    return n


def _field(name: str) -> tuple[int, str]:
    m = _FIELD.match(name)
    if m is None:
        raise ValueError(f"unexpected field {name!r}")
    return int(m.group(1)), m.group(2)
