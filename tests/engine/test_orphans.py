"""Calls an earlier daemon process left in Asterisk (`dialer.engine.orphans`): found among CoreShowChannels'
rows (as Asterisk 22 lists them: no channel variables), and taken over by where their legs are."""

from __future__ import annotations

from test_engine import acts, login_ready, make_engine, records

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import (
    AgentNotice,
    CheckChannels,
    HangupChannel,
    RecordLedger,
    Redirect,
    ScreenPop,
)
from dialer.engine.core import DialRequest, Engine
from dialer.engine.unsure import Refused

OLD = "camp-1f-abc123"  # placed by the crashed process: the new one's ids differ (`make_engine`: call-N)
LEG = "Local/15551230007@dialer-outbound-0000002a;1"
AGENT_LEG = "Local/1001@dialer-agent-0000003b;1"
TARGET = object()  # the lead source's take, handed back with the call's record


def row(uniqueid: str = OLD, channel: str = LEG, *, state: ev.ChannelState = ev.ChannelState.UP,
        context: str = "dialer-connect", exten: str = "s", application: str = "Wait", bridge: str = "",
        linkedid: str = OLD, duration: int = 40) -> ev.ChannelRow:
    return ev.ChannelRow(channel=channel, uniqueid=uniqueid, linkedid=linkedid, state=state, context=context,
                         exten=exten, application=application, application_data="600", duration=duration,
                         bridge_id=bridge)


def take_over(eng: Engine, rows: list[ev.ChannelRow], now: float = 100.0) -> list:
    """What the daemon does at its first connect: the resync, then each orphan adopted with what it read."""
    eng.on_ami(ev.AmiConnected(reconnect=False), now)
    found = eng.find_orphans(rows)
    out = eng.resync(rows, now, now)
    for o in found:
        out += eng.adopt(o, "camp", DialRequest("L7", "+15551230007", attempt=2, target=TARGET), now)
    return out


def hangup(eng: Engine, now: float, uniqueid: str = OLD, channel: str = LEG, cause: int = 16) -> list:
    return eng.on_ami(ev.Hangup(channel=channel, uniqueid=uniqueid, linkedid=OLD, cause=cause), now)


def test_the_first_connect_holds_dialing_until_the_channels_were_looked_at():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    eng.on_ami(ev.AmiConnected(reconnect=False), 0.0)
    held = eng.decide("camp", 0.5)
    assert (held.launch, "earlier daemon process" in held.detail) == (0, True)
    eng.resync([], 1.0, 0.5)
    assert eng.decide("camp", 1.5).launch == 2


def test_a_person_parked_by_a_dead_process_gets_the_message_is_counted_and_locked():
    """Answered, AMD's verdict sent to the dead process, parked in Wait(600): nobody would ever come."""
    eng = make_engine()
    login_ready(eng, "a1", "1001")  # even a READY agent: the person has waited an unknown time already
    out = take_over(eng, [row(), row(f"{OLD}-2", LEG.replace(";1", ";2"), context="dialer-outbound",
                                     exten="15551230007", application="Dial")])
    assert [(x.context, x.channel, x.purpose) for x in out if isinstance(x, Redirect)] == [
        ("dialer-abandon", LEG, "abandon")]
    [entry] = [x for x in out if isinstance(x, RecordLedger)]
    assert (entry.campaign_id, entry.call_id) == ("camp", OLD)  # noted with its call: a restart won't count it again
    led = eng.campaigns["camp"].pacer.ledger
    assert (led.total_lives, led.total_abandons) == (1, 1)
    c = eng.calls[OLD]
    assert (c.state, c.abandoned, c.lead_id, c.attempt, c.originated_at) == (CallState.ABANDONING, True, "L7", 2, 60.0)
    assert eng.roster.get("a1").state is AgentState.READY
    [rec] = records(hangup(eng, 110.0))
    assert (rec.outcome, rec.abandoned, rec.lead_id) == ("abandoned", True, "L7")
    assert (led.total_lives, led.total_abandons) == (1, 1)  # counted once
    assert hangup(eng, 110.0) == []  # a repeated Hangup finds the call ended


def test_the_record_of_a_taken_over_call_carries_the_lead_sources_take():
    from dialer.engine.commands import WriteCallRecord

    eng = make_engine()
    take_over(eng, [row()])
    [w] = [x for x in hangup(eng, 110.0) if isinstance(x, WriteCallRecord)]
    assert w.target is TARGET  # the lead's result (and its 72-hour lock) is written on the lead


