"""A person connected to an agent more than 2 s after their greeting was abandoned under the law, though they
then talked: their numbers get the 72-hour abandon lock, and the agent's disposition still counts."""

from __future__ import annotations

import pytest
from policy_helpers import at, campaign, view

from dialer.campaigns.vocab import Disposition, Outcome
from dialer.policy import ContactPolicy, DialResult, NumberView

NOW = at(2024, 5, 15, 12, 0)  # Wednesday noon in New York
A, B = "+12125550142", "+12125550143"
LOCK = 72 * 3600
P = ContactPolicy(campaign())


@pytest.mark.parametrize("disposition", [Disposition.SALE, Disposition.REFUSED, Disposition.DNC,
                                         Disposition.NOT_AVAILABLE, Disposition.WRONG_NUMBER, Disposition.OTHER])
def test_a_late_connected_call_locks_every_number_whatever_its_disposition(disposition: Disposition) -> None:
    plan = P.plan_result(view(A, B), 0, DialResult(Outcome.LIVE, disposition, abandoned=True), NOW)
    assert (plan.lock_numbers, plan.lock_until) == ((A, B), NOW + LOCK)
    on_time = P.plan_result(view(A, B), 0, DialResult(Outcome.LIVE, disposition), NOW)
    # the lock is all that differs: the disposition decides the rest as for a call connected in time
    assert (on_time.lock_numbers, on_time.lock_until) == ((), 0.0)
    for name in ("next", "finish_reason", "contacted", "sale", "dnc_person", "attempts", "last_outcome"):
        assert getattr(plan, name) == getattr(on_time, name), name


def test_a_callback_from_a_late_connected_call_is_kept_and_locked() -> None:
    tomorrow = NOW + 86400
    plan = P.plan_result(view(A, B), 0, DialResult(Outcome.LIVE, Disposition.CALLBACK, callback_at=tomorrow,
                                                   abandoned=True), NOW)
    assert (plan.next, plan.at) == ("callback", tomorrow)
    assert plan.lock_until == NOW + LOCK


def test_a_late_connected_call_without_disposition_yet_is_locked_too() -> None:
    plan = P.plan_result(view(A), 0, DialResult(Outcome.LIVE, abandoned=True), NOW)
    assert (plan.finish_reason, plan.lock_until) == ("answered", NOW + LOCK)


def test_an_amendment_of_a_late_connected_call_keeps_the_lock() -> None:
    first = view(NumberView(A, locked_until=NOW + LOCK), attempts=1, attempts_day=1, day="2024-05-15")
    plan = P.plan_amendment(first, 0, DialResult(Outcome.LIVE, Disposition.SALE, abandoned=True), NOW + 60)
    assert plan.lock_until == NOW + 60 + LOCK
    assert plan.sale


def test_an_abandoned_outcome_locks_as_before() -> None:
    plan = P.plan_result(view(A, B), 0, DialResult(Outcome.ABANDONED), NOW)
    assert (plan.lock_numbers, plan.lock_until, plan.next) == ((A, B), NOW + LOCK, "retry")
