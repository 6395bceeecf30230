"""The engine alone: typed events in, commands out, no I/O, virtual `now`."""

from __future__ import annotations

import pytest

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import (
    AgentNotice,
    Command,
    DispositionMade,
    ForgetUndisposed,
    HangupChannel,
    KeepUndisposed,
    Originate,
    RecordLedger,
    RecordOptOut,
    Redirect,
    ScreenPop,
    WriteCallRecord,
)
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.records import Undisposed
from dialer.engine.unsure import Refused
from dialer.errors import IllegalTransition
from pacing import Mode, Pacer, PacingKnobs

CH = "Local/15551230000@dialer-outbound-0000001b;1"


def make_engine(hold_s: float = 1.5) -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 1000))
    eng = Engine(hold_s=hold_s, id_factory=lambda _c: next(ids))
    # a plain power dialer: these tests are about the engine, the ledger's hold on power is tests/pacing's
    knobs = PacingKnobs(mode=Mode.POWER, ratio=2.0, power_within_budget=False)
    eng.add_campaign(CampaignRuntime("camp", Pacer(knobs), wrapup_timeout_s=60))
    return eng


def login_ready(eng: Engine, agent: str, ext: str, now: float = 0.0) -> None:
    eng.on_agent(ac.Login(agent, ext, "camp"), now)
    eng.on_agent(ac.Ready(agent), now)


def dial(eng: Engine, now: float = 0.0, n: int = 1) -> list[str]:
    cmds = eng.launch("camp", [DialRequest(f"L{i}", f"+1555123000{i}") for i in range(n)], now)
    return [c.call_id for c in cmds if isinstance(c, Originate)]


def chan(call_id: str) -> str:
    return CH.replace("0000001b", call_id)


def answer(eng: Engine, cid: str, now: float, status: ev.AmdStatus = ev.AmdStatus.HUMAN) -> list:
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    out = eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), now)
    out += eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), now)
    out += eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), now + 5)
    out += eng.on_ami(ev.AmdResult(call_id=cid, status=status, **kw), now + 6.5)
    return out


def bridge(eng: Engine, cid: str, now: float) -> list:
    return eng.on_ami(ev.BridgeEnter(channel=chan(cid), uniqueid=cid, linkedid=cid, bridge_uniqueid="b1"), now)


def connected(eng: Engine) -> str:
    """Agent a1 talks to a person from t = 7 (answered at 5, AMD said human at 6.5)."""
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    answer(eng, cid, 0)
    bridge(eng, cid, 7.0)
    return cid


def in_wrapup(eng: Engine) -> str:
    """Agent a1 talked to a person from t = 7; the person hung up at t = 20: a1 is in wrap-up."""
    cid = connected(eng)
    hangup(eng, cid, 20.0)
    return cid


def hangup(eng: Engine, cid: str, now: float, cause: int = 16) -> list:
    return eng.on_ami(ev.Hangup(channel=chan(cid), uniqueid=cid, linkedid=cid, cause=cause), now)


GONE = "Asterisk refused Redirect: Redirect failed, channel not up."  # the far end left: its h extension runs
REFUSED = "Asterisk refused Redirect: Redirect failed"


def refused(eng: Engine, cid: str, purpose: str, now: float, message: str = REFUSED) -> list:
    """Asterisk answers the call's Redirect for `purpose` with an Error saying `message`."""
    return eng.on_action_failed(Redirect(cid, chan(cid), "", "", purpose), Refused(message), now)


def acts(cmds: list) -> list:
    """The commands that act on calls and agents (without the ledger entries made durable)."""
    return [c for c in cmds if not isinstance(c, RecordLedger)]


def records(cmds: list) -> list:
    return [c.record for c in cmds if isinstance(c, WriteCallRecord)]


