"""The AMD audit in the engine: a sampled machine verdict goes to an agent only when that agent is spare."""

from __future__ import annotations

import random

import pytest

from agents import commands as ac
from agents.state import AgentEvent, AgentState
from dialer.ami import events as ev
from dialer.engine.calls import TRANSITIONS, CallEvent, CallState
from dialer.engine.commands import (
    DispositionMade,
    HangupChannel,
    Originate,
    RecordLedger,
    Redirect,
    ScreenPop,
    WriteCallRecord,
)
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.unsure import Refused
from pacing import Mode, Pacer, PacingKnobs
from pacing.ledger import LedgerEntryKind

CH = "Local/15551230000@dialer-outbound-0000001b;1"


def make_engine(share: float = 1.0, seed: int = 3) -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 1000))
    eng = Engine(hold_s=1.5, id_factory=lambda _c: next(ids), rng=random.Random(seed))
    eng.add_campaign(CampaignRuntime("camp", Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), wrapup_timeout_s=60,
                                     amd_audit_share=share))
    return eng


def login_ready(eng: Engine, agent: str, ext: str, now: float = 0.0) -> None:
    eng.on_agent(ac.Login(agent, ext, "camp"), now)
    eng.on_agent(ac.Ready(agent), now)


def dial(eng: Engine, now: float = 0.0, n: int = 1) -> list[str]:
    return [c.call_id for c in eng.launch("camp", [DialRequest(f"L{i}", f"+1555123000{i}") for i in range(n)], now)
            if isinstance(c, Originate)]


def chan(call_id: str) -> str:
    return CH.replace("0000001b", call_id)


def answer(eng: Engine, cid: str, now: float, status: ev.AmdStatus = ev.AmdStatus.HUMAN) -> list:
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    out = eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), now)
    out += eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), now + 5)
    out += eng.on_ami(ev.AmdResult(call_id=cid, status=status, **kw), now + 6.5)
    return out


def bridge(eng: Engine, cid: str, now: float) -> list:
    return eng.on_ami(ev.BridgeEnter(channel=chan(cid), uniqueid=cid, linkedid=cid, bridge_uniqueid="b1"), now)


def hangup(eng: Engine, cid: str, now: float) -> list:
    return eng.on_ami(ev.Hangup(channel=chan(cid), uniqueid=cid, linkedid=cid, cause=16), now)


def records(cmds: list) -> list:
    return [c.record for c in cmds if isinstance(c, WriteCallRecord)]


def machine(eng: Engine, cid: str, now: float) -> list:
    return answer(eng, cid, now, ev.AmdStatus.MACHINE)


def ring(eng: Engine, cid: str, now: float) -> None:
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw), now)


@pytest.mark.parametrize(
    ("state", "event", "to"),
    [
        (CallState.SCREENING, CallEvent.AUDIT, CallState.AUDITING),
        (CallState.AUDITING, CallEvent.BRIDGE, CallState.CONNECTED),
        (CallState.AUDITING, CallEvent.UNASSIGN, CallState.MACHINE),
        (CallState.AUDITING, CallEvent.END, CallState.ENDED),
    ],
)
def test_the_audit_is_a_named_transition_of_the_call(state, event, to):
    assert TRANSITIONS[(state, event)] is to


@pytest.mark.parametrize("state", [CallState.WAITING, CallState.MACHINE, CallState.RINGING, CallState.CONNECTED])
def test_only_a_call_under_amd_can_be_audited(state):
    assert (state, CallEvent.AUDIT) not in TRANSITIONS


