"""The engine across an AMI outage (`dialer.engine.link`): no dials while the link is down or resyncing, the
resync limited to the calls open at the loss, calls answered meanwhile caught up from their channel rows,
and an Originate never written handed back uncounted."""

from __future__ import annotations

import pytest
from test_engine import acts, chan, dial, login_ready, make_engine, records

from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import (
    CheckChannels,
    HangupChannel,
    Originate,
    RecordLedger,
    Redirect,
    ReturnLead,
    WriteCallRecord,
)
from dialer.engine.core import DialRequest, Engine
from pacing import Reason


def row(cid: str, context: str = "dialer-connect", application: str = "Wait",
        state: ev.ChannelState = ev.ChannelState.UP) -> ev.ChannelRow:
    return ev.ChannelRow(channel=chan(cid), uniqueid=cid, linkedid=cid, state=state, context=context,
                         application=application)


def outage(eng: Engine, lost_at: float, back_at: float) -> None:
    eng.on_ami(ev.AmiDisconnected("Asterisk closed the connection"), lost_at)
    eng.on_ami(ev.AmiConnected(reconnect=True), back_at)


def test_no_dials_while_the_link_is_down_nor_until_the_resync_is_done():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    assert eng.decide("camp", 1.0).launch == 2  # power 2.0 x 1 ready agent
    eng.on_ami(ev.AmiDisconnected("Asterisk closed the connection"), 2.0)
    down = eng.decide("camp", 3.0)
    assert (down.launch, down.reason) == (0, Reason.PBX_LINK_DOWN)
    assert "AMI connection lost (Asterisk closed the connection)" in down.detail
    assert eng.campaigns["camp"].pacer.decisions[-1] is down
    eng.on_ami(ev.AmiConnected(reconnect=True), 4.0)
    resyncing = eng.decide("camp", 5.0)
    assert (resyncing.launch, resyncing.reason) == (0, Reason.PBX_LINK_DOWN)
    assert "resyncing" in resyncing.detail
    eng.resync([], 6.0)
    assert eng.decide("camp", 7.0).launch == 2


def test_a_failed_resync_lets_dialing_resume_and_leaves_the_calls_alone():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [a] = dial(eng, n=1)
    outage(eng, 2.0, 4.0)
    assert eng.resync_failed(5.0) == []
    assert eng.calls[a].state is CallState.DIALING
    assert eng.decide("camp", 6.0).reason is not Reason.PBX_LINK_DOWN


def test_the_resync_leaves_alone_the_calls_placed_after_the_loss():
    """Their channels may not exist yet when CoreShowChannels runs (an Async Originate is acknowledged
    first); they were sent on the new connection and their events come as usual."""
    eng = make_engine()
    [before] = dial(eng, now=0.0)
    eng.on_ami(ev.AmiDisconnected("Asterisk closed the connection"), 10.0)
    [during] = dial(eng, now=11.0)  # e.g. an agent's manual dial while the client reconnected
    eng.on_ami(ev.AmiConnected(reconnect=True), 12.0)
    [after] = dial(eng, now=12.5)
    recs = records(eng.resync([], 13.0))
    assert [(r.call_id, r.outcome) for r in recs] == [(before, "lost")]
    assert eng.calls[during].state is CallState.DIALING
    assert eng.calls[after].state is CallState.DIALING
    eng.on_ami(ev.Newstate(channel=chan(after), uniqueid=after, linkedid=after, state=ev.ChannelState.UP), 14.0)
    assert eng.calls[after].state is CallState.SCREENING  # its events still count


def test_a_person_answered_during_the_outage_goes_to_an_agent_and_counts_from_the_loss():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=0.0)
    outage(eng, 10.0, 40.0)
    out = acts(eng.resync([row(cid)], 41.0))
    c = eng.calls[cid]
    assert [(x.purpose, x.exten) for x in out if isinstance(x, Redirect)] == [("agent", "1001")]
    assert (c.state, c.amd_status, c.human_at) == (CallState.CONNECTING, "NOTSURE", 10.0)
    assert c.channel == chan(cid)  # learnt from the row: its Newchannel came during the outage
    eng.on_ami(ev.BridgeEnter(channel=chan(cid), uniqueid=cid, linkedid=cid, bridge_uniqueid="b"), 41.5)
    assert c.state is CallState.CONNECTED
    assert c.abandoned  # connected 31.5 s after the greeting ended at the latest


def test_a_person_answered_during_the_outage_with_no_agent_gets_the_abandon_message():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    outage(eng, 10.0, 40.0)
    eng.resync([row(cid)], 41.0)
    assert eng.calls[cid].state is CallState.WAITING
    out = acts(eng.tick(41.0))  # the hold ran out 1.5 s after the loss
    assert [(x.context, x.purpose) for x in out if isinstance(x, Redirect)] == [("dialer-abandon", "abandon")]
    assert eng.calls[cid].abandoned


def test_a_call_still_in_amd_after_the_outage_is_answered_and_waits_for_its_verdict():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=0.0)
    outage(eng, 10.0, 40.0)
    assert acts(eng.resync([row(cid, application="AMD")], 41.0)) == []
    assert eng.calls[cid].state is CallState.SCREENING
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    out = eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), 42.0)
    assert eng.calls[cid].human_at == 42.0
    assert any(isinstance(x, Redirect) and x.purpose == "agent" for x in out)