def test_live_answer_goes_to_the_longest_idle_agent_and_back_to_ready_after_disposition():
    eng = make_engine()
    login_ready(eng, "a1", "1001", now=0.0)
    login_ready(eng, "a2", "1002", now=1.0)
    [cid] = dial(eng, now=10)
    out = answer(eng, cid, 10)
    redirect = next(c for c in out if isinstance(c, Redirect))
    assert (redirect.context, redirect.exten, redirect.agent_id, redirect.channel) == (
        "dialer-to-agent", "1001", "a1", chan(cid))
    assert any(isinstance(c, ScreenPop) and c.agent_id == "a1" for c in out)
    assert eng.roster.get("a1").state is AgentState.RESERVED
    bridge(eng, cid, 16.8)
    assert eng.roster.get("a1").state is AgentState.TALKING
    [rec] = records(hangup(eng, cid, 100.0))
    assert (rec.outcome, rec.abandoned, rec.agent_id, rec.talk_s) == ("connected", False, "a1", pytest.approx(83.2))
    assert eng.roster.get("a1").state is AgentState.WRAPUP
    out = eng.on_agent(ac.Disposition("a1", cid, "sale", {"tariff": "fiber-500"}, ("opening", "offer")), 120)
    [d] = [c for c in out if isinstance(c, DispositionMade)]
    assert (d.code, d.script_path, d.campaign_id) == ("sale", ("opening", "offer"), "camp")
    assert eng.roster.get("a1").state is AgentState.READY


def test_the_call_record_names_the_leads_list_and_zone_as_the_lead_source_gave_them():
    eng = make_engine()
    [cmd] = eng.launch("camp", [DialRequest("L1", "+15551230001", zone="America/Chicago", lead_list="cold-q4")], 0.0)
    assert isinstance(cmd, Originate)
    [rec] = records(eng.on_ami(ev.OriginateResponse(action_id=cmd.call_id, success=False, reason=3,
                                                    channel=chan(cmd.call_id), uniqueid=cmd.call_id), 20.0))
    assert (rec.lead_list, rec.zone, rec.to_fields()["lead_list"]) == ("cold-q4", "America/Chicago", "cold-q4")


def test_held_call_goes_to_an_agent_who_frees_up_within_the_hold():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    first, second = dial(eng, now=0, n=2)
    answer(eng, first, 0)
    bridge(eng, first, 7.0)
    hangup(eng, first, 30.0)
    assert acts(answer(eng, second, 30.0)) == []  # a1 is in wrap-up: the person is held
    assert eng.calls[second].state is CallState.WAITING
    assert eng.tick(36.6) == []  # hold runs until 36.5 + 1.5
    out = eng.on_agent(ac.Disposition("a1", first, "refused"), 37.0)
    assert any(isinstance(c, Redirect) and c.purpose == "agent" and c.call_id == second for c in out)
    bridge(eng, second, 37.3)
    [rec] = records(hangup(eng, second, 90))
    assert rec.outcome == "connected"
    assert rec.abandoned is False
    assert rec.wait_s == pytest.approx(0.8)


def test_no_agent_within_the_hold_plays_the_message_and_counts_an_abandon():
    eng = make_engine()
    [cid] = dial(eng)
    answer(eng, cid, 0)
    assert eng.next_deadline() == pytest.approx(8.0)
    out = eng.tick(8.0)
    [r] = [c for c in out if isinstance(c, Redirect)]
    assert (r.context, r.purpose) == ("dialer-abandon", "abandon")
    [rec] = records(hangup(eng, cid, 12))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)
    assert eng.stats.abandoned == 1
    ledger = eng.campaigns["camp"].pacer.ledger
    assert (ledger.total_lives, ledger.total_abandons) == (1, 1)


def test_a_bridge_later_than_two_seconds_still_counts_abandoned():
    eng = make_engine(hold_s=2.0)
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    answer(eng, cid, 0)
    bridge(eng, cid, 6.5 + 2.4)
    [rec] = records(hangup(eng, cid, 60))
    assert (rec.outcome, rec.abandoned) == ("connected", True)


