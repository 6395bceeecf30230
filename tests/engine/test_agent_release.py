"""An agent reserved for a person who does not reach them (gone before the bridge, a refused Redirect) is
released as after any call: a pause or logout asked for "after this call" applies, and a READY agent takes
the person still waiting rather than let them be abandoned."""

from __future__ import annotations

from test_engine import answer, chan, dial, login_ready, make_engine, refused

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import AgentNotice, Redirect


def _reserved(eng) -> str:  # type: ignore[no-untyped-def]
    """a1 is RESERVED for a person who answered at 5 (AMD said human at 6.5)."""
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    answer(eng, cid, 0)
    assert eng.roster.get("a1").state is AgentState.RESERVED
    return cid


def _gone(eng, cid: str, now: float) -> list:  # type: ignore[no-untyped-def]
    return eng.on_ami(ev.Hangup(channel=chan(cid), uniqueid=cid, linkedid=cid, cause=16), now)


def test_a_pause_asked_for_while_reserved_applies_when_the_person_leaves_before_the_bridge():
    eng = make_engine()
    cid = _reserved(eng)
    out = eng.on_agent(ac.Pause("a1", "offline", after_call=True), 6.6)
    assert any(isinstance(c, AgentNotice) and c.kind == "pause_pending" for c in out)
    _gone(eng, cid, 6.8)
    a1 = eng.roster.get("a1")
    assert (a1.state, a1.pause_reason, a1.pending_pause) == (AgentState.PAUSED, "offline", None)


def test_a_logout_asked_for_while_reserved_applies_and_the_next_person_does_not_go_to_the_empty_chair():
    eng = make_engine()
    cid = _reserved(eng)
    eng.on_agent(ac.Logout("a1"), 6.6)
    _gone(eng, cid, 6.8)
    assert eng.roster.get("a1").state is AgentState.LOGGED_OUT
    [nxt] = dial(eng, now=10.0)
    out = answer(eng, nxt, 10.0)
    assert not [c for c in out if isinstance(c, Redirect) and c.purpose == "agent"]


def test_an_agent_released_before_the_bridge_takes_the_person_waiting_in_the_hold():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    first, second = dial(eng, now=0, n=2)
    answer(eng, first, 0)  # a1 reserved for the first
    answer(eng, second, 0.2)  # a person at 6.7 with nobody ready: held until 8.2
    assert eng.calls[second].state is CallState.WAITING
    out = _gone(eng, first, 6.9)
    [r] = [c for c in out if isinstance(c, Redirect) and c.call_id == second]
    assert (r.purpose, r.agent_id) == ("agent", "a1")
    assert not [c for c in eng.tick(8.3) if isinstance(c, Redirect) and c.purpose == "abandon"]


def test_a_refused_redirect_goes_to_another_ready_agent_not_again_to_the_refused_one():
    eng = make_engine()
    login_ready(eng, "a1", "1001", now=0.0)
    login_ready(eng, "a2", "1002", now=1.0)
    [cid] = dial(eng, now=2.0)
    answer(eng, cid, 2.0)  # a1, idle longest, is reserved
    out = refused(eng, cid, "agent", 8.6)
    [r] = [c for c in out if isinstance(c, Redirect)]
    assert (r.purpose, r.agent_id, eng.calls[cid].agent_id) == ("agent", "a2", "a2")
    assert eng.roster.get("a1").state is AgentState.READY


def test_a_refused_redirect_with_no_other_agent_ready_waits_in_the_hold_as_before():
    eng = make_engine()
    cid = _reserved(eng)
    out = refused(eng, cid, "agent", 6.6)
    assert not [c for c in out if isinstance(c, Redirect)]
    assert eng.calls[cid].state is CallState.WAITING
    assert eng.roster.get("a1").state is AgentState.READY


def test_forget_ended_keeps_the_call_its_agent_is_still_wrapping_up():
    # the daemon forgets ended calls every 5 s beyond the last 10,000: in a busy center a long conversation
    # was forgotten at its hang-up, and the agent's disposition found no call (no strict count of the person;
    # after a transfer both agents' dispositions were final, so the first agent's note could beat the sale)
    from test_engine import bridge, hangup

    from dialer.engine.commands import RecordLedger

    eng = make_engine()
    cid = _reserved(eng)
    bridge(eng, cid, 7.0)
    [other] = dial(eng, now=8.0)
    eng.on_ami(ev.OriginateResponse(action_id=other, success=False, reason=5, channel=chan(other), uniqueid=other),
               9.0)
    hangup(eng, cid, 600.0)
    eng.forget_ended(keep=0)
    assert cid in eng.calls
    assert other not in eng.calls
    out = eng.on_agent(ac.Disposition("a1", cid, "sale"), 630.0)
    assert [c for c in out if isinstance(c, RecordLedger)]  # the person counted for the strict rate
    eng.forget_ended(keep=0)
    assert cid not in eng.calls
