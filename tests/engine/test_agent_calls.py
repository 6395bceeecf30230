"""Preview and manual dialing (agent leg first) and blind transfer, in the engine alone.

The events are those Asterisk sends for the contract's agent-leg-first Originate
(docs/DIALPLAN_CONTRACT.md): the agent leg's `Uniqueid` is the call id; the customer leg is the one the
agent leg's `Dial()` made, learned from `DialBegin`.
"""

from __future__ import annotations

import pytest

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.calls import CallKind, CallState
from dialer.engine.commands import (
    AgentNotice,
    AutoDialPreview,
    DispositionMade,
    OriginateAgentFirst,
    Redirect,
    ScreenPop,
    WriteCallRecord,
)
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.unsure import Refused
from dialer.errors import IllegalTransition
from pacing import Mode, Pacer, PacingKnobs
from pacing.types import DialObserved

CUST = "Local/12125550142@dialer-outbound-00000007;1"


def make_engine() -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 1000))
    eng = Engine(id_factory=lambda _c: next(ids))
    eng.add_campaign(CampaignRuntime("prev", Pacer(PacingKnobs(mode=Mode.PREVIEW)), wrapup_timeout_s=60))
    return eng


def login(eng: Engine, agent: str, ext: str, *, ready: bool = True, now: float = 0.0) -> None:
    eng.on_agent(ac.Login(agent, ext, "prev"), now)
    if ready:
        eng.on_agent(ac.Ready(agent), now)


def agent_leg(cid: str) -> str:
    return f"Local/1001@dialer-agent-00000001;1 {cid}"


def answer_agent_then_customer(eng: Engine, cid: str, now: float, status: ev.DialStatus = ev.DialStatus.ANSWER,
                               cust_uid: str = "pbx-1.7") -> list:
    a = {"channel": agent_leg(cid), "uniqueid": cid, "linkedid": cid}
    out = eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **a), now)
    out += eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **a), now + 0.2)
    out += eng.on_ami(ev.OriginateResponse(action_id=cid, success=True, reason=4, channel=agent_leg(cid),
                                           uniqueid=cid), now + 0.2)
    out += eng.on_ami(ev.DialBegin(dest_channel=CUST, dest_uniqueid=cust_uid, dest_linkedid=cid, **a), now + 0.3)
    out += eng.on_ami(ev.DialState(dest_channel=CUST, dest_uniqueid=cust_uid, dest_linkedid=cid,
                                   dial_status=ev.DialStatus.RINGING, **a), now + 1)
    out += eng.on_ami(ev.DialEnd(dest_channel=CUST, dest_uniqueid=cust_uid, dest_linkedid=cid, dial_status=status,
                                 **a), now + 6)
    return out


def of(cmds: list, kind: type) -> list:
    return [c for c in cmds if isinstance(c, kind)]


def test_a_callback_the_agent_kept_is_dialed_as_kind_callback_and_anyone_elses_as_a_preview():
    eng = make_engine()
    login(eng, "ann", "1001")
    login(eng, "bob", "1002")
    for agent, lead in (("ann", "L1"), ("bob", "L2")):  # both kept by ann; bob's is past her wait
        eng.offer_preview(agent, DialRequest(lead, "+12125550142", callback_agent="ann", callback_at=0.5), 1.0)
    kinds = {a: eng.calls[eng.dial_preview(a, lead, 0, 2.0)[0]].kind for a, lead in (("ann", "L1"), ("bob", "L2"))}
    assert kinds == {"ann": CallKind.CALLBACK, "bob": CallKind.PREVIEW}


