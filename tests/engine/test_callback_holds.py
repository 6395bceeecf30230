"""A READY agent with a due callback of their own is not taken from the dials the pacer launched for them."""

from __future__ import annotations

from test_engine import chan, dial, login_ready, make_engine

from agents import commands as ac
from dialer.ami import events as ev
from dialer.engine import callback_holds


def _no_answer(eng, cid: str, now: float) -> None:  # type: ignore[no-untyped-def]
    eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=3, channel=chan(cid), uniqueid=cid), now)


def test_an_agent_ready_before_a_dial_in_flight_is_held_until_it_resolves():
    eng = make_engine()
    login_ready(eng, "ann", "1001", now=0.0)
    [first] = dial(eng, now=1.0)  # launched counting ann
    assert "ann" not in callback_holds.safe_to_offer(eng, "camp", ["ann"], 2.0)
    callback_holds.hold(eng, "ann", 2.0)
    assert eng.snapshot("camp", 2.0).ready_agents == 0  # no new dial on her account
    [later] = dial(eng, now=3.0)  # launched for others while she was held: not hers
    assert "ann" not in callback_holds.safe_to_offer(eng, "camp", ["ann"], 4.0)
    _no_answer(eng, first, 25.0)
    assert "ann" in callback_holds.safe_to_offer(eng, "camp", ["ann"], 25.5)
    assert eng.calls[later].ended_at is None  # still ringing: launched after her hold, not on her account
    callback_holds.release(eng, "ann")
    assert eng.snapshot("camp", 25.5).ready_agents == 1


def test_an_agent_ready_after_every_dial_in_flight_is_offered_at_once():
    eng = make_engine()
    dial(eng, now=1.0)
    login_ready(eng, "ann", "1001", now=2.0)
    assert "ann" in callback_holds.safe_to_offer(eng, "camp", ["ann"], 2.5)


def test_a_hold_from_an_earlier_ready_spell_is_dropped():
    eng = make_engine()
    login_ready(eng, "ann", "1001", now=0.0)
    dial(eng, now=1.0)
    callback_holds.hold(eng, "ann", 2.0)
    eng.on_agent(ac.Pause("ann", "lunch"), 3.0)
    assert eng.snapshot("camp", 3.0).ready_agents == 0
    assert eng.callback_holds == {}
    eng.on_agent(ac.Ready("ann"), 4.0)
    assert "ann" in callback_holds.safe_to_offer(eng, "camp", ["ann"], 4.5)  # the dial in flight was launched before
    assert eng.snapshot("camp", 4.5).ready_agents == 1


def test_the_pacer_counts_an_agent_only_once_looked_at_for_callbacks():
    eng = make_engine()
    login_ready(eng, "ann", "1001", now=0.0)
    eng.callbacks_looked_at["camp"] = 1.0
    login_ready(eng, "bob", "1002", now=2.0)  # READY while the daemon was busy: not looked at yet
    assert eng.snapshot("camp", 2.1).ready_agents == 1
    eng.callbacks_looked_at["camp"] = 2.2
    assert eng.snapshot("camp", 2.3).ready_agents == 2


def test_of_several_ready_agents_only_those_dials_count_on_are_unsafe():
    eng = make_engine()
    login_ready(eng, "ann", "1001", now=0.0)
    dial(eng, now=1.0)
    login_ready(eng, "bob", "1002", now=2.0)
    assert callback_holds.safe_to_offer(eng, "camp", ["ann", "bob", "nobody"], 2.5) == {"bob"}


def test_a_live_answer_reaches_a_held_agent_only_when_nobody_else_is_ready():
    from test_engine import answer

    eng = make_engine()
    login_ready(eng, "ann", "1001", now=0.0)  # idle longest, but held for her callback
    login_ready(eng, "bob", "1002", now=0.5)
    first, second = dial(eng, now=1.0, n=2)
    callback_holds.hold(eng, "ann", 2.0)
    answer(eng, first, 3.0)
    assert eng.calls[first].agent_id == "bob"  # ann's callback need not wait for this call's talk and wrap-up
    answer(eng, second, 4.0)
    assert eng.calls[second].agent_id == "ann"  # nobody else: she takes it rather than let it be abandoned
    assert not eng.calls[second].abandoned


def test_a_hold_from_an_earlier_spell_does_not_put_the_agent_last():
    from test_engine import answer

    eng = make_engine()
    login_ready(eng, "ann", "1001", now=0.0)
    callback_holds.hold(eng, "ann", 1.0)
    eng.on_agent(ac.Pause("ann", "coffee"), 2.0)
    eng.on_agent(ac.Ready("ann"), 3.0)  # READY again: the old hold is not this spell's
    login_ready(eng, "bob", "1002", now=4.0)
    [cid] = dial(eng, now=5.0)
    answer(eng, cid, 6.0)
    assert eng.calls[cid].agent_id == "ann"
