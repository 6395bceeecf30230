"""Agentless campaigns in the engine: the message instead of an agent, no abandon, the mode read at the verdict."""

from __future__ import annotations

import dataclasses

import pytest
from test_engine import GONE, acts, answer, chan, hangup, login_ready, records, refused

from dialer.ami import events as ev
from dialer.engine.agentless import AgentlessPlan
from dialer.engine.calls import CallOutcome, CallState
from dialer.engine.commands import HangupChannel, Originate, RecordLedger, Redirect
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from pacing import Jurisdiction, Mode, Pacer, PacingKnobs

MESSAGE = "custom/outage-notice"


def make_engine(on_machine: str = "hangup", mode: Mode = Mode.AGENTLESS, amd_audit_share: float = 0.0) -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 1000))
    eng = Engine(id_factory=lambda _c: next(ids))
    plan = AgentlessPlan(message=MESSAGE, on_machine=on_machine)  # type: ignore[arg-type]
    eng.add_campaign(CampaignRuntime("camp", Pacer(PacingKnobs(mode=mode, max_channels=10, max_cps=5)),
                                     agentless=plan, amd_audit_share=amd_audit_share))
    return eng


def dial(eng: Engine, now: float = 0.0, n: int = 1) -> tuple[list[str], list[Originate]]:
    cmds = [c for c in eng.launch("camp", [DialRequest(f"L{i}", f"+1555123000{i}") for i in range(n)], now)
            if isinstance(c, Originate)]
    return [c.call_id for c in cmds], cmds


def set_mode(eng: Engine, mode: Mode) -> None:
    pacer = eng.campaigns["camp"].pacer
    pacer.set_knobs(dataclasses.replace(pacer.knobs, mode=mode))


def test_the_originate_carries_the_message():
    eng = make_engine()
    _, [orig] = dial(eng)
    assert orig.message == MESSAGE


@pytest.mark.parametrize("status", [ev.AmdStatus.HUMAN, ev.AmdStatus.NOTSURE, ev.AmdStatus.SKIPPED])
def test_a_person_is_sent_to_the_message_and_the_call_ends_delivered_not_abandoned(status):
    eng = make_engine()
    [cid], _ = dial(eng)
    out = answer(eng, cid, 0.0, status)
    [redirect] = acts(out)
    assert isinstance(redirect, Redirect)
    assert (redirect.context, redirect.exten, redirect.purpose, redirect.channel) == (
        "dialer-agentless", "s", "agentless", chan(cid))
    assert eng.calls[cid].state is CallState.DELIVERING
    assert eng.next_deadline() is None, "no abandon clock runs for an agentless call"
    assert eng.tick(100.0) == []
    [rec] = records(hangup(eng, cid, 18.0))
    assert (rec.outcome, rec.abandoned, rec.message, rec.agent_id) == ("delivered", False, MESSAGE, None)
    assert rec.human_at == pytest.approx(6.5)
    assert eng.stats.abandoned == 0
    assert eng.stats.delivered == 1


def test_the_pacer_learns_the_dial_but_the_ledger_counts_no_live_answer():
    eng = make_engine()
    pacer = eng.campaigns["camp"].pacer
    [cid], _ = dial(eng)
    out = answer(eng, cid, 0.0)
    out += hangup(eng, cid, 18.0)
    assert pacer.est.dials == 1  # DialObserved: the estimators keep learning
    assert (pacer.est.lives, pacer.est.abandons) == (0, 0)  # no LiveAnswerObserved
    status = pacer.ledger.status(18.0)
    assert (status.lives, status.abandons) == (0, 0)
    # nothing at all for the ledger: not even the screened answer, whose estimated AMD false positives
    # would otherwise fill a UK window that has no live answer to set them against
    assert [c for c in out if isinstance(c, RecordLedger)] == []
    assert not pacer.ledger.amd_in_use
    assert status.false_positives == 0


