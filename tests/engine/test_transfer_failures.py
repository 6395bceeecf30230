"""A blind transfer whose leg fails never drops the customer: back to the first agent, else the supervisor.

The events are those Asterisk sends for the contract's `dialer-transfer` context
(docs/DIALPLAN_CONTRACT.md, "Blind transfer"): the customer leg `Dial()`s the target's phone
(`DialBegin`/`DialEnd` with the customer leg as caller); a failed `Dial()` leaves the customer on hold
until the daemon Redirects it again; a bridge is the `BridgeEnter` of the customer leg.
"""

from __future__ import annotations

import pytest

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import (
    AgentNotice,
    DispositionMade,
    HangupChannel,
    RecordLedger,
    Redirect,
    WriteCallRecord,
)
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from pacing import Mode, Pacer, PacingKnobs

CUST = "Local/12125550142@dialer-outbound-00000007;1"
CUST_UID = "pbx-1.7"
PHONE = {"1001": "pbx-9.1", "1002": "pbx-9.2", "1999": "pbx-9.9"}


def make_engine() -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 1000))
    eng = Engine(id_factory=lambda _c: next(ids))
    eng.add_campaign(CampaignRuntime("prev", Pacer(PacingKnobs(mode=Mode.PREVIEW)), wrapup_timeout_s=60))
    return eng


def login(eng: Engine, agent: str, ext: str, *, now: float = 0.0) -> None:
    eng.on_agent(ac.Login(agent, ext, "prev"), now)
    eng.on_agent(ac.Ready(agent), now)


def of(cmds: list, kind: type) -> list:
    return [c for c in cmds if isinstance(c, kind)]


