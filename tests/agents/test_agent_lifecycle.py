"""`agents.state.Agent`: its operations, and the invariants they keep (a hypothesis property test drives
random sequences of them)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.state import CALL_STATES, TRANSITIONS, Agent, AgentEvent, AgentState
from dialer.errors import IllegalTransition

E, S = AgentEvent, AgentState


def agent_in(*steps: tuple[AgentEvent, dict[str, Any]]) -> Agent:
    a = Agent("ann", "1001", "cold")
    for i, (event, data) in enumerate(steps):
        a.apply(event, float(i), **data)
    return a


LOGGED_IN = ((E.LOGIN, {}),)
READY = (*LOGGED_IN, (E.READY, {}))
RESERVED = (*READY, (E.RESERVE, {"call_id": "c1"}))
TALKING = (*RESERVED, (E.CONNECT, {}))
WRAPUP = (*TALKING, (E.HANGUP, {}))


def fields(a: Agent) -> tuple[object, ...]:
    return (a.state, a.since, a.pause_reason, a.call_id, a.pending_pause, a.pending_logout, a.calls_taken,
            a.campaign_id, a.extension)


def test_lifecycle_fields_are_read_only() -> None:
    a = agent_in(*READY)
    for name in ("state", "since", "pause_reason", "call_id", "pending_pause", "pending_logout"):
        with pytest.raises(AttributeError):
            setattr(a, name, None)


def test_a_call_carries_its_id_through_its_states_and_leaves_it_at_the_end() -> None:
    a = agent_in(*WRAPUP)
    assert (a.state, a.call_id) == (S.WRAPUP, "c1")
    a.apply(E.DISPOSE, 9.0)
    assert (a.state, a.call_id, a.since) == (S.READY, None, 9.0)


def test_a_take_back_and_its_failure_keep_the_call() -> None:
    a = agent_in(*TALKING, (E.TRANSFER, {}), (E.TAKE_BACK, {}))
    assert (a.state, a.call_id) == (S.RESERVED, "c1")
    a.apply(E.TAKE_BACK_FAILED, 9.0)
    assert (a.state, a.call_id) == (S.WRAPUP, "c1")


def test_reserve_and_dial_need_the_call_id_and_nothing_else_takes_one() -> None:
    a = agent_in(*READY)
    with pytest.raises(IllegalTransition, match="reserve without a call id"):
        a.apply(E.RESERVE, 5.0)
    with pytest.raises(IllegalTransition, match="dial without a call id"):
        a.apply(E.DIAL, 5.0)
    with pytest.raises(IllegalTransition, match="pause with call c9"):
        a.apply(E.PAUSE, 5.0, call_id="c9")
    with pytest.raises(IllegalTransition, match="ready with reason x"):
        agent_in(*LOGGED_IN).apply(E.READY, 5.0, reason="x")
    assert (a.state, a.call_id, a.since) == (S.READY, None, 1.0)


def test_a_previewing_agent_has_no_call() -> None:
    a = agent_in(*READY, (E.PREVIEW, {}))
    assert (a.state, a.call_id) == (S.PREVIEWING, None)
    a.apply(E.DIAL, 5.0, call_id="c2")
    assert (a.state, a.call_id) == (S.DIALING, "c2")


def test_pause_sets_its_reason_and_renews_since_and_leaving_the_pause_clears_it() -> None:
    a = agent_in(*LOGGED_IN)
    assert (a.state, a.pause_reason) == (S.PAUSED, None)  # a login pauses without a reason
    a.apply(E.PAUSE, 3.0, reason="lunch")
    assert (a.pause_reason, a.since) == ("lunch", 3.0)
    a.apply(E.PAUSE, 4.0, reason="coaching")
    assert (a.pause_reason, a.since) == ("coaching", 4.0)
    a.apply(E.READY, 5.0)
    assert a.pause_reason is None


def test_a_pause_after_the_call_applies_when_it_ends() -> None:
    a = agent_in(*TALKING)
    a.pause_after_call("lunch")
    a.pause_after_call("coaching")  # the latest wins
    assert (a.state, a.pending_pause, a.pause_reason) == (S.TALKING, "coaching", None)
    a.apply(E.HANGUP, 5.0)
    a.apply(E.DISPOSE, 6.0)
    assert (a.state, a.pause_reason, a.pending_pause, a.call_id) == (S.PAUSED, "coaching", None, None)


@pytest.mark.parametrize(("steps", "end"), [(RESERVED, E.RELEASE), ((*READY, (E.DIAL, {"call_id": "c1"})), E.RELEASE),
                                            (WRAPUP, E.WRAPUP_TIMEOUT), (WRAPUP, E.DISPOSE)])
def test_a_logout_after_the_call_logs_out_when_it_ends_whatever_else_was_asked(
        steps: tuple[tuple[AgentEvent, dict[str, Any]], ...], end: AgentEvent) -> None:
    a = agent_in(*steps)
    a.pause_after_call("lunch")
    a.logout_after_call()
    a.apply(end, 9.0)
    assert (a.state, a.since, a.pause_reason, a.call_id, a.pending_pause, a.pending_logout) == \
        (S.LOGGED_OUT, 9.0, None, None, None, False)


@pytest.mark.parametrize("steps", [(), LOGGED_IN, READY, (*READY, (E.PREVIEW, {}))])
def test_after_the_call_requests_are_refused_without_a_call(steps: tuple[tuple[AgentEvent, dict[str, Any]], ...]) \
        -> None:
    a = agent_in(*steps)
    before = fields(a)
    with pytest.raises(IllegalTransition, match="pause after the call"):
        a.pause_after_call("lunch")
    with pytest.raises(IllegalTransition, match="log out after the call"):
        a.logout_after_call()
    assert fields(a) == before


def test_the_wrapup_timeout_pauses_with_its_reason_unless_a_pause_was_asked_for() -> None:
    a = agent_in(*WRAPUP)
    a.apply(E.WRAPUP_TIMEOUT, 9.0, reason="wrapup_timeout")
    assert (a.state, a.pause_reason) == (S.PAUSED, "wrapup_timeout")
    b = agent_in(*WRAPUP)
    b.pause_after_call("lunch")
    b.apply(E.WRAPUP_TIMEOUT, 9.0, reason="wrapup_timeout")
    assert (b.state, b.pause_reason) == (S.PAUSED, "lunch")
    c = agent_in(*WRAPUP)
    c.apply(E.WRAPUP_TIMEOUT, 9.0)
    assert (c.state, c.pause_reason) == (S.READY, None)


def test_a_dial_from_a_pause_goes_back_to_the_pause_it_names() -> None:
    a = agent_in(*LOGGED_IN, (E.PAUSE, {"reason": "lunch"}))
    a.apply(E.DIAL, 5.0, call_id="c1", reason="lunch")
    assert (a.state, a.pause_reason, a.pending_pause) == (S.DIALING, None, "lunch")
    a.apply(E.RELEASE, 6.0)
    assert (a.state, a.pause_reason) == (S.PAUSED, "lunch")


def test_check_refuses_as_apply_does_and_changes_nothing() -> None:
    a = agent_in(*WRAPUP)
    before = fields(a)
    with pytest.raises(IllegalTransition, match="cannot dial while wrapup"):
        a.check(E.DIAL)
    a.check(E.DISPOSE)
    assert fields(a) == before


# ---------------------------------------------------------------------------------------------- property
class Op:
    """One operation on an agent, as hypothesis draws it."""

    def __init__(self, kind: str, event: AgentEvent | None = None, call_id: str | None = None,
                 reason: str | None = None) -> None:
        self.kind, self.event, self.call_id, self.reason = kind, event, call_id, reason

    def __repr__(self) -> str:
        return f"Op({self.kind}, {self.event}, call_id={self.call_id}, reason={self.reason})"

    def run(self, a: Agent, now: float) -> None:
        if self.kind == "pause_after_call":
            a.pause_after_call(self.reason or "lunch")
        elif self.kind == "logout_after_call":
            a.logout_after_call()
        else:
            assert self.event is not None
            a.apply(self.event, now, call_id=self.call_id, reason=self.reason)


maybe = st.one_of(st.none(), st.sampled_from(["c1", "c2"]))
reasons = st.one_of(st.none(), st.sampled_from(["lunch", "wrapup_timeout"]))
ops = st.one_of(
    st.builds(Op, st.just("apply"), st.sampled_from(list(AgentEvent)), maybe, reasons),
    # a legal data shape more often than chance gives it: the table's events with the data they take
    st.builds(Op, st.just("apply"), st.sampled_from([E.RESERVE, E.DIAL]), st.sampled_from(["c1", "c2"]), reasons),
    st.builds(Op, st.just("apply"), st.sampled_from(list(AgentEvent)), st.none(), st.none()),
    st.builds(Op, st.just("pause_after_call"), st.none(), st.none(), st.sampled_from(["lunch", "coaching"])),
    st.builds(Op, st.just("logout_after_call")),
)


def snapshot(a: Agent) -> dict[str, object]:
    return {f.name: getattr(a, f.name) for f in dataclasses.fields(a)}


@settings(max_examples=400, deadline=None)
@given(st.lists(ops, max_size=40))
def test_random_operations_keep_the_invariants_and_a_refused_one_changes_nothing(steps: list[Op]) -> None:
    a = Agent("ann", "1001", "cold")
    for i, op in enumerate(steps):
        before = snapshot(a)
        now = float(i)
        try:
            op.run(a, now)
        except IllegalTransition:
            assert snapshot(a) == before, op
            continue
        assert a.invariant_errors() == [], (op, a)
        prev = AgentState(before["_state"])  # type: ignore[arg-type]
        if op.kind == "apply":
            assert op.event is not None
            table = TRANSITIONS[(prev, op.event)]  # an accepted move is in the table
            # ... and lands where the table says, unless the call ended with a pause or a logout pending
            assert a.state is table or (prev in CALL_STATES and a.state in (S.PAUSED, S.LOGGED_OUT)), (op, a)
            if a.state in CALL_STATES and prev in CALL_STATES:
                assert a.call_id == before["_call_id"]  # one call, start to end
            if op.call_id is not None:
                assert a.call_id == op.call_id
            assert a.since == (now if a.state is not prev or op.event is E.PAUSE else before["_since"])
        else:
            assert (a.state, a.since, a.call_id) == (prev, before["_since"], before["_call_id"])