def test_a_uk_campaign_switched_from_agentless_to_predictive_finds_its_window_clean():
    eng = make_engine()
    camp = eng.campaigns["camp"]
    camp.pacer.set_knobs(dataclasses.replace(camp.pacer.knobs, jurisdiction=Jurisdiction.UK))
    for _ in range(20):
        [cid], _ = dial(eng)
        answer(eng, cid, 0.0)
        hangup(eng, cid, 18.0)
    assert camp.pacer.ledger.status(20.0).rate == 0.0


def test_a_machine_is_hung_up_by_default_and_never_audited():
    eng = make_engine(amd_audit_share=1.0)
    login_ready(eng, "a1", "1001")  # a spare agent would take an audit in an agent mode
    [cid], _ = dial(eng)
    out = acts(answer(eng, cid, 0.0, ev.AmdStatus.MACHINE))
    assert out == [HangupChannel(cid, chan(cid), 16)]
    assert eng.calls[cid].state is CallState.MACHINE
    [rec] = records(hangup(eng, cid, 8.0))
    assert (rec.outcome, rec.message, rec.amd_audit) == ("machine", "", False)


def test_a_machine_gets_the_message_after_the_beep_when_the_campaign_says_so():
    eng = make_engine(on_machine="message")
    [cid], _ = dial(eng)
    [redirect] = acts(answer(eng, cid, 0.0, ev.AmdStatus.MACHINE))
    assert isinstance(redirect, Redirect)
    assert (redirect.context, redirect.exten, redirect.purpose) == ("dialer-agentless", "machine", "agentless")
    assert eng.calls[cid].state is CallState.DELIVERING
    [rec] = records(hangup(eng, cid, 40.0))
    assert (rec.outcome, rec.abandoned, rec.message, rec.human_at) == ("machine_message", False, MESSAGE, None)
    assert eng.stats.machines == 1


def test_a_refused_redirect_gives_the_person_the_information_message_not_silence():
    # the leg sits parked in dialer-connect's silence: hung up there, the person would have had a silent call
    eng = make_engine()
    pacer = eng.campaigns["camp"].pacer
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    out = refused(eng, cid, "agentless", 6.6)
    assert acts(out) == [Redirect(cid, chan(cid), "dialer-abandon", "s", "abandon")]
    assert records(out) == []
    assert eng.calls[cid].state is CallState.ABANDONING
    [rec] = records(hangup(eng, cid, 14.0))  # the message played, then the dialplan hung up
    assert (rec.outcome, rec.abandoned, rec.message) == ("abandoned", True, MESSAGE)
    assert eng.stats.abandoned == 1
    assert eng.stats.delivered == 0
    assert pacer.est.dials == 1, "the dial was observed once, at its verdict"
    # agentless answers never enter the ledger: none waited for an agent
    assert (pacer.ledger.status(14.0).lives, pacer.ledger.status(14.0).abandons) == (0, 0)


def test_a_refused_information_message_hangs_the_person_up_still_abandoned():
    eng = make_engine()
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    refused(eng, cid, "agentless", 6.6)
    assert acts(refused(eng, cid, "abandon", 6.7)) == [HangupChannel(cid, chan(cid), 16)]
    [rec] = records(hangup(eng, cid, 6.8))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)


def test_a_refused_redirect_of_a_machine_hangs_it_up_and_ends_the_call_failed():
    eng = make_engine(on_machine="message")
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0, ev.AmdStatus.MACHINE)
    out = refused(eng, cid, "agentless", 6.6)
    assert HangupChannel(cid, chan(cid), 16) in out
    [rec] = records(out)
    assert (rec.outcome, rec.abandoned, rec.message) == ("failed", False, MESSAGE)
    assert eng.stats.abandoned == 0
    assert acts(hangup(eng, cid, 6.7)) == []  # the leg's own Hangup finds the call over