@pytest.mark.parametrize(
    ("reason", "dial_status", "b_cause", "outcome"),
    [
        (5, None, 17, "busy"),
        (8, None, 34, "congestion"),
        (3, None, None, "no_answer"),
        (0, ev.DialStatus.NOANSWER, 19, "no_answer"),
        (0, None, 1, "invalid"),
        (0, None, None, "failed"),
    ],
)
def test_failed_originates_end_with_the_outcome_asterisk_reported(reason, dial_status, b_cause, outcome):
    eng = make_engine()
    [cid] = dial(eng)
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), 0)
    if dial_status is not None:
        eng.on_ami(ev.DialEnd(dest_channel=chan(cid), dest_uniqueid=cid, dest_linkedid=cid, dial_status=dial_status), 1)
    if b_cause is not None:
        eng.on_ami(ev.Hangup(channel=chan(cid)[:-1] + "2", uniqueid=cid + "-2", linkedid=cid, cause=b_cause), 2)
    assert records(eng.on_ami(ev.Hangup(cause=0, **kw), 2)) == []  # the OriginateResponse decides
    out = eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=reason, channel="x", uniqueid=cid), 3)
    [rec] = records(out)
    assert rec.outcome == outcome
    assert rec.abandoned is False


def test_machine_is_hung_up_and_recorded():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    out = answer(eng, cid, 0, ev.AmdStatus.MACHINE)
    assert [type(c) for c in acts(out)] == [HangupChannel]
    assert eng.roster.get("a1").state is AgentState.READY
    [rec] = records(hangup(eng, cid, 10))
    assert rec.outcome == "machine"


def test_notsure_is_a_person_even_when_amd_could_not_start():
    # The dialplan reports AMD that could not run (AMDSTATUS empty) as NOTSURE, cause AMD-FAILED.
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 5.0)
    out = eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.NOTSURE, cause="AMD-FAILED", **kw), 5.1)
    assert [(c.purpose, c.exten) for c in out if isinstance(c, Redirect)] == [("agent", "1001")]
    c = eng.calls[cid]
    assert (c.state, c.human_at, c.amd_cause) == (CallState.CONNECTING, 5.1, "AMD-FAILED")
    assert eng.stats.live == 1


def test_hangup_while_amd_listens_and_while_waiting_under_two_seconds():
    eng = make_engine()
    a, b = dial(eng, n=2)
    kw = {"channel": chan(a), "uniqueid": a, "linkedid": a}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), 0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 4)
    [rec] = records(hangup(eng, a, 5))
    assert rec.outcome == "hung_up_screening"
    answer(eng, b, 0)
    [rec] = records(hangup(eng, b, 7.0))
    # not connected to an agent, so an abandon for the law (and the pacer) even though the person hung up
    assert (rec.outcome, rec.abandoned) == ("hung_up_waiting", True)
    assert eng.stats.abandoned == 1


def test_one_agent_never_gets_two_calls_at_once():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    ids = dial(eng, n=3)
    out = []
    for cid in ids:
        out += answer(eng, cid, 0)
    assert sum(1 for c in out if isinstance(c, Redirect) and c.purpose == "agent") == 1
    assert [eng.calls[c].state for c in ids] == [CallState.CONNECTING, CallState.WAITING, CallState.WAITING]


def test_refused_redirect_releases_the_agent_and_holds_the_call_again():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    answer(eng, cid, 0)
    refused(eng, cid, "agent", 6.6)
    assert eng.roster.get("a1").state is AgentState.READY
    assert eng.calls[cid].state in (CallState.CONNECTING, CallState.WAITING)


def test_a_person_gone_before_the_redirect_to_an_agent_is_neither_offered_again_nor_sent_to_the_message():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    login_ready(eng, "a2", "1002")
    [cid] = dial(eng)
    answer(eng, cid, 0)
    # "Redirect failed, channel not up.": the caller hung up, their h extension runs, the Hangup follows
    out = acts(refused(eng, cid, "agent", 6.6, GONE))
    assert not [c for c in out if isinstance(c, Redirect)], out
    assert [(c.call_id, c.cause) for c in out if isinstance(c, HangupChannel)] == [(cid, 16)]
    assert {eng.roster.get(a).state for a in ("a1", "a2")} == {AgentState.READY}
    assert eng.calls[cid].state is CallState.WAITING
    assert eng.tick(20.0) == []  # not held for an agent: no abandon message either
    [rec] = records(hangup(eng, cid, 6.7))
    assert (rec.outcome, rec.abandoned, rec.agent_id) == ("hung_up_waiting", True, None)


