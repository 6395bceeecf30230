"""Writing a `ResultPlan` to Redis: one batch for the lead, its person and the shared lists.

The plan is decided by the pure policy; this module only translates it into commands, queued on a `Batch`
that the hopper applies in one Lua call (`writes.APPLY`) with the check that the dial's take is still the
lead's, so a DNC request, a lock or a callback is either fully recorded or not at all, and recorded once.
A DNC disposition lands in the global lists (person and every number) in that same batch, so the very next
`take` of any campaign already sees it; for a subscriber, the same batch queues the request's spread to every
number and lead of theirs (`dncs`, done by the hopper once the batch is written). Follow-ups write the lead
into the other campaign's deferred queue, due at the follow-up time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import Disposition as PolicyDisposition
from dialer.campaigns.vocab import Outcome
from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys, GlobalKeys, lead_ref, subscriber_of
from dialer.hopper.lead_lists import ListMetric, count_for_list
from dialer.hopper.views import Gathered, S, clean, text
from dialer.hopper.writes import Batch
from dialer.leads.model import decode_fields
from dialer.policy.types import Block, DialResult, ResultPlan

__all__ = ["LOST_OUTCOME", "dnc_subscribers", "lost_attempts", "queue_dnc_marks", "write_plan"]

LOST_OUTCOME = Outcome.NO_ANSWER  # what a dial given up as lost is counted as, until its real result comes


def lost_attempts(g: Gathered) -> frozenset[int]:
    """The lead's attempts given up as lost (no result within `inflight_timeout_s`) whose result has not come."""
    return frozenset(int(x) for x in g.state.get(S.LOST, "").split(",") if x.isdigit())


def queue_dnc_marks(pipe: Pipeline | Batch, g: GlobalKeys, person: str, numbers: Iterable[str],
                    also: Iterable[str] = ()) -> None:
    """Queue on `pipe` the marks of a person's do-not-call request: the person, the person each of their
    numbers names (`number:<e164>`), which is how a lead of another list or campaign without the account
    id knows them (the hopper blocks a whole lead when any of its numbers' persons is marked), and the persons
    `also` names (the subscribers the operator's base lists for those numbers: the same person again)."""
    marks = dict.fromkeys([person, *(f"number:{n}" for n in numbers), *also])
    pipe.sadd(g.dncp, *marks)
    for mark in marks:
        pipe.hset(g.person(mark), S.P_DNC, "1")


def dnc_subscribers(g: Gathered) -> tuple[str, ...]:
    """The subscribers (ids) a do-not-call result on lead `g` is the request of: the lead's own person when it
    is a subscriber, and the subscribers the operator's base lists for its numbers (the same person)."""
    persons = [g.header.person, *(b for b, _ in g.base_persons)]
    return tuple(dict.fromkeys(sub for p in persons if (sub := subscriber_of(p)) is not None))


def _number_persons(g: Gathered) -> list[tuple[int, str, Mapping[str, str]]]:
    """(number index, `number:<e164>` person, its contact fields as gathered) of each of the lead's numbers
    whose person is not the lead's own, each person once."""
    out: list[tuple[int, str, Mapping[str, str]]] = []
    seen = {g.header.person}
    for j, e164 in enumerate(g.header.numbers):
        key = f"number:{e164}"
        if key in seen:
            continue
        seen.add(key)
        out.append((j, key, g.number_persons[j] if j < len(g.number_persons) else {}))
    return out


def _base_befores(stored: str) -> dict[str, str]:
    """The base-contact stamps the base persons had before a result without a disposition (`S.BASE_BEFORE_BASE`)."""
    if not stored:
        return {}
    try:
        got = json.loads(stored)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