def test_an_agentless_call_in_flight_follows_the_mode_at_its_verdict():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    to_agent, to_message = dial(eng, n=2)[0]
    set_mode(eng, Mode.PROGRESSIVE)  # a supervisor switches while both ring
    out = answer(eng, to_agent, 0.0)
    assert any(isinstance(c, Redirect) and c.purpose == "agent" for c in out)
    assert eng.calls[to_agent].state is CallState.CONNECTING
    set_mode(eng, Mode.AGENTLESS)  # and back, before the second verdict
    [redirect] = acts(answer(eng, to_message, 1.0))
    assert isinstance(redirect, Redirect)
    assert redirect.purpose == "agentless"
    assert eng.calls[to_agent].state is CallState.CONNECTING, "the first call keeps its agent"


def test_a_predictive_call_waiting_for_an_agent_stays_on_the_abandon_rules_after_a_switch():
    eng = make_engine(mode=Mode.PROGRESSIVE)
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    assert eng.calls[cid].state is CallState.WAITING
    set_mode(eng, Mode.AGENTLESS)
    out = eng.tick(8.0)  # nobody came within the hold: abandoned, as the verdict's mode said
    assert any(isinstance(c, Redirect) and c.purpose == "abandon" for c in out)
    [rec] = records(hangup(eng, cid, 12.0))
    assert rec.outcome == "abandoned"


def test_close_all_and_resync_end_a_delivering_call_delivered():
    eng = make_engine()
    first, second = dial(eng, n=2)[0]
    answer(eng, first, 0.0)
    answer(eng, second, 0.0)
    [rec] = records(eng.resync({second}, 10.0))
    assert (rec.call_id, rec.outcome) == (first, "delivered")
    out = eng.close_all(11.0)
    assert HangupChannel(second, chan(second), 16) in out
    [rec] = records(out)
    assert (rec.call_id, rec.outcome) == (second, "delivered")


def test_a_repeated_verdict_is_ignored():
    eng = make_engine()
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    again = eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, channel=chan(cid), uniqueid=cid,
                                    linkedid=cid), 7.0)
    assert again == []
    assert eng.stats.illegal_transitions == 1
    hangup(eng, cid, 18.0)
    assert eng.stats.delivered == 1


def leg_end(eng: Engine, cid: str, now: float, where: str) -> list:
    """`UserEvent: DialerLegEnd` from the leg's `h` extension: Asterisk sends it before the leg's Hangup."""
    return eng.on_ami(ev.LegEnd(call_id=cid, channel=chan(cid), uniqueid=cid, linkedid=cid, where=where,
                                hangup_cause=16), now)


# Where the leg's `h` extension ran (DialerLegEnd's Where) says whether the Redirect to the message landed:
# `dialer-connect` is the park, where a far end that hangs up while the Redirect is in flight leaves it.
@pytest.mark.parametrize(("status", "where", "outcome"), [
    (ev.AmdStatus.HUMAN, "dialer-connect", "hung_up_before_message"),
    (ev.AmdStatus.SKIPPED, "dialer-connect", "hung_up_before_message"),
    (ev.AmdStatus.HUMAN, "dialer-agentless", "delivered"),  # the message started; they may hang up during it
    (ev.AmdStatus.HUMAN, "ivr-billing", "delivered"),  # DIALER_AGENTLESS_IVR's own context: the IVR was reached
    (ev.AmdStatus.HUMAN, None, "delivered"),  # no DialerLegEnd (an older dialplan, a lost event): as before
    (ev.AmdStatus.MACHINE, "dialer-agentless", "machine_message"),
    (ev.AmdStatus.MACHINE, None, "machine_message"),
    (ev.AmdStatus.MACHINE, "dialer-connect", "machine"),  # the machine hung up first: no message was left
])
def test_where_the_leg_ended_says_whether_the_message_was_reached(status, where, outcome):
    eng = make_engine(on_machine="message")
    pacer = eng.campaigns["camp"].pacer
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0, status)
    if where is not None:
        assert leg_end(eng, cid, 6.6, where) == []
        assert eng.calls[cid].state is CallState.DELIVERING, "the Hangup ends the call, not DialerLegEnd"
    [rec] = records(hangup(eng, cid, 6.6))
    assert rec.outcome == outcome
    assert (rec.abandoned, rec.agent_id, rec.message) == (False, None, MESSAGE)
    assert eng.stats.delivered == (1 if outcome in ("delivered", "machine_message") else 0)
    assert (eng.stats.abandoned, pacer.est.lives, pacer.est.abandons) == (0, 0, 0), "no abandon, no live offered"
    assert pacer.est.dials == 1, "the dial was observed once, at its verdict"