def leg_end(eng: Engine, cid: str, now: float, where: str = "dialer-connect") -> list[Command]:
    """`UserEvent: DialerLegEnd`: the leg's `h` extension runs, and its Hangup comes when that is done."""
    return eng.on_ami(ev.LegEnd(call_id=cid, channel=chan(cid), uniqueid=cid, linkedid=cid, where=where,
                                hangup_cause=16), now)


# `answer` says "human" at 6.5 s and the hold runs to 8.5 s; at 8.6 s its tick has not come yet
@pytest.mark.parametrize(("left_at", "outcome"), [(7.5, "hung_up_waiting"), (8.6, "abandoned")])
def test_a_waiting_person_whose_leg_ends_is_not_offered_to_a_freed_agent_nor_sent_the_message(left_at, outcome):
    eng = make_engine(hold_s=2.0)
    [cid] = dial(eng)
    answer(eng, cid, 0)
    assert eng.calls[cid].state is CallState.WAITING
    [rec] = records(leg_end(eng, cid, left_at))
    assert (rec.outcome, rec.abandoned, rec.hangup_cause) == (outcome, True, 16)
    # an agent frees up, the hold would have run out, and the slow h extension's Hangup comes at last
    out = eng.on_agent(ac.Login("a1", "1001", "camp"), left_at) + eng.on_agent(ac.Ready("a1"), left_at)
    out += eng.tick(left_at + 30.0) + hangup(eng, cid, left_at + 2.0)
    assert not [c for c in out if isinstance(c, Redirect | ScreenPop | WriteCallRecord)], out
    assert eng.roster.get("a1").state is AgentState.READY
    assert eng.stats.abandoned == 1


def test_a_person_who_leaves_while_the_redirect_to_an_agent_is_in_flight_frees_the_agent_at_once():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    answer(eng, cid, 0)
    assert eng.calls[cid].state is CallState.CONNECTING
    out = acts(leg_end(eng, cid, 7.0))
    assert [(r.outcome, r.abandoned, r.agent_id) for r in records(out)] == [("hung_up_waiting", True, None)]
    assert next(c.kind for c in out if isinstance(c, AgentNotice)) == "call_cancelled"
    assert eng.roster.get("a1").state is AgentState.READY
    # the Redirect's refusal ("channel not up") and the Hangup come later and change nothing
    assert refused(eng, cid, "agent", 7.2, GONE) == []
    assert hangup(eng, cid, 9.0) == []
    assert eng.roster.get("a1").state is AgentState.READY


def test_a_leg_end_of_a_connected_call_waits_for_its_hangup():
    eng = make_engine()
    cid = connected(eng)
    assert leg_end(eng, cid, 60.0, "dialer-to-agent") == []
    assert eng.calls[cid].state is CallState.CONNECTED
    [rec] = records(hangup(eng, cid, 60.1))
    assert rec.outcome == "connected"


def test_a_wrapup_that_runs_out_disposes_the_call_no_disposition_so_its_lead_gets_a_result():
    eng = make_engine()
    cid = in_wrapup(eng)
    assert eng.wrapups() == 1
    assert eng.tick(79.9) == []
    out = eng.tick(80.0)  # the campaign's wrap-up timeout is 60 s
    [d] = [c for c in out if isinstance(c, DispositionMade)]
    assert (d.call_id, d.agent_id, d.code, d.fields, d.final) == (cid, "a1", "no_disposition",
                                                                  {"auto": "wrapup_timeout"}, True)
    assert d.target == eng.calls[cid].target
    assert d.amends is None
    assert [c.payload for c in out if isinstance(c, AgentNotice) and c.kind == "wrapup_timeout"] == [
        {"call_id": cid, "why": "wrapup_timeout", "late_until": 80.0 + 900.0}]
    agent = eng.roster.get("a1")
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, "wrapup_timeout")  # no call to an empty chair
    assert eng.wrapups() == 0


