"""Acceptance property: over random leads, schedules, time zones, DNC and suppression events, the hopper
never hands out a number it must not dial, and a DNC request made during a call blocks every later dial
of that person, in every campaign.

Each example imports leads into two campaigns that share people, then runs a random script of time
steps, DNC entries, suppression signals (set and lifted), fills, takes and dial results against a real
Redis. Every target `take` returns is checked against an oracle kept by the test itself: its own DNC
sets, suppressions, abandon times, attempt counts and finished leads, and its own local-time arithmetic
(zoneinfo and the campaign's window, written out here), never the policy's code.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hopper_helpers import RedisTarget, campaign, hopper, store
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dialer.campaigns import CampaignConfig
from dialer.errors import LeadError, PolicyViolation
from dialer.hopper import DialTarget, Hopper, LeadStore
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.views import S, text
from dialer.leads import Lead
from dialer.policy import DialResult

POOL = [
    "+12125550142",
    "+12125550143",
    "+13125550177",
    "+14155550123",
    "+16025550190",
    "+13035550155",
    "+18085550111",
    "+442079460123",
    "+447400123456",
]
SUBSCRIBERS = ["S1", "S2", "S3", None, None]
AREAS = ["A1", "A2", None]
START = datetime(2024, 6, 3, 11, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()  # a Monday
US_HOLIDAYS = {date(2024, 6, 19)}  # Juneteenth falls inside every scenario's two weeks
LOCK_S = 72 * 3600.0

CAMPAIGNS: dict[str, CampaignConfig] = {
    "a": campaign(
        "a",
        retry={
            "max_attempts_total": 3,
            "max_attempts_per_day": 2,
            "delays_s": {"busy": 600, "no_answer": 1200, "machine": 1800, "abandoned": 0, "congestion": 60},
        },
        hopper={"target_depth": 4, "batch": 10},
        base_contact_days=0,
    ),
    "b": campaign(
        "b",
        kind="cold",
        require_consent=False,
        calling_hours={"window": "10:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
        retry={"max_attempts_total": 2, "max_attempts_per_day": 1, "delays_s": {"no_answer": 600}},
        hopper={"target_depth": 3, "batch": 10},
        max_contacts_per_month=None,
    ),
}
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def oracle_in_hours(c: CampaignConfig, zones: tuple[str, ...], t: float) -> bool:
    allowed_days = {DAYS[d] for d in c.calling_hours.days}
    w = c.calling_hours.window
    for z in zones:
        local = datetime.fromtimestamp(t, ZoneInfo(z))
        if local.weekday() not in allowed_days or local.date() in US_HOLIDAYS:
            return False
        if not w.start_min <= local.hour * 60 + local.minute < w.end_min:
            return False
    return True


@dataclass
class Oracle:
    dnc_numbers: set[str] = field(default_factory=set)
    dnc_persons: set[str] = field(default_factory=set)
    sups: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    abandoned: dict[str, float] = field(default_factory=dict)
    dials: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    finished: set[tuple[str, str]] = field(default_factory=set)
    leads: dict[tuple[str, str], Lead] = field(default_factory=dict)
    undisposed: list[DialTarget] = field(default_factory=list)  # results recorded `other`: amendable
    dispositions: Counter[tuple[str, str]] = field(default_factory=Counter)
    checked: int = 0

    def subjects(self, cid: str, lead: Lead) -> list[str]:
        out = [f"lead:{cid}:{lead.lead_id}", lead.person, *(f"number:{n.e164}" for n in lead.numbers)]
        if lead.area:
            out.append(f"area:{lead.area}")
        return out

    def verify(self, t: DialTarget, now: float, reserved: bool) -> None:
        c = CAMPAIGNS[t.campaign_id]
        lead = self.leads[(t.campaign_id, t.lead_id)]
        key = (t.campaign_id, t.lead_id)
        assert t.number_e164 == lead.numbers[t.number_index].e164
        assert t.number_e164 not in self.dnc_numbers, "dialed a DNC number"
        assert lead.person not in self.dnc_persons, "dialed a person who asked not to be called"
        for subject in self.subjects(t.campaign_id, lead):
            for kind, until in self.sups.get(subject, {}).items():
                assert until <= now, f"dialed {subject} while suppressed ({kind})"
        assert oracle_in_hours(c, lead.zones, now), "dialed outside the person's calling hours"
        assert key not in self.finished, "dialed a finished lead"
        if not t.is_callback:
            done = self.dials[key]
            assert len(done) < c.retry.max_attempts_total, "over the total attempt cap"
            tz = ZoneInfo(lead.zones[0])
            today = datetime.fromtimestamp(now, tz).date()
            same_day = [d for d in done if datetime.fromtimestamp(d, tz).date() == today]
            assert len(same_day) < c.retry.max_attempts_per_day, "over the daily attempt cap"
        if not reserved:
            last = self.abandoned.get(t.number_e164)
            assert last is None or now - last >= LOCK_S, "dialed within 72 hours of an abandoned call"
        self.checked += 1


OUTCOMES = [
    "busy",
    "no_answer",
    "machine",
    "abandoned",
    "congestion",
    "live:sale",
    "live:refused",
    "live:dnc",
    "live:callback",
    "live:not_available",
    "live:other",
    "invalid",
]
LATE = ["sale", "refused", "dnc", "callback", "not_available"]
_cycle = st.tuples(st.just("cycle"), st.sampled_from(["a", "b"]), st.integers(1, 4), st.just(False))
_result = st.tuples(st.just("result"), st.integers(0, 5), st.sampled_from(OUTCOMES))
ops = st.one_of(
    st.tuples(st.just("advance"), st.floats(min_value=0, max_value=3600)),
    st.tuples(st.just("advance"), st.floats(min_value=0, max_value=8 * 3600)),
    st.tuples(st.just("dnc"), st.sampled_from(POOL)),
    st.tuples(
        st.just("suppress"),
        st.sampled_from(["subscriber:S1", "subscriber:S2", "area:A1", *(f"number:{n}" for n in POOL[:4])]),
        st.sampled_from(["trouble_ticket", "bill_shock"]),
        st.one_of(st.none(), st.floats(min_value=60, max_value=2 * 86400)),
    ),
    st.tuples(st.just("unsuppress"), st.sampled_from(["subscriber:S1", "subscriber:S2", "area:A1"])),
    st.tuples(st.just("fill"), st.sampled_from(["a", "b"])),
    st.tuples(st.just("take"), st.sampled_from(["a", "b"]), st.integers(1, 4), st.booleans()),
    _cycle,
    _cycle,
    _cycle,
    _result,
    _result,
    st.tuples(st.just("result"), st.integers(0, 5), st.sampled_from(["abandoned", "live:dnc"])),
    st.tuples(st.just("amend"), st.integers(0, 5), st.sampled_from(LATE)),
)
rows = st.fixed_dictionaries(
    {
        "mobile": st.sampled_from(POOL),
        "home": st.one_of(st.just(""), st.sampled_from(POOL)),
        "subscriber_id": st.sampled_from(SUBSCRIBERS),
        "area": st.sampled_from(AREAS),
    }
)


async def run(
    target: RedisTarget, rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], script: list[Any]
) -> int:
    redis = target.client()
    prefix = f"p{uuid.uuid4().hex[:10]}"
    try:
        s: LeadStore = store(redis, prefix)
        now = START
        oracle = Oracle()
        for cid, rws in (("a", rows_a), ("b", rows_b)):
            clean = [{k: v for k, v in r.items() if v} for r in rws]
            await s.import_rows(CAMPAIGNS[cid], clean, now=now)
            async for lid in s.iter_lead_ids(cid):
                lead = await s.get_lead(cid, lid)
                assert lead is not None
                oracle.leads[(cid, lid)] = lead
        hoppers: dict[str, Hopper] = {cid: hopper(redis, c, prefix) for cid, c in CAMPAIGNS.items()}
        flying: list[tuple[DialTarget, float]] = []
        takes: Counter[tuple[str, str]] = Counter()
        for op in script:
            kind = op[0]
            if kind == "advance":
                now += op[1]
            elif kind == "dnc":
                await s.add_dnc([op[1]])
                oracle.dnc_numbers.add(op[1])
            elif kind == "suppress":
                until = None if op[3] is None else now + op[3]
                await s.suppress(op[1], op[2], until)
                old = oracle.sups[op[1]].get(op[2], -math.inf)
                oracle.sups[op[1]][op[2]] = max(old, math.inf if until is None else until)
            elif kind == "unsuppress":
                await s.unsuppress(op[1])
                oracle.sups.pop(op[1], None)
            elif kind == "fill":
                await hoppers[op[1]].fill(now)
            elif kind in ("take", "cycle"):
                if kind == "cycle":
                    await hoppers[op[1]].fill(now)
                for t in await hoppers[op[1]].take(op[2], now, agent_reserved=op[3]):
                    oracle.verify(t, now, op[3])
                    flying.append((t, now))
                    takes[(t.campaign_id, t.lead_id)] += 1
            elif kind == "result" and flying:
                t, _ = flying.pop(op[1] % len(flying))
                await record(hoppers[t.campaign_id], oracle, t, op[2], now)
            elif kind == "amend" and oracle.undisposed:
                t = oracle.undisposed.pop(op[1] % len(oracle.undisposed))
                await amend(hoppers[t.campaign_id], oracle, t, op[2], now)
        for cid, h in hoppers.items():
            # the counters by reason are those of the leads: one count per finished or waiting lead
            status, keys = await h.status(now), CampaignKeys(prefix, cid)
            states = [await redis.hmget(keys.state(lid), [S.FINISHED, S.WHY]) for c, lid in oracle.leads if c == cid]
            fins = Counter(text(fn) for fn, _w in states if fn is not None)
            whys = Counter(text(w) for _fn, w in states if w is not None)
            assert {r: n for r, n in status.finished_by_reason.items() if n} == dict(fins), cid
            assert {r: n for r, n in status.waiting_by_reason.items() if n} == dict(whys), cid
            # every disposition counted once, a late one in place of the `other` it replaced
            counted = {k.removeprefix("disposition:"): n for k, n in (await h.outcome_counts()).items()
                       if k.startswith("disposition:") and n}
            assert counted == {d: n for (c, d), n in oracle.dispositions.items() if c == cid and n}, cid
            # each list's figures add up to the campaign's
            lists = await h.lists()
            assert sum(x.finished for x in lists) == sum(status.finished_by_reason.values()), cid
            assert all(0 <= x.finished <= x.leads and x.contacts <= x.dials for x in lists), lists
            # every result counted once, a dial given up as lost (no result in time) included
            outcomes = sum(n for key, n in (await h.outcome_counts()).items() if key.startswith("outcome:"))
            assert sum(x.dials for x in lists) == outcomes, cid
            # the index of the callbacks kept for agents is exact: the status counts it
            scheduled = {text(m): sc for m, sc in await redis.zrange(keys.cb, 0, -1, withscores=True)}
            agents = {lid: await redis.hget(keys.state(lid), S.CB_AGENT) for lid in scheduled}
            kept = {text(m): sc for m, sc in await redis.zrange(keys.cbk, 0, -1, withscores=True)}
            assert kept == {lid: sc for lid, sc in scheduled.items() if agents[lid]}, cid
            # a dial is one attempt, whether its result came, or it was given up as lost, or both
            for c, lid in oracle.leads:
                if c == cid:
                    attempts = int(text(await redis.hget(keys.state(lid), S.ATTEMPTS) or b"0"))
                    assert attempts <= takes[(cid, lid)], (cid, lid, attempts, takes[(cid, lid)])
        return oracle.checked
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def record(h: Hopper, oracle: Oracle, t: DialTarget, what: str, now: float) -> None:
    key = (t.campaign_id, t.lead_id)
    lead = oracle.leads[key]
    outcome, _, disposition = what.partition(":")
    extra: dict[str, Any] = {}
    if disposition == "callback":  # kept for an agent ("me") or for anyone, by the lead
        extra = {"callback_at": now + 5400, "callback_agent": "ag1" if sum(map(ord, t.lead_id)) % 2 else None}
    try:
        await h.record_result(t, DialResult(outcome, disposition or None, **extra), now)  # type: ignore[arg-type]
    except PolicyViolation:
        what, outcome, disposition = "busy", "busy", ""
        await h.record_result(t, DialResult("busy"), now)  # type: ignore[arg-type]
    oracle.dials[key].append(now)
    if disposition:
        oracle.dispositions[(t.campaign_id, disposition)] += 1
    if disposition == "other":
        oracle.undisposed.append(t)
    if outcome == "abandoned":
        for n in lead.numbers:
            oracle.abandoned[n.e164] = now
    if disposition == "dnc":
        oracle.dnc_persons.add(lead.person)
        oracle.dnc_numbers.update(n.e164 for n in lead.numbers)
    if disposition in ("sale", "refused", "dnc", "other") or (outcome == "live" and not disposition):
        oracle.finished.add(key)


async def amend(h: Hopper, oracle: Oracle, t: DialTarget, disposition: str, now: float) -> None:
    """The agent's late disposition replaces the `other` a run-out wrap-up recorded."""
    key = (t.campaign_id, t.lead_id)
    extra: dict[str, Any] = {"callback_at": now + 5400} if disposition == "callback" else {}
    try:
        await h.amend_result(t, DialResult("live", disposition, **extra), now)  # type: ignore[arg-type]
    except (LeadError, PolicyViolation):
        return  # the lead changed since (a recycle, a later result) or the callback time is refused
    oracle.dispositions[(t.campaign_id, "other")] -= 1
    oracle.dispositions[(t.campaign_id, disposition)] += 1
    if disposition == "dnc":
        lead = oracle.leads[key]
        oracle.dnc_persons.add(lead.person)
        oracle.dnc_numbers.update(n.e164 for n in lead.numbers)
    if disposition in ("callback", "not_available"):
        oracle.finished.discard(key)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(rows, min_size=1, max_size=6),
    st.lists(rows, min_size=1, max_size=6),
    st.lists(ops, min_size=10, max_size=50),
)
def test_no_target_ever_breaks_the_contact_policy(
    redis_target: RedisTarget, rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], script: list[Any]
) -> None:
    checked = asyncio.run(run(redis_target, rows_a, rows_b, script))
    event(f"targets checked: {min(checked, 5)}{'+' if checked >= 5 else ''}")