def test_a_redirect_refused_after_the_hangup_leaves_the_record_as_it_is():
    eng = make_engine()
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    leg_end(eng, cid, 6.6, "dialer-connect")
    [rec] = records(hangup(eng, cid, 6.6))
    assert rec.outcome == "hung_up_before_message"
    assert refused(eng, cid, "agentless", 6.7) == []  # "Channel does not exist", after the Hangup
    assert eng.calls[cid].outcome is CallOutcome.HUNG_UP_BEFORE_MESSAGE
    assert (eng.stats.ended, eng.stats.delivered) == (1, 0)


@pytest.mark.parametrize(("status", "outcome"), [(ev.AmdStatus.HUMAN, "hung_up_before_message"),
                                                  (ev.AmdStatus.MACHINE, "machine")])
def test_a_redirect_refused_because_the_channel_is_gone_ends_it_as_a_leg_still_parked(status, outcome):
    eng = make_engine(on_machine="message")
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0, status)
    # Asterisk answers "Redirect failed, channel not up." once the far end hung up, maybe before the h extension
    out = refused(eng, cid, "agentless", 6.6, GONE)
    assert not any(isinstance(cmd, HangupChannel) for cmd in out), "nothing left to hang up"
    [rec] = records(out)
    assert (rec.outcome, rec.abandoned, rec.message) == (outcome, False, MESSAGE)
    assert eng.stats.delivered == 0
    assert leg_end(eng, cid, 6.7, "dialer-connect") == []
    assert acts(hangup(eng, cid, 6.7)) == []  # the leg's own Hangup finds the call over
    assert eng.stats.ended == 1


def test_close_all_between_the_leg_end_and_the_hangup_records_what_the_leg_end_said():
    eng = make_engine()
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    leg_end(eng, cid, 6.6, "dialer-connect")
    [rec] = records(eng.close_all(6.6))
    assert rec.outcome == "hung_up_before_message"
    assert acts(hangup(eng, cid, 6.7)) == []


def test_a_leg_end_of_a_waiting_person_ends_the_call_and_their_hangup_finds_nothing():
    eng = make_engine(mode=Mode.PROGRESSIVE)
    [cid], _ = dial(eng)
    answer(eng, cid, 0.0)
    assert eng.calls[cid].state is CallState.WAITING
    [rec] = records(leg_end(eng, cid, 7.0, "dialer-connect"))
    assert (rec.outcome, rec.abandoned, rec.message) == ("hung_up_waiting", True, "")
    assert hangup(eng, cid, 9.0) == []  # the Hangup after the h extension: the call is over already
    assert leg_end(eng, cid, 9.1, "dialer-connect") == []


def test_the_snapshot_counts_delivering_calls_as_lines_in_use():
    eng = make_engine()
    ids, _ = dial(eng, n=3)
    answer(eng, ids[0], 0.0)
    snap = eng.snapshot("camp", 7.0)
    assert snap.lines_in_use == 3
    assert snap.waiting_humans == 0


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"exten": "machine"}, "machine"),
    ({"on_machine": "voicemail"}, "hangup"),
    ({"context": ""}, "context"),
])
def test_an_agentless_plan_refuses_what_cannot_work(kwargs, words):
    with pytest.raises(ValueError, match=words):
        AgentlessPlan(**kwargs)