def wrapup_ran_out(eng: Engine) -> str:
    """A connected call whose wrap-up the campaign's 60 s timeout closed at t = 80."""
    cid = in_wrapup(eng)
    eng.tick(80.0)
    return cid


def test_a_late_disposition_replaces_no_disposition_once():
    eng = make_engine()
    cid = wrapup_ran_out(eng)
    out = eng.on_agent(ac.Disposition("a1", cid, "sale", {"notes": "signed"}), 200.0)
    [d] = [c for c in out if isinstance(c, DispositionMade)]
    assert (d.code, d.fields, d.amends, d.final, d.at) == ("sale", {"notes": "signed"}, "no_disposition", True, 200.0)
    assert d.target == eng.calls[cid].target
    assert [c.payload for c in out if isinstance(c, AgentNotice)] == [{"call_id": cid, "code": "sale"}]
    # the person joins the ledger's strict count, at the time it counted the live answer (as any disposition)
    assert [(r.entry.kind.value, r.entry.at) for r in out if isinstance(r, RecordLedger)] == [("person", 7.0)]
    assert eng.roster.get("a1").state is AgentState.PAUSED  # a late disposition changes no state
    with pytest.raises(IllegalTransition):  # once
        eng.on_agent(ac.Disposition("a1", cid, "refused"), 201.0)


def recording_started(eng: Engine, cid: str, now: float, file: str) -> list:
    return eng.on_ami(ev.RecordingStarted(call_id=cid, file=file, channel=chan(cid), uniqueid=cid, linkedid=cid), now)


def test_a_recording_campaign_dials_with_the_recording_and_names_asterisks_file_in_connected_records():
    eng = make_engine()
    eng.campaigns["camp"].record_calls = True
    login_ready(eng, "a1", "1001")
    launched = [c for c in eng.launch("camp", [DialRequest(f"L{i}", f"+1555123000{i}") for i in range(3)], 0.0)
                if isinstance(c, Originate)]
    assert [o.record for o in launched] == [True, True, True]
    cid, other, person = (o.call_id for o in launched)
    answer(eng, cid, 0)
    file = f"/var/spool/asterisk/monitor/dialer/{cid}.wav"
    assert recording_started(eng, cid, 6.5, file) == []  # dialer-record ran before the agent's phone rang
    bridge(eng, cid, 7.0)
    [talked] = [c for c in hangup(eng, cid, 20.0) if isinstance(c, WriteCallRecord)]
    assert (talked.record.recording, talked.unrecorded) == (file, False)
    [unanswered] = [c for c in eng.on_ami(ev.OriginateResponse(action_id=other, success=False, reason=3,
                                                                 channel="", uniqueid=""), 21.0)
                    if isinstance(c, WriteCallRecord)]
    assert (unanswered.record.recording, unanswered.unrecorded) == ("", False)  # never bridged: nothing to record
    # connected, but Asterisk never said it recorded (app_mixmonitor not loaded, an old dialplan)
    eng.on_agent(ac.Disposition("a1", cid, "sale"), 25.0)
    answer(eng, person, 30.0)
    bridge(eng, person, 37.0)
    [missing] = [c for c in hangup(eng, person, 50.0) if isinstance(c, WriteCallRecord)]
    assert (missing.record.recording, missing.unrecorded) == ("", True)


def test_a_campaign_that_does_not_record_has_no_missing_recordings():
    eng = make_engine()
    cid = connected(eng)
    [rec] = [c for c in hangup(eng, cid, 20.0) if isinstance(c, WriteCallRecord)]
    assert (rec.record.recording, rec.unrecorded) == ("", False)


def test_a_late_chance_is_kept_durable_and_dropped_once_used():
    eng = make_engine()
    cid = in_wrapup(eng)
    [keep] = [c for c in eng.tick(80.0) if isinstance(c, KeepUndisposed)]
    call = eng.calls[cid]
    assert keep == KeepUndisposed("a1", Undisposed(cid, "camp", 980.0, call.live_counted_at, False, call.target))
    out = eng.on_agent(ac.Disposition("a1", cid, "sale"), 200.0)
    assert ForgetUndisposed("a1", cid) in out