def connected_manual_call(eng: Engine) -> str:
    """ann dials a number (agent leg first); the customer answers; bob is ready."""
    login(eng, "ann", "1001")
    login(eng, "bob", "1002")
    cid, _ = eng.dial_manual("ann", "+12125550142", 1.0)
    a = {"channel": f"Local/1001@dialer-agent-00000001;1 {cid}", "uniqueid": cid, "linkedid": cid}
    c = {"dest_channel": CUST, "dest_uniqueid": CUST_UID, "dest_linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **a), 2.0)
    eng.on_ami(ev.DialBegin(**c, **a), 2.1)
    eng.on_ami(ev.DialEnd(dial_status=ev.DialStatus.ANSWER, **c, **a), 5.0)
    assert eng.calls[cid].state is CallState.CONNECTED
    return cid


def start(eng: Engine, target: str = "bob", now: float = 20.0) -> str:
    cid = connected_manual_call(eng)
    eng.transfer("ann", cid, target, now, supervisor_extension="1999", ring_timeout_s=15.0)
    return cid


def dial(eng: Engine, cid: str, ext: str, now: float, status: ev.DialStatus | None = None,
         uid: str = CUST_UID, channel: str = CUST) -> list:
    """The customer leg's Dial() of `ext` in dialer-transfer: DialBegin, then DialEnd `status` if given."""
    kw = {"channel": channel, "uniqueid": uid, "linkedid": cid, "dest_channel": f"Local/{ext}@dialer-agent-0a;1",
          "dest_uniqueid": PHONE[ext], "dest_linkedid": cid}
    out = eng.on_ami(ev.DialBegin(**kw), now)
    if status is not None:
        out += eng.on_ami(ev.DialEnd(dial_status=status, **kw), now + 1.0)
    return out


def bridge(eng: Engine, cid: str, now: float, uid: str = CUST_UID, channel: str = CUST) -> list:
    return eng.on_ami(ev.BridgeEnter(channel=channel, uniqueid=uid, linkedid=cid, bridge_uniqueid="bx"), now)


def notices(out: list, kind: str) -> list[AgentNotice]:
    return [n for n in of(out, AgentNotice) if n.kind == kind]


def record(out: list):
    [rec] = [c.record for c in out if isinstance(c, WriteCallRecord)]
    return rec


def state(eng: Engine, agent: str) -> AgentState:
    return eng.roster.get(agent).state


def test_a_target_that_does_not_answer_in_time_sends_the_customer_back_to_the_first_agent():
    eng = make_engine()
    cid = start(eng)
    dial(eng, cid, "1002", 20.2)
    assert eng.next_deadline() == pytest.approx(35.0)
    assert eng.tick(34.9) == []
    out = eng.tick(35.0)
    [r] = of(out, Redirect)
    assert (r.channel, r.context, r.exten, r.purpose) == (CUST, "dialer-transfer", "1001", "transfer")
    [failed] = notices(out, "transfer_failed")
    assert (failed.agent_id, failed.payload["target"], failed.payload["reason"], failed.payload["next"]) == (
        "ann", "bob", "no answer within 15 s", "you")
    assert [n.agent_id for n in notices(out, "call_cancelled")] == ["bob"]
    assert (state(eng, "ann"), state(eng, "bob")) == (AgentState.RESERVED, AgentState.READY)
    assert eng.calls[cid].state is CallState.TRANSFER_FALLBACK
    # Redirecting the customer cancels the Dial() to bob: that DialEnd is not a failure of ann's leg.
    kw = {"channel": CUST, "uniqueid": CUST_UID, "linkedid": cid, "dest_channel": "Local/1002@dialer-agent-0a;1",
          "dest_uniqueid": PHONE["1002"], "dest_linkedid": cid}
    assert eng.on_ami(ev.DialEnd(dial_status=ev.DialStatus.CANCEL, **kw), 35.1) == []
    dial(eng, cid, "1001", 35.2)
    out = bridge(eng, cid, 35.6)
    assert (state(eng, "ann"), eng.calls[cid].state) == (AgentState.TALKING, CallState.CONNECTED)
    assert notices(out, "connected")[0].agent_id == "ann"
    assert "ann" not in eng.wrapup_deadlines
    assert eng.transfer_deadlines == {}
    rec = record(eng.on_ami(ev.Hangup(channel=CUST, uniqueid=CUST_UID, linkedid=cid, cause=16), 90.0))
    assert (rec.outcome, rec.agent_id, rec.transferred_from, rec.abandoned) == ("connected", "ann", None, False)
    assert rec.transfer_failures == "bob: no answer within 15 s"
    [d] = of(eng.on_agent(ac.Disposition("ann", cid, "sale", {}, ()), 95.0), DispositionMade)
    assert d.final


@pytest.mark.parametrize(("status", "why"), [(ev.DialStatus.BUSY, "busy"), (ev.DialStatus.NOANSWER, "no answer"),
                                             (ev.DialStatus.CHANUNAVAIL, "phone unavailable"),
                                             (ev.DialStatus.CONGESTION, "congestion")])
def test_a_failed_dial_of_the_target_sends_the_customer_back_at_once(status, why):
    eng = make_engine()
    cid = start(eng)
    out = dial(eng, cid, "1002", 20.2, status)
    assert [r.exten for r in of(out, Redirect)] == ["1001"]
    assert notices(out, "transfer_failed")[0].payload["reason"] == why
    assert eng.calls[cid].transfer_failures == [("bob", why)]


@pytest.mark.parametrize(("command", "bob_after", "why"), [
    (ac.Pause("bob", "lunch"), AgentState.PAUSED, "paused (lunch)"),
    (ac.Logout("bob"), AgentState.LOGGED_OUT, "logged out"),
])
def test_a_target_who_pauses_or_logs_out_while_it_rings_fails_the_transfer(command, bob_after, why):
    eng = make_engine()
    cid = start(eng)
    dial(eng, cid, "1002", 20.2)
    out = eng.on_agent(command, 21.0)
    assert state(eng, "bob") is bob_after
    assert [r.exten for r in of(out, Redirect)] == ["1001"]
    assert notices(out, "transfer_failed")[0].payload["reason"] == why
    assert state(eng, "ann") is AgentState.RESERVED


def test_a_first_agent_no_longer_in_wrapup_means_the_supervisor_takes_the_customer():
    eng = make_engine()
    cid = start(eng)
    [note] = of(eng.on_agent(ac.Disposition("ann", cid, "other", {}, ()), 21.0), DispositionMade)
    assert not note.final
    assert state(eng, "ann") is AgentState.READY
    out = dial(eng, cid, "1002", 22.0, ev.DialStatus.BUSY)
    assert [(r.exten, r.agent_id) for r in of(out, Redirect)] == [("1999", "supervisor")]
    assert state(eng, "ann") is AgentState.READY  # not pulled back: that call is closed for ann
    dial(eng, cid, "1999", 23.5)
    bridge(eng, cid, 24.0)
    rec = record(eng.on_ami(ev.Hangup(channel=CUST, uniqueid=CUST_UID, linkedid=cid, cause=16), 60.0))
    assert (rec.outcome, rec.agent_id, rec.transferred_from, rec.transfer_failures) == (
        "connected", "supervisor", "ann", "bob: busy")


def test_when_every_fallback_fails_the_call_ends_transfer_failed_and_is_no_abandon():
    eng = make_engine()
    cid = start(eng)
    abandoned_before = eng.stats.abandoned
    dial(eng, cid, "1002", 20.2, ev.DialStatus.NOANSWER)
    out = dial(eng, cid, "1001", 21.5, ev.DialStatus.CHANUNAVAIL)  # ann's phone does not take it back
    assert state(eng, "ann") is AgentState.WRAPUP
    assert "ann" in eng.wrapup_deadlines
    assert [r.exten for r in of(out, Redirect)] == ["1999"]
    assert notices(out, "transfer_failed")[0].payload["next"] == "supervisor"
    out = dial(eng, cid, "1999", 23.0, ev.DialStatus.BUSY)
    [h] = of(out, HangupChannel)
    assert (h.channel, h.cause) == (CUST, 16)
    assert notices(out, "transfer_failed")[0].payload["next"] is None
    rec = record(out)
    assert (rec.outcome, rec.abandoned, rec.agent_id, rec.transferred_from) == (
        "transfer_failed", False, "ann", "ann")
    assert rec.transfer_failures == "bob: no answer; ann: phone unavailable; supervisor: busy"
    assert of(out, RecordLedger) == []
    assert eng.stats.abandoned == abandoned_before
    assert eng.on_ami(ev.Hangup(channel=CUST, uniqueid=CUST_UID, linkedid=cid, cause=16), 24.5) == []
    [d] = of(eng.on_agent(ac.Disposition("ann", cid, "callback", {}, ()), 30.0), DispositionMade)
    assert d.final  # nobody else talked to the person: ann's disposition is the call's


def test_a_failed_transfer_to_the_supervisor_comes_back_and_is_not_tried_twice():
    eng = make_engine()
    cid = start(eng, target="supervisor")
    out = dial(eng, cid, "1999", 20.5, ev.DialStatus.NOANSWER)
    assert [r.exten for r in of(out, Redirect)] == ["1001"]
    out = dial(eng, cid, "1001", 22.0, ev.DialStatus.BUSY)
    assert of(out, Redirect) == []
    assert record(out).transfer_failures == "supervisor: no answer; ann: busy"


def test_the_customer_hanging_up_while_coming_back_leaves_the_first_agent_in_wrapup():
    eng = make_engine()
    cid = start(eng)
    dial(eng, cid, "1002", 20.2, ev.DialStatus.BUSY)
    assert state(eng, "ann") is AgentState.RESERVED
    out = eng.on_ami(ev.Hangup(channel=CUST, uniqueid=CUST_UID, linkedid=cid, cause=16), 22.0)
    assert state(eng, "ann") is AgentState.WRAPUP
    assert [n.agent_id for n in notices(out, "customer_hung_up")] == ["ann"]
    assert (record(out).outcome, eng.transfer_deadlines) == ("connected", {})


def test_an_old_legs_dialend_does_not_fail_the_current_leg():
    eng = make_engine()
    cid = start(eng)
    dial(eng, cid, "1002", 20.2)
    eng.tick(35.0)  # bob's leg timed out; the customer goes back to ann
    dial(eng, cid, "1001", 35.2)
    kw = {"channel": CUST, "uniqueid": CUST_UID, "linkedid": cid, "dest_channel": "Local/1002@dialer-agent-0a;1",
          "dest_uniqueid": PHONE["1002"], "dest_linkedid": cid}
    assert eng.on_ami(ev.DialEnd(dial_status=ev.DialStatus.NOANSWER, **kw), 35.3) == []
    assert state(eng, "ann") is AgentState.RESERVED


def test_a_failed_transfer_of_a_predictive_call_comes_back_on_its_own_leg():
    eng = make_engine()
    login(eng, "ann", "1001", now=0.0)
    login(eng, "bob", "1002", now=1.0)
    [cid] = [c.call_id for c in eng.launch("prev", [DialRequest("L1", "+12125550142")], 2.0) if hasattr(c, "amd")]
    ch = "Local/12125550142@dialer-outbound-00000009;1"
    kw = {"channel": ch, "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 5.0)
    eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), 6.0)
    eng.on_ami(ev.BridgeEnter(bridge_uniqueid="b1", **kw), 6.3)
    eng.transfer("ann", cid, "bob", 30.0, supervisor_extension="1999")
    out = dial(eng, cid, "1002", 30.2, ev.DialStatus.BUSY, uid=cid, channel=ch)
    assert [(r.channel, r.exten) for r in of(out, Redirect)] == [(ch, "1001")]
    bridge(eng, cid, 31.0, uid=cid, channel=ch)
    assert (state(eng, "ann"), eng.calls[cid].state) == (AgentState.TALKING, CallState.CONNECTED)