def test_a_person_in_amd_is_served_as_any_answer_when_the_verdict_comes():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    assert acts(take_over(eng, [row(application="AMD")])) == []
    assert eng.calls[OLD].state is CallState.SCREENING
    kw = {"channel": LEG, "uniqueid": OLD, "linkedid": OLD}
    out = eng.on_ami(ev.AmdResult(call_id=OLD, status=ev.AmdStatus.HUMAN, **kw), 101.0)
    assert [(x.purpose, x.exten) for x in out if isinstance(x, Redirect)] == [("agent", "1001")]


def test_a_dial_still_ringing_is_hung_up_once_it_rang_15_s_from_the_look():
    eng = make_engine()
    out = take_over(eng, [row(state=ev.ChannelState.RINGING, context="dialer-outbound", exten="15551230007",
                              application="", duration=9)])
    assert acts(out) == []
    assert eng.calls[OLD].state is CallState.RINGING
    assert eng.next_deadline() == 115.0
    assert [x for x in eng.tick(114.9) if isinstance(x, HangupChannel)] == []
    assert [x for x in eng.tick(115.0) if isinstance(x, HangupChannel)] == [HangupChannel(OLD, LEG, 19)]
    # its OriginateResponse went to the dead process: the Hangup ends it
    [rec] = records(hangup(eng, 115.2, cause=19))
    assert (rec.outcome, rec.abandoned) == ("no_answer", False)


def test_a_dial_not_ringing_yet_starts_its_15_s_at_its_first_ringing_and_may_be_answered():
    eng = make_engine()
    take_over(eng, [row(state=ev.ChannelState.DOWN, context="dialer-outbound", exten="15551230007",
                        application="")])
    kw = {"channel": LEG, "uniqueid": OLD, "linkedid": OLD}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), 103.0)
    assert eng.ring_deadlines == {OLD: 118.0}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 110.0)
    assert eng.ring_deadlines == {}
    assert eng.calls[OLD].state is CallState.SCREENING
    out = eng.on_ami(ev.AmdResult(call_id=OLD, status=ev.AmdStatus.HUMAN, **kw), 112.0)
    assert acts(out) == []  # no agent: held, then the information message
    assert any(isinstance(x, Redirect) and x.purpose == "abandon" for x in eng.tick(113.5))


def test_a_dial_that_fails_by_itself_ends_at_its_hangup_by_the_cause():
    eng = make_engine()
    take_over(eng, [row(state=ev.ChannelState.RINGING, context="dialer-outbound", application="")])
    [rec] = records(hangup(eng, 105.0, cause=17))
    assert rec.outcome == "busy"


def test_a_call_with_an_agent_is_left_to_finish_and_the_agent_is_talking_on_it():
    """A restart logs agents back in paused: the one on the call is TALKING on it, then wraps it up, then
    is paused again."""
    eng = make_engine()
    eng.on_agent(ac.Login("a1", "1001", "camp"), 50.0)
    eng.on_agent(ac.Pause("a1", "dialer_restarted"), 50.0)
    out = take_over(eng, [row(context="dialer-to-agent", exten="1001", application="Dial", bridge="br-1"),
                          row("1795000000.17", "PJSIP/1001-00000004", context="dialer-agents-in", exten="",
                              application="AppDial", bridge="br-1")])
    assert [x for x in out if isinstance(x, Redirect | HangupChannel)] == []
    assert [x for x in out if isinstance(x, RecordLedger)] == []  # counted, if late, by the dead process
    a1 = eng.roster.get("a1")
    assert (a1.state, a1.call_id) == (AgentState.TALKING, OLD)
    assert any(isinstance(x, ScreenPop) and x.agent_id == "a1" for x in out)
    assert any(isinstance(x, AgentNotice) and x.kind == "connected" for x in out)
    assert eng.decide("camp", 100.5).launch == 0  # nobody is free
    [rec] = records(hangup(eng, 160.0))
    assert (rec.outcome, rec.agent_id, rec.abandoned) == ("connected", "a1", False)
    assert a1.state is AgentState.WRAPUP
    eng.on_agent(ac.Disposition("a1", OLD, "sale"), 170.0)
    assert (a1.state, a1.pause_reason) == (AgentState.PAUSED, "dialer_restarted")