def test_shutdown_leaves_each_agent_the_chance_to_dispose_late():
    eng = make_engine()
    cid = in_wrapup(eng)
    out = eng.end_wrapups(30.0)
    assert [c.payload for c in out if isinstance(c, AgentNotice) and c.kind == "wrapup_timeout"] == [
        {"call_id": cid, "why": "shutdown", "late_until": 30.0 + 900.0}]
    assert [c.agent_id for c in out if isinstance(c, KeepUndisposed)] == ["a1"]


def test_a_late_chance_read_back_after_a_restart_disposes_the_call():
    """A fresh engine (the restarted daemon's) knows only what the stored chance says, not the call."""
    before = make_engine()
    cid = in_wrapup(before)
    [keep] = [c for c in before.end_wrapups(30.0) if isinstance(c, KeepUndisposed)]
    after = make_engine()
    login_ready(after, "a1", "1001", now=40.0)
    after.undisposed["a1"] = keep.late
    out = after.on_agent(ac.Disposition("a1", cid, "sale"), 50.0)
    [d] = [c for c in out if isinstance(c, DispositionMade)]
    assert (d.call_id, d.code, d.amends, d.target, d.campaign_id) == (cid, "sale", "no_disposition",
                                                                       keep.late.target, "camp")
    assert [(r.entry.kind.value, r.entry.at) for r in out if isinstance(r, RecordLedger)] == [("person", 7.0)]
    assert ForgetUndisposed("a1", cid) in out


def test_a_late_disposition_carries_the_person_the_engine_kept_for_a_dnc_code():
    """The call may be forgotten (or was before a restart): the disposition itself says whom a `dnc` names."""
    eng = make_engine()
    cid = in_wrapup(eng)
    ended = eng.end_wrapups(30.0)
    [keep] = [c for c in ended if isinstance(c, KeepUndisposed)]
    [auto] = [c for c in ended if isinstance(c, DispositionMade)]
    assert (auto.code, auto.late) == ("no_disposition", None)  # the engine's own, while it knows the call
    eng.forget_ended(keep=0)
    assert cid not in eng.calls
    [d] = [c for c in eng.on_agent(ac.Disposition("a1", cid, "dnc"), 50.0) if isinstance(c, DispositionMade)]
    assert d.late == keep.late
    assert (d.late.lead_id, d.late.number) == ("L0", "+15551230000")


def test_a_late_disposition_is_refused_after_the_campaigns_time_for_it():
    eng = make_engine()
    eng.campaigns["camp"].late_disposition_s = 60.0
    cid = wrapup_ran_out(eng)
    with pytest.raises(IllegalTransition, match=r"dispose it late ended.*the call stays no_disposition"):
        eng.on_agent(ac.Disposition("a1", cid, "sale"), 140.5)


def test_a_late_disposition_is_only_for_the_agents_own_timed_out_call():
    eng = make_engine()
    cid = wrapup_ran_out(eng)
    login_ready(eng, "a2", "1002", now=90.0)
    with pytest.raises(IllegalTransition):
        eng.on_agent(ac.Disposition("a2", cid, "sale"), 100.0)
    with pytest.raises(IllegalTransition):
        eng.on_agent(ac.Disposition("a1", "call-999", "sale"), 100.0)
    assert eng.on_agent(ac.Disposition("a1", cid, "sale"), 101.0)  # still open to its own agent


def test_a_campaign_may_keep_agents_ready_after_a_wrapup_timeout():
    eng = make_engine()
    eng.campaigns["camp"].after_wrapup_timeout = "ready"
    eng.campaigns["camp"].late_disposition_s = 0.0  # and take no late dispositions
    cid = wrapup_ran_out(eng)
    assert eng.roster.get("a1").state is AgentState.READY
    with pytest.raises(IllegalTransition):
        eng.on_agent(ac.Disposition("a1", cid, "sale"), 81.0)


def test_a_pause_asked_for_during_the_wrapup_wins_over_the_timeouts():
    eng = make_engine()
    in_wrapup(eng)
    eng.on_agent(ac.Pause("a1", "lunch"), 30.0)
    eng.tick(80.0)
    agent = eng.roster.get("a1")
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, "lunch")