def test_the_property_harness_really_dials(redis_target: RedisTarget) -> None:
    """A fixed script that must produce dials (guards against a vacuous property)."""
    script: list[Any] = [("advance", 6 * 3600), ("fill", "a"), ("take", "a", 4, False)]
    script += [("result", 0, "live:dnc"), ("fill", "b"), ("take", "b", 4, False)]
    rows_a = [{"mobile": "+12125550142", "home": "+13125550177", "subscriber_id": "S1"}, {"mobile": "+14155550123"}]
    rows_b = [{"mobile": "+13125550177"}, {"mobile": "+16025550190", "subscriber_id": "S1"}, {"mobile": "+13035550155"}]
    checked = asyncio.run(run(redis_target, rows_a, rows_b, script))
    assert checked == 3  # two in a, then only the Denver lead in b: the others are the DNC person


def test_the_property_harness_really_amends(redis_target: RedisTarget) -> None:
    """A fixed script with late dispositions, so the counters' checks see amendments whatever hypothesis draws."""
    script: list[Any] = [("advance", 6 * 3600), ("fill", "a"), ("take", "a", 4, False)]
    script += [("result", 0, "live:other"), ("result", 0, "live:other"), ("amend", 0, "sale"),
               ("amend", 0, "not_available")]
    rows_a = [{"mobile": "+12125550142"}, {"mobile": "+14155550123"}]
    rows_b = [{"mobile": "+13035550155"}]
    assert asyncio.run(run(redis_target, rows_a, rows_b, script)) == 2