def test_a_sampled_machine_verdict_goes_to_a_spare_agent_marked_as_an_audit():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=10)
    out = machine(eng, cid, 10)
    assert eng.calls[cid].state is CallState.AUDITING
    assert not any(isinstance(c, HangupChannel) for c in out)
    [r] = [c for c in out if isinstance(c, Redirect)]
    assert (r.context, r.exten, r.purpose, r.agent_id) == ("dialer-to-agent", "1001", "agent", "a1")
    [pop] = [c for c in out if isinstance(c, ScreenPop)]
    assert pop.payload["amd_audit"] is True
    # the ledger counts the machine verdict (AMD in use) and nothing else: the audit is no live answer
    assert [c.entry.kind for c in out if isinstance(c, RecordLedger)] == [LedgerEntryKind.AMD]
    assert eng.roster.get("a1").state is AgentState.RESERVED

    out = bridge(eng, cid, 17.0)
    assert eng.calls[cid].state is CallState.CONNECTED
    assert not any(isinstance(c, RecordLedger) for c in out)
    assert eng.roster.get("a1").state is AgentState.TALKING
    [rec] = records(hangup(eng, cid, 25.0))
    assert (rec.outcome, rec.amd_audit, rec.agent_id, rec.abandoned) == ("connected", True, "a1", False)
    assert rec.to_fields()["amd_audit"] == "1"
    [d] = [c for c in eng.on_agent(ac.Disposition("a1", cid, "machine"), 30.0) if isinstance(c, DispositionMade)]
    assert (d.amd_audit, d.code, d.campaign_id) == (True, "machine", "camp")
    assert (eng.stats.amd_audits, eng.stats.amd_audits_skipped, eng.stats.live) == (1, 0, 0)
    assert eng.roster.get("a1").state is AgentState.READY


def test_a_candidate_is_hung_up_as_usual_when_its_agent_may_be_needed_by_a_dial_in_flight():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    first, second = dial(eng, now=0, n=2)
    ring(eng, second, 1.0)  # may still answer live, and a1 is the only ready agent
    out = machine(eng, first, 0)
    assert eng.calls[first].state is CallState.MACHINE
    assert any(isinstance(c, HangupChannel) for c in out)
    assert not any(isinstance(c, Redirect | ScreenPop) for c in out)
    assert eng.roster.get("a1").state is AgentState.READY
    [rec] = records(hangup(eng, first, 8.0))
    assert (rec.outcome, rec.amd_audit) == ("machine", False)
    assert (eng.stats.amd_audits, eng.stats.amd_audits_skipped) == (0, 1)


def test_a_call_under_amd_may_answer_live_too_and_two_ready_agents_cover_one_such_call():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    first, second = dial(eng, now=0, n=2)
    kw = {"channel": chan(second), "uniqueid": second, "linkedid": second}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 3.0)  # answered: AMD is listening
    assert eng.calls[second].state is CallState.SCREENING
    machine(eng, first, 0)
    assert eng.calls[first].state is CallState.MACHINE  # 1 ready <= 1 that may answer live

    eng2 = make_engine()
    login_ready(eng2, "a1", "1001")
    login_ready(eng2, "a2", "1002")
    first, second = dial(eng2, now=0, n=2)
    ring(eng2, second, 1.0)
    machine(eng2, first, 0)
    assert eng2.calls[first].state is CallState.AUDITING  # 2 ready > 1 that may answer live
    assert eng2.calls[first].agent_id == "a1"  # the longest idle


def test_a_person_waiting_for_an_agent_is_never_passed_over_for_an_audit():
    eng = make_engine()
    waiting, audit = dial(eng, now=0, n=2)
    answer(eng, waiting, 0)  # nobody is logged in: the person waits (hold until 8.0)
    assert eng.calls[waiting].state is CallState.WAITING
    eng.on_agent(ac.Login("a1", "1001", "camp"), 6.8)
    eng.roster.apply("a1", AgentEvent.READY, 6.8)
    # a1 is ready but has not been handed the waiting person yet (that happens through _agent_freed):
    # the audit candidate still sees one person waiting and one agent ready, and leaves the agent
    machine(eng, audit, 0.5)
    assert eng.calls[audit].state is CallState.MACHINE
    assert eng.stats.amd_audits_skipped == 1