def test_an_opt_out_key_press_asks_the_daemon_to_record_a_dnc_request():
    eng = make_engine()
    [cid] = dial(eng)
    answer(eng, cid, 0)  # nobody is ready: the person waits, is abandoned and hears the message
    out = eng.tick(10.0)
    hangup(eng, cid, 16.0)  # the engine ended the call already: the key press comes after that
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    assert eng.on_ami(ev.OptOut(call_id=cid, lead_id="L0", campaign_id="camp", **kw), 16.5) == [
        RecordOptOut(cid, "camp", "L0", "+15551230000", {})]
    # a call the engine does not know (the daemon restarted since): the event's lead and campaign say who
    gone = {"channel": chan("old"), "uniqueid": "old", "linkedid": "old"}
    assert eng.on_ami(ev.OptOut(call_id="old", lead_id="L7", campaign_id="camp", **gone), 17.0) == [
        RecordOptOut("old", "camp", "L7")]
    assert any(isinstance(c, Redirect) for c in out)


def test_shutdown_ends_every_open_wrapup_with_no_disposition():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    login_ready(eng, "a2", "1002", now=1.0)
    first, second = dial(eng, n=2)
    answer(eng, first, 0)
    answer(eng, second, 0)
    bridge(eng, first, 7.0)
    bridge(eng, second, 7.0)
    hangup(eng, first, 20.0)  # a1 is in wrap-up; a2 still talks
    records(eng.close_all(30.0))  # a2's call ends connected: a2 is in wrap-up too
    assert eng.wrapups() == 2
    made = [c for c in eng.end_wrapups(30.0) if isinstance(c, DispositionMade)]
    assert sorted((d.call_id, d.code, d.fields["auto"]) for d in made) == [
        (first, "no_disposition", "shutdown"), (second, "no_disposition", "shutdown")]
    assert eng.wrapups() == 0


def test_a_repeated_login_to_the_same_campaign_changes_nothing_and_to_another_is_refused():
    eng = make_engine()
    eng.add_campaign(CampaignRuntime("other", Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), wrapup_timeout_s=60))
    connected(eng)
    out = eng.on_agent(ac.Login("a1", "1001", "camp"), 8.0)  # a desktop reloaded, a command sent twice
    assert [(c.kind, c.payload["state"]) for c in out if isinstance(c, AgentNotice)] == [("state", "talking")]
    assert eng.roster.get("a1").state is AgentState.TALKING
    with pytest.raises(IllegalTransition, match="log out of camp first"):
        eng.on_agent(ac.Login("a1", "1002", "other"), 9.0)
    a1 = eng.roster.get("a1")  # refused, and nothing moved: still camp's talking agent, on their phone
    assert (a1.campaign_id, a1.extension, a1.state) == ("camp", "1001", AgentState.TALKING)
    assert len(eng.snapshot("camp", 9.5).talking_elapsed) == 1


def test_resync_after_reconnect_ends_calls_asterisk_no_longer_has():
    eng = make_engine()
    a, b = dial(eng, n=2)
    recs = records(eng.resync({b}, 30))
    assert [(r.call_id, r.outcome) for r in recs] == [(a, "lost")]
    assert eng.calls[b].state is CallState.DIALING


def test_events_out_of_order_are_ignored_not_fatal():
    eng = make_engine()
    [cid] = dial(eng)
    assert acts(bridge(eng, cid, 1)) == []  # bridge before any answer: ignored
    assert eng.on_ami(ev.UnknownEvent(name="VarSet"), 1) == []
    assert eng.on_ami(ev.Hangup(channel="x", uniqueid="not-ours", linkedid="x", cause=16), 1) == []
    assert eng.calls[cid].state is CallState.DIALING


def test_pause_after_this_call_applies_when_wrapup_ends():
    eng = make_engine()
    cid = connected(eng)
    eng.on_agent(ac.Pause("a1", "lunch", after_call=True), 8)
    hangup(eng, cid, 20)
    eng.on_agent(ac.Disposition("a1", cid, "callback", {"callback_at": "2026-11-24T10:00"}), 25)
    agent = eng.roster.get("a1")
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, "lunch")