def test_an_agents_own_dial_keeps_its_agent_dialing_then_talking():
    eng = make_engine()
    eng.on_agent(ac.Login("a1", "1001", "camp"), 50.0)
    customer = "Local/15551230007@dialer-outbound-0000004c;1"
    first = row(channel=AGENT_LEG, context="dialer-agent-dial", exten="15551230007", application="Dial")
    ringing = row("1795000000.20", customer, state=ev.ChannelState.RINGING, context="dialer-outbound",
                  exten="15551230007", application="")
    take_over(eng, [first, ringing])
    c = eng.calls[OLD]
    assert (c.state, c.number, eng.roster.get("a1").state) == (CallState.RINGING, "+15551230007", AgentState.DIALING)
    eng.on_ami(ev.DialEnd(channel=AGENT_LEG, uniqueid=OLD, linkedid=OLD, dest_channel=customer,
                          dest_uniqueid="1795000000.20", dest_linkedid=OLD, dial_status="ANSWER"), 104.0)
    assert (c.state, eng.roster.get("a1").state) == (CallState.CONNECTED, AgentState.TALKING)
    [rec] = records(hangup(eng, 130.0, uniqueid="1795000000.20", channel=customer))
    assert (rec.outcome, rec.kind) == ("connected", "preview")


def test_a_machine_or_agentless_message_is_left_alone():
    eng = make_engine()
    assert take_over(eng, [row(context="dialer-machine", application="Playback")]) == []
    assert OLD not in eng.calls


def test_a_person_hearing_the_message_already_is_followed_to_the_end_with_the_lock():
    eng = make_engine()
    assert acts(take_over(eng, [row(context="dialer-abandon", application="Playback")])) == []
    led = eng.campaigns["camp"].pacer.ledger
    assert led.total_abandons == 0  # the dead process counted it when it sent the person there
    [rec] = records(hangup(eng, 104.0))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)
    assert led.total_abandons == 0


def test_a_parked_person_gone_before_the_take_over_ends_at_the_refusal():
    """Their Hangup came before the call was adopted: the Redirect to the message finds no channel."""
    eng = make_engine()
    [redirect] = [x for x in take_over(eng, [row()]) if isinstance(x, Redirect)]
    out = eng.on_action_failed(redirect, Refused("Channel does not exist: " + LEG), 100.2)
    [rec] = records(out)
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)
    assert eng.campaigns["camp"].active == set()


def test_only_unknown_calls_of_our_dialplan_are_orphans():
    eng = make_engine()
    eng.launch("camp", [DialRequest("L1", "+15551230001")], 0.0)
    [mine] = eng.calls
    rows = [
        row(),  # an earlier process's
        row(mine, LEG.replace("2a", "2b"), linkedid=mine),  # ours
        row("1795000000.3", "Local/15551230009@dialer-outbound-0000002c;1", linkedid="1795000000.3"),  # no ChannelId
        row("other-1-aaaaaa", "PJSIP/trunk-00000009", linkedid="other-1-aaaaaa"),  # not a Local leg of ours
        row("x-1-bbbbbb", "Local/15551230009@from-internal-0000002d;1", linkedid="x-1-bbbbbb"),  # another context
    ]
    assert [o.call_id for o in eng.find_orphans(rows)] == [OLD]
    assert [o.call_id for o in eng.find_orphans(rows, "my-outbound")] == []


def test_a_verdict_of_an_unknown_call_of_ours_asks_for_a_look_at_the_channels():
    eng = make_engine()
    kw = {"channel": LEG, "uniqueid": OLD, "linkedid": OLD}
    verdict = ev.AmdResult(call_id=OLD, status=ev.AmdStatus.HUMAN, **kw)
    assert eng.on_ami(verdict, 1.0) == [CheckChannels(asked_at=1.0)]
    assert eng.on_ami(verdict, 2.0) == []  # at most one look every few seconds
    assert eng.on_ami(verdict, 6.0) == [CheckChannels(asked_at=6.0)]
    other = ev.AmdResult(call_id="othercamp-1-abc123", status=ev.AmdStatus.HUMAN, **kw)
    assert eng.on_ami(other, 20.0) == []  # not one of our campaigns: another dialer's, maybe
