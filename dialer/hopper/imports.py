"""Loading leads into Redis: dedup inside the batch, one lookup round trip, new leads in one Lua call.

Per batch (`chunk` leads):
1. Merge the batch's own duplicates (same id or a shared number) with `merge_leads`.
2. `LOOKUP` in one round trip: does the lead exist (by id, or by any number in the campaign's number
   index), was a number loaded by another campaign recently, is it a current subscriber, is it on DNC.
3. Decide in Python: remove current subscribers from cold lists, skip numbers another campaign loaded
   within the dedup window (scope "all"), merge into existing leads, insert the rest.
4. `INSERT` new leads in one script call (lead, fresh queue, number index, seen index); merges go
   through one transactional pipeline.

A merge within the dedup window keeps the lead's history; a match older than the window is re-armed
(attempt counters reset, back to fresh if it had finished). Merging a lead with itself changes nothing,
so re-importing a file leaves Redis as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from redis.asyncio import Redis

from dialer.campaigns.models import CampaignConfig
from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys, GlobalKeys
from dialer.hopper.scripts import INSERT, LOOKUP
from dialer.hopper.views import S, text
from dialer.leads.model import Lead, decode_lead, encode_lead, merge_leads
from dialer.leads.report import ImportTally
from dialer.leads.rows import RowIssue

__all__ = ["Importer", "Pending"]

SEEN_SEP = "\x1f"
RANK_SCALE = 1e9
_DATA_FINISHED = frozenset({"no consent", "no dialable number", "recidivist excluded"})


@dataclass(slots=True)
class Pending:
    """A lead waiting to be written, with every input line that folded into it."""

    lead: Lead
    lines: list[int] = field(default_factory=list)


class Importer:
    """Writes batches of parsed leads for one campaign."""

    def __init__(self, redis: Redis, campaign: CampaignConfig, prefix: str, timeout_s: float) -> None:
        self._r = redis
        self._c = campaign
        self._g = GlobalKeys(prefix)
        self._k = CampaignKeys(prefix, campaign.id)
        self._timeout = timeout_s
        self._lookup = redis.register_script(LOOKUP)
        self._insert = redis.register_script(INSERT)

    async def write(self, batch: Iterable[tuple[int, Lead]], tally: ImportTally, now: float) -> None:
        pending = self._fold(batch)
        if not pending:
            return
        async with redis_call(f"looking up {len(pending)} leads of {self._c.id}", self._timeout):
            found = await self._lookup(args=self._lookup_args(pending))
        window = self._c.dedup.days * 86400.0
        inserts: list[Pending] = []
        merges: list[tuple[str, Pending]] = []
        for p, row in zip(pending, found, strict=True):
            exists, nx, seen, base, dnc = int(row[0]), [text(x) for x in row[1]], row[2], row[3], row[4]
            if self._c.reconcile and any(text(b) for b in base):
                tally.removed_subscribers += len(p.lines)
                sub = next(text(b) for b in base if text(b))
                for ln in p.lines:
                    tally.skip(RowIssue(ln, f"current subscriber {sub}: removed from the cold list"))
                continue
            existing = p.lead.lead_id if exists else next((x for x in nx if x), None)
            if existing is None and self._c.dedup.scope == "all":
                other = self._seen_elsewhere(seen, now, window)
                if other is not None:
                    tally.skipped_duplicates += len(p.lines)
                    for ln in p.lines:
                        tally.skip(RowIssue(ln, f"already loaded by campaign {other} within {self._c.dedup.days} days"))
                    continue
            if any(int(d) for d in dnc):
                tally.on_dnc += 1
            others = {x for x in nx if x and x != existing}
            if existing is not None and others:
                tally.warn(
                    (
                        RowIssue(
                            p.lines[0],
                            f"numbers also belong to lead(s) {', '.join(sorted(others))}; merged into {existing}",
                        ),
                    )
                )
            if existing is None:
                inserts.append(p)
            else:
                merges.append((existing, p))
        if inserts:
            await self._write_new(inserts, now)
            tally.new += len(inserts)
            tally.merged += sum(len(p.lines) - 1 for p in inserts)
        if merges:
            await self._write_merges(merges, tally, now, window)

    def _fold(self, batch: Iterable[tuple[int, Lead]]) -> list[Pending]:
        out: list[Pending] = []
        by_id: dict[str, Pending] = {}
        by_num: dict[str, Pending] = {}
        for line, lead in batch:
            hit = by_id.get(lead.lead_id) or next((by_num[n.e164] for n in lead.numbers if n.e164 in by_num), None)
            if hit is None:
                hit = Pending(lead, [line])
                out.append(hit)
                by_id[lead.lead_id] = hit
            else:
                hit.lead = merge_leads(hit.lead, lead, self._c.leads.max_numbers)
                hit.lines.append(line)
            for n in hit.lead.numbers:
                by_num.setdefault(n.e164, hit)
        return out

    def _lookup_args(self, pending: Sequence[Pending]) -> list[Any]:
        args: list[Any] = [self._g.dnc]
        for p in pending:
            args += [self._k.lead(p.lead.lead_id), len(p.lead.numbers)]
            for n in p.lead.numbers:
                args += [*self._k.nx(n.e164), *self._g.seen(n.e164), *self._g.base(n.e164), n.e164]
        return args

    def _seen_elsewhere(self, seen: Sequence[object], now: float, window: float) -> str | None:
        for s in seen:
            value = text(s)
            if not value:
                continue
            cid, _, at = value.partition(SEEN_SEP)
            if cid != self._c.id and at and now - float(at) <= window:
                return cid
        return None

    async def _write_new(self, inserts: list[Pending], now: float) -> None:
        k = self._k
        async with redis_call(f"reserving import sequence for {self._c.id}", self._timeout):
            top = int(await self._r.incrby(k.seq, len(inserts)))
        seq0 = top - len(inserts)
        zones = sorted({p.lead.zone_key for p in inserts})
        args: list[Any] = [k.zk, k.n, f"{self._c.id}{SEEN_SEP}{now!r}", len(zones), *zones]
        for j, p in enumerate(inserts):
            lead = p.lead
            score = lead.rank * RANK_SCALE + seq0 + j + 1
            args += [k.lead(lead.lead_id), encode_lead(lead), k.fresh(lead.zone_key), repr(score)]
            args += [lead.lead_id, len(lead.numbers)]
            for n in lead.numbers:
                args += [*k.nx(n.e164), *self._g.seen(n.e164)]
        async with redis_call(f"inserting {len(inserts)} leads into {self._c.id}", self._timeout):
            await self._insert(args=args)

    async def _write_merges(
        self, merges: list[tuple[str, Pending]], tally: ImportTally, now: float, window: float
    ) -> None:
        k = self._k
        async with redis_call(f"reading {len(merges)} leads to merge in {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for lid, _ in merges:
                pipe.get(k.lead(lid))
                pipe.hgetall(k.state(lid))
            got = await pipe.execute()
        olds: list[tuple[str, Pending, Lead, dict[str, str]]] = []
        for j, (lid, p) in enumerate(merges):
            blob, state = got[2 * j], got[2 * j + 1]
            if blob is None:  # removed since the lookup: insert instead
                await self._write_new([Pending(replace(p.lead, lead_id=lid), p.lines)], now)
                tally.new += 1
                continue
            old = decode_lead(lid, text(blob))
            olds.append((lid, p, old, {text(a): text(b) for a, b in state.items()}))
        async with redis_call(f"locating {len(olds)} leads to merge in {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for lid, _, old, _ in olds:
                pipe.zscore(k.fresh(old.zone_key), lid)
                pipe.zscore(k.due(old.zone_key), lid)
            where = await pipe.execute()
        seen_value = f"{self._c.id}{SEEN_SEP}{now!r}"
        async with redis_call(f"merging {len(olds)} leads into {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=True)
            for j, (lid, p, old, state) in enumerate(olds):
                merged = merge_leads(old, replace(p.lead, lead_id=lid), self._c.leads.max_numbers)
                recent = self._within_window(old, p.lead, now, window)
                finished = state.get(S.FINISHED)
                rearm = not recent
                if rearm:
                    fresh_at = {(x.list_name, x.source): x.imported_at for x in p.lead.sources}
                    merged = replace(
                        merged,
                        sources=tuple(
                            replace(x, imported_at=fresh_at.get((x.list_name, x.source), x.imported_at))
                            for x in merged.sources
                        ),
                    )
                in_fresh, in_due = where[2 * j], where[2 * j + 1]
                if merged != old or rearm or (finished in _DATA_FINISHED):
                    pipe.set(k.lead(lid), encode_lead(merged))
                for n in merged.numbers:
                    if n.e164 not in {x.e164 for x in old.numbers}:
                        pipe.hset(k.nx(n.e164)[0], k.nx(n.e164)[1], lid)
                        pipe.hset(self._g.seen(n.e164)[0], self._g.seen(n.e164)[1], seen_value)
                if rearm:
                    tally.rearmed += 1
                    tally.merged += len(p.lines) - 1
                    pipe.hdel(k.state(lid), S.ATTEMPTS, S.ATTEMPTS_DAY, S.DAY, S.RETRY_AT)
                    for n in merged.numbers:
                        pipe.hset(self._g.seen(n.e164)[0], self._g.seen(n.e164)[1], seen_value)
                else:
                    tally.merged += len(p.lines)
                zone_moved = merged.zone_key != old.zone_key
                if finished and (rearm or finished in _DATA_FINISHED):
                    pipe.hdel(k.state(lid), S.FINISHED)
                    pipe.hincrby(k.fin, finished, -1)
                    pipe.zadd(k.fresh(merged.zone_key), {lid: merged.rank * RANK_SCALE})
                    pipe.sadd(k.zk, merged.zone_key)
                elif zone_moved and (in_fresh is not None or in_due is not None):
                    pipe.sadd(k.zk, merged.zone_key)
                    if in_fresh is not None:
                        pipe.zrem(k.fresh(old.zone_key), lid)
                        pipe.zadd(k.fresh(merged.zone_key), {lid: float(in_fresh)})
                    if in_due is not None:
                        pipe.zrem(k.due(old.zone_key), lid)
                        pipe.zadd(k.due(merged.zone_key), {lid: float(in_due)})
            await pipe.execute()

    def _within_window(self, old: Lead, new: Lead, now: float, window: float) -> bool:
        lists = {s.list_name for s in new.sources}
        for s in old.sources:
            if self._c.dedup.scope == "list" and s.list_name not in lists:
                continue
            if now - s.imported_at <= window:
                return True
        return False