def test_wrapup_times_out_at_its_deadline_into_a_pause():
    eng = make_engine()
    cid = connected(eng)
    hangup(eng, cid, 20)
    assert eng.next_deadline() == pytest.approx(80)
    eng.tick(80)
    assert eng.roster.get("a1").state is AgentState.PAUSED


def test_agents_cannot_dispose_a_call_that_is_not_theirs():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    with pytest.raises(IllegalTransition):
        eng.on_agent(ac.Disposition("a1", "someone-elses", "sale"), 1)
    with pytest.raises(IllegalTransition):
        eng.on_agent(ac.Ready("ghost"), 1)


def test_close_all_writes_a_record_for_every_open_call():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    a, b, c = dial(eng, n=3)
    answer(eng, a, 0)
    bridge(eng, a, 7)
    answer(eng, b, 0)
    recs = records(eng.close_all(50))
    assert sorted((r.call_id, r.outcome) for r in recs) == [(a, "connected"), (b, "abandoned"), (c, "lost")]
    assert all(call.state is CallState.ENDED for call in eng.calls.values())


def test_close_all_ends_a_ringing_dial_as_a_no_answer_and_one_amd_listens_to_as_an_abandon():
    eng = make_engine()
    ringing, screening = dial(eng, n=2)
    for cid in (ringing, screening):
        kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
        eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), 0)
        eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), 1)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, channel=chan(screening), uniqueid=screening,
                           linkedid=screening), 8)
    out = eng.close_all(9)
    assert {c.call_id for c in out if isinstance(c, HangupChannel)} == {ringing, screening}
    recs = {r.call_id: r for r in records(out)}
    assert (recs[ringing].outcome, recs[ringing].abandoned) == ("no_answer", False)
    # AMD had not decided: whoever said hello heard the line drop, and the law's count must not be short
    assert (recs[screening].outcome, recs[screening].abandoned) == ("abandoned", True)
    assert recs[screening].offered_to_agents
    assert eng.stats.abandoned == 1


def test_snapshot_counts_what_pacing_needs():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    login_ready(eng, "a2", "1002")
    a, _b, _c = dial(eng, now=0, n=3)
    answer(eng, a, 0)
    bridge(eng, a, 7)
    snap = eng.snapshot("camp", 10)
    assert snap.ready_agents == 1
    assert snap.logged_in_agents == 2
    assert list(snap.talking_elapsed) == [pytest.approx(3.0)]
    assert sorted(snap.ringing_elapsed) == [10, 10]
    d = eng.decide("camp", 10)
    assert d.launch == 0  # power 2.0 x 1 ready agent = 2, minus 2 in flight


def test_the_legal_wait_is_measured_on_the_pbx_timestamps_when_present():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 5)
    # our receipt of the verdict lagged 3 s behind Asterisk's stamp; the bridge came 0.4 s after it
    eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, timestamp=1000.0, **kw), 9.0)
    eng.on_ami(ev.BridgeEnter(bridge_uniqueid="b", timestamp=1003.2, **kw), 9.4)
    [rec] = records(hangup(eng, cid, 60))
    assert rec.wait_s == pytest.approx(3.2)
    assert rec.abandoned is True


def test_a_callbacks_record_keeps_the_promised_time_and_whose_it_was():
    eng = make_engine()
    out = eng.launch("camp", [DialRequest("L1", "+15551230001", callback_at=-600.0, callback_agent="a1"),
                              DialRequest("L2", "+15551230002")], 0.0)
    recs = {}
    for cid in [c.call_id for c in out if isinstance(c, Originate)]:
        [rec] = records(eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=3, channel="x",
                                                        uniqueid=cid), 30))
        recs[rec.lead_id] = rec
    assert (recs["L1"].callback_at, recs["L1"].callback_for) == (-600.0, "a1")
    assert (recs["L2"].callback_at, recs["L2"].callback_for) == (None, None)
    assert recs["L1"].to_fields()["callback_at"] == "-600.0"
