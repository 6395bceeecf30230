"""The contact policy, table by table: what blocks a dial, until when, and what follows each result."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from policy_helpers import LA, NY, at, campaign, view

from dialer.campaigns.vocab import Consent, Disposition, Outcome
from dialer.errors import PolicyViolation
from dialer.policy import Block, ContactPolicy, DialResult, NumberView

NOW = at(2024, 5, 15, 12, 0)  # Wednesday noon in New York
HNL = "Pacific/Honolulu"
A, B = "+12125550142", "+12125550143"
P = ContactPolicy(campaign())


@pytest.mark.parametrize(
    ("lead", "block", "final"),
    [
        (view(A), None, False),
        (view(A, finished="sale"), Block.FINISHED, True),
        (view(A, person_dnc=True), Block.DNC, True),
        (view(NumberView(A, dnc=True)), Block.DNC, True),
        (view(NumberView(A, dead=True)), Block.NO_NUMBER, True),
        (view(NumberView(A, dnc=True), NumberView(B, dead=True)), Block.DNC, True),
        (view(A, attempts=6), Block.MAX_ATTEMPTS, True),
        (view(A, suppressions={"trouble_ticket": NOW + 600}), Block.SUPPRESSED, False),
        (view(A, suppressions={"trouble_ticket": NOW - 1}), None, False),
        (view(A, suppressions={"declined_offer:other-offer": NOW + 600}), None, False),
        (view(A, last_base_contact=NOW - 10 * 86400), Block.BASE_CONTACT, False),
        (view(A, last_base_contact=NOW - 61 * 86400), Block.BASE_CONTACT, False),  # within 2 months still
        (view(A, last_base_contact=NOW - 62 * 86400), None, False),
        (view(A, month="2024-05", contacts_in_month=4), Block.CONTACT_CAP, False),
        (view(A, month="2024-04", contacts_in_month=9), None, False),
        (view(NumberView(A, locked_until=NOW + 3600)), Block.ABANDON_LOCK, False),
        (view(A, day="2024-05-15", attempts_day=3), Block.DAY_CAP, False),
        (view(A, day="2024-05-14", attempts_day=3), None, False),
        (view(A, retry_at=NOW + 60), Block.NOT_DUE, False),
        (view(A, zones=(HNL,)), Block.OUTSIDE_HOURS, False),  # noon in New York is 06:00 in Honolulu
    ],
)
def test_check_blocks(lead: object, block: Block | None, final: bool) -> None:
    v = P.check(lead, NOW)  # type: ignore[arg-type]
    assert v.ok is (block is None)
    assert v.block is block
    if block is not None:
        assert v.final is final
        assert (v.not_before is None) is final or block is Block.FINISHED
        if not final:
            assert v.not_before is not None
            assert v.not_before > NOW
            assert P.hours.allowed(lead.zones, v.not_before)  # type: ignore[attr-defined]


def test_deferral_waits_for_every_block_and_then_for_hours() -> None:
    lead = view(A, suppressions={"bill_shock": NOW + 600}, retry_at=NOW + 7200)
    v = P.check(lead, NOW)
    assert v.block is Block.SUPPRESSED
    assert v.not_before == NOW + 7200
    late = view(A, retry_at=at(2024, 5, 15, 22, 0))
    assert P.check(late, NOW).not_before == at(2024, 5, 16, 9, 0)


def test_a_lead_waits_while_every_one_of_its_lists_is_paused_but_its_callback_does_not() -> None:
    lead = view(A, lists=("vendor-may", "base"))
    v = P.check(lead, NOW, paused_lists=frozenset({"vendor-may", "base"}))
    assert (v.block, v.final, v.detail) == (Block.LIST_PAUSED, False, "vendor-may, base")
    assert v.not_before is not None
    assert v.not_before >= NOW + 30 * 86400
    held_too = P.check(replace(lead, retry_at=NOW + 60), NOW, paused_lists=frozenset({"vendor-may", "base"}))
    assert held_too.block is Block.LIST_PAUSED  # first, whatever else holds it: the hopper parks it
    assert P.check(lead, NOW, paused_lists=frozenset({"vendor-may"})).ok  # "base" still runs
    assert P.check(lead, NOW, paused_lists=frozenset({"vendor-may", "base"}), callback=True).ok
    assert P.check(view(A), NOW, paused_lists=frozenset({"vendor-may"})).ok


def test_a_rolling_24_hour_cap_counts_the_dials_of_the_last_24_hours_not_the_local_day() -> None:
    p = ContactPolicy(campaign(retry={"max_attempts_per_24h": 3}))
    h = 3600.0
    evening = (NOW - 17 * h, NOW - 16.5 * h, NOW - 16 * h)  # 19:00, 19:30, 20:00 yesterday
    v = p.check(view(A, recent_attempts=evening, day="2024-05-14", attempts_day=3), NOW)
    assert (v.block, v.detail) == (Block.ROLLING_CAP, "3 in 24 hours")  # a new local day, but not 24 hours
    assert v.not_before == NOW + 7 * h  # 24 hours after the first of the three
    assert P.check(view(A, recent_attempts=evening), NOW).ok  # the cap is the campaign's choice
    assert p.check(view(A, recent_attempts=(NOW - 25 * h, *evening[1:])), NOW).ok  # one fell out of the window
    assert p.check(view(A, recent_attempts=evening), NOW, callback=True).ok  # the person asked for it
    plan = p.plan_result(view(A, recent_attempts=(NOW - 25 * h, *evening[1:])), 0, r("no_answer"), NOW)
    assert plan.recent_attempts == (*evening[1:], NOW)  # what the window still needs, this dial included
    assert P.plan_result(view(A), 0, r("no_answer"), NOW).recent_attempts is None  # no cap: nothing kept
    late = p.plan_amendment(view(A, attempts=1, recent_attempts=(NOW,)), 0, r("live", "sale"), NOW + 60)
    assert late.recent_attempts is None  # the dial was counted with its first result


def test_open_ended_suppression_is_rechecked_hourly() -> None:
    v = P.check(view(A, suppressions={"trouble_ticket": math.inf}), NOW)
    assert v.block is Block.SUPPRESSED
    assert v.not_before == NOW + 3600


def test_offer_specific_decline_only_stops_that_offer() -> None:
    seller = ContactPolicy(campaign(offer="fiber1000"))
    lead = view(A, suppressions={"declined_offer:fiber1000": NOW + 86400})
    assert seller.check(lead, NOW).block is Block.SUPPRESSED
    assert ContactPolicy(campaign(offer="tv")).check(lead, NOW).ok


def test_number_rotation_skips_dnc_dead_and_locked_numbers() -> None:
    lead = view(NumberView(A, locked_until=NOW + 60), NumberView(B), next_index=0)
    assert P.check(lead, NOW).number_index == 1
    assert P.check(view(A, B, next_index=1), NOW).number_index == 1
    assert P.check(view(NumberView(A, dnc=True), B), NOW).number_index == 1
    reserved = P.check(view(NumberView(A, locked_until=NOW + 60)), NOW, agent_reserved=True)
    assert reserved.ok
    assert reserved.number_index == 0


def test_callbacks_skip_caps_but_not_dnc_hours_or_suppression() -> None:
    capped = view(A, attempts=6, last_base_contact=NOW - 86400, day="2024-05-15", attempts_day=9)
    assert P.check(capped, NOW, callback=True).ok
    assert P.check(replace(capped, person_dnc=True), NOW, callback=True).block is Block.DNC
    assert P.check(replace(capped, suppressions={"degradation": NOW + 1}), NOW, callback=True).block is Block.SUPPRESSED
    assert P.check(replace(capped, zones=(HNL,)), NOW, callback=True).block is Block.OUTSIDE_HOURS


def test_consent_and_recidivists() -> None:
    cold = ContactPolicy(campaign(kind="cold"))
    assert cold.check(view(A, consent=Consent.UNKNOWN), NOW).block is Block.NO_CONSENT
    assert cold.check(view(A, consent=Consent.GRANTED), NOW).ok
    assert ContactPolicy(campaign(kind="cold", require_consent=False)).check(view(A), NOW).ok
    excl = ContactPolicy(campaign(kind="winback", winback={"recidivist": "exclude"}))
    mark = ContactPolicy(campaign(kind="winback"))
    jumper = view(A, won_back=1, jumper_now=True)
    assert excl.check(jumper, NOW).block is Block.RECIDIVIST
    marked = mark.check(jumper, NOW)
    assert marked.ok
    assert marked.marks["offer_restriction"] == "paid_connection_only"
    assert mark.check(view(A, jumper_now=True), NOW).marks == {}


def r(outcome: str, disposition: str | None = None, **kw: object) -> DialResult:
    return DialResult(Outcome(outcome), Disposition(disposition) if disposition else None, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("result", "nxt", "reason", "delay"),
    [
        (r("busy"), "retry", None, 900),
        (r("no_answer"), "retry", None, 7200),
        (r("machine"), "retry", None, 14400),
        (r("congestion"), "retry", None, 300),
        (r("abandoned"), "retry", None, 72 * 3600),
        (r("live"), "finish", "answered", None),
        (r("live", "sale"), "finish", "sale", None),
        (r("live", "refused", refusal_reason="too_expensive"), "finish", "refused", None),
        (r("live", "dnc"), "finish", "dnc", None),
        (r("live", "not_available"), "retry", None, 86400),
        (r("live", "machine"), "retry", None, 14400),
    ],
)
def test_plan_by_outcome(result: DialResult, nxt: str, reason: str | None, delay: float | None) -> None:
    plan = P.plan_result(view(A, B), 0, result, NOW)
    assert plan.next == nxt
    assert plan.finish_reason == reason
    assert plan.attempts == 1
    assert plan.attempts_day == 1
    assert plan.day == "2024-05-15"
    if delay is not None:
        assert plan.at == NOW + delay


def test_abandon_locks_every_number_for_72_hours() -> None:
    plan = P.plan_result(view(A, B), 0, r("abandoned"), NOW)
    assert plan.lock_numbers == (A, B)
    assert plan.lock_until == NOW + 72 * 3600


def test_dnc_marks_the_person_and_all_numbers() -> None:
    plan = P.plan_result(view(A, B), 1, r("live", "dnc"), NOW)
    assert plan.dnc_person
    assert plan.dnc_numbers == (A, B)
    assert plan.contacted


def test_invalid_and_wrong_numbers_move_on_then_finish() -> None:
    first = P.plan_result(view(A, B), 0, r("invalid"), NOW)
    assert first.dead == {0}
    assert first.next_index == 1
    assert first.next == "retry"
    last = P.plan_result(view(NumberView(A, dead=True), B), 1, r("live", "wrong_number"), NOW)
    assert last.next == "finish"
    assert last.finish_reason == "no dialable number"
    assert not last.contacted


def test_no_answer_rotates_busy_stays() -> None:
    assert P.plan_result(view(A, B), 0, r("no_answer"), NOW).next_index == 1
    assert P.plan_result(view(A, B), 0, r("busy"), NOW).next_index == 0


def test_attempt_limit_finishes_and_day_count_resets() -> None:
    assert P.plan_result(view(A, attempts=5), 0, r("busy"), NOW).finish_reason == "attempts exhausted"
    plan = P.plan_result(view(A, day="2024-05-14", attempts_day=3), 0, r("busy"), NOW)
    assert plan.attempts_day == 1


def test_the_monthly_cap_counts_the_persons_own_calendar_month() -> None:
    # 1 June, 09:30 in Vladivostok is still 31 May in UTC: the person's June has begun, and May's count is over
    vladivostok = ("Asia/Vladivostok",)
    june_1st = at(2024, 6, 1, 9, 30, "Asia/Vladivostok")
    policy = ContactPolicy(campaign(max_contacts_per_month=2))
    may_full = view(A, zones=vladivostok, month="2024-05", contacts_in_month=2)
    assert policy.check(may_full, june_1st).ok
    assert policy.plan_result(may_full, 0, r("live", "sale"), june_1st).month == "2024-06"
    # late on 31 May in New York it is already 1 June in UTC: still May there, so the cap holds until
    # New York's June begins
    may_31st = at(2024, 5, 31, 20, 0)
    v = policy.check(view(A, month="2024-05", contacts_in_month=2), may_31st)
    assert (v.ok, v.block) == (False, Block.CONTACT_CAP)
    assert v.not_before is not None
    assert v.not_before >= at(2024, 6, 1, 0, 0)


def test_base_contact_sale_and_winback_tracking() -> None:
    plan = P.plan_result(view(A), 0, r("live", "sale"), NOW)
    assert plan.contacted
    assert plan.base_contact
    assert plan.sale
    assert not plan.won_back
    wb = ContactPolicy(campaign(kind="winback"))
    assert wb.plan_result(view(A, jumper_now=True), 0, r("live", "agreed"), NOW).won_back
    assert not ContactPolicy(campaign(kind="cold")).plan_result(view(A), 0, r("live", "sale"), NOW).base_contact


def test_refusal_suppresses_the_same_offer() -> None:
    pol = ContactPolicy(campaign(offer="fiber1000", decline_suppress_days=30))
    plan = pol.plan_result(view(A), 0, r("live", "refused"), NOW)
    assert plan.decline_kind == "declined_offer:fiber1000"
    assert plan.decline_until == NOW + 30 * 86400


def test_follow_ups_next_day_at_local_time_or_after_a_delay() -> None:
    pol = ContactPolicy(
        campaign(
            follow_ups=[
                {"on": "sale", "campaign": "confirm", "next_day_at": "10:00"},
                {"on": "sale", "campaign": "survey", "delay_s": 3600},
            ]
        )
    )
    plan = pol.plan_result(view(A, zones=(LA,)), 0, r("live", "sale"), NOW)
    assert plan.follow_ups == (("confirm", at(2024, 5, 16, 10, 0, tz=LA)), ("survey", NOW + 3600))
    assert pol.plan_result(view(A), 0, r("live", "refused"), NOW).follow_ups == ()


def test_callbacks_validated_in_the_persons_local_time() -> None:
    ok = P.plan_result(view(A), 0, r("live", "callback", callback_at=NOW + 3600, callback_agent="a1"), NOW)
    assert ok.next == "callback"
    assert ok.at == NOW + 3600
    assert ok.callback_agent == "a1"
    with pytest.raises(PolicyViolation, match=r"outside calling hours.*next allowed time is Thu 2024-05-16 09:00"):
        P.plan_result(view(A), 0, r("live", "callback", callback_at=at(2024, 5, 15, 22, 30)), NOW)
    with pytest.raises(PolicyViolation, match="in the past"):
        P.validate_callback((NY,), NOW - 1, NOW, numbers=())
    with pytest.raises(PolicyViolation, match="days ahead"):
        P.validate_callback((NY,), NOW + 90 * 86400, NOW, numbers=())


def test_lost_dial_uses_the_lost_delay() -> None:
    plan = P.plan_result(view(A), 0, r("no_answer"), NOW, lost=True)
    assert plan.at == NOW + 7200
    assert plan.attempts == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "busy", "disposition": "sale"}, "needs outcome live"),
        ({"outcome": "live", "disposition": "callback"}, "needs callback_at"),
        ({"outcome": "live", "disposition": "sale", "callback_at": 5.0}, "only go with the callback"),
        ({"outcome": "live", "disposition": "sale", "refusal_reason": "x"}, "only goes with the refused"),
        ({"outcome": "ringing"}, "unknown dial outcome"),
        ({"outcome": "live", "disposition": "maybe"}, "unknown disposition"),
    ],
)
def test_dial_result_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DialResult(**kwargs)  # type: ignore[arg-type]


def test_outcome_strings_match_the_pacing_vocabulary() -> None:
    from pacing.traffic import DialOutcome

    assert {o.value for o in DialOutcome} <= {o.value for o in Outcome}
    assert Outcome.parse("answered") is Outcome.LIVE
    assert DialResult("answered").outcome is Outcome.LIVE  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"subject": "subscriber:S1", "kind": "trouble_ticket", "until": null}', ("set", None)),
        ('{"subject": "area:NY07", "kind": "degradation", "until": 1715792400}', ("set", 1715792400.0)),
        ('{"subject": "subscriber:S1", "kind": "declined_offer:fiber", "days": 2}', ("set", NOW + 2 * 86400)),
        ('{"subject": "subscriber:S1", "kind": "trouble_ticket", "action": "lift"}', ("lift", None)),
    ],
)
def test_suppression_signals_parse(payload: str, expected: tuple[str, float | None]) -> None:
    from dialer.policy import parse_signal

    sig = parse_signal(payload, NOW)
    assert (sig.action, sig.until) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "JSON object"),
        ('{"subject": "S1", "kind": "trouble_ticket"}', "must start with"),
        ('{"subject": "area:x", "kind": "outage"}', "kind 'outage' must be one of"),
        ('{"subject": "area:x", "kind": "bill_shock", "action": "pause"}', "set or lift"),
        ('{"subject": "area:x", "kind": "bill_shock", "until": 5, "days": 1}', "not both"),
        ('{"subject": "area:x", "kind": "bill_shock", "days": -1}', "positive"),
        ('{"subject": "area:x", "kind": "bill_shock", "until": "soon"}', "epoch seconds"),
    ],
)
def test_bad_suppression_signals_say_what_is_wrong(payload: str, message: str) -> None:
    from dialer.errors import LeadError
    from dialer.policy import parse_signal

    with pytest.raises(LeadError, match=message):
        parse_signal(payload, NOW)


def test_a_base_subscriber_reached_on_1_july_is_not_called_again_before_1_september() -> None:
    # "not again within 2 months": 60 days would let 30 and 31 August through
    reached = at(2025, 7, 1, 12, 0)
    for day in (30, 31):
        assert P.check(view(A, last_base_contact=reached), at(2025, 8, day, 12, 0)).block is Block.BASE_CONTACT, day
    assert P.check(view(A, last_base_contact=reached), at(2025, 9, 2, 12, 0)).ok  # 1 September is Labor Day