@pytest.mark.parametrize("context", ["dialer-outbound", "dialer-connect"])
def test_a_call_still_ringing_or_not_yet_up_keeps_its_state(context):
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    outage(eng, 10.0, 40.0)
    assert eng.resync([row(cid, context=context, application="", state=ev.ChannelState.RINGING)], 41.0) == []
    assert eng.calls[cid].state is CallState.DIALING


def test_a_stuck_call_whose_look_never_came_is_hung_up_when_ended_lost():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    outage(eng, 10.0, 40.0)
    eng.resync([row(cid, application="Dial", context="dialer-outbound")], 41.0)
    assert eng.sweep_stuck(200.0) == [CheckChannels(asked_at=200.0)]  # 20 s ring timeout + 120 s: look first
    assert eng.sweep_stuck(205.0) == []  # the look is on its way
    out = eng.sweep_stuck(210.0)  # it never came (CoreShowChannels failed)
    assert [x for x in out if isinstance(x, HangupChannel)] == [HangupChannel(cid, chan(cid), 16)]
    assert [(r.call_id, r.outcome) for r in records(out)] == [(cid, "lost")]


def test_an_originate_never_sent_gives_its_lead_back_uncounted():
    eng = make_engine()
    request = DialRequest("L7", "+15551230007", attempt=3, number_index=1, fields={"name": "Ada"}, target="t7")
    [o] = [c for c in eng.launch("camp", [request], 5.0) if isinstance(c, Originate)]
    pacer = eng.campaigns["camp"].pacer
    dials_before = pacer.est.dials
    out = eng.on_ami(ev.OriginateFailed(o.call_id, "not connected to AMI", sent=False), 5.1)
    assert out == [ReturnLead("camp", o.call_id, request, "not connected to AMI")]
    assert not any(isinstance(x, WriteCallRecord | RecordLedger) for x in out)
    assert pacer.est.dials == dials_before
    assert o.call_id not in eng.calls
    assert eng.snapshot("camp", 5.2).lines_in_use == 0
    assert eng.stats.placed == 0


def test_an_originate_asterisk_refused_still_ends_failed():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    out = eng.on_ami(ev.OriginateFailed(cid, "Asterisk refused the Originate: Originate failed"), 0.1)
    assert [(r.call_id, r.outcome) for r in records(out)] == [(cid, "failed")]


def _human(eng: Engine, cid: str, at: float) -> None:
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), at - 1.5)
    eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), at)


def test_a_person_waiting_when_the_link_went_and_gone_at_the_resync_is_an_abandon_counted_once():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    _human(eng, cid, 6.5)  # nobody ready: waiting, hold until 8.0
    outage(eng, 6.6, 7.4)  # they hung up during a short outage
    [rec] = records(eng.resync([], 7.5))
    ledger = eng.campaigns["camp"].pacer.ledger
    assert (rec.outcome, rec.abandoned) == ("hung_up_waiting", True)  # the lead's number gets the abandon lock
    assert (ledger.total_lives, ledger.total_abandons) == (1, 1)


def test_a_person_given_the_abandon_message_and_gone_at_the_resync_ends_abandoned_not_lost():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    _human(eng, cid, 6.5)
    eng.on_ami(ev.AmiDisconnected("network blip"), 7.0)
    eng.tick(8.0)  # the hold ran out during the outage: counted, sent to the message
    eng.on_ami(ev.AmiConnected(reconnect=True), 20.0)
    [rec] = records(eng.resync([], 21.0))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)  # "lost" read as a no-answer: no 72-hour lock
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 1


def test_a_person_being_put_through_with_no_bridge_seen_is_counted_abandoned_and_the_agent_freed():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=0.0)
    _human(eng, cid, 6.5)
    assert eng.calls[cid].state is CallState.CONNECTING
    outage(eng, 7.0, 12.0)
    [rec] = records(eng.resync([], 12.5))
    assert (rec.outcome, rec.abandoned) == ("hung_up_waiting", True)
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 1
    assert eng.roster.get("a1").state.value == "ready"


def test_a_bridge_the_outage_hid_after_an_answered_redirect_connects_the_call_and_the_agent():
    """The Redirect's answer came; its BridgeEnter did not: the row shows the leg in the agent's bridge."""
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=0.0)
    _human(eng, cid, 6.5)
    assert eng.calls[cid].state is CallState.CONNECTING
    outage(eng, 6.7, 7.6)
    bridged = ev.ChannelRow(channel=chan(cid), uniqueid=cid, linkedid=cid, state=ev.ChannelState.UP,
                            context="dialer-to-agent", exten="1001", application="Dial", bridge_id="b1")
    assert [x for x in eng.resync([bridged], 8.0) if isinstance(x, Redirect)] == []
    assert (eng.calls[cid].state, eng.calls[cid].abandoned) == (CallState.CONNECTED, False)  # 1.5 s: in time
    assert eng.roster.get("a1").state.value == "talking"
    [rec] = records(eng.on_ami(ev.Hangup(channel=chan(cid), uniqueid=cid, linkedid=cid, cause=16), 60.0))
    assert (rec.outcome, rec.abandoned) == ("connected", False)  # before: an abandon, the agent never talking