def test_a_previewed_lead_is_dialed_agent_leg_first_and_recorded_like_any_call():
    eng = make_engine()
    login(eng, "ann", "1001")
    lead = DialRequest("L42", "+12125550142", attempt=2, number_index=1, fields={"first_name": "Anna"})
    [notice] = eng.offer_preview("ann", lead, 1.0)
    assert (notice.payload["state"], eng.roster.get("ann").state) == ("previewing", AgentState.PREVIEWING)
    assert eng.roster.longest_idle("prev") is None  # a previewing agent gets no other call
    with pytest.raises(IllegalTransition, match="number #1 only"):
        eng.dial_preview("ann", "L42", 0, 2.0)
    cid, out = eng.dial_preview("ann", "L42", 1, 2.0)
    [orig] = of(out, OriginateAgentFirst)
    assert (orig.call_id, orig.extension, orig.number, orig.lead_id) == (cid, "1001", "+12125550142", "L42")
    assert of(out, ScreenPop)[0].agent_id == "ann"
    assert eng.roster.get("ann").state is AgentState.DIALING
    assert eng.calls[cid].state is CallState.AGENT_RINGING
    out = answer_agent_then_customer(eng, cid, 3.0)
    assert eng.calls[cid].state is CallState.CONNECTED
    assert eng.roster.get("ann").state is AgentState.TALKING
    assert [n.payload["state"] for n in of(out, AgentNotice) if n.kind == "state"] == ["talking"]
    # The agent leg's own events after the connection change nothing; the customer's hang-up ends it.
    eng.on_ami(ev.BridgeEnter(channel=agent_leg(cid), uniqueid=cid, linkedid=cid, bridge_uniqueid="b"), 9.1)
    [rec] = [c.record for c in eng.on_ami(ev.Hangup(channel=CUST, uniqueid="pbx-1.7", linkedid=cid, cause=16), 69.0)
             if isinstance(c, WriteCallRecord)]
    assert (rec.outcome, rec.kind, rec.agent_id, rec.attempt, rec.talk_s) == ("connected", "preview", "ann", 2,
                                                                                pytest.approx(60.0))
    assert eng.roster.get("ann").state is AgentState.WRAPUP
    assert eng.on_ami(ev.Hangup(channel=agent_leg(cid), uniqueid=cid, linkedid=cid, cause=16), 69.1) == []
    out = eng.on_agent(ac.Disposition("ann", cid, "sale", {}, ("opening",)), 80.0)
    [d] = of(out, DispositionMade)
    assert (d.final, d.script_path, eng.roster.get("ann").state) == (True, ("opening",), AgentState.READY)
    assert eng.aliases == {}


def test_skipping_a_preview_gives_the_lead_back_and_the_agent_is_ready_again():
    eng = make_engine()
    login(eng, "ann", "1001")
    lead = DialRequest("L42", "+12125550142")
    eng.offer_preview("ann", lead, 1.0)
    with pytest.raises(IllegalTransition, match="the lead on screen is L42"):
        eng.skip_preview("ann", "L7", 2.0)
    back, out = eng.skip_preview("ann", "L42", 2.0)
    assert back is lead
    assert (out[0].payload["state"], eng.previews) == ("ready", {})
    with pytest.raises(IllegalTransition, match="no lead is being previewed"):
        eng.dial_preview("ann", "L42", 0, 3.0)


def test_a_campaign_that_auto_dials_previews_asks_for_the_dial_when_the_lead_has_waited_long_enough():
    eng = make_engine()
    eng.campaigns["prev"].preview_auto_dial_s = 10.0
    login(eng, "ann", "1001")
    login(eng, "bob", "1002")
    eng.offer_preview("ann", DialRequest("L42", "+12125550142", number_index=1), 1.0)
    eng.offer_preview("bob", DialRequest("L7", "+12125550177"), 2.0)
    assert eng.next_deadline() == 11.0
    assert of(eng.tick(10.9), AutoDialPreview) == []
    eng.skip_preview("bob", "L7", 5.0)  # bob chose: nothing is dialed for him
    assert of(eng.tick(11.0), AutoDialPreview) == [AutoDialPreview("ann", "L42", 1)]
    assert of(eng.tick(30.0), AutoDialPreview) == []  # asked once; the daemon dials it as a press of Dial
    assert eng.next_deadline() is None
    eng.offer_preview("bob", DialRequest("L8", "+12125550178"), 40.0)
    eng.dial_preview("bob", "L8", 0, 41.0)  # dialed by hand before the time
    assert of(eng.tick(60.0), AutoDialPreview) == []


def test_a_campaign_without_auto_dial_waits_for_the_agent():
    eng = make_engine()
    login(eng, "ann", "1001")
    eng.offer_preview("ann", DialRequest("L42", "+12125550142"), 1.0)
    assert eng.next_deadline() is None
    assert of(eng.tick(3600.0), AutoDialPreview) == []


@pytest.mark.parametrize(("status", "outcome"), [(ev.DialStatus.BUSY, "busy"), (ev.DialStatus.NOANSWER, "no_answer"),
                                                 (ev.DialStatus.CHANUNAVAIL, "invalid")])
