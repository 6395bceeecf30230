"""An answer whose AMD verdict the engine never saw counts as a live answer abandoned, wherever the call is
ended from: the resync finding its leg gone (`link.outcome_when_gone`), the shutdown (`close_all`), and the
stuck-call sweep finding it up past its ring timeout (`link.settle_stuck`). Nothing proves an agent reached
whoever said hello within 2 s; the ledger must never count fewer abandons than happened."""

from __future__ import annotations

from test_ami_link import outage, row
from test_engine import acts, chan, dial, login_ready, make_engine, records

from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import CheckChannels, HangupChannel, Redirect
from dialer.engine.core import Engine


def answered(eng: Engine, cid: str, at: float) -> None:
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), at - 4.5)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), at - 4.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), at)


def test_an_answer_in_amd_gone_at_the_resync_is_an_abandon_counted_and_locked():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    answered(eng, cid, 5.0)
    assert eng.calls[cid].state is CallState.SCREENING
    outage(eng, 5.5, 40.0)  # the verdict (HUMAN, at about 6.5) went with the link
    [rec] = records(eng.resync([], 41.0))
    assert (rec.outcome, rec.abandoned, rec.human_at) == ("abandoned", True, 5.0)
    led = eng.campaigns["camp"].pacer.ledger
    assert (led.total_lives, led.total_abandons) == (1, 1)


def test_close_all_counts_the_same_state_the_same_way():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    answered(eng, cid, 5.0)
    [rec] = records(eng.close_all(6.0))
    assert (rec.outcome, rec.abandoned, rec.human_at) == ("abandoned", True, 5.0)


def test_a_call_not_answered_as_far_as_anyone_saw_stays_lost_when_gone():
    eng = make_engine()
    dial(eng, now=0.0)
    outage(eng, 5.5, 40.0)
    [rec] = records(eng.resync([], 41.0))
    assert (rec.outcome, rec.abandoned) == ("lost", False)
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 0


def test_a_stuck_dial_found_up_and_parked_is_a_person_given_the_message_and_counted():
    """Its Newstate Up and verdict were lost (events dropped, no outage seen): past its ring timeout the
    sweep looks, and the row shows it parked after AMD."""
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    assert eng.sweep_stuck(141.0) == [CheckChannels(asked_at=141.0)]  # 20 s ring timeout + 120 s
    out = eng.verify([row(cid)], 141.0, 141.2)
    c = eng.calls[cid]
    assert (c.state, c.amd_status, c.human_at) == (CallState.WAITING, "NOTSURE", 0.0)  # from the dial at the earliest
    out += eng.tick(141.2)
    assert [(x.context, x.purpose) for x in acts(out) if isinstance(x, Redirect)] == [("dialer-abandon", "abandon")]
    led = eng.campaigns["camp"].pacer.ledger
    assert (led.total_lives, led.total_abandons) == (1, 1)
    [rec] = records(eng.on_ami(ev.Hangup(channel=chan(cid), uniqueid=cid, linkedid=cid, cause=16), 150.0))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)


def test_a_stuck_dial_found_up_goes_to_a_ready_agent_but_counts_abandoned():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    eng.sweep_stuck(141.0)
    login_ready(eng, "a1", "1001", now=141.0)
    out = eng.verify([row(cid)], 141.0, 141.2)
    assert [(x.purpose, x.exten) for x in acts(out) if isinstance(x, Redirect)] == [("agent", "1001")]
    eng.on_ami(ev.BridgeEnter(channel=chan(cid), uniqueid=cid, linkedid=cid, bridge_uniqueid="b"), 141.5)
    assert eng.calls[cid].abandoned  # connected long after the greeting may have ended


def test_a_stuck_dial_gone_at_the_look_is_lost_and_one_still_ringing_is_hung_up_as_a_no_answer():
    eng = make_engine()
    gone, ringing = dial(eng, now=0.0, n=2)
    assert eng.sweep_stuck(141.0) == [CheckChannels(asked_at=141.0)]
    out = eng.verify([row(ringing, context="dialer-outbound", application="", state=ev.ChannelState.RINGING)],
                     141.0, 141.2)
    assert sorted((r.call_id, r.outcome, r.abandoned) for r in records(out)) == [
        (gone, "lost", False), (ringing, "no_answer", False)]
    assert [x for x in out if isinstance(x, HangupChannel)] == [HangupChannel(ringing, chan(ringing), 19)]
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 0


def test_the_sweep_waits_for_the_resync_while_the_link_is_held():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    eng.on_ami(ev.AmiDisconnected("network"), 100.0)
    assert eng.sweep_stuck(141.0) == []
    assert eng.calls[cid].state is CallState.DIALING
