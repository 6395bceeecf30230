"""The engine's side of `Decision.hangup`: ringing dials the pacer cuts after the minimum ring."""

from __future__ import annotations

from dataclasses import replace

from test_engine import chan, dial, login_ready, make_engine, records

from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import HangupChannel
from dialer.engine.core import DialRequest
from pacing import Mode
from pacing.types import Decision, DialObserved, LiveAnswerObserved, Reason


def _ringing(eng, cid: str, now: float) -> None:
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), now)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), now)


def _cut(eng, now: float, *which: int) -> list:
    d = Decision(now=now, mode=Mode.PREDICTIVE, launch=0, reason=Reason.ENOUGH_IN_FLIGHT, hangup=which)
    return eng.hang_up_surplus("camp", d, now)


def _spy(eng) -> list:
    seen: list = []
    pacer = eng.campaigns["camp"].pacer
    real = pacer.observe

    def observe(obs):
        seen.append(obs)
        real(obs)

    pacer.observe = observe
    return seen


def test_the_named_ringing_dial_is_hung_up_and_recorded_as_a_no_answer():
    eng = make_engine()
    a, b = dial(eng, n=2)
    _ringing(eng, a, 0.0)
    _ringing(eng, b, 0.0)
    snap = eng.snapshot("camp", 16.0)
    assert snap.ringing_elapsed.tolist() == [16.0, 16.0]
    i = eng.campaigns["camp"].ringing_ids.index(b)
    assert _cut(eng, 16.0, i) == [HangupChannel(b, chan(b), 16)]
    assert eng.stats.surplus_hangups == 1
    assert eng.snapshot("camp", 16.5).ringing_elapsed.tolist() == [16.5]  # no longer a dial that may answer
    assert _cut(eng, 16.5, 0, 5) == [HangupChannel(a, chan(a), 16)]  # an index past the snapshot is ignored
    seen = _spy(eng)
    kw = {"channel": chan(b), "uniqueid": b, "linkedid": b}
    assert records(eng.on_ami(ev.Hangup(cause=16, **kw), 16.1)) == []
    # Asterisk fails the Originate with Reason 1 (hung up): for the record and the pacer it is a no-answer
    [rec] = records(eng.on_ami(ev.OriginateResponse(action_id=b, success=False, reason=1, channel="x", uniqueid=b),
                               16.2))
    assert (rec.outcome, rec.abandoned) == ("no_answer", False)
    dials = [o for o in seen if isinstance(o, DialObserved)]
    assert [(o.outcome, o.hung_up, o.ring_s) for o in dials] == [("no_answer", True, 16.0)]


def test_a_dial_answered_as_the_hangup_went_out_counts_as_an_abandon():
    eng = make_engine()
    [a] = dial(eng)
    _ringing(eng, a, 0.0)
    eng.snapshot("camp", 15.0)
    assert len(_cut(eng, 15.0, 0)) == 1
    seen = _spy(eng)
    kw = {"channel": chan(a), "uniqueid": a, "linkedid": a}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 15.01)
    [rec] = records(eng.on_ami(ev.Hangup(cause=16, **kw), 15.02))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)
    assert eng.stats.abandoned == 1
    assert [o.abandoned for o in seen if isinstance(o, LiveAnswerObserved)] == [True]


def test_a_dial_without_a_channel_yet_or_already_answered_is_left_alone():
    eng = make_engine()
    a, b = dial(eng, n=2)
    _ringing(eng, b, 0.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, channel=chan(b), uniqueid=b, linkedid=b), 16.0)
    eng.snapshot("camp", 16.0)
    assert eng.campaigns["camp"].ringing_ids == [a]
    assert _cut(eng, 16.0, 0) == []  # Asterisk has not said which channel it is: nothing to hang up
    assert eng.stats.surplus_hangups == 0


def test_the_engine_keeps_the_law_s_minimum_ring_whatever_the_pacer_asks():
    eng = make_engine()
    [a] = dial(eng)
    _ringing(eng, a, 0.0)
    eng.snapshot("camp", 14.0)
    assert _cut(eng, 14.0, 0) == []  # rung 14 s: not yet
    eng.snapshot("camp", 15.0)
    assert _cut(eng, 15.0, 0) == [HangupChannel(a, chan(a), 16)]


def test_a_campaign_with_surplus_hangups_off_cuts_nothing():
    eng = make_engine()
    camp = eng.campaigns["camp"]
    camp.pacer.set_knobs(replace(camp.pacer.knobs, surplus_hangup_after_s=None))
    [a] = dial(eng)
    _ringing(eng, a, 0.0)
    eng.snapshot("camp", 30.0)
    assert _cut(eng, 30.0, 0) == []


def test_a_call_an_agent_started_is_not_a_ringing_dial_and_never_cut():
    # Found in the demo: an agent's own callback, offered back as a preview, rang 20 s on the customer's side
    # and the pacer hung it up as surplus — the Hangup went to the agent's own phone leg.
    eng = make_engine()
    login_ready(eng, "ann", "1001")
    eng.offer_preview("ann", DialRequest("L9", "+12125550142", callback_agent="ann", callback_at=0.5), 0.0)
    cid, _out = eng.dial_preview("ann", "L9", 0, 0.0)
    a = {"channel": f"Local/1001@dialer-agent-00000001;1 {cid}", "uniqueid": cid, "linkedid": cid}
    cust = {"dest_channel": "Local/12125550142@dialer-outbound-00000007;1", "dest_uniqueid": "pbx-1.7",
            "dest_linkedid": cid}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **a), 0.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **a), 0.5)
    eng.on_ami(ev.DialBegin(**cust, **a), 0.6)
    eng.on_ami(ev.DialState(dial_status=ev.DialStatus.RINGING, **cust, **a), 1.0)
    assert eng.calls[cid].state is CallState.RINGING
    [b] = dial(eng)
    _ringing(eng, b, 0.0)
    snap = eng.snapshot("camp", 20.0)
    assert snap.ringing_elapsed.tolist() == [20.0]  # the pacer's dial only
    assert eng.campaigns["camp"].ringing_ids == [b]
    assert snap.talking_elapsed.tolist() == [20.0]  # ann, busy on her own call
    assert _cut(eng, 20.0, 0) == [HangupChannel(b, chan(b), 16)]
    assert eng.calls[cid].surplus_hangup_at is None


def test_the_minimum_ring_runs_from_when_the_phone_began_to_ring_not_from_the_originate():
    # 4 s of network set-up before the called phone rings: at 15 s after the Originate it has rung 11 s
    eng = make_engine()
    [a] = dial(eng)
    kw = {"channel": chan(a), "uniqueid": a, "linkedid": a}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), 0.1)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), 4.0)
    eng.snapshot("camp", 15.0)
    assert _cut(eng, 15.0, 0) == []
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), 10.0)  # said again: still rings from 4.0
    eng.snapshot("camp", 19.0)
    assert _cut(eng, 19.0, 0) == [HangupChannel(a, chan(a), 16)]


def test_a_dial_whose_ringing_was_never_reported_is_never_cut():
    eng = make_engine()
    [a] = dial(eng)
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, channel=chan(a), uniqueid=a, linkedid=a), 0.1)
    eng.snapshot("camp", 30.0)
    assert eng.calls[a].state is CallState.DIALING
    assert _cut(eng, 30.0, 0) == []