def test_a_manual_dial_that_does_not_connect_frees_the_agent_and_keeps_the_pause(status, outcome):
    eng = make_engine()
    login(eng, "ann", "1001", ready=False)
    eng.on_agent(ac.Pause("ann", "lunch"), 0.5)
    cid, out = eng.dial_manual("ann", "+12125550177", 1.0)
    assert eng.calls[cid].kind is CallKind.MANUAL
    assert of(out, OriginateAgentFirst)[0].lead_id == f"manual-{cid}"  # opaque: never the number
    out = answer_agent_then_customer(eng, cid, 2.0, status=status)
    [rec] = [c.record for c in out if isinstance(c, WriteCallRecord)]
    assert (rec.outcome, rec.kind, rec.connected_at, rec.zone) == (outcome, "manual", None, "America/New_York")
    agent = eng.roster.get("ann")
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, "lunch")
    assert any(n.kind == "dial_failed" for n in of(out, AgentNotice))


def test_an_agent_started_call_is_not_observed_as_one_of_the_pacer_s_dials():
    # its answers never reach the estimators as dials, so its failures must not either: the live share
    # would read low in a predictive campaign whose agents also dial their own callbacks
    eng = make_engine()
    seen: list = []
    pacer = eng.campaigns["prev"].pacer
    real = pacer.observe
    pacer.observe = lambda obs: (seen.append(obs), real(obs))
    login(eng, "ann", "1001")
    for status in (ev.DialStatus.NOANSWER, ev.DialStatus.ANSWER):
        eng.offer_preview("ann", DialRequest("L42", "+12125550142"), 1.0)
        cid, _ = eng.dial_preview("ann", "L42", 0, 1.0)
        answer_agent_then_customer(eng, cid, 2.0, status=status)
    assert not [o for o in seen if isinstance(o, DialObserved)]


def test_the_agent_phone_not_answering_ends_the_call_failed():
    eng = make_engine()
    login(eng, "ann", "1001")
    cid, _ = eng.dial_manual("ann", "+12125550177", 1.0)
    out = eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=3, channel=agent_leg(cid),
                                          uniqueid=cid), 16.0)
    [rec] = [c.record for c in out if isinstance(c, WriteCallRecord)]
    assert rec.outcome == "failed"
    assert eng.roster.get("ann").state is AgentState.READY


def test_an_agent_cannot_dial_while_talking_or_previewing():
    eng = make_engine()
    login(eng, "ann", "1001")
    eng.offer_preview("ann", DialRequest("L1", "+12125550142"), 0.5)
    with pytest.raises(IllegalTransition, match="dial or skip the preview"):
        eng.dial_manual("ann", "+12125550177", 1.0)
    cid, _ = eng.dial_preview("ann", "L1", 0, 1.0)
    answer_agent_then_customer(eng, cid, 2.0)
    with pytest.raises(IllegalTransition, match="cannot dial while talking"):
        eng.dial_manual("ann", "+12125550177", 10.0)


def connected_manual_call(eng: Engine) -> str:
    login(eng, "ann", "1001")
    login(eng, "bob", "1002")
    cid, _ = eng.dial_manual("ann", "+12125550142", 1.0)
    answer_agent_then_customer(eng, cid, 2.0)
    return cid


def test_blind_transfer_to_another_agent_redirects_the_customer_leg_and_wraps_up_the_first_agent():
    eng = make_engine()
    cid = connected_manual_call(eng)
    out = eng.transfer("ann", cid, "bob", 20.0, supervisor_extension="1999")
    [r] = of(out, Redirect)
    assert (r.channel, r.context, r.exten, r.purpose) == (CUST, "dialer-transfer", "1002", "transfer")
    assert [p.agent_id for p in of(out, ScreenPop)] == ["bob"]
    ann, bob = eng.roster.get("ann"), eng.roster.get("bob")
    assert (ann.state, bob.state, eng.calls[cid].state) == (AgentState.WRAPUP, AgentState.RESERVED,
                                                            CallState.TRANSFERRING)
    out = eng.on_ami(ev.BridgeEnter(channel=CUST, uniqueid="pbx-1.7", linkedid=cid, bridge_uniqueid="b2"), 21.0)
    assert (bob.state, eng.calls[cid].state) == (AgentState.TALKING, CallState.CONNECTED)
    # ann's disposition is a note; bob's is the call's.
    [note] = of(eng.on_agent(ac.Disposition("ann", cid, "other", {}, ()), 25.0), DispositionMade)
    assert (note.final, ann.state) == (False, AgentState.READY)
    [rec] = [c.record for c in eng.on_ami(ev.Hangup(channel=CUST, uniqueid="pbx-1.7", linkedid=cid, cause=16), 90.0)
             if isinstance(c, WriteCallRecord)]
    assert (rec.agent_id, rec.transferred_from, rec.outcome) == ("bob", "ann", "connected")
    [final] = of(eng.on_agent(ac.Disposition("bob", cid, "sale", {}, ()), 95.0), DispositionMade)
    assert final.final


