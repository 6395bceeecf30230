"""The hopper: a Redis-backed ready queue per campaign, filled ahead of the pacer's need.

Theory of operation. Leads wait in per-zone-set queues (fresh by rank, retries/deferred by due time), so
`fill` reads only leads whose zones are inside calling hours now, merging those queues by score in one
Lua call per batch. Each candidate is checked by the pure `ContactPolicy`; a pass goes to the ready
queue (band 1 fresh, band 2 retry; callbacks are served straight from their own queue and come first),
a final block finishes the lead, a temporary block defers it to exactly the instant it can next be
dialed. `take` pops into an in-flight set and checks again, because DNC, suppression, hours and locks
can change between fill and originate; nothing taken is lost if the process dies (in-flight leads whose
result never comes are recovered by the next fill as a "lost" attempt). A take also marks the lead's
numbers out, so no other take, of any campaign, dials them until this one ends (`scripts._OUT`); every
write that ends a take checks in its own script that the take is still the lead's (`writes.APPLY`), so it
applies once, and never over another take. Each take is stamped with the run of the process that took it
(`run_id`, random per Hopper: per daemon start) and with whether its dial may have gone out; a daemon restarted
after a crash releases at once the takes of the campaign a gone run left whose calls are not up in Asterisk
(`release_dead_takes`), so that the recovery after `inflight_timeout_s` is only for what that cannot tell. A
predictive dial's take also keeps the call id once the daemon placed it (`note_calls`): a dead run's call gone from
Asterisk is then settled by what the dialplan marked of its answer (the daemon's `settle`), not recorded lost.

One `Hopper` per campaign in the whole deployment (it owns the campaign's queues: a second daemon running the
campaign would have its takes released by the first's next start); fills are serialised by a lock. `now` is
always passed in (virtual time in the demo); the wall clock is never read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from redis.asyncio import Redis

from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import Disposition as PolicyDisposition
from dialer.errors import ConfigError, LeadError, PolicyViolation, StateStoreError
from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys, GlobalKeys, bucket, lead_ref, subscriber_of
from dialer.hopper.lead_lists import (
    ListMetric,
    PausedLists,
    count_for_list,
    list_lists,
    list_stat,
    pause_list,
    resume_list,
)
from dialer.hopper.results import LOST_OUTCOME, lost_attempts, write_plan
from dialer.hopper.scripts import (
    DUE_OWN,
    FILL_PEEK,
    GATHER_ONLY,
    INDEX_CALLBACKS,
    LIST_OWN,
    MOVE_ONE,
    NOTE_CALLS,
    NUMBER_CHECK,
    REASSIGN_OWN,
    TAKE_MANUAL,
    TAKE_OWN,
    TAKE_POP,
)
from dialer.hopper.status import build_status
from dialer.hopper.subscriber_dnc import pending_spreads, spread_done, subscriber_dnc
from dialer.hopper.types import (
    CallbackMove,
    DialTarget,
    FillReport,
    HopperStatus,
    LeadList,
    NumberInUse,
    RecycleReport,
    ScheduledCallback,
)
from dialer.hopper.views import GS, Gathered, S, clean, parse_gathered, split_tag, text
from dialer.hopper.writes import APPLY, Batch, Guard, apply
from dialer.leads.model import Lead, LeadNumber, decode_fields, decode_header, encode_lead, list_key
from dialer.leads.model import LeadSource as LeadOrigin
from dialer.leads.phone import zones_for
from dialer.policy.contact import ContactPolicy
from dialer.policy.types import Block, DialResult, ResultPlan, Verdict

__all__ = ["BAND", "MANUAL_FINISH", "MANUAL_LEAD_PREFIX", "MANUAL_LIST", "NUMBER_OUT", "NUMBER_OUT_WAIT_S",
           "OUT_TTL_MARGIN_S", "DeadDial", "DeadTakes", "Hopper", "SettleDials"]

log = logging.getLogger(__name__)

BAND = 1e15
_FRESH, _RETRY = 1, 2
_CHUNK = 256
_TAKE_ROUNDS = 8
_WRITE_TRIES = 5  # reads and writes of one result when the lead changes in between (a follow-up arriving)
RS = "\x1e"
_MOVES: dict[str, CallbackMove] = {"moved": "moved", "not_scheduled": "not_scheduled", "not_yours": "not_yours"}
# A ready lead whose number another take has out being dialed waits this long in its retry queue (`scripts._OUT`),
# with this reason; a callback stays due where it is.
NUMBER_OUT = "number being dialed"
NUMBER_OUT_WAIT_S = 60.0
# A number's mark outlives `inflight_timeout_s` by this much: the recovery of a lost take, at a fill after the
# timeout, deletes it first; the TTL only frees the numbers of a take nothing ends.
OUT_TTL_MARGIN_S = 600.0
_TAKEN_BACK = Verdict(False, block=Block.NOT_DUE, detail="the lead was taken back after the preview timed out")
# The lead an agent's manual dial creates (`Hopper.take_manual`): its id is this and a random token (never built
# from the number: read-only supervisors see lead ids, and numbers only masked); the engine tells a manual call
# it takes over after a restart by it (`dialer.engine.agentcalls.MANUAL_LEAD_PREFIX`, the same). Its list, the
# one the supervisors' reports by list name an agent's manual dials by (`dialer.supervisor.reports.MANUAL_LIST`).
MANUAL_LEAD_PREFIX = "manual-"
MANUAL_LIST = "(manual dial)"
MANUAL_FINISH = "manual dial"  # why a manual dial's lead is finished when the dial reached nobody
_NEW_ID_TRIES = 3  # random lead ids drawn for one manual dial (a clash is all but impossible)


# In a number's mark (`scripts._OUT`), what an earlier version's manual dial wrote in place of a lead id: this, the
# agent, this again, a nonce (no lead id starts with a control character). Such a mark lives its TTL at most.
_MANUAL = "\x1e"


@dataclass(frozen=True, slots=True)
class DeadTakes:
    """What `Hopper.release_dead_takes` did with the takes runs that are gone left in flight: `returned` (never
    dialed: due again at once, no attempt counted), `callbacks` (callbacks never dialed: back among the callbacks
    at their time, kept for their agent), `settled` (dials whose call the caller's `settle` ended: by the answer mark
    the dialplan left, or by the record the gone run wrote), `lost` (the other dials that may have gone out: recorded
    lost, as the recovery after `inflight_timeout_s` records them), `up` (left: their calls are up in Asterisk),
    `unstamped` (left to that recovery: taken by a version that did not stamp its takes), and the gone runs it
    released takes of."""

    campaign_id: str
    returned: int = 0
    callbacks: int = 0
    lost: int = 0
    up: int = 0
    unstamped: int = 0
    runs: tuple[str, ...] = ()
    settled: int = 0

    @property
    def released(self) -> int:
        return self.returned + self.callbacks + self.settled + self.lost


@dataclass(frozen=True, slots=True)
class DeadDial:
    """A predictive dial a gone run placed (`Hopper.note_calls`) whose call is not up in Asterisk: the take's target
    (its result is written with it) and the call's id (its answer mark's key, its record's)."""

    target: DialTarget
    call_id: str


# The caller's end of a gone run's dials (`Hopper.release_dead_takes`): the call ids it settled (their call record and
# lead result written, or on their way); the hopper records the others lost.
SettleDials = Callable[[Sequence[DeadDial]], Awaitable[Collection[str]]]


def _in_use(dnc: bool, out: str) -> NumberInUse:
    """A number's do-not-call flag and the mark of the dial that has it out ("": none), as `NumberInUse`."""
    campaign, sep, lead = out.partition("\x1f")
    if not sep:
        return NumberInUse(dnc=dnc)
    if lead.startswith(_MANUAL):
        return NumberInUse(dnc=dnc, out_campaign=campaign, out_agent=lead[1:].partition(_MANUAL)[0])
    return NumberInUse(dnc=dnc, out_campaign=campaign, out_lead=lead)