def test_no_audit_when_the_share_is_zero_or_the_call_is_a_person():
    eng = make_engine(share=0.0)
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    machine(eng, cid, 0)
    assert eng.calls[cid].state is CallState.MACHINE
    assert eng.stats.amd_audits_skipped == 0  # not even a candidate

    eng = make_engine(share=1.0)
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    out = answer(eng, cid, 0)
    assert not any(isinstance(c, ScreenPop) and "amd_audit" in c.payload for c in out)


def test_candidates_are_drawn_from_the_injected_generator_whatever_the_agents_do():
    share, n = 0.3, 40
    rng = random.Random(11)
    want = [rng.random() < share for _ in range(n)]
    eng = make_engine(share=share, seed=11)
    got = []
    for i in range(n):
        if i % 2 == 0:
            login_ready(eng, f"a{i}", f"{1000 + i}", now=float(i))
        [cid] = dial(eng, now=float(i))
        machine(eng, cid, float(i))
        got.append(eng.calls[cid].state is CallState.AUDITING)
        hangup(eng, cid, float(i) + 9.0)
        if i % 2 == 0:
            eng.on_agent(ac.Logout(f"a{i}"), float(i) + 9.5)
    assert got == [c and i % 2 == 0 for i, c in enumerate(want)]  # odd i: no agent ready, skipped
    assert eng.stats.amd_audits == sum(got) > 0
    assert eng.stats.amd_audits_skipped == sum(c and i % 2 == 1 for i, c in enumerate(want))


def test_a_refused_redirect_releases_the_agent_and_hangs_the_machine_up():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    machine(eng, cid, 0)
    out = eng.on_action_failed(Redirect(cid, chan(cid), "dialer-to-agent", "1001", "agent", "a1"),
                               Refused("Asterisk refused Redirect: Redirect failed"), 7.0)
    assert eng.calls[cid].state is CallState.MACHINE
    assert any(isinstance(c, HangupChannel) and c.call_id == cid for c in out)
    assert eng.roster.get("a1").state is AgentState.READY
    [rec] = records(hangup(eng, cid, 7.5))
    assert (rec.outcome, rec.amd_audit) == ("machine", True)


def test_a_machine_that_hangs_up_before_the_bridge_ends_as_a_machine_and_frees_the_agent():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    machine(eng, cid, 0)
    [rec] = records(hangup(eng, cid, 7.0))
    assert (rec.outcome, rec.amd_audit, rec.connected_at) == ("machine", True, None)
    assert eng.roster.get("a1").state is AgentState.READY


def test_an_audit_call_feeds_neither_the_talk_nor_the_wrapup_estimators():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    machine(eng, cid, 0)
    est = eng.campaigns["camp"].pacer.est
    version = est.version  # bumped by every talk and wrap-up observed
    bridge(eng, cid, 7.0)
    hangup(eng, cid, 300.0)
    eng.on_agent(ac.Disposition("a1", cid, "refused", {"reason": "not_interested"}), 400.0)
    assert est.version == version


def test_a_repeated_machine_verdict_is_counted_once():
    eng = make_engine(share=0.0)
    [cid] = dial(eng)
    first = machine(eng, cid, 0)
    kw = {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}
    again = eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.MACHINE, **kw), 7.0)
    assert again == []
    assert (eng.stats.machines, eng.stats.illegal_transitions) == (1, 1)
    assert len([c for c in first if isinstance(c, RecordLedger)]) == 1


def test_an_agent_held_for_their_own_callback_is_not_taken_for_an_audit():
    from dialer.engine import callback_holds

    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=10)
    callback_holds.hold(eng, "a1", 11.0)
    machine(eng, cid, 10)
    assert eng.calls[cid].state is not CallState.AUDITING
    assert (eng.stats.amd_audits, eng.stats.amd_audits_skipped) == (0, 1)
    assert eng.roster.get("a1").state is AgentState.READY