def test_blind_transfer_to_the_supervisor_and_the_refusals():
    eng = make_engine()
    cid = connected_manual_call(eng)
    eng.on_agent(ac.Pause("bob", "lunch"), 3.0)
    with pytest.raises(IllegalTransition, match="cannot reserve while paused"):
        eng.transfer("ann", cid, "bob", 20.0, supervisor_extension="1999")
    with pytest.raises(IllegalTransition, match="not theirs"):
        eng.transfer("bob", cid, "ann", 20.0, supervisor_extension="1999")
    with pytest.raises(IllegalTransition, match="themselves"):
        eng.transfer("ann", cid, "ann", 20.0, supervisor_extension="1999")
    assert eng.calls[cid].state is CallState.CONNECTED  # nothing changed
    [r] = of(eng.transfer("ann", cid, "supervisor", 20.0, supervisor_extension="1999"), Redirect)
    assert r.exten == "1999"
    eng.on_ami(ev.BridgeEnter(channel=CUST, uniqueid="pbx-1.7", linkedid=cid, bridge_uniqueid="b2"), 21.0)
    [d] = of(eng.on_agent(ac.Disposition("ann", cid, "sale", {}, ()), 25.0), DispositionMade)
    assert d.final  # the supervisor has no desktop: the first agent's disposition is the call's
    [rec] = [c.record for c in eng.on_ami(ev.Hangup(channel=CUST, uniqueid="pbx-1.7", linkedid=cid, cause=16), 90.0)
             if isinstance(c, WriteCallRecord)]
    assert (rec.agent_id, rec.transferred_from) == ("supervisor", "ann")


def test_a_refused_transfer_frees_the_target_and_brings_the_customer_back():
    eng = make_engine()
    cid = connected_manual_call(eng)
    [move] = of(eng.transfer("ann", cid, "bob", 20.0, supervisor_extension="1999"), Redirect)
    out = eng.on_action_failed(move, Refused("Asterisk refused Redirect: Redirect failed"), 20.1)
    assert eng.roster.get("bob").state is AgentState.READY
    [failed] = [n for n in of(out, AgentNotice) if n.kind == "transfer_failed"]
    assert (failed.agent_id, failed.payload["reason"]) == ("ann", "the PBX refused to move the call")
    assert [r.exten for r in of(out, Redirect)] == ["1001"]


def test_blind_transfer_of_a_predictive_call_redirects_its_own_leg():
    eng = make_engine()
    login(eng, "ann", "1001", now=0.0)
    login(eng, "bob", "1002", now=1.0)
    [cid] = [c.call_id for c in eng.launch("prev", [DialRequest("L1", "+12125550142")], 2.0)
             if hasattr(c, "amd")]
    ch = "Local/12125550142@dialer-outbound-00000009;1"
    kw = {"channel": ch, "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 5.0)
    eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), 6.0)
    eng.on_ami(ev.BridgeEnter(bridge_uniqueid="b1", **kw), 6.3)
    assert eng.roster.get("ann").state is AgentState.TALKING  # the longest-idle agent took it
    [r] = of(eng.transfer("ann", cid, "bob", 30.0, supervisor_extension="1999"), Redirect)
    assert (r.channel, r.exten) == (ch, "1002")
    eng.on_ami(ev.BridgeEnter(bridge_uniqueid="b2", **kw), 30.4)
    assert (eng.roster.get("bob").state, eng.calls[cid].state) == (AgentState.TALKING, CallState.CONNECTED)
    [rec] = [c.record for c in eng.on_ami(ev.Hangup(cause=16, **kw), 90.0) if isinstance(c, WriteCallRecord)]
    assert (rec.kind, rec.agent_id, rec.transferred_from, rec.talk_s) == ("predictive", "bob", "ann",
                                                                           pytest.approx(83.7))
    assert eng.roster.get("bob").state is AgentState.WRAPUP