def _glob(text_: str) -> str:
    """`text_` as a literal in a Redis SCAN pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text_)


def _scheduled(lid: object, at: object, blob: object, kept_for: str | None) -> ScheduledCallback | None:
    """A listed callback from Redis replies; None when the lead itself is gone (a list deleted meanwhile)."""
    blob_s = text(blob) if blob is not None else ""
    if not blob_s:
        return None
    return ScheduledCallback(lead_id=text(lid), at=float(text(at)), number_e164=decode_header(blob_s).numbers[0],
                             fields=MappingProxyType(decode_fields(blob_s)), kept_for=kept_for or None)


class Hopper:
    """The ready queue of one campaign (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        campaign: CampaignConfig,
        policy: ContactPolicy,
        *,
        prefix: str = "dialer",
        timeout_s: float = 10.0,
        run_id: str | None = None,
    ) -> None:
        if policy.campaign.id != campaign.id:
            raise ConfigError(f"the policy is for campaign {policy.campaign.id}, the hopper for {campaign.id}")
        self._r = redis
        self.campaign = campaign
        self.policy = policy
        self._prefix = prefix
        self._g = GlobalKeys(prefix)
        self._k = CampaignKeys(prefix, campaign.id)
        self._timeout = timeout_s
        # this process's run: stamped on each take (`S.TAKEN_RUN`); another run's takes are a gone process's
        self.run_id = run_id or secrets.token_hex(8)
        self._settled: set[tuple[str, float]] = set()  # dead takes handed to a `settle`: (lead, taken at)
        self._settling: set[tuple[str, float]] = set()  # those of them a `settle` or its recording is on
        self._peek = redis.register_script(FILL_PEEK)
        self._pop = redis.register_script(TAKE_POP)
        self._own = redis.register_script(TAKE_OWN)
        self._list_own = redis.register_script(LIST_OWN)
        self._reassign_own = redis.register_script(REASSIGN_OWN)
        self._move_one = redis.register_script(MOVE_ONE)
        self._index_callbacks = redis.register_script(INDEX_CALLBACKS)
        self._any_indexed = False
        self._kept_indexed = False
        self._due_own = redis.register_script(DUE_OWN)
        self._own_indexed = False
        self._zones_indexed = False
        self._gather = redis.register_script(GATHER_ONLY)
        self._number_check = redis.register_script(NUMBER_CHECK)
        self._take_manual = redis.register_script(TAKE_MANUAL)
        self._note_calls = redis.register_script(NOTE_CALLS)
        self._apply = redis.register_script(APPLY)
        self._lock = asyncio.Lock()
        self._paused = PausedLists(redis, self._k, timeout_s)

    @property
    def campaign_id(self) -> str:
        return self.campaign.id

    @staticmethod
    def _zones(zone_key: str) -> tuple[str, ...]:
        return tuple(zone_key.split("|")) if zone_key else ()

    async def depth(self) -> int:
        """Leads in the ready queue."""
        async with redis_call(f"reading hopper depth of {self.campaign.id}", self._timeout):
            return int(await self._r.zcard(self._k.r))

    # -- fill ------------------------------------------------------------------------------------------

    async def fill(self, now: float) -> FillReport:
        """Top the ready queue up to `hopper.target_depth` with leads callable now. Then spread the do-not-call
        requests that results queued and nothing spread yet (`_spread_dnc`: Redis failed right after the result's
        write, or the process stopped), whichever campaign's results they were."""
        report, unspread = await self._fill(now)
        if unspread:
            await self._spread_dnc(None)
        return report

    async def _fill(self, now: float) -> tuple[FillReport, bool]:
        async with self._lock:
            await self._index_zone_sets()
            recovered = await self._recover(now)
            k = self._k
            async with redis_call(f"starting a fill of {self.campaign.id}", self._timeout):
                pipe = self._r.pipeline(transaction=False)
                pipe.zcard(k.r)
                pipe.smembers(k.zk)
                pipe.zremrangebyscore(self._g.ab, "-inf", f"({now!r}")
                pipe.smembers(k.lpaused)
                pipe.exists(self._g.dncs)
                depth, groups, _, paused, unspread = await pipe.execute()
            self._paused.set(frozenset(text(x) for x in paused), now)
            depth = int(depth)
            need = self.campaign.hopper.target_depth - depth
            moved = Counter[str]()
            deferred = Counter[str]()
            finished = Counter[str]()
            checked = 0
            if need > 0:
                zone_keys = sorted(text(g) for g in groups)
                allowed = [z for z in zone_keys if self.policy.hours.allowed(self._zones(z), now)]
                budget = max(self.campaign.hopper.batch, 20 * need)
                decisions = ""  # the previous batch's moves, applied by the next script call
                for phase in ("fresh", "due"):
                    # Peek about as many as should pass: `need` scaled by the pass rate seen so far,
                    # so a mostly-blocked list costs few round trips and a clean one barely overshoots.
                    spread = 1.0
                    while need > 0 and budget > 0 and allowed:
                        count = min(self.campaign.hopper.batch, budget, math.ceil(need * spread))
                        rows, rseq = await self._peek_batch(phase, allowed, count, now, decisions)
                        decisions = ""
                        if not rows:
                            break
                        checked += len(rows)
                        budget -= len(rows)
                        decisions, went = self._decide_fill(phase, allowed, rows, rseq, now, deferred, finished)
                        moved.update(went)
                        need -= sum(went.values())
                        spread = len(rows) / max(sum(went.values()), len(rows) / 20)
                        if len(rows) < count:
                            break
                if decisions:
                    await self._peek_batch("fresh", [], 0, now, decisions)
            report = FillReport(
                campaign_id=self.campaign.id,
                moved=sum(moved.values()),
                fresh=moved["fresh"],
                retries=moved["retry"],
                checked=checked,
                recovered=recovered,
                depth=depth + sum(moved.values()),
                deferred=MappingProxyType(dict(deferred)),
                finished=MappingProxyType(dict(finished)),
            )
            return report, bool(unspread)

    async def _spread_dnc(self, subscribers: Iterable[str] | None) -> None:
        """Spread the do-not-call requests a result queued (`results.write_plan`, `GlobalKeys.dncs`) for
        `subscribers` (None: every one queued) to every number and lead of theirs, as the daemon's request does
        (`subscriber_dnc`), and take each off the queue once done. The result's own write marked the persons
        already, so their leads are refused meanwhile. Redis failing here is not the result's failure (it is
        written): a WARNING, and the request waits for the next fill of any campaign."""
        try:
            pending = await pending_spreads(self._r, self._prefix, self._timeout, subscribers)
            for sub, count in pending.items():
                done = await subscriber_dnc(self._r, sub, prefix=self._prefix, timeout_s=self._timeout)
                await spread_done(self._r, self._prefix, sub, count, self._timeout)
                log.info("do-not-call request of subscriber %s spread: %d number(s) on the list, %d lead(s) finished, "
                         "%d in flight finished at their next check", sub, len(done.numbers), len(done.finished),
                         len(done.in_flight), extra={"campaign_id": self.campaign.id})
        except StateStoreError as exc:
            log.warning("a subscriber's do-not-call request is marked but not yet spread to all their numbers and "
                        "leads; the next fill does it", extra={"campaign_id": self.campaign.id, "error": repr(exc)})

    async def _index_zone_sets(self, batch: int = 1000) -> None:
        """Once per campaign (marker `zkix`): add to `zk` every zone set that has a queue. A version before
        every queue write also named its zone set there left the retries of leads whose zones changed while
        they were in the ready queue or in flight in queues no fill read."""
        if self._zones_indexed:
            return
        k = self._k
        async with redis_call(f"reading the zone-set marker of {self.campaign.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            pipe.exists(k.zkix)
            pipe.scard(k.zk)
            indexed, used = await pipe.execute()
        if not indexed and used:  # no zone set in use: no lead ever queued, nothing to look for
            cut = len(k.fresh(""))
            found: set[str] = set()
            cursor = 0
            while True:
                async with redis_call(f"indexing the zone sets of {self.campaign.id}", self._timeout):
                    cursor, keys = await self._r.scan(cursor, match=_glob(k.p) + "[df]:*", count=batch)
                found.update(text(key)[cut:] for key in keys)
                if int(cursor) == 0:
                    break
            if found:
                async with redis_call(f"indexing the zone sets of {self.campaign.id}", self._timeout):
                    await self._r.sadd(k.zk, *found)
        if not indexed:
            async with redis_call(f"marking the zone sets of {self.campaign.id} indexed", self._timeout):
                await self._r.set(k.zkix, "1")  # after the walk: one cut short is walked again
        self._zones_indexed = True

    async def _peek_batch(
        self, phase: str, allowed: Sequence[str], count: int, now: float, decisions: str
    ) -> tuple[list[Any], int]:
        k = self._k
        keys = [k.fresh(z) if phase == "fresh" else k.due(z) for z in allowed]
        maxs = "+inf" if phase == "fresh" else repr(now)
        args: list[str | int] = [self._prefix, k.p, self.campaign.id, count, maxs, _CHUNK, k.rseq, decisions]
        async with redis_call(f"reading {phase} leads of {self.campaign.id}", self._timeout):
            reply = await self._peek(keys=keys, args=args)
        rows = list(reply[1:])
        return rows, int(reply[0]) - len(rows)

    def _decide_fill(
        self,
        phase: str,
        allowed: Sequence[str],
        rows: Sequence[Any],
        rseq: int,
        now: float,
        deferred: Counter[str],
        finished: Counter[str],
    ) -> tuple[str, Counter[str]]:
        """Check each peeked lead; return the moves (in FILL_PEEK's decision format) and what went where."""
        k = self._k
        went = Counter[str]()
        out: list[str] = []
        for j, row in enumerate(rows):
            tag, rest = split_tag(row)
            zone_key = allowed[int(tag) - 1]
            src = k.fresh(zone_key) if phase == "fresh" else k.due(zone_key)
            g = parse_gathered(rest)
            if g is None:  # the lead was deleted: drop its queue entry
                out.append(GS.join(("x", rest.split(GS)[0], src)))
                continue
            if g.view.finished is not None:  # done already (a stale entry): finished once, for its own reason
                out.append(GS.join(("x", g.lead_id, src)))
                continue
            why = g.state.get(S.WHY, "")
            verdict = self.policy.check(g.view, now, paused_lists=self._paused.names)
            if verdict.ok:
                band = _FRESH if g.view.attempts == 0 else _RETRY
                out.append(GS.join(("r", g.lead_id, src, repr(band * BAND + rseq + j + 1), why)))
                went["fresh" if band == _FRESH else "retry"] += 1
            elif verdict.final:
                counted = list_stat(g.header.lists, ListMetric.FINISHED) or ""
                out.append(GS.join(("f", g.lead_id, src, str(verdict.block), why, counted, k.due(zone_key))))
                finished[str(verdict.block)] += 1
            else:
                assert verdict.not_before is not None
                reason = str(verdict.block)
                out.append(GS.join(("d", g.lead_id, src, k.due(zone_key), repr(verdict.not_before), reason, why)))
                deferred[reason] += 1
        return RS.join(out), went

    # -- decisions written to Redis ----------------------------------------------------------------------

    def _clear_why(self, pipe: Batch, g: Gathered) -> None:
        why = g.state.get(S.WHY)
        if why:
            pipe.hdel(self._k.state(g.lead_id), S.WHY)
            pipe.hincrby(self._k.why, why, -1)

    def _finish(self, pipe: Batch, g: Gathered, verdict: Verdict) -> None:
        self._clear_why(pipe, g)
        pending = g.state.get(S.FOLLOW_UP)
        if pending:
            # A follow-up came while the lead was in flight and waited for that dial's result (`results.write_plan`),
            # which never came (a Skip, a release). It is a new reason to call, not this finish's: the lead starts
            # afresh at the follow-up's time, as a result finishing it would have done. A block that holds the
            # person (do-not-call) finishes it again at that time, once.
            pipe.delete(self._k.state(g.lead_id))
            pipe.sadd(self._k.zk, g.zone_key)
            pipe.zadd(self._k.due(g.zone_key), {g.lead_id: float(pending)})
            return
        reason = str(verdict.block)
        pipe.hset(self._k.state(g.lead_id), S.FINISHED, reason)
        pipe.hincrby(self._k.fin, reason, 1)
        count_for_list(pipe, self._k, g.header.lists, ListMetric.FINISHED, 1)
        if verdict.block is Block.MAX_ATTEMPTS:
            pipe.sadd(self._k.capped, g.lead_id)

    def _defer(self, pipe: Batch, g: Gathered, verdict: Verdict) -> None:
        assert verdict.not_before is not None
        reason = str(verdict.block)
        old = g.state.get(S.WHY)
        if old != reason:
            if old:
                pipe.hincrby(self._k.why, old, -1)
            pipe.hincrby(self._k.why, reason, 1)
            pipe.hset(self._k.state(g.lead_id), S.WHY, reason)
        pipe.sadd(self._k.zk, g.zone_key)  # the lead's zones may have changed since it was queued (a re-import)
        pipe.zadd(self._k.due(g.zone_key), {g.lead_id: verdict.not_before})
        if verdict.block is Block.LIST_PAUSED:
            pipe.sadd(self._k.parked, g.lead_id)

    # -- take ------------------------------------------------------------------------------------------

    async def take(self, n: int, now: float, *, agent_reserved: bool = False,
                   preview: bool = False) -> list[DialTarget]:
        """Up to `n` numbers to dial now: due callbacks first, then the ready queue's best.

        Each is checked against the policy again right here; whatever fails is deferred or finished
        and replaced by the next one. `agent_reserved` lifts only the 72-hour abandon lock (a dial
        with an agent already waiting cannot be abandoned). `preview`: the leads go to agents' preview screens,
        not dialed until an agent dials (`recheck` marks that); else each take says its dial may have gone out.
        """
        if n <= 0:
            return []
        k = self._k
        wait = self._owner_wait()
        await self._paused.refresh(now)
        await self._index_any_callbacks()
        out: list[DialTarget] = []
        for _ in range(_TAKE_ROUNDS):
            want = n - len(out)
            if want <= 0:
                break
            async with redis_call(f"taking leads of {self.campaign.id}", self._timeout):
                rows = await self._pop(
                    keys=[k.cb, k.r, k.i],
                    args=[self._prefix, k.p, self.campaign.id, want, repr(now), wait, self._out_ttl_ms(),
                          repr(now + NUMBER_OUT_WAIT_S), NUMBER_OUT, self.run_id, "" if preview else "1"],
                )
            if not rows:
                break
            claimed = [(tag == "c", rest) for tag, rest in map(split_tag, rows)]
            out += await self._claim(claimed, now, agent_reserved=agent_reserved)
            if len(rows) < want:
                break
        return out

    def _out_ttl_ms(self) -> int:
        """The TTL of a number's mark while a take has it out (see `scripts._OUT`)."""
        return math.ceil((self.campaign.hopper.inflight_timeout_s + OUT_TTL_MARGIN_S) * 1000)

    def _out_token(self, lead_id: str) -> str:
        """What a take of the lead writes in the marks of its numbers (`scripts._OUT`)."""
        return f"{self.campaign.id}\x1f{lead_id}"

    def _free_numbers(self, pipe: Batch, g: Gathered) -> None:
        """The take of `g` ends: the marks of the numbers it took out go (those another take holds stay)."""
        marked = g.state.get(S.OUT)
        numbers = marked.split(",") if marked else g.header.numbers  # a take before the field: the lead's
        pipe.hdel(self._k.state(g.lead_id), S.OUT, S.TAKEN_RUN, S.DIALED)
        pipe.release(self._out_token(g.lead_id), (self._g.out(n) for n in numbers))

    def _owner_wait(self) -> str:
        """The campaign's `personal_callback_wait_s` as the scripts take it (-1: kept for their agent for ever)."""
        wait = self.campaign.personal_callback_wait_s
        return repr(-1.0 if wait is None else wait)

    async def take_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, DialTarget]:
        """The due callbacks agents kept for themselves ("me"): for each of `agent_ids` (the campaign's
        ready agents), its earliest one, taken as `take` takes a lead (checked against the whole policy
        first; one that fails is deferred or finished with the reason). `take` leaves these to their agent
        for the campaign's `personal_callback_wait_s` past their time."""
        wanted = sorted(set(agent_ids))
        if not wanted:
            return {}
        k = self._k
        await self._index_own_callbacks()
        async with redis_call(f"taking agents' own callbacks of {self.campaign.id}", self._timeout):
            rows = await self._own(keys=[k.cb, k.i], args=[self._prefix, k.p, self.campaign.id, repr(now),
                                                           self._out_ttl_ms(), self.run_id, *wanted])
        if not rows:
            return {}
        claimed = [(True, rest) for _owner, rest in map(split_tag, rows)]
        # the script matched each on its state's callback agent, which is the target's
        return {t.callback_agent: t for t in await self._claim(claimed, now) if t.callback_agent}

    async def due_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, list[str]]:
        """For each of `agent_ids` with due callbacks kept for them, those callbacks' lead ids, earliest first
        (nothing is taken: the agent is told, and gets them once ready)."""
        wanted = sorted(set(agent_ids))
        if not wanted:
            return {}
        k = self._k
        await self._index_own_callbacks()
        async with redis_call(f"reading agents' due callbacks of {self.campaign.id}", self._timeout):
            rows = await self._due_own(keys=[k.cb], args=[k.p, repr(now), *wanted])
        out: dict[str, list[str]] = {}
        for row in rows:
            agent, *lids = text(row).split(GS)
            out[agent] = lids
        return out

    async def own_callbacks(self, agent_id: str, limit: int = 50) -> list[ScheduledCallback]:
        """The callbacks `agent_id` kept for themselves in this campaign, earliest first (at most `limit`):
        what their desk lists. Due ones are included."""
        k = self._k
        await self._index_own_callbacks()
        async with redis_call(f"listing the callbacks of agent {agent_id} in {self.campaign.id}", self._timeout):
            flat = await self._list_own(keys=[k.cb], args=[k.p, agent_id, limit])
        return [c for lid, at, blob in zip(flat[0::3], flat[1::3], flat[2::3], strict=True)
                if (c := _scheduled(lid, at, blob, agent_id)) is not None]

    async def scheduled_callbacks(self, limit: int = 50) -> list[ScheduledCallback]:
        """The campaign's scheduled callbacks, earliest first (at most `limit`), anyone's and those kept for an
        agent (`kept_for`): the supervisor's view of what was promised. One being dialed is not among them."""
        k = self._k
        async with redis_call(f"listing the callbacks of {self.campaign.id}", self._timeout):
            pairs: Any = await self._r.zrange(k.cb, 0, limit - 1, withscores=True)  # (member, score) pairs
            firsts = [(text(m), float(s)) for m, s in pairs]
            pipe = self._r.pipeline(transaction=False)
            for lid, _at in firsts:
                pipe.hget(k.state(lid), S.CB_AGENT)
                pipe.get(k.lead(lid))
            got = await pipe.execute()
        return [c for (lid, at), owner, blob in zip(firsts, got[0::2], got[1::2], strict=True)
                if (c := _scheduled(lid, at, blob, text(owner) if owner else None)) is not None]

    async def reassign_callbacks(self, from_agent: str, to_agent: str | None) -> int:
        """Every scheduled callback `from_agent` kept for themselves is kept for `to_agent` instead (None: for
        anyone, at once); returns how many. One being dialed or previewed now is not among them."""
        if to_agent == from_agent:
            return 0
        k = self._k
        await self._index_own_callbacks()
        async with redis_call(f"moving the callbacks of agent {from_agent} in {self.campaign.id}", self._timeout):
            moved = await self._reassign_own(keys=[k.cb], args=[k.p, from_agent, to_agent or ""])
        return int(moved)

    async def move_callback(self, lead_id: str, at: float | None, keep_for: str | None, *,
                            kept_for: str | None = None, now: float | None = None) -> CallbackMove:
        """Move the scheduled callback of `lead_id` to `at` (None: its time stays) and keep it for `keep_for`
        (None: any agent). With `kept_for` (an agent changing their own), only a callback kept for that agent
        moves. One being dialed or on a preview screen now is not scheduled, and stays as it is. With `now`,
        a new time is first checked as a disposition's callback is (`ContactPolicy.validate_callback`: in
        the person's calling hours): `PolicyViolation` says why not."""
        k = self._k
        if at is not None and now is not None:
            try:
                g = await self._read(lead_id)
            except LeadError:  # no such lead: no one's callback
                return "not_yours" if kept_for is not None else "not_scheduled"
            if kept_for is not None and g.view.callback_agent != kept_for:
                return "not_yours"  # someone else's callback: say only that, not its person's calling hours
            self._validate_callback(g, at, now)
        await self._index_own_callbacks()
        async with redis_call(f"moving the callback of lead {lead_id} in {self.campaign.id}", self._timeout):
            got = await self._move_one(keys=[k.cb], args=[k.p, lead_id, kept_for or "", "" if at is None else repr(at),
                                                          keep_for or ""])
        return _MOVES[text(got)]

    async def _index_any_callbacks(self) -> None:
        """Once per campaign, index the callbacks for anyone that a version without that index scheduled (the
        script's marker makes it run once, whichever daemon gets there first)."""
        if self._any_indexed:
            return
        async with redis_call(f"indexing the callbacks for anyone of {self.campaign.id}", self._timeout):
            await self._index_callbacks(keys=[self._k.cb], args=[self._k.p, "any"])
        self._any_indexed = True

    async def _index_kept_callbacks(self) -> None:
        """Once per campaign, index the callbacks kept for agents that a version without the kept index (`cbk`)
        scheduled (the script's marker makes it run once, whichever daemon gets there first)."""
        if self._kept_indexed:
            return
        async with redis_call(f"indexing the kept callbacks of {self.campaign.id}", self._timeout):
            await self._index_callbacks(keys=[self._k.cb], args=[self._k.p, "kept"])
        self._kept_indexed = True

    async def _index_own_callbacks(self) -> None:
        """Once per campaign, index the callbacks kept for agents that a version without the per-agent index
        scheduled (the script's marker makes it run once, whichever daemon gets there first)."""
        if self._own_indexed:
            return
        k = self._k
        async with redis_call(f"indexing the agents' own callbacks of {self.campaign.id}", self._timeout):
            await self._index_callbacks(keys=[k.cb], args=[k.p, "own"])
        self._own_indexed = True

    async def _claim(self, rows: list[tuple[bool, str]], now: float, *,
                     agent_reserved: bool = False) -> list[DialTarget]:
        """Leads a script moved into "in flight" (`rows`: is it a callback, its gathered reply), checked
        against the policy: the ones that pass are marked taken, the others released with the reason."""
        k = self._k
        out: list[DialTarget] = []
        pipe = Batch()
        for is_cb, rest in rows:
            g = parse_gathered(rest)
            if g is None:
                pipe.zrem(k.i, rest.split(GS)[0])
                continue
            verdict = self.policy.check(g.view, now, callback=is_cb, agent_reserved=agent_reserved,
                                        paused_lists=self._paused.names)
            if verdict.ok:
                out.append(self._target(g, verdict, is_cb, now))
                pipe.hset(
                    k.state(g.lead_id),
                    mapping={S.TAKEN_INDEX: verdict.number_index, S.TAKEN_CALLBACK: int(is_cb)},
                )
                continue
            self._release(pipe, g, verdict, is_cb)
        await apply(self._apply, k, pipe, None, f"recording taken leads of {self.campaign.id}", self._timeout)
        return out

    def _release(self, pipe: Batch, g: Gathered, verdict: Verdict, is_cb: bool) -> None:
        """A lead that failed the policy leaves the in-flight set: finished, or deferred until `not_before`.
        One finished already only leaves it (counted once, its reason kept: `recycle` looks for it)."""
        k = self._k
        pipe.zrem(k.i, g.lead_id)
        self._free_numbers(pipe, g)
        if g.view.finished is not None:
            return  # finished already (e.g. a lost recovery at its last attempt): done, as it is
        if verdict.final:
            if is_cb:
                pipe.hdel(k.state(g.lead_id), S.CB_AT, S.CB_AGENT)
            self._finish(pipe, g, verdict)
        elif is_cb:
            assert verdict.not_before is not None
            self._queue_callback(pipe, g, verdict.not_before)
        else:
            self._defer(pipe, g, verdict)

    def _queue_callback(self, pipe: Batch, g: Gathered, at: float) -> None:
        """A callback taken and not dialed goes back among the callbacks, due at `at`, in the index of its agent
        and the kept ones (`cbk`: an exact index, see `scripts._KEPT`), or in the one of those for anyone."""
        k = self._k
        pipe.zadd(k.cb, {g.lead_id: at})
        agent = g.view.callback_agent
        if agent:
            pipe.zadd(k.own(agent), {g.lead_id: at})
            pipe.zadd(k.cbk, {g.lead_id: at})
        else:
            pipe.zadd(k.cba, {g.lead_id: at})

    async def _current_take(self, target: DialTarget) -> tuple[Gathered, bool]:
        """The lead of `target` and whether `target` is still its take: in flight, taken at `target.taken_at`
        (when the target has it) and for this attempt. A preview left on screen past `inflight_timeout_s` is
        recovered as a lost attempt and may be taken again (another agent's preview, a predictive dial): its
        stale target must neither dial nor move the lead. A read only: a write that ends the take checks it
        again in its own script (`_take_guard`), since the take may end between this read and that write."""
        g, flying = await self._read_take(target.lead_id)
        return g, self._is_take(target, g, flying)

    async def _read_take(self, lead_id: str) -> tuple[Gathered, float | None]:
        """The lead, and its take's time (its in-flight score) when it is in flight."""
        g = await self._read(lead_id)
        async with redis_call(f"reading the take of lead {g.lead_id} in {self.campaign.id}", self._timeout):
            flying = await self._r.zscore(self._k.i, g.lead_id)
        return g, None if flying is None else float(flying)

    @staticmethod
    def _is_take(target: DialTarget, g: Gathered, flying: float | None) -> bool:
        return (flying is not None and target.attempt == g.view.attempts + 1
                and (target.taken_at is None or flying == target.taken_at))

    @staticmethod
    def _take_guard(target: DialTarget, g: Gathered) -> Guard:
        """What a write ending `target`'s take checks in its script: the take is still the lead's (in flight,
        taken when the target was) and the lead's attempts and waiting follow-up are as `g` read them."""
        return Guard.of_take(g.lead_id, target.taken_at, g.state)

    async def recheck(self, target: DialTarget, now: float) -> Verdict:
        """A lead taken earlier and not dialed yet (on an agent's preview screen), checked against the whole
        policy again right before the dial, exactly as `take` checks it (suppressions, caps, the abandon
        lock, DNC, hours...). When it no longer passes, or the number taken may no longer be dialed, it is
        released as `take` releases one (finished, or deferred until it may be dialed) and the failed
        verdict says why; a passing lead stays taken. A target that is no longer the lead's take (the preview
        timed out, `inflight_timeout_s`, and the lead was recovered as lost and maybe taken again) fails with
        that reason and changes nothing."""
        g, current = await self._current_take(target)
        if not current:
            return _TAKEN_BACK
        verdict = self.policy.check(g.view, now, callback=target.is_callback,
                                    paused_lists=await self._paused.refresh(now))
        if verdict.ok and verdict.number_index == target.number_index:
            if not g.state.get(S.DIALED):  # dialed next: a restart after a crash records it lost, not undialed
                mark = Batch()
                mark.hset(self._k.state(g.lead_id), mapping={S.DIALED: "1"})
                take = "*" if target.taken_at is None else repr(float(target.taken_at))
                if not await apply(self._apply, self._k, mark, Guard(g.lead_id, take),
                                   f"marking lead {g.lead_id} of {self.campaign.id} dialed", self._timeout):
                    return _TAKEN_BACK
            return verdict
        if verdict.ok:  # another number of the lead may be dialed, not the one on screen: take it again
            verdict = Verdict(False, block=Block.NOT_DUE, not_before=now,
                              detail=f"number #{target.number_index} may no longer be dialed")
        pipe = Batch()
        pipe.hdel(self._k.state(g.lead_id), S.TAKEN_INDEX, S.TAKEN_CALLBACK)
        self._release(pipe, g, verdict, target.is_callback)
        if not await apply(self._apply, self._k, pipe, self._take_guard(target, g),
                           f"releasing lead {g.lead_id} of {self.campaign.id}", self._timeout):
            return _TAKEN_BACK  # recovered as lost (or changed) since the read: not this preview's to release
        return verdict

    async def give_back(self, target: DialTarget, now: float, *, after_s: float = 300.0) -> None:
        """Return a lead taken but never dialed (an agent skipped it in preview mode): no attempt is
        counted, and it can be handed out again after `after_s` seconds. A target that is no longer the
        lead's take (see `recheck`) changes nothing."""
        g, current = await self._current_take(target)
        if not current:
            return
        pipe = self._untake(g, is_callback=target.is_callback, callback_at=now + after_s, due=now + after_s)
        # the take may have ended since the read (recovered as lost, maybe taken again): then nothing is written
        await apply(self._apply, self._k, pipe, self._take_guard(target, g), f"giving lead {g.lead_id} back to "
                    f"{self.campaign.id}", self._timeout)

    def _untake(self, g: Gathered, *, is_callback: bool, callback_at: float, due: float) -> Batch:
        """The writes that hand back a take never dialed (no attempt counted): the lead out of flight, its
        numbers free, its callback queued again at `callback_at`, or else the lead due at `due`; a lead
        finished meanwhile stays done."""
        k = self._k
        pipe = Batch()
        pipe.zrem(k.i, g.lead_id)
        self._free_numbers(pipe, g)
        pipe.hdel(k.state(g.lead_id), S.TAKEN_INDEX, S.TAKEN_CALLBACK)
        if g.view.finished is not None:
            pass  # finished already: done, not queued again
        elif is_callback:
            self._queue_callback(pipe, g, callback_at)
        else:
            self._defer(pipe, g, Verdict(ok=False, block=Block.NOT_DUE, not_before=due))
        return pipe

    async def number_is_dnc(self, e164: str) -> bool:
        """Whether `e164` is on the global or this campaign's do-not-call list, or marked do-not-call as a
        person (`number:<e164>`, or the subscriber the operator's base lists for it; a subscriber's DNC puts
        all their numbers on the global list)."""
        return (await self.number_in_use(e164)).dnc

    async def number_in_use(self, e164: str) -> NumberInUse:
        """What holds `e164` back from a manual dial now: do-not-call (`number_is_dnc`), and the dial that has it
        out (`scripts._OUT`, in any campaign sharing the prefix: a take, or another agent's manual call), in one
        read."""
        async with redis_call("checking a number against the do-not-call lists and the dials out", self._timeout):
            dnc, out = await self._number_check(args=[self._prefix, self._k.p, e164, *bucket(e164)])
        return _in_use(text(dnc) == "1", text(out))

    async def take_manual(self, e164: str, agent_id: str, now: float) -> tuple[DialTarget | None, NumberInUse]:
        """The lead of agent `agent_id`'s manual dial of `e164` (checked already: `number_in_use`, the calling
        hours), created and taken at once (`scripts.TAKE_MANUAL`), so that the call's result is kept as any dial's
        (`record_result`: a callback, a follow-up, the attempt, the contact rules on its person).

        A lead of its own, in the list `MANUAL_LIST`, whatever other leads have the number (theirs stay as they
        are): the number, its time zones, and as its person the subscriber the operator's base lists for the
        number, else the number. Taken as `take` takes a lead: in flight since `now`, its number marked out (no
        other take dials the person while the call is up), recovered as lost if no result ever comes. Its id is
        opaque (`MANUAL_LEAD_PREFIX` and a random token). The take says that attempt 1 is a manual dial
        (`S.MANUAL`): reaching nobody, it finishes the lead instead of a retry (`_manual_plan`).

        Returns the target, or None and what holds the number when another dial has it out now (refuse the
        dial: the person would get two calls at once). Raises LeadError for a number without a time zone."""
        zones = zones_for(e164)
        async with redis_call(f"reading the subscriber base for {e164}", self._timeout):
            got = await self._r.hget(*self._g.base(e164))
        sub = text(got) if got is not None else ""
        subscriber = sub if sub and clean(sub) == sub else None  # an id with a control character names nobody
        origin = LeadOrigin(list_name=MANUAL_LIST, source=f"manual dial of agent {agent_id}", imported_at=now)
        listed = list_key(MANUAL_LIST)
        k = self._k
        for _ in range(_NEW_ID_TRIES):
            lead = Lead(lead_id=f"{MANUAL_LEAD_PREFIX}{secrets.token_hex(8)}",
                        numbers=(LeadNumber(e164, zones=zones),), sources=(origin,), subscriber_id=subscriber)
            async with redis_call(f"creating the lead of a manual dial of {self.campaign.id}", self._timeout):
                reply = text(await self._take_manual(
                    keys=[k.i], args=[self._prefix, k.p, self.campaign.id, lead.lead_id, encode_lead(lead), e164,
                                      self._out_ttl_ms(), repr(now), listed, subscriber or "", self.run_id]))
            if reply == "":
                return DialTarget(campaign_id=self.campaign.id, lead_id=lead.lead_id, number_e164=e164,
                                  number_index=0, attempt=1, fields=MappingProxyType({}),
                                  zone=lead.zones[0] if lead.zones else None, lead_list=listed, zones=lead.zones,
                                  numbers=(e164,), taken_at=now), NumberInUse(dnc=False)
            if reply != "=":
                return None, _in_use(False, reply)
        raise StateStoreError(f"no free lead id for a manual dial in {self.campaign.id} after {_NEW_ID_TRIES} "
                              "random draws; dial again")

    async def drop_manual(self, target: DialTarget) -> bool:
        """Undo `take_manual` for a manual dial that never began (the agent could not dial after all, the daemon
        began stopping): its lead goes, with what its take wrote (the mark of its number, its counts in the
        campaign and the list, the account index), as if never made. Only while `target` is still the lead's
        take; returns whether it went."""
        try:
            g, current = await self._current_take(target)
        except LeadError:
            return False
        if not current:
            return False
        k = self._k
        pipe = Batch()
        pipe.zrem(k.i, g.lead_id)
        self._free_numbers(pipe, g)
        pipe.delete(k.lead(g.lead_id), k.state(g.lead_id))
        pipe.decr(k.n)
        pipe.hincrby(k.lists, list_key(MANUAL_LIST), -1)
        account = subscriber_of(g.header.person)
        if account is not None:
            pipe.srem(self._g.account(account), lead_ref(self.campaign.id, g.lead_id))
        return await apply(self._apply, k, pipe, self._take_guard(target, g),
                           f"dropping the lead of a manual dial that never began ({g.lead_id} of {self.campaign.id})",
                           self._timeout)

    @staticmethod
    def _manual_plan(g: Gathered, attempt: int, plan: ResultPlan) -> ResultPlan:
        """`plan` for `attempt` of lead `g`, unless that attempt is an agent's manual dial (`S.MANUAL`) that reached
        nobody (busy, no answer, a lost dial...): the pacer does not dial again a number only an agent typed (the
        agent dials it again by hand), so its lead is finished (`MANUAL_FINISH`) where another would be retried.
        Whatever else its result says is kept as for any lead: a callback, a sale and its follow-ups, a refusal."""
        if plan.next == "retry" and g.state.get(S.MANUAL) == str(attempt):
            return replace(plan, next="finish", finish_reason=MANUAL_FINISH)
        return plan

    def _target(self, g: Gathered, verdict: Verdict, is_cb: bool, now: float) -> DialTarget:
        fields = decode_fields(g.blob)
        fields.update(verdict.marks)
        idx = verdict.number_index
        return DialTarget(
            campaign_id=self.campaign.id,
            lead_id=g.lead_id,
            number_e164=g.header.numbers[idx],
            number_index=idx,
            attempt=g.view.attempts + 1,
            fields=MappingProxyType(fields),
            callback_agent=g.view.callback_agent if is_cb else None,
            is_callback=is_cb,
            callback_at=g.view.callback_at if is_cb else None,
            zone=g.view.zones[0] if g.view.zones else None,
            lead_list=g.header.lists[0] if g.header.lists else None,
            zones=g.view.zones,
            numbers=g.header.numbers,
            region=g.view.region,
            taken_at=now,  # the in-flight score the take script wrote (the same `now`)
        )

    # -- results ---------------------------------------------------------------------------------------

    async def _read(self, lead_id: str) -> Gathered:
        k = self._k
        async with redis_call(f"reading lead {lead_id}", self._timeout):
            rows = await self._gather(args=[self._prefix, k.p, self.campaign.id, lead_id])
        g = parse_gathered(rows[0])
        if g is None:
            raise LeadError(f"lead {lead_id} does not exist in campaign {self.campaign.id}")
        return g

    async def record_result(self, target: DialTarget, result: DialResult, now: float) -> bool:
        """Apply a dial's outcome and disposition: counters, retry/callback/finish, locks, DNC, follow-ups.

        Once per take: the write checks, in its script, that `target` is still the lead's take (or the take
        given up as lost whose real result this is), and ends it. So a call again after a try whose reply was
        lost (Redis timed out after running it) writes nothing a second time, and neither does a target whose
        take ended otherwise; returns whether this call wrote. Raises `PolicyViolation` (writing nothing) for a
        callback time outside the person's calling hours; fix the time and call again.
        """
        return await self._record(target, result, now, lost=False)

    async def amend_result(self, target: DialTarget, result: DialResult, now: float) -> None:
        """Replace the result of a contact recorded without its disposition (finished `other`: the agent's
        wrap-up ran out) by the disposition the agent sent late: a sale, a callback, a refusal, a DNC...

        Raises `LeadError` (writing nothing) when the lead is no longer as that first result left it
        (already amended, or changed since), and `PolicyViolation` as `record_result` does."""
        if target.campaign_id != self.campaign.id:
            raise LeadError(f"target of campaign {target.campaign_id} recorded on hopper {self.campaign.id}")
        for _ in range(_WRITE_TRIES):
            g, flying = await self._read_take(target.lead_id)
            fin = g.state.get(S.FINISHED)
            if fin != PolicyDisposition.OTHER.value or g.view.attempts != target.attempt:
                raise LeadError(f"lead {target.lead_id} of campaign {self.campaign.id} is no longer as its call's "
                                f"result without a disposition left it (finished {fin!r}, {g.view.attempts} "
                                f"attempts, the call was attempt {target.attempt}): the late disposition is kept in "
                                "the call's record but does not change the lead")
            plan = self._manual_plan(g, target.attempt,
                                     self.policy.plan_amendment(g.view, target.number_index, result, now))
            batch = Batch()
            dnc = await write_plan(batch, self._r, self._prefix, self.campaign, g, plan, result, now, self._timeout,
                                   amending=fin, leave_flight=flying is not None)
            if await self._write(batch, self._untaken_guard(g, flying, S.FINISHED), g):
                if dnc:
                    await self._spread_dnc(dnc)
                return
        raise self._kept_changing(target)

    async def _record(self, target: DialTarget, result: DialResult, now: float, *, lost: bool) -> bool:
        if target.campaign_id != self.campaign.id:
            raise LeadError(f"target of campaign {target.campaign_id} recorded on hopper {self.campaign.id}")
        for _ in range(_WRITE_TRIES):
            g, flying = await self._read_take(target.lead_id)
            written = await self._record_on(g, flying, target, result, now, lost=lost)
            if written is not None:
                return written
        raise self._kept_changing(target)

    def _kept_changing(self, target: DialTarget) -> StateStoreError:
        return StateStoreError(f"lead {target.lead_id} of campaign {self.campaign.id} changed at each of "
                               f"{_WRITE_TRIES} tries to write its result (other writers on it); write it again")

    @staticmethod
    def _untaken_guard(g: Gathered, flying: float | None, *fields: str) -> Guard:
        """A write on a lead outside the take it decides on (a late real result, a late disposition): the lead
        still in flight or not as read (in flight: under another take, which it leaves alone), and `fields`,
        its attempts and its waiting follow-up as read."""
        take = "!" if flying is None else repr(flying)
        return Guard(g.lead_id, take, MappingProxyType({f: g.state.get(f, "")
                                                        for f in (*fields, S.ATTEMPTS, S.FOLLOW_UP)}))

    async def _write(self, batch: Batch, guard: Guard, g: Gathered) -> bool:
        return await apply(self._apply, self._k, batch, guard, f"recording the result of lead {g.lead_id}",
                           self._timeout)

    async def _record_on(self, g: Gathered, flying: float | None, target: DialTarget, result: DialResult,
                         now: float, *, lost: bool) -> bool | None:
        """Write the result of `target` on lead `g` as read (in flight since `flying`): True when written, False
        when it is not that take's to write (ended already: this result written by a try whose reply was lost,
        or the take recovered as lost and its real result counted since), None when the lead changed since the
        read (read it again)."""
        batch = Batch()
        if lost:
            if flying is None or flying != target.taken_at:
                return False  # its real result came since the recovery read it
            plan = self.policy.plan_result(g.view, target.number_index, result, now, lost=True)
            kept_at: float | None = None
            if g.state.get(S.TAKEN_CALLBACK) == "1" and (
                    plan.next == "retry" or plan.finish_reason == str(Block.MAX_ATTEMPTS)):
                # A callback the person asked for, taken and never reported (an engine crash, a preview of
                # it left on screen): still a callback, due again after the lost delay, kept for its agent
                # and at its time, exempt as callbacks are from the caps and the base-contact rule. The
                # attempt counts as lost, so its real result may still take its place.
                plan = replace(plan, next="callback", at=now + self.campaign.retry.delay("lost"), finish_reason=None,
                               callback_agent=g.view.callback_agent)
                kept_at = g.view.callback_at
            plan = self._manual_plan(g, target.attempt, plan)
            dnc = await write_plan(batch, self._r, self._prefix, self.campaign, g, plan, result, now, self._timeout,
                                   lost_attempt=target.attempt, callback_at=kept_at)
            self._free_numbers(batch, g)
            guard = self._take_guard(target, g)
        elif target.attempt in lost_attempts(g):
            # the dial was given up as lost (a preview left on screen past `inflight_timeout_s`) and counted
            # as an attempt then: its real result takes the lost one's place instead of counting another (once:
            # the write takes the attempt off the lost ones)
            plan = self._manual_plan(g, target.attempt,
                                     self.policy.plan_amendment(g.view, target.number_index, result, now))
            dnc = await write_plan(batch, self._r, self._prefix, self.campaign, g, plan, result, now, self._timeout,
                                   replacing_lost=target.attempt, leave_flight=flying is not None)
            guard = self._untaken_guard(g, flying, S.LOST)
        elif self._is_take(target, g, flying):
            plan = self._manual_plan(g, target.attempt, self.policy.plan_result(g.view, target.number_index, result,
                                                                                 now))
            dnc = await write_plan(batch, self._r, self._prefix, self.campaign, g, plan, result, now, self._timeout)
            self._free_numbers(batch, g)
            guard = self._take_guard(target, g)
        else:
            return False
        if not await self._write(batch, guard, g):
            return None
        if dnc:
            await self._spread_dnc(dnc)
        return True

    async def explain(self, lead_id: str, now: float) -> dict[str, Any]:
        """Where a lead is and whether it may be dialed now, and if not why and until when: the contact
        policy's own verdict, as `take` would reach it (a supervisor's "why is this subscriber not called?").
        Raises LeadError for a lead the campaign does not have."""
        g = await self._read(lead_id)
        k = self._k
        async with redis_call(f"locating lead {lead_id} in {self.campaign.id}", self._timeout):
            pipe = self._r.pipeline(transaction=False)
            for key in (k.r, k.i, k.cb, k.due(g.zone_key), k.fresh(g.zone_key)):
                pipe.zscore(key, lead_id)
            ready, flying, cb, due, fresh = await pipe.execute()
        v = g.view
        where: dict[str, Any]
        if v.finished is not None:
            where = {"queue": "finished", "reason": v.finished}
        elif flying is not None:
            where = {"queue": "in flight", "since": float(flying)}  # being dialed, or on a preview screen
        elif cb is not None:
            where = {"queue": "callback", "at": float(cb), "kept_for": v.callback_agent}
        elif ready is not None:
            where = {"queue": "ready"}
        elif due is not None:
            where = {"queue": "retry", "at": float(due)}
        elif fresh is not None:
            where = {"queue": "fresh"}
        else:
            where = {"queue": "none"}
        verdict = self.policy.check(v, now, callback=cb is not None, paused_lists=await self._paused.refresh(now))
        return {
            "campaign_id": self.campaign.id, "lead_id": lead_id, "fields": decode_fields(g.blob),
            "numbers": [{"number": n.e164, "dnc": n.dnc, "dead": n.dead, "locked_until": n.locked_until or None}
                        for n in v.numbers],
            "zones": list(v.zones), "person": v.person, "person_dnc": v.person_dnc,
            "base_persons": [p for p, _fields in g.base_persons],  # the same person, by the subscriber base
            "region": v.region,
            "hours_regions": list(self.policy.regions_of(v)),
            "attempts": v.attempts, "attempts_today": v.attempts_day if v.day else 0,
            "last_outcome": g.state.get(S.LAST) or None, "suppressions": dict(v.suppressions),
            "last_base_contact": v.last_base_contact or None, "contacts_in_month": v.contacts_in_month,
            "where": where,
            "verdict": {"dialable": verdict.ok, "number": v.numbers[verdict.number_index].e164 if verdict.ok else None,
                        "block": None if verdict.block is None else str(verdict.block), "detail": verdict.detail,
                        "not_before": verdict.not_before, "final": verdict.final},
        }

    # -- lead lists ------------------------------------------------------------------------------------

    async def lists(self) -> list[LeadList]:
        """The campaign's lead lists: name, leads imported from it, paused or not."""
        return await list_lists(self._r, self._k, self.campaign.id, self._timeout)

    async def pause_list(self, name: str, now: float) -> LeadList:
        """Pause list `name`: its leads are not dialed (unless also in a running list; due callbacks still
        are) until it is resumed. LeadError when the campaign has no such list."""
        key = await pause_list(self._r, self._k, self.campaign.id, name, self._timeout)
        self._paused.set(self._paused.names | {key}, now)
        return next(x for x in await self.lists() if x.name == key)

    async def resume_list(self, name: str, now: float) -> tuple[LeadList, int]:
        """Resume list `name`; its leads that waited for it are due again at once. Returns the list and how
        many leads came back. LeadError when the campaign has no such list."""
        key, released, paused = await resume_list(self._r, self._k, self.campaign.id, name, now, self._timeout)
        self._paused.set(paused, now)
        return next(x for x in await self.lists() if x.name == key), released

    async def recycle(self, now: float, *, batch: int = 1000) -> RecycleReport:
        """Give the leads that reached the attempt cap another round, up to the campaign's `max_attempts_total`
        as it is now (a supervisor raises it in the campaign file first): each goes back to the retry queue,
        due now, its attempts and history kept. Everything else the policy says still holds when the hopper
        takes it (DNC, hours, suppressions, the base-contact rule). Leads still at the cap are counted, not
        revived. Reads the campaign's set of capped leads (`capped`); the first recycle of a campaign also
        walks its leads once (SCAN) for those capped before that set existed."""
        k = self._k
        async with redis_call(f"reading the capped-lead marker of {self.campaign.id}", self._timeout):
            indexed = await self._r.exists(k.capix)
        if not indexed:
            await self._index_capped(batch)
            async with redis_call(f"marking the capped leads of {self.campaign.id} indexed", self._timeout):
                await self._r.set(k.capix, "1")  # after the walk: one cut short is walked again
        cap = self.campaign.retry.max_attempts_total
        reason = str(Block.MAX_ATTEMPTS)
        revived = still = 0
        cursor = 0
        while True:
            async with redis_call(f"reading the capped leads of {self.campaign.id}", self._timeout):
                cursor, members = await self._r.sscan(k.capped, cursor, count=batch)
                ids = [text(m) for m in members]
                pipe = self._r.pipeline(transaction=False)
                for lid in ids:
                    pipe.hmget(k.state(lid), [S.FINISHED, S.ATTEMPTS])
                states = await pipe.execute()
            capped = [(lid, int(text(n or b"0"))) for lid, (fin, n) in zip(ids, states, strict=True)
                      if fin is not None and text(fin) == reason]
            gone = set(ids) - {lid for lid, _n in capped}  # revived, or finished otherwise since
            again = [lid for lid, n in capped if n < cap]
            still += len(capped) - len(again)
            if again:
                revived += await self._revive(again, reason, now)
            if gone or again:
                async with redis_call(f"updating the capped leads of {self.campaign.id}", self._timeout):
                    await self._r.srem(k.capped, *gone, *again)
            if int(cursor) == 0:
                break
        return RecycleReport(self.campaign.id, revived=revived, still_capped=still, max_attempts_total=cap)

    async def _index_capped(self, batch: int) -> None:
        """Add the campaign's leads finished at the attempt cap to `capped` (once: those capped before it)."""
        k = self._k
        reason = str(Block.MAX_ATTEMPTS)
        cut = len(k.lead(""))
        cursor = 0
        while True:
            async with redis_call(f"indexing the capped leads of {self.campaign.id}", self._timeout):
                cursor, keys = await self._r.scan(cursor, match=k.lead("*"), count=batch)
                ids = [text(key)[cut:] for key in keys]
                pipe = self._r.pipeline(transaction=False)
                for lid in ids:
                    pipe.hget(k.state(lid), S.FINISHED)
                fins = await pipe.execute()
                capped = [lid for lid, fin in zip(ids, fins, strict=True) if fin is not None and text(fin) == reason]
                if capped:
                    await self._r.sadd(k.capped, *capped)
            if int(cursor) == 0:
                return

    async def _revive(self, lead_ids: list[str], reason: str, now: float) -> int:
        """Leads finished for `reason` back in their zone's retry queue, due `now`; how many."""
        k = self._k
        async with redis_call(f"recycling leads of {self.campaign.id}", self._timeout):
            rows = await self._gather(args=[self._prefix, k.p, self.campaign.id, *lead_ids])
            pipe = self._r.pipeline(transaction=True)
            n = 0
            for g in (parse_gathered(row) for row in rows):
                if g is None or g.state.get(S.FINISHED) != reason:
                    continue  # gone, or taken up meanwhile
                pipe.hdel(k.state(g.lead_id), S.FINISHED)
                pipe.hincrby(k.fin, reason, -1)
                count_for_list(pipe, k, g.header.lists, ListMetric.FINISHED, -1)
                pipe.sadd(k.zk, g.zone_key)
                pipe.zadd(k.due(g.zone_key), {g.lead_id: now})
                n += 1
            await pipe.execute()
        return n

    async def check_callback(self, lead_id: str, at: float, now: float) -> None:
        """Raise `PolicyViolation` with the reason if a callback to this lead at `at` would be refused."""
        self._validate_callback(await self._read(lead_id), at, now)

    def _validate_callback(self, g: Gathered, at: float, now: float) -> None:
        self.policy.validate_callback(g.view.zones, at, now, numbers=g.header.numbers, region=g.view.region)

    async def _recover(self, now: float) -> int:
        """Dials taken longer ago than `inflight_timeout_s` never got a result: count them as lost attempts
        (a lost callback goes back to the callbacks, see `_record`). A gone run's dial whose call id the take kept
        (`note_calls`) is left to `release_dead_takes`, which asks Asterisk how that call was answered: the first
        fill of a daemon restarted more than `inflight_timeout_s` after a crash runs before its first AMI connect,
        and would count a person who answered meanwhile and hung up unserved as a no-answer. Only until twice
        `inflight_timeout_s`: should that release fail, nothing else would ever end them. A dial being settled
        (`release_dead_takes`) is left to it."""
        k = self._k
        cutoff = now - self.campaign.hopper.inflight_timeout_s
        # past twice the timeout a gone run's dial with a call id is recorded lost here after all: a release that
        # failed (Asterisk or Redis away) is tried again only at the next AMI connect, which may be days away
        held_until = now - 2 * self.campaign.hopper.inflight_timeout_s
        async with redis_call(f"looking for lost dials of {self.campaign.id}", self._timeout):
            old: Any = await self._r.zrangebyscore(k.i, "-inf", cutoff, start=0, num=500, withscores=True)
        lost = [(text(lid), float(at)) for lid, at in old]
        done = 0
        for lid, taken_at in lost:
            try:
                g = await self._read(lid)
            except LeadError:
                async with redis_call("dropping a vanished lead", self._timeout):
                    await self._r.zrem(k.i, lid)
                continue
            if ((lid, taken_at) in self._settling
                    or (g.state.get(S.TAKEN_RUN, self.run_id) != self.run_id and g.state.get(S.DIALED, "1") != "1"
                        and taken_at > held_until)):
                continue
            try:
                done += await self._record(self._lost_target(g, taken_at), DialResult(outcome=LOST_OUTCOME), now,
                                           lost=True)
            except PolicyViolation:  # pragma: no cover - a lost dial has no callback to validate
                continue
        return done

    def _lost_target(self, g: Gathered, taken_at: float, *, is_callback: bool = False) -> DialTarget:
        """The target of the take of `g` in flight since `taken_at` whose process is gone, as it read the lead."""
        idx = int(g.state.get(S.TAKEN_INDEX, g.view.next_index))
        return DialTarget(self.campaign.id, g.lead_id, g.header.numbers[idx], idx, g.view.attempts + 1, {},
                          is_callback=is_callback, taken_at=taken_at)

    async def note_calls(self, calls: Iterable[tuple[DialTarget, str]]) -> int:
        """Keep on each take the id of the predictive call just placed for it (in place of its dialed flag), so
        that, should this process die, the next run asks Asterisk how that call was answered before it records the
        take lost (`release_dead_takes`). Written only on the take itself (in flight since the target's `taken_at`,
        stamped by this run, its dial marked): a result that came first ended it. One round trip for all; how many
        were noted."""
        args: list[str] = []
        for target, call_id in calls:
            if target.campaign_id == self.campaign.id and target.taken_at is not None and call_id:
                args += [target.lead_id, repr(float(target.taken_at)), call_id]
        if not args:
            return 0
        async with redis_call(f"noting the call ids of {self.campaign.id}'s dials", self._timeout):
            return int(await self._note_calls(keys=[self._k.i], args=[self._k.p, self.run_id, *args]))

    async def release_dead_takes(self, now: float, *, keep_leads: Collection[str] = (),
                                 keep_numbers: Collection[str] = (), settle: SettleDials | None = None) -> DeadTakes:
        """Release at once the takes in flight that another run of the dialer (`S.TAKEN_RUN`, not `run_id`) left:
        the daemon that took them is gone (a crash, a kill -9), so no result will ever come. Call it once the
        calls that process left up in Asterisk are taken over: the leads of those (`keep_leads`, and any whose
        marked numbers are in `keep_numbers`: calls whose lead could not be read) are left to their calls.

        A take whose dial never went out (a preview on an agent's screen, a lead taken and not yet dialed) goes
        back with no attempt counted: due again at once, a callback back among the callbacks at its time, kept
        for its agent. The dials whose call id the take kept (`note_calls`) are handed, all at once, to `settle`,
        which ends those it can (the answer mark the dialplan left: a person abandoned, a machine; the record the
        gone run wrote) and says which; it writes their results itself (with the `DeadDial`'s target). Every other
        take whose dial may have gone out (`S.DIALED`) is recorded lost, as the recovery after `inflight_timeout_s`
        records it, but now. What `settle` raises goes through, its dials left in flight, and so does what recording
        one of them lost raises, the ones not ended yet left in flight: the next release hands them again, and the
        recovery records them lost after twice `inflight_timeout_s` (`_recover`). A dial this hopper handed to
        `settle` and ended is not handed again (its result may not be written yet). Takes without a stamp (an
        earlier version's) are left to that recovery. Only this campaign's takes: daemons sharing the Redis prefix
        run other campaigns (one daemon per campaign: a second one running it would have its takes released
        here)."""
        k = self._k
        async with self._lock:
            async with redis_call(f"reading the takes in flight of {self.campaign.id}", self._timeout):
                flying: Any = await self._r.zrange(k.i, 0, -1, withscores=True)
                rows = [(lid, float(at)) for lid, at in ((text(m), s) for m, s in flying) if lid not in keep_leads]
                pipe = self._r.pipeline(transaction=False)
                for lid, _at in rows:
                    pipe.hmget(k.state(lid), [S.TAKEN_RUN, S.DIALED, S.OUT])
                stamps: list[Any] = await pipe.execute() if rows else []
            counts = Counter[str]()
            runs: set[str] = set()
            dials: list[tuple[DeadDial, str]] = []
            for (lid, taken_at), (run, dialed, out) in zip(rows, stamps, strict=True):
                run_id = text(run) if run is not None else ""
                if run_id == self.run_id or (lid, taken_at) in self._settled:
                    continue
                if not run_id:
                    counts["unstamped"] += 1
                elif out is not None and not set(text(out).split(",")).isdisjoint(keep_numbers):
                    counts["up"] += 1
                else:
                    flag = text(dialed) if dialed is not None else ""
                    went = await self._release_dead(lid, taken_at, flag, now, with_call=settle is not None)
                    if isinstance(went, DeadDial):
                        dials.append((went, run_id))
                    elif went:
                        counts[went] += 1
                        runs.add(run_id)
        # out of the lock: `settle` asks Asterisk (seconds when it is slow), and the pacer's fills need the lock (the
        # lost-dial recovery leaves these takes alone, and every write on them is guarded by its take)
        handed = {(d.target.lead_id, float(d.target.taken_at or 0.0)) for d, _run in dials}
        self._settled |= handed  # not handed again by a release meanwhile
        self._settling |= handed  # nor recovered as lost by a fill meanwhile
        pending = set(handed)  # not ended yet: handed again by the next release should this one fail
        try:
            done = set(await settle([d for d, _run in dials])) if dials and settle is not None else set()
            for dial, run_id in dials:
                key = (dial.target.lead_id, float(dial.target.taken_at or 0.0))
                if dial.call_id in done:
                    counts["settled"] += 1
                    pending.discard(key)
                else:
                    lost = await self._record_lost(dial.target, now)
                    pending.discard(key)
                    if not lost:
                        continue
                    counts["lost"] += 1
                runs.add(run_id)
        except BaseException:
            self._settled -= pending
            raise
        finally:
            self._settling -= handed
        return DeadTakes(self.campaign.id, returned=counts["returned"], callbacks=counts["callbacks"],
                         lost=counts["lost"], up=counts["up"], unstamped=counts["unstamped"], runs=tuple(sorted(runs)),
                         settled=counts["settled"])

    async def _record_lost(self, target: DialTarget, now: float) -> bool:
        try:
            return await self._record(target, DialResult(outcome=LOST_OUTCOME), now, lost=True)
        except PolicyViolation:  # pragma: no cover - a lost dial has no callback to validate
            return False

    async def _release_dead(self, lead_id: str, taken_at: float, dialed: str, now: float, *,
                            with_call: bool) -> str | DeadDial:
        """One take a gone run left (see `release_dead_takes`), its dialed flag `dialed` ("": never dialed; "1":
        may have been; else the call id): "returned", "callbacks" or "lost", as it went; "" when it was not released
        (ended or taken again since the read, or the lead is gone); a dial with its call id, `with_call`, is not
        written here but returned, for the caller's `settle`."""
        k = self._k
        try:
            g = await self._read(lead_id)
        except LeadError:
            async with redis_call("dropping a vanished lead", self._timeout):
                await self._r.zrem(k.i, lead_id)
            return ""
        taken_cb = g.state.get(S.TAKEN_CALLBACK)
        # the take script wrote the stamp, `_claim` the rest: a crash in between left a callback by its time only
        is_cb = taken_cb == "1" if taken_cb is not None else g.view.callback_at is not None
        target = self._lost_target(g, taken_at, is_callback=is_cb)
        if dialed:
            if with_call and dialed != "1":
                return DeadDial(target, dialed)
            return "lost" if await self._record_lost(target, now) else ""
        at = g.view.callback_at
        pipe = self._untake(g, is_callback=is_cb, callback_at=min(at, now) if at is not None else now, due=now)
        if not await apply(self._apply, k, pipe, self._take_guard(target, g),
                           f"releasing lead {g.lead_id} of {self.campaign.id} its gone run took", self._timeout):
            return ""
        return "callbacks" if is_cb else "returned"

    # -- status ----------------------------------------------------------------------------------------

    async def status(self, now: float) -> HopperStatus:
        """Depth and, when nothing can be dialed, the reason (for metrics and the API)."""
        k = self._k
        await self._index_kept_callbacks()
        wait = self.campaign.personal_callback_wait_s
        async with redis_call(f"reading status of {self.campaign.id}", self._timeout):
            zone_keys = sorted(text(z) for z in await self._r.smembers(k.zk))
            pipe = self._r.pipeline(transaction=False)
            # the due callbacks only their agent may call now: kept for one, less than the wait past their time
            # (`scripts._KEPT`, as the pacer's take decides)
            pipe.zcount(k.cbk, "-inf" if wait is None else f"({now - wait!r}", now)
            pipe.zcard(k.r)
            pipe.zcard(k.i)
            pipe.zcount(k.cb, "-inf", now)
            pipe.zcard(k.cb)
            pipe.hgetall(k.why)
            pipe.hgetall(k.fin)
            pipe.zrange(k.cb, 0, 0, withscores=True)
            for z in zone_keys:
                pipe.zcard(k.fresh(z))
                pipe.zcount(k.due(z), "-inf", now)
                pipe.zcard(k.due(z))
                pipe.zrange(k.due(z), 0, 0, withscores=True)
            pipe.smembers(k.lpaused)  # last: `build_status` reads the replies before it by position
            kept, *raw = await pipe.execute()
        paused = tuple(sorted(text(x) for x in raw.pop()))
        return build_status(self.campaign.id, self.policy, zone_keys, raw, now, kept_due=int(kept),
                            lists_paused=paused)

    async def conversion(self) -> Mapping[str, tuple[int, int]]:
        """Contacts and sales per value of the campaign's `report_by` field (win-back: cancel reason)."""
        async with redis_call(f"reading conversion of {self.campaign.id}", self._timeout):
            raw = await self._r.hgetall(self._k.conv)
        out: dict[str, list[int]] = {}
        for key, value in raw.items():
            name, _, what = text(key).rpartition("\x1f")
            slot = out.setdefault(name, [0, 0])
            slot[0 if what == "contacts" else 1] += int(text(value))
        return MappingProxyType({name: (c, s) for name, (c, s) in out.items()})

    async def outcome_counts(self) -> Mapping[str, int]:
        """Dials by outcome and dispositions by name (keys "outcome:<x>", "disposition:<x>")."""
        async with redis_call(f"reading outcome counts of {self.campaign.id}", self._timeout):
            raw = await self._r.hgetall(self._k.stats)
        return MappingProxyType({text(a): int(text(b)) for a, b in raw.items()})