async def write_plan(
    batch: Batch,
    redis: Redis,
    prefix: str,
    campaign: CampaignConfig,
    g: Gathered,
    plan: ResultPlan,
    result: DialResult,
    now: float,
    timeout_s: float,
    *,
    amending: str | None = None,
    lost_attempt: int | None = None,
    replacing_lost: int | None = None,
    callback_at: float | None = None,
    leave_flight: bool = False,
) -> tuple[str, ...]:
    """Queue on `batch` the writes of `plan` (decided for lead `g` after `result`); `redis` reads the
    follow-ups' target campaigns first. Returns the subscribers a do-not-call plan queued in `dncs` (see
    `dnc_subscribers`): once the batch is written, their request is to spread (`subscriber_dnc`).

    `amending`: the lead's finish reason when the plan replaces a result already written (a late
    disposition, `ContactPolicy.plan_amendment`): that finish is undone, and the attempt's outcome and
    the contact's counters, already counted, are not counted again.
    `lost_attempt`: the attempt this result gives up as lost; its real result may still come.
    `replacing_lost`: the attempt, given up as lost before, whose real result this is: the dial is not
    counted again, and its outcome takes the place of the lost one's.
    `callback_at`: with a plan's callback, the time the person asked for, kept in the lead's state when the
    callback is due again later than that (`plan.at`: a lost callback queued again); None: `plan.at`.
    `leave_flight`: the lead is in flight under another take (taken again after this one was given up as
    lost): it stays there, for that take's result."""
    k = CampaignKeys(prefix, campaign.id)
    gk = GlobalKeys(prefix)
    lid = g.lead_id
    # a follow-up written while this lead was in flight here (see the follow-up loop below): scheduled now
    pending_raw = g.state.get(S.FOLLOW_UP)
    pending = float(pending_raw) if pending_raw else None
    carry = pending is not None and plan.next == "callback"  # kept pending until the callback's result
    zone_key = g.zone_key
    follow_state: list[tuple[CampaignKeys, bool, str | None, str | None, float | None]] = []
    if plan.follow_ups:
        async with redis_call(f"reading follow-up targets of lead {lid}", timeout_s):
            reads = redis.pipeline(transaction=False)
            for cid, _ in plan.follow_ups:
                fk = CampaignKeys(prefix, cid)
                reads.exists(fk.lead(lid))
                reads.hmget(fk.state(lid), [S.FINISHED, S.WHY, S.FOLLOW_UP])
                reads.zscore(fk.i, lid)
            got = await reads.execute()
        for j, (cid, _) in enumerate(plan.follow_ups):
            fin, old_why, waiting = (None if x is None else text(x) for x in got[3 * j + 1])
            fk = CampaignKeys(prefix, cid)
            # in flight there (being dialed, on a preview screen): None when not, else the follow-up already
            # pending there (inf: none)
            flying = None if got[3 * j + 2] is None or fk.p == k.p else float(waiting or "inf")
            follow_state.append((fk, bool(got[3 * j]), fin, old_why, flying))

    pipe = batch
    for key in (k.r, k.cb, k.cba, k.cbk, k.fresh(zone_key), k.due(zone_key), *(() if leave_flight else (k.i,))):
        pipe.zrem(key, lid)
    if g.state.get(S.CB_AGENT):
        pipe.zrem(k.own(g.state[S.CB_AGENT]), lid)
    why = g.state.get(S.WHY)
    if why:
        pipe.hincrby(k.why, why, -1)
    state = k.state(lid)
    taken = () if leave_flight else (S.TAKEN_INDEX, S.TAKEN_CALLBACK)  # another take's, then: it stays
    pipe.hdel(state, S.WHY, *taken, S.CB_AT, S.CB_AGENT, S.RETRY_AT, S.BASE_BEFORE, S.BASE_BEFORE_NUMBERS,
              S.BASE_BEFORE_BASE, *(() if carry else (S.FOLLOW_UP,)))
    person = gk.person(g.header.person)
    # The person each of the lead's numbers names (`number:<e164>`, the lead's own person left out): a contact
    # is written there too, so that a lead of another list or campaign keyed otherwise (an import with or
    # without the account column) is held back by it (the gather reads the most restrictive).
    others = _number_persons(g)
    # And the subscribers the operator's base lists for those numbers (`subscriber:<id>`): a lead of the account
    # with none of these numbers (its mobile, where this one has the home number) is held back by them.
    bases = g.base_persons
    # the late code says the agent did not reach the person (wrong number, someone else, a machine): the
    # contact the first result counted is taken back, so the subscriber is not held off for nothing
    uncontact = amending is not None and not plan.contacted

    def count(metric: ListMetric, by: int) -> None:
        count_for_list(pipe, k, g.header.lists, metric, by)

    # The finish this result replaces: the `other` a late disposition amends, or one a lead got after its
    # take was given up as lost (no result within `inflight_timeout_s`: a preview left on screen over lunch),
    # which finished it at the attempt cap. A lead is finished once, for the reason this result gives;
    # counted twice, `fin` and the list's figures would exceed the leads.
    undone = amending if amending is not None else g.state.get(S.FINISHED)
    if undone:
        pipe.hdel(state, S.FINISHED)
        pipe.hincrby(k.fin, undone, -1)
        count(ListMetric.FINISHED, -1)
        if undone == str(Block.MAX_ATTEMPTS):
            pipe.srem(k.capped, lid)
    if amending is not None:
        pipe.hincrby(k.stats, f"disposition:{g.state.get(S.LAST, amending)}", -1)
    if uncontact:
        before, _, stamp = g.state.get(S.BASE_BEFORE, "").partition("|")
        befores = g.state.get(S.BASE_BEFORE_NUMBERS, "").split(",")
        base_befores = _base_befores(g.state.get(S.BASE_BEFORE_BASE, ""))
        for key, held, was in ((person, g.person, before),
                               *((gk.person(o), held, befores[j] if j < len(befores) else "")
                                 for j, o, held in others),
                               *((gk.person(b), held, base_befores.get(b, "")) for b, held in bases)):
            if held.get(S.P_MONTH) == plan.month and int(held.get(S.P_MONTH_COUNT, "0")) > 0:
                pipe.hincrby(key, S.P_MONTH_COUNT, -1)
            if stamp and held.get(S.P_BASE) == stamp:  # not stamped again since, by another campaign
                if was:
                    pipe.hset(key, S.P_BASE, was)
                else:
                    pipe.hdel(key, S.P_BASE)
    pipe.hset(
        state,
        mapping={
            S.ATTEMPTS: plan.attempts,
            S.DAY: plan.day,
            S.ATTEMPTS_DAY: plan.attempts_day,
            S.NEXT_INDEX: plan.next_index,
            S.DEAD: ",".join(str(i) for i in sorted(plan.dead)),
            S.LAST: plan.last_outcome,
        },
    )
    if plan.recent_attempts is not None:
        pipe.hset(state, S.RECENT, ",".join(repr(t) for t in plan.recent_attempts))
    if plan.next == "retry":
        retry_at = plan.at if pending is None else min(plan.at, pending)  # the earlier of the two
        pipe.hset(state, S.RETRY_AT, repr(retry_at))
        pipe.sadd(k.zk, zone_key)  # the lead's zones may have changed since it was queued (a re-import)
        pipe.zadd(k.due(zone_key), {lid: retry_at})
    elif plan.next == "callback":
        pipe.hset(state, S.CB_AT, repr(plan.at if callback_at is None else callback_at))
        if plan.callback_agent:
            pipe.hset(state, S.CB_AGENT, clean(plan.callback_agent))
            pipe.zadd(k.own(clean(plan.callback_agent)), {lid: plan.at})
            pipe.zadd(k.cbk, {lid: plan.at})  # the kept ones, exact (see `scripts._KEPT`)
        else:
            pipe.zadd(k.cba, {lid: plan.at})  # the callbacks for anyone (see `scripts._ANY`)
        pipe.zadd(k.cb, {lid: plan.at})
    elif pending is not None:
        # finished, but a follow-up came meanwhile (a second order to confirm): not finished, it starts afresh
        # as that follow-up would have (state cleared at the end of this transaction), due at its time
        pipe.sadd(k.zk, zone_key)
        pipe.zadd(k.due(zone_key), {lid: pending})
    else:
        reason = plan.finish_reason or "finished"
        pipe.hset(state, S.FINISHED, reason)
        pipe.hincrby(k.fin, reason, 1)
        count(ListMetric.FINISHED, 1)
        if reason == str(Block.MAX_ATTEMPTS):
            pipe.sadd(k.capped, lid)
    if plan.lock_numbers:
        pipe.zadd(gk.ab, dict.fromkeys(plan.lock_numbers, plan.lock_until), gt=True)
    if plan.dnc_numbers:
        pipe.sadd(gk.dnc, *plan.dnc_numbers)
    spread: tuple[str, ...] = ()
    if plan.dnc_person:
        queue_dnc_marks(pipe, gk, g.header.person, g.header.numbers, also=(b for b, _ in bases))
        # The marks hold every lead of the subscriber at its next check; the request goes further (every number
        # of theirs on the global list, so no base import lifts it; their leads finished everywhere), which walks
        # more than one lead: queued here, with the result, and done once this batch is written.
        spread = dnc_subscribers(g)
        for sub in spread:
            pipe.hincrby(gk.dncs, sub, 1)
    first = amending is None  # an amended contact's counters were written with its first result
    if plan.contacted and first:
        if g.person.get(S.P_MONTH) == plan.month:
            pipe.hincrby(person, S.P_MONTH_COUNT, 1)
        else:
            pipe.hset(person, mapping={S.P_MONTH: plan.month, S.P_MONTH_COUNT: 1})
        # a number person is not read unless listed in `bcp`: counted in Redis, whatever it holds (and so is a
        # base person, which may have changed since the read)
        for o in (*(o for _, o, _ in others), *(b for b, _ in bases)):
            pipe.count_contact(gk.person(o), plan.month)
    if plan.base_contact and first:
        pipe.hset(person, S.P_BASE, repr(now))
        for o in (*(o for _, o, _ in others), *(b for b, _ in bases)):
            pipe.hset(gk.person(o), S.P_BASE, repr(now))
        if plan.next == "finish" and plan.finish_reason == PolicyDisposition.OTHER.value:
            # a result without the agent's disposition, which a late one may amend: keep what to undo
            pipe.hset(state, S.BASE_BEFORE, f"{g.person.get(S.P_BASE, '')}|{now!r}")
            if others:
                by_index = {j: held.get(S.P_BASE, "") for j, _, held in others}
                pipe.hset(state, S.BASE_BEFORE_NUMBERS,
                          ",".join(by_index.get(j, "") for j in range(len(g.header.numbers))))
            if bases:  # by person: the base may list other subscribers by the time a late disposition comes
                pipe.hset(state, S.BASE_BEFORE_BASE, json.dumps({b: held.get(S.P_BASE, "") for b, held in bases}))
    if (plan.contacted or plan.base_contact) and first:
        marks = [o for _, o, _ in others]
        if g.header.person.startswith("number:"):
            marks.append(g.header.person)
        if marks:
            pipe.sadd(gk.bcp, *marks)
    if plan.won_back:
        pipe.hincrby(person, S.P_WON_BACK, 1)
    if plan.decline_kind:
        # on every person the lead is, as a contact and a DNC are: another campaign knowing the person only by one
        # of these numbers (or by the account the base lists for them) does not offer the same thing again; each
        # keeps the later of its own and this one (a signal may have set a longer one on one of them)
        for subject in dict.fromkeys([g.header.person, *(o for _, o, _ in others), *(b for b, _ in bases)]):
            pipe.keep_later(gk.sup(subject), plan.decline_kind, plan.decline_until)
            pipe.sadd(gk.supk, subject)
    if first and replacing_lost is None:
        pipe.hincrby(k.stats, f"outcome:{result.outcome.value}", 1)
        count(ListMetric.DIALS, 1)
    elif replacing_lost is not None:
        pipe.hincrby(k.stats, f"outcome:{LOST_OUTCOME.value}", -1)
        pipe.hincrby(k.stats, f"outcome:{result.outcome.value}", 1)
    lost = set(lost_attempts(g))
    if lost_attempt is not None:
        lost.add(lost_attempt)
    if replacing_lost is not None:
        lost.discard(replacing_lost)
    if lost:
        pipe.hset(state, S.LOST, ",".join(str(a) for a in sorted(lost)))
    elif S.LOST in g.state:
        pipe.hdel(state, S.LOST)
    if plan.contacted and first:
        count(ListMetric.CONTACTS, 1)
    if uncontact:
        count(ListMetric.CONTACTS, -1)
    if plan.sale:
        count(ListMetric.SALES, 1)
    if result.disposition is not None:
        pipe.hincrby(k.stats, f"disposition:{result.disposition.value}", 1)
    if plan.contacted and campaign.report_by:
        value = decode_fields(g.blob).get(campaign.report_by) or "(none)"
        if first:
            pipe.hincrby(k.conv, f"{value}\x1fcontacts", 1)
        if plan.sale:
            pipe.hincrby(k.conv, f"{value}\x1fsales", 1)
    if uncontact and campaign.report_by:
        value = decode_fields(g.blob).get(campaign.report_by) or "(none)"
        pipe.hincrby(k.conv, f"{value}\x1fcontacts", -1)
    account = subscriber_of(g.header.person)
    for (fk, exists, fin, old_why, flying), (fcid, at) in zip(follow_state, plan.follow_ups, strict=True):
        pipe.set(fk.lead(lid), g.blob)
        if account is not None:  # the follow-up's lead is the subscriber's too (`subscriber_dnc` finds it)
            pipe.sadd(gk.account(account), lead_ref(fcid, lid))
        if flying is not None:
            # in flight there: its state stays (that dial's result needs it), and the follow-up waits in it;
            # that result schedules it (the earlier of it and the result's own next step)
            pipe.hset(fk.state(lid), S.FOLLOW_UP, repr(min(at, flying)))
            continue
        if not exists:
            pipe.incr(fk.n)
            for e164 in g.header.numbers:
                pipe.hset(fk.nx(e164)[0], fk.nx(e164)[1], lid)
            if g.header.lists:  # the follow-up campaign's lists: the new leads each origin list brought it
                pipe.hincrby(fk.lists, g.header.lists[0], 1)
        if fin is not None:
            pipe.hincrby(fk.fin, fin, -1)
            count_for_list(pipe, fk, g.header.lists, ListMetric.FINISHED, -1)
        if old_why is not None:
            pipe.hincrby(fk.why, old_why, -1)
        pipe.delete(fk.state(lid))
        for key in (fk.r, fk.cb, fk.cba, fk.cbk, fk.fresh(zone_key)):
            pipe.zrem(key, lid)
        pipe.sadd(fk.zk, zone_key)
        pipe.zadd(fk.due(zone_key), {lid: at})
    if pending is not None and plan.next == "finish":
        pipe.delete(state)  # a follow-up's fresh start in this campaign (see the follow-up loop above)
    return spread
