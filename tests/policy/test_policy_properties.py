"""Property tests of the pure policy: whatever the lead, whenever, an allowed dial breaks no rule.

The oracle below is written independently of `dialer.policy` (its own local-time arithmetic and the
2024 US federal holidays listed by hand), so a bug in the policy cannot hide behind itself.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import campaign

from dialer.campaigns.vocab import Consent
from dialer.policy import ContactPolicy, LeadView, NumberView

ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "America/Anchorage",
]
HOLIDAYS_2024 = {
    date(2024, m, d)
    for m, d in [(1, 1), (1, 15), (2, 19), (5, 27), (6, 19), (7, 4), (9, 2), (10, 14), (11, 11), (11, 28), (12, 25)]
}
T0 = datetime(2024, 1, 2, tzinfo=ZoneInfo("UTC")).timestamp()
T1 = datetime(2024, 12, 20, tzinfo=ZoneInfo("UTC")).timestamp()
CAMPAIGNS = {
    "base": campaign(offer="fiber"),
    "cold": campaign(kind="cold", max_contacts_per_month=2),
    "winback": campaign(kind="winback", winback={"recidivist": "exclude"}),
}
POLICIES = {k: ContactPolicy(c) for k, c in CAMPAIGNS.items()}


def oracle_in_hours(zones: tuple[str, ...], now: float) -> bool:
    for z in zones:
        local = datetime.fromtimestamp(now, ZoneInfo(z))
        if local.weekday() == 6 or local.date() in HOLIDAYS_2024:
            return False
        if not 9 * 60 <= local.hour * 60 + local.minute < 21 * 60:
            return False
    return True


times = st.floats(min_value=T0, max_value=T1, allow_nan=False)
offsets = st.floats(min_value=-5 * 86400, max_value=5 * 86400, allow_nan=False)
numbers = st.builds(
    NumberView,
    e164=st.sampled_from(["+12125550142", "+13125550177", "+14155550123", "+16025550190"]),
    dnc=st.booleans(),
    dead=st.booleans(),
    locked_until=st.one_of(st.just(0.0), times),
)


@st.composite
def leads(draw: st.DrawFn) -> tuple[LeadView, float]:
    now = draw(times)
    kinds = draw(
        st.lists(
            st.sampled_from(["trouble_ticket", "bill_shock", "declined_offer:fiber", "declined_offer:tv"]),
            max_size=2,
            unique=True,
        )
    )
    sups = {k: now + draw(offsets) for k in kinds}
    zones = tuple(sorted(draw(st.sets(st.sampled_from(ZONES), min_size=1, max_size=2))))
    # the day of the last attempts is the person's local day then: today or earlier, never later
    day_now = datetime.fromtimestamp(now, ZoneInfo(zones[0])).date().isoformat()
    month_now = datetime.fromtimestamp(now, ZoneInfo(zones[0])).strftime("%Y-%m")
    v = LeadView(
        lead_id="L",
        numbers=tuple(draw(st.lists(numbers, min_size=1, max_size=3))),
        zones=zones,
        person="subscriber:S",
        person_dnc=draw(st.booleans()),
        consent=draw(st.sampled_from(list(Consent))),
        suppressions=sups,
        attempts=draw(st.integers(0, 8)),
        day=draw(st.sampled_from(["", day_now])),
        attempts_day=draw(st.integers(0, 4)),
        next_index=draw(st.integers(0, 2)),
        retry_at=draw(st.one_of(st.just(0.0), st.builds(lambda o: now + o, offsets))),
        last_base_contact=draw(st.one_of(st.just(0.0), st.builds(lambda o: now - abs(o) * 20, offsets))),
        month=draw(st.sampled_from(["", month_now])),
        contacts_in_month=draw(st.integers(0, 5)),
        prev_leaves=draw(st.integers(0, 2)),
        won_back=draw(st.integers(0, 2)),
        jumper_now=draw(st.booleans()),
    )
    return v, now


@settings(max_examples=250, deadline=None)
@given(leads(), st.sampled_from(sorted(CAMPAIGNS)), st.booleans())
def test_an_allowed_dial_breaks_no_rule(case: tuple[LeadView, float], which: str, reserved: bool) -> None:
    v, now = case
    c = CAMPAIGNS[which]
    verdict = POLICIES[which].check(v, now, agent_reserved=reserved)
    if not verdict.ok:
        if not verdict.final:
            assert verdict.not_before is not None
            assert verdict.not_before > now
        return
    n = v.numbers[verdict.number_index]
    assert not v.person_dnc
    assert not n.dnc
    assert not n.dead
    assert reserved or n.locked_until <= now
    assert oracle_in_hours(v.zones, now)
    assert v.attempts < c.retry.max_attempts_total
    local_day = datetime.fromtimestamp(now, ZoneInfo(v.zones[0])).date().isoformat()
    assert v.day != local_day or v.attempts_day < c.retry.max_attempts_per_day
    assert v.retry_at <= now
    for kind, until in v.suppressions.items():
        applies = not kind.startswith("declined_offer:") or kind == f"declined_offer:{c.offer}"
        assert not applies or until <= now
    if c.kind == "cold":
        assert v.consent is Consent.GRANTED
        local_month = datetime.fromtimestamp(now, ZoneInfo(v.zones[0])).strftime("%Y-%m")
        assert v.month != local_month or v.contacts_in_month < 2
    if c.kind == "base_upsell" and v.last_base_contact > 0:
        assert now - v.last_base_contact >= 62 * 86400
    if c.kind == "winback":
        assert max(v.prev_leaves, v.won_back) + v.jumper_now < 2


@settings(max_examples=200, deadline=None)
@given(leads())
def test_blocks_only_pass_with_time_so_not_before_is_exact(case: tuple[LeadView, float]) -> None:
    """Every temporary block ends by itself (a retry comes due, a day or month turns, a lock expires), so
    at `not_before` the lead is callable, unless an open-ended suppression is rechecked hourly or the
    zones share no window (then `not_before` is only a recheck time)."""
    v, now = case
    pol = POLICIES["base"]
    verdict = pol.check(v, now)
    if verdict.ok or verdict.final:
        return
    assert verdict.not_before is not None
    assert verdict.not_before > now
    suppressed = any(u > now and pol.suppression_applies(k) for k, u in v.suppressions.items())
    if suppressed or not oracle_in_hours(v.zones, verdict.not_before):
        return
    assert pol.check(v, verdict.not_before).ok
    assert not pol.check(v, verdict.not_before - 60).ok or verdict.not_before - 60 <= now
