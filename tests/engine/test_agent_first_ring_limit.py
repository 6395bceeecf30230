"""An agent's own dial (preview, manual) rings its campaign's ring timeout from the customer's first ring, as the
pacer's dials do (test_ring_limit.py). `Dial()` in dialer-agent-dial counts `DIALER_RING_S` from the channel
request, so the carrier's set-up (post-dial delay) came out of the 15 s the law asks an unanswered call to ring.
The daemon now sends the ring timeout plus the set-up allowance as `DIALER_RING_S` (a backstop), and the engine
hangs up the customer leg (not the agent's) once it has rung the ring timeout; Asterisk then ends the agent's
`Dial()` with `DialEnd NOANSWER` (tests/pbxsim/test_pbxsim_agent_first.py), and the call is a no-answer."""

from __future__ import annotations

from test_agent_calls import CUST, agent_leg, login, make_engine, of

from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.commands import AgentNotice, HangupChannel, WriteCallRecord
from dialer.engine.core import Engine
from pacing.types import MIN_RING_S

CUST_UID = "pbx-1.7"


def dial_until_the_customer_rings(eng: Engine, rings_at: float) -> str:
    """ann dials a number at 1.0; her phone answers at 1.2, her Dial() starts at 1.3; the customer rings at
    `rings_at` (the carrier's set-up before it). The campaign's ring timeout is 20 s."""
    login(eng, "ann", "1001")
    cid, _ = eng.dial_manual("ann", "+12125550177", 1.0)
    a = {"channel": agent_leg(cid), "uniqueid": cid, "linkedid": cid}
    c = {"dest_channel": CUST, "dest_uniqueid": CUST_UID, "dest_linkedid": cid, **a}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **a), 1.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **a), 1.1)  # her own phone: no ring timeout
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **a), 1.2)
    eng.on_ami(ev.DialBegin(**c), 1.3)
    assert eng.next_deadline() is None
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, channel=CUST, uniqueid=CUST_UID, linkedid=cid), rings_at)
    eng.on_ami(ev.DialState(dial_status=ev.DialStatus.RINGING, **c), rings_at + 0.01)  # the same ring
    return cid


def dial_end(cid: str, status: ev.DialStatus) -> ev.DialEnd:
    return ev.DialEnd(channel=agent_leg(cid), uniqueid=cid, linkedid=cid, dest_channel=CUST, dest_uniqueid=CUST_UID,
                      dest_linkedid=cid, dial_status=status)


def test_an_agents_dial_rings_its_ring_timeout_from_the_customers_first_ring_then_its_leg_is_hung_up():
    eng = make_engine()
    assert eng.campaigns["prev"].ring_timeout_s == 20.0
    cid = dial_until_the_customer_rings(eng, 7.3)  # 6 s of set-up after the Dial() began
    assert eng.next_deadline() == 27.3
    assert of(eng.tick(27.2), HangupChannel) == []  # 19.9 s of ringing only
    assert of(eng.tick(27.3), HangupChannel) == [HangupChannel(cid, CUST, 19)]  # the customer's leg, not ann's
    assert of(eng.tick(40.0), HangupChannel) == []  # once
    # Asterisk: DialEnd NOANSWER (app_dial's status for cause 19), the customer pair goes, Dial() returns
    out = eng.on_ami(dial_end(cid, ev.DialStatus.NOANSWER), 27.35)
    [rec] = [c.record for c in out if isinstance(c, WriteCallRecord)]
    assert (rec.outcome, rec.kind, rec.connected_at) == ("no_answer", "manual", None)
    assert any(n.kind == "dial_failed" for n in of(out, AgentNotice))
    assert eng.roster.get("ann").state is AgentState.READY
    assert eng.on_ami(ev.Hangup(channel=CUST, uniqueid=CUST_UID, linkedid=cid, cause=19), 27.36) == []
    assert eng.on_ami(ev.Hangup(channel=agent_leg(cid), uniqueid=cid, linkedid=cid, cause=16), 27.4) == []
    assert eng.ring_deadlines == {}
    assert eng.aliases == {}


def test_it_is_never_cut_before_the_customer_rang_15_s_whatever_the_set_up():
    eng = make_engine()
    cid = dial_until_the_customer_rings(eng, 10.0)
    cut = [x for t in (11.0, 21.3, 29.9) for x in of(eng.tick(t), HangupChannel)]
    assert cut == []  # the Dial() began at 1.3: 20 s from there would have left 11.3 s of ringing
    assert of(eng.tick(30.0), HangupChannel) == [HangupChannel(cid, CUST, 19)]
    assert MIN_RING_S <= 30.0 - 10.0


def test_the_hang_up_reported_without_a_dialend_is_still_a_no_answer():
    eng = make_engine()
    cid = dial_until_the_customer_rings(eng, 2.0)
    eng.tick(22.0)
    [rec] = [c.record for c in eng.on_ami(ev.Hangup(channel=CUST, uniqueid=CUST_UID, linkedid=cid, cause=19), 22.1)
             if isinstance(c, WriteCallRecord)]
    assert rec.outcome == "no_answer"


def test_an_answer_in_time_is_not_cut():
    eng = make_engine()
    cid = dial_until_the_customer_rings(eng, 2.0)
    eng.on_ami(dial_end(cid, ev.DialStatus.ANSWER), 15.0)
    assert eng.ring_deadlines == {}
    assert of(eng.tick(30.0), HangupChannel) == []
    assert eng.roster.get("ann").state is AgentState.TALKING


def test_a_dial_that_fails_first_leaves_no_deadline():
    eng = make_engine()
    cid = dial_until_the_customer_rings(eng, 2.0)
    [rec] = [c.record for c in eng.on_ami(dial_end(cid, ev.DialStatus.BUSY), 4.0) if isinstance(c, WriteCallRecord)]
    assert rec.outcome == "busy"
    assert eng.ring_deadlines == {}
    assert eng.next_deadline() is None
