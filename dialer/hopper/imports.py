"""Loading leads into Redis: dedup inside the batch, then one script call that inserts what is new.

Per batch (`chunk` leads):
1. Merge the batch's own duplicates (same id or a shared number) with `merge_leads`. Rows of two people (their
   own lead ids differ, or their subscriber accounts do) are not folded for sharing a number (a household's
   landline): each keeps its lead, with a warning naming both; the number's take mark stops two dials at once.
2. `IMPORT` (one round trip) inserts every lead nothing matches: no lead with its id or any of its
   numbers in this campaign, no current subscriber (cold lists), and with dedup scope "all" no lead
   with one of its numbers in another campaign. For the rest it returns what it found.
3. Decide those in Python: remove current subscribers from cold lists (and finish the lead a row of one
   matches: the person became a subscriber after an earlier import), skip numbers another campaign
   loaded within the dedup window (scope "all"), merge into existing leads (one transactional
   pipeline; a lead found by a number only, of another person, is kept apart as in step 1), insert the
   remainder.

A merge within the dedup window keeps the lead's history; a match older than the window is re-armed
(total attempts reset, back to fresh if it had finished), except a lead finished for do-not-call, which
stays finished: the person's request is final. The per-day and 24-hour attempt counters are kept (the
person's local day and the last 24 hours still count). Merging a lead with itself changes nothing, so
re-importing a file leaves Redis as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from redis.asyncio import Redis

from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import Disposition
from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys, GlobalKeys, bucket, lead_ref, subscriber_of
from dialer.hopper.lead_lists import ListMetric, count_for_list, list_stat
from dialer.hopper.scripts import IMPORT
from dialer.hopper.subscriber_dnc import FINISH
from dialer.hopper.views import FS, GS, S, text
from dialer.leads.model import Lead, LeadHeader, decode_header, decode_lead, encode_lead, list_key, merge_leads
from dialer.leads.report import ImportTally
from dialer.leads.rows import RowIssue
from dialer.policy.contact import held_by_paused_lists
from dialer.policy.types import Block

__all__ = ["Importer", "Pending"]

RS = "\x1e"
RANK_SCALE = 1e9
# A finish for the lead's data or the person's standing; an import that matches the lead again re-opens it (a
# subscriber who left the base is a cold prospect again: one still in it is removed before any merge).
_DATA_FINISHED = frozenset({"no consent", "no dialable number", "recidivist excluded", str(Block.CURRENT_SUBSCRIBER)})
# A do-not-call finish (the person's request, or the policy's final DNC block) is never re-armed.
_DNC_FINISHED = frozenset({Disposition.DNC.value, str(Block.DNC)})


@dataclass(slots=True)
class Pending:
    """A lead waiting to be written, with every input line that folded into it."""

    lead: Lead
    lines: list[int] = field(default_factory=list)
    # leads of other people sharing a number with it (see `_two_people`): they do not match it, and a warning
    # named each once
    apart: set[str] = field(default_factory=set)


# A lead as `_two_people` compares it: its id, its first number, its subscriber account.
_Who = tuple[str, str, str | None]


def _who(lead: Lead) -> _Who:
    return lead.lead_id, lead.numbers[0].e164, lead.subscriber_id


def _who_stored(lead_id: str, header: LeadHeader) -> _Who:
    return lead_id, header.numbers[0], subscriber_of(header.person)


def _own_id(who: _Who) -> bool:
    """Whether the lead's id came with it, not made by the row reader (`n<first number's digits>`, `s-<account>`)."""
    lead_id, first, sub = who
    return lead_id != "n" + first[1:] and not (sub is not None and lead_id == f"s-{sub}")


def _two_people(a: _Who, b: _Who) -> bool:
    """Leads sharing a number that are not one person: different accounts, or each with its own, different id
    (a household's landline on two subscribers' rows). Without those, a shared number makes one person."""
    if a[2] is not None and b[2] is not None and a[2] != b[2]:
        return True
    return a[0] != b[0] and _own_id(a) and _own_id(b)


def _name(who: _Who) -> str:
    return f"lead {who[0]}" + (f" (subscriber {who[2]})" if who[2] else "")


class Importer:
    """Writes batches of parsed leads for one campaign."""

    def __init__(self, redis: Redis, campaign: CampaignConfig, prefix: str, timeout_s: float) -> None:
        self._r = redis
        self._c = campaign
        self._g = GlobalKeys(prefix)
        self._k = CampaignKeys(prefix, campaign.id)
        self._timeout = timeout_s
        self._script = redis.register_script(IMPORT)
        self._finish = redis.register_script(FINISH)

    async def write(self, batch: Iterable[tuple[int, Lead]], tally: ImportTally, now: float) -> None:
        pending = self._fold(batch, tally)
        if not pending:
            return
        before = tally.merged + tally.rearmed
        new = tally.new
        await self._write(pending, tally, now)
        # The supervisor's lists: the new leads each brought are counted by the IMPORT script that inserts them
        # (one step: a Redis error cannot leave leads dialed whose list is unknown); a batch that only merged
        # leads names its list here.
        if tally.new == new and tally.merged + tally.rearmed > before:
            async with redis_call(f"naming list {tally.list_name} in {self._c.id}", self._timeout):
                await self._r.hincrby(self._k.lists, list_key(tally.list_name), 0)

    async def _write(self, pending: list[Pending], tally: ImportTally, now: float) -> None:
        others: list[str] = []
        if self._c.dedup.scope == "all":
            async with redis_call("listing campaigns", self._timeout):
                ids = sorted(text(x) for x in await self._r.smembers(self._g.campaigns))
            others = [CampaignKeys(self._g.prefix, cid).p for cid in ids if cid != self._c.id]
        replies = await self._import(pending, others, self._c.reconcile, tally.list_name)
        window = self._c.dedup.days * 86400.0
        later: list[tuple[Pending, list[str], list[str]]] = []
        merges: list[tuple[str, Pending]] = []
        inserts: list[Pending] = []
        subscribers: list[str] = []  # leads of this campaign a current subscriber's row matched
        found: list[tuple[Pending, bool, list[str], list[str]]] = []  # (pending, its id exists, nx, hits)
        for p, reply in zip(pending, replies, strict=True):
            if reply.startswith("I"):
                tally.new += 1
                tally.merged += len(p.lines) - 1
                tally.on_dnc += reply == "I!"
                continue
            _, exists_t, nx_t, base_t, dnc_t, hits_t = reply.split(GS)
            nx, base, hits = nx_t.split(FS), base_t.split(FS), hits_t.split(FS)
            if self._c.reconcile and any(base):
                tally.removed_subscribers += len(p.lines)
                sub = next(b for b in base if b)
                for ln in p.lines:
                    tally.skip(RowIssue(ln, f"current subscriber {sub}: removed from the cold list"))
                subscribers += [p.lead.lead_id] if exists_t == "1" else []
                subscribers += [x for x in nx if x]
                continue
            tally.on_dnc += "1" in dnc_t.split(FS)
            found.append((p, exists_t == "1", nx, hits))
        heads = await self._headers({x for p, exists, nx, _ in found if not exists
                                     for x in nx if x and x not in p.apart})
        for p, exists, nx, hits in found:
            ids = list(dict.fromkeys(x for x in nx if x and x not in p.apart))
            if not exists:
                apart = [x for x in ids if x in heads and _two_people(_who(p.lead), _who_stored(x, heads[x]))]
                for x in apart:
                    num = next(n.e164 for n, lid in zip(p.lead.numbers, nx, strict=False) if lid == x)
                    tally.warn((RowIssue(p.lines[0], f"{num} is also the number of {_name(_who_stored(x, heads[x]))}, "
                                                     f"another person: kept as a separate lead {p.lead.lead_id}"),))
                p.apart.update(apart)
                ids = [x for x in ids if x not in apart]
            existing = p.lead.lead_id if exists else next(iter(ids), None)
            others_here = {x for x in ids if x != existing}
            if existing is not None and others_here:
                names = ", ".join(sorted(others_here))
                tally.warn((RowIssue(p.lines[0], f"numbers also belong to lead(s) {names}; merged into {existing}"),))
            if existing is not None:
                merges.append((existing, p))
            elif any(hits):
                later.append((p, [h for hs in hits for h in hs.split(";") if h], []))
            else:
                inserts.append(p)
        if later:
            inserts += await self._skip_recent_elsewhere(later, tally, now, window)
        if inserts:
            again = await self._import(inserts, [], False, tally.list_name)
            for p, reply in zip(inserts, again, strict=True):
                if reply.startswith("I"):
                    tally.new += 1
                    tally.merged += len(p.lines) - 1
                    tally.on_dnc += reply == "I!"
                else:  # appeared meanwhile (another import): merge instead
                    merges.append((p.lead.lead_id, p))
        if merges:
            await self._write_merges(merges, tally, now, window)
        if subscribers:
            await self._finish_subscribers(list(dict.fromkeys(subscribers)))

    async def _finish_subscribers(self, lids: list[str]) -> None:
        """Finish leads already loaded whose person a re-import found in the subscriber base (the policy would at
        their next check; finished now, the import's "removed" is true at once). One in flight is left to its
        dial's result, after which the policy finishes it."""
        k = self._k
        async with redis_call(f"reading {len(lids)} leads of current subscribers in {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for lid in lids:
                pipe.get(k.lead(lid))
            blobs = await pipe.execute()
        reason = str(Block.CURRENT_SUBSCRIBER)
        for lid, blob in zip(lids, blobs, strict=True):
            if blob is None:
                continue
            header = decode_header(text(blob))
            stat = list_stat(header.lists, ListMetric.FINISHED) or ""
            async with redis_call(f"finishing lead {lid} of {self._c.id} as a current subscriber", self._timeout):
                await self._finish(args=[k.p, lid, header.zone_key, stat, reason])

    async def _headers(self, lids: set[str]) -> dict[str, LeadHeader]:
        """The stored headers of leads `lids` (those still there)."""
        if not lids:
            return {}
        order = sorted(lids)
        async with redis_call(f"reading {len(order)} leads sharing numbers in {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for lid in order:
                pipe.get(self._k.lead(lid))
            blobs = await pipe.execute()
        return {lid: decode_header(text(b)) for lid, b in zip(order, blobs, strict=True) if b is not None}

    async def _import(self, pending: Sequence[Pending], others: Sequence[str], reconcile: bool,
                      list_name: str) -> list[str]:
        """Run IMPORT on `pending`; the leads it inserts are counted for `list_name` in the same script."""
        k = self._k
        records = []
        for p in pending:
            lead = p.lead
            fields = [lead.lead_id, encode_lead(lead), str(lead.rank), lead.zone_key]
            for n in lead.numbers:
                fields += [*bucket(n.e164), n.e164]
            records.append(GS.join(fields))
        zones = sorted({p.lead.zone_key for p in pending})
        args = [self._g.prefix, k.p, self._c.id, "1" if reconcile else "0", RS.join(others), RS.join(zones)]
        args += [RS.join(records), list_key(list_name), RS.join(FS.join(sorted(p.apart)) for p in pending)]
        async with redis_call(f"importing {len(pending)} leads into {self._c.id}", self._timeout):
            return [text(x) for x in await self._script(args=args)]

    async def _skip_recent_elsewhere(
        self, later: list[tuple[Pending, list[str], list[str]]], tally: ImportTally, now: float, window: float
    ) -> list[Pending]:
        """Scope "all": skip a lead if another campaign loaded one of its numbers within the window."""
        async with redis_call("reading leads of other campaigns", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for _, hits, _ in later:
                for hit in hits:
                    cid, _, lid = hit.partition("=")
                    pipe.get(CampaignKeys(self._g.prefix, cid).lead(lid))
            blobs = iter(await pipe.execute())
        keep: list[Pending] = []
        for p, hits, _ in later:
            recent: str | None = None
            for hit in hits:
                blob = next(blobs)
                if blob is None:
                    continue
                cid, _, lid = hit.partition("=")
                other = decode_lead(lid, text(blob))
                if any(now - s.imported_at <= window for s in other.sources):
                    recent = recent or cid
            if recent is None:
                keep.append(p)
                continue
            tally.skipped_duplicates += len(p.lines)
            for ln in p.lines:
                tally.skip(RowIssue(ln, f"already loaded by campaign {recent} within {self._c.dedup.days} days"))
        return keep

    def _fold(self, batch: Iterable[tuple[int, Lead]], tally: ImportTally) -> list[Pending]:
        out: list[Pending] = []
        by_id: dict[str, Pending] = {}
        by_num: dict[str, list[Pending]] = {}
        for line, lead in batch:
            hit = by_id.get(lead.lead_id)
            apart: dict[str, tuple[str, Pending]] = {}  # lead id -> (the shared number, its pending lead)
            if hit is None:
                for n in lead.numbers:
                    for other in by_num.get(n.e164, ()):
                        if not _two_people(_who(lead), _who(other.lead)):
                            hit = hit or other
                        else:
                            apart.setdefault(other.lead.lead_id, (n.e164, other))
            if hit is None:
                hit = Pending(lead, [line], set(apart))
                out.append(hit)
                by_id[lead.lead_id] = hit
                for num, other in apart.values():
                    other.apart.add(lead.lead_id)
                    tally.warn((RowIssue(line, f"{num} is also the number of {_name(_who(other.lead))} on line "
                                               f"{other.lines[0]}, another person: kept as a separate lead "
                                               f"{lead.lead_id}"),))
            else:
                hit.lead = merge_leads(hit.lead, lead, self._c.leads.max_numbers)
                hit.lines.append(line)
            for n in hit.lead.numbers:
                here = by_num.setdefault(n.e164, [])
                if hit not in here:
                    here.append(hit)
        return out

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
        # each lead with the zone key its stored header has: its queues are named by it (a lead stored before
        # numbers kept their own zones may decode to other zones; it moves to them here)
        olds: list[tuple[str, Pending, Lead, str, dict[str, str]]] = []
        for j, (lid, p) in enumerate(merges):
            blob, state = got[2 * j], got[2 * j + 1]
            if blob is None:  # removed since the lookup: insert instead
                replies = await self._import([Pending(replace(p.lead, lead_id=lid), p.lines, p.apart)], [], False,
                                             tally.list_name)
                tally.new += replies[0].startswith("I")
                continue
            stored = text(blob)
            old = decode_lead(lid, stored)
            olds.append((lid, p, old, decode_header(stored).zone_key, {text(a): text(b) for a, b in state.items()}))
        async with redis_call(f"locating {len(olds)} leads to merge in {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for lid, _, _, was_zones, _ in olds:
                pipe.zscore(k.fresh(was_zones), lid)
                pipe.zscore(k.due(was_zones), lid)
                pipe.sismember(k.parked, lid)
            pipe.smembers(k.lpaused)
            *where, paused_raw = await pipe.execute()
        paused = {text(x) for x in paused_raw}
        async with redis_call(f"merging {len(olds)} leads into {self._c.id}", self._timeout):
            pipe = self._r.pipeline(transaction=True)
            for j, (lid, p, old, was_zones, state) in enumerate(olds):
                merged = merge_leads(old, replace(p.lead, lead_id=lid), self._c.leads.max_numbers)
                recent = self._within_window(old, p.lead, now, window)
                finished = state.get(S.FINISHED)
                rearm = not recent and finished not in _DNC_FINISHED
                if rearm:
                    fresh_at = {(x.list_name, x.source): x.imported_at for x in p.lead.sources}
                    merged = replace(
                        merged,
                        sources=tuple(
                            replace(x, imported_at=fresh_at.get((x.list_name, x.source), x.imported_at))
                            for x in merged.sources
                        ),
                    )
                in_fresh, in_due, parked = where[3 * j], where[3 * j + 1], where[3 * j + 2]
                zone_moved = merged.zone_key != was_zones
                if merged != old or rearm or (finished in _DATA_FINISHED) or zone_moved:
                    pipe.set(k.lead(lid), encode_lead(merged))
                # the account index follows the lead's person (a list naming the account where an earlier one
                # did not): listed under the new, off the old
                was, now_sub = subscriber_of(old.person), subscriber_of(merged.person)
                if was is not None and was != now_sub:
                    pipe.srem(self._g.account(was), lead_ref(self._c.id, lid))
                if now_sub is not None:
                    pipe.sadd(self._g.account(now_sub), lead_ref(self._c.id, lid))
                for n in merged.numbers:
                    if n.e164 not in {x.e164 for x in old.numbers}:
                        pipe.hset(k.nx(n.e164)[0], k.nx(n.e164)[1], lid)
                if rearm:
                    tally.rearmed += 1
                    tally.merged += len(p.lines) - 1
                    # the total resets; today's count (dy/ad) and the last 24 hours' dials (a24) stay,
                    # or a lead dialed up to its daily cap would be dialed again the same day
                    pipe.hdel(k.state(lid), S.ATTEMPTS, S.RETRY_AT, S.LOST)
                else:
                    tally.merged += len(p.lines)
                if finished and (rearm or finished in _DATA_FINISHED):
                    pipe.hdel(k.state(lid), S.FINISHED)
                    pipe.hincrby(k.fin, finished, -1)
                    count_for_list(pipe, k, old.lists, ListMetric.FINISHED, -1)
                    pipe.zadd(k.fresh(merged.zone_key), {lid: merged.rank * RANK_SCALE})
                    pipe.sadd(k.zk, merged.zone_key)
                elif zone_moved and (in_fresh is not None or in_due is not None):
                    pipe.sadd(k.zk, merged.zone_key)
                    if in_fresh is not None:
                        pipe.zrem(k.fresh(was_zones), lid)
                        pipe.zadd(k.fresh(merged.zone_key), {lid: float(in_fresh)})
                    if in_due is not None:
                        pipe.zrem(k.due(was_zones), lid)
                        pipe.zadd(k.due(merged.zone_key), {lid: float(in_due)})
                if parked and not held_by_paused_lists(merged.lists, paused):
                    # waiting for its paused lists, and now in a running one too: due at once
                    pipe.sadd(k.zk, merged.zone_key)  # every queue written is one `fill` reads
                    pipe.zadd(k.due(merged.zone_key), {lid: now}, xx=True)
                    pipe.srem(k.parked, lid)
            await pipe.execute()

    def _within_window(self, old: Lead, new: Lead, now: float, window: float) -> bool:
        lists = {s.list_name for s in new.sources}
        for s in old.sources:
            if self._c.dedup.scope == "list" and s.list_name not in lists:
                continue
            if now - s.imported_at <= window:
                return True
        return False
