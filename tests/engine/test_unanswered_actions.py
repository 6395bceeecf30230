"""A Redirect or Hangup whose answer never came is not a refusal (`dialer.engine.unsure`).

The AMI connection dropped with the action in flight, or Asterisk did not answer in time: Asterisk may
have carried it out. The engine sends nothing more for the call until where the customer leg is, as
CoreShowChannels rows show it after the reconnect (or a look while the link is up) or as its events show it,
says whether it was; only a leg found where it was before the Redirect is handled as after a refusal.
"""

from __future__ import annotations

import dataclasses

import test_engine_amd_audit as audit
import test_transfer_failures as tf
from test_ami_link import row
from test_engine import acts, answer, bridge, chan, connected, dial, hangup, login_ready, make_engine, records

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.engine.calls import CallState
from dialer.engine.commands import CheckChannels, Command, HangupChannel, Redirect
from dialer.engine.core import Engine
from dialer.engine.unsure import RECHECK_S, Refused, Unanswered
from pacing import Mode

LOST = Unanswered("AMI connection lost: Asterisk closed the connection")


def moves(cmds: list[Command], purpose: str | None = None) -> list[Redirect]:
    return [c for c in cmds if isinstance(c, Redirect) and purpose in (None, c.purpose)]


def to_agent(eng: Engine) -> tuple[str, Redirect]:
    """a1 is reserved for a person (human at 6.5) and the Redirect to a1's phone is sent."""
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng)
    [r] = moves(answer(eng, cid, 0), "agent")
    return cid, r


def lost_at(eng: Engine, r: Redirect | HangupChannel, now: float) -> list[Command]:
    """The connection drops with `r` in flight: its answer is lost, then the client reports the loss."""
    out = eng.on_action_failed(r, LOST, now)
    eng.on_ami(ev.AmiDisconnected("Asterisk closed the connection"), now)
    return out


def back(eng: Engine, rows: list[ev.ChannelRow], now: float) -> list[Command]:
    eng.on_ami(ev.AmiConnected(reconnect=True), now)
    return eng.resync(rows, now + 0.1, asked_at=now)


def in_bridge(cid: str, context: str = "dialer-to-agent", exten: str = "1001") -> ev.ChannelRow:
    return ev.ChannelRow(channel=chan(cid), uniqueid=cid, linkedid=cid, state=ev.ChannelState.UP, context=context,
                         exten=exten, application="Dial", bridge_id="b1")


# ------------------------------------------------------------------------------------------ to an agent
def test_a_redirect_to_an_agent_carried_out_before_the_drop_leaves_the_person_with_the_agent():
    eng = make_engine()
    cid, r = to_agent(eng)
    login_ready(eng, "a2", "1002", now=6.55)  # would take the person, were the lost answer taken for a refusal
    # no second Redirect, no abandon message: a look at the channels, which fails (the link is down)
    assert acts(lost_at(eng, r, 6.6)) == [CheckChannels(6.6)]
    assert eng.calls[cid].state is CallState.CONNECTING
    assert eng.roster.get("a1").state is AgentState.RESERVED
    out = back(eng, [in_bridge(cid)], 7.5)  # the reconnect within the 2 s: the bridge came by then
    assert moves(out) == []
    c = eng.calls[cid]
    assert (c.state, c.abandoned) == (CallState.CONNECTED, False)
    assert eng.roster.get("a1").state is AgentState.TALKING
    assert eng.roster.get("a2").state is AgentState.READY
    ledger = eng.campaigns["camp"].pacer.ledger
    assert (ledger.total_lives, ledger.total_abandons) == (1, 0)
    [rec] = records(hangup(eng, cid, 60.0))
    assert (rec.outcome, rec.abandoned, rec.agent_id) == ("connected", False, "a1")


def test_a_bridge_seen_only_at_a_late_resync_counts_from_the_resync_the_safe_side():
    eng = make_engine()
    cid, r = to_agent(eng)
    lost_at(eng, r, 6.6)
    assert moves(back(eng, [in_bridge(cid)], 20.0)) == []
    c = eng.calls[cid]
    assert (c.state, c.abandoned) == (CallState.CONNECTED, True)  # when it was bridged is unknown


def test_a_redirect_to_an_agent_still_ringing_the_phone_at_the_resync_waits_for_the_bridge():
    eng = make_engine()
    cid, r = to_agent(eng)
    lost_at(eng, r, 6.6)
    ringing = ev.ChannelRow(channel=chan(cid), uniqueid=cid, linkedid=cid, state=ev.ChannelState.UP,
                            context="dialer-to-agent", exten="1001", application="Dial")
    assert acts(back(eng, [ringing], 7.0)) == []
    assert eng.calls[cid].state is CallState.CONNECTING
    bridge(eng, cid, 7.3)
    assert (eng.calls[cid].state, eng.calls[cid].abandoned) == (CallState.CONNECTED, False)
    assert eng.tick(30.0) == []  # nothing left unsure: no look at the channels


def test_a_redirect_to_an_agent_not_carried_out_is_handled_as_a_refusal_by_the_2_second_rule():
    eng = make_engine()
    cid, r = to_agent(eng)
    eng.on_agent(ac.Pause("a1", "break"), 6.55)  # after this call: no agent to take the person again
    lost_at(eng, r, 6.6)
    out = back(eng, [row(cid)], 12.0)  # still parked in dialer-connect's Wait
    assert [(m.context, m.purpose) for m in moves(out)] == [("dialer-abandon", "abandon")]
    assert eng.calls[cid].abandoned
    assert eng.roster.get("a1").state is AgentState.PAUSED
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 1


def test_a_redirect_to_an_agent_not_carried_out_goes_to_an_agent_ready_again_even_the_same_one():
    eng = make_engine()
    cid, r = to_agent(eng)
    lost_at(eng, r, 6.6)
    out = back(eng, [row(cid)], 7.0)
    [again] = moves(out, "agent")
    assert (again.exten, eng.calls[cid].agent_id) == ("1001", "a1")  # a lost answer is no refusal by a1's phone
    assert eng.roster.get("a1").state is AgentState.RESERVED


def test_a_person_gone_at_the_resync_is_an_abandon_and_the_agent_is_freed():
    eng = make_engine()
    _cid, r = to_agent(eng)
    lost_at(eng, r, 6.6)
    [rec] = records(back(eng, [], 12.0))
    assert (rec.outcome, rec.abandoned) == ("hung_up_waiting", True)
    assert eng.roster.get("a1").state is AgentState.READY


def test_a_refused_redirect_still_acts_at_once():
    eng = make_engine()
    _cid, r = to_agent(eng)
    login_ready(eng, "a2", "1002", now=6.55)
    out = eng.on_action_failed(r, Refused("Asterisk refused Redirect: Redirect failed"), 6.6)
    assert [(m.purpose, m.agent_id) for m in moves(out)] == [("agent", "a2")]


# ------------------------------------------------------------------------------------------ link up
def test_with_the_link_up_the_engine_looks_at_the_channels_at_once_then_every_few_seconds():
    eng = make_engine()
    cid, r = to_agent(eng)
    assert eng.on_action_failed(r, Unanswered("no answer to Redirect within 5 s"), 11.6) == [CheckChannels(11.6)]
    assert eng.tick(11.7) == []
    assert eng.next_deadline() == 11.6 + RECHECK_S
    assert eng.tick(11.6 + RECHECK_S) == [CheckChannels(11.6 + RECHECK_S)]  # the first look failed, say
    assert moves(eng.verify([in_bridge(cid)], 11.6 + RECHECK_S, 17.0)) == []
    assert eng.calls[cid].state is CallState.CONNECTED
    assert eng.tick(40.0) == []


def test_rows_asked_for_before_the_failure_was_reported_settle_nothing():
    eng = make_engine()
    cid, r = to_agent(eng)
    eng.on_action_failed(r, Unanswered("no answer to Redirect within 5 s"), 11.6)
    assert eng.verify([row(cid)], 11.5, 11.8) == []  # the Redirect may have been read after these rows
    assert eng.calls[cid].state is CallState.CONNECTING


def test_the_bridge_event_settles_a_redirect_whose_answer_came_too_late():
    eng = make_engine()
    cid, r = to_agent(eng)
    eng.on_action_failed(r, Unanswered("no answer to Redirect within 5 s"), 11.6)
    bridge(eng, cid, 11.7)
    assert eng.calls[cid].state is CallState.CONNECTED
    assert eng.verify([row(cid)], 11.6, 11.9) == []  # a stale look changes nothing now
    assert eng.tick(30.0) == []


def test_an_unanswered_redirect_of_a_call_that_moved_on_since_is_nothing_to_settle():
    eng = make_engine()
    cid, r = to_agent(eng)
    bridge(eng, cid, 7.0)
    assert eng.on_action_failed(r, LOST, 7.1) == []
    assert eng.tick(30.0) == []


# ------------------------------------------------------------------------------------------ abandon
def _abandoning(eng: Engine) -> tuple[str, Redirect]:
    [cid] = dial(eng)
    answer(eng, cid, 0)  # nobody ready: held until 8.0
    [r] = moves(eng.tick(8.0), "abandon")
    return cid, r


def test_an_abandon_message_under_way_is_not_cut_by_a_hang_up():
    eng = make_engine()
    cid, r = _abandoning(eng)
    assert acts(lost_at(eng, r, 8.1)) == [CheckChannels(8.1)]  # before: hung up, the message cut short
    playing = row(cid, context="dialer-abandon", application="Playback")
    assert acts(back(eng, [playing], 9.0)) == []
    [rec] = records(hangup(eng, cid, 12.0))
    assert (rec.outcome, rec.abandoned) == ("abandoned", True)
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 1


def test_an_abandon_redirect_not_carried_out_is_sent_again_and_counted_once():
    eng = make_engine()
    cid, r = _abandoning(eng)
    lost_at(eng, r, 8.1)
    assert acts(back(eng, [row(cid)], 9.0)) == [r]
    assert eng.campaigns["camp"].pacer.ledger.total_abandons == 1


# ------------------------------------------------------------------------------------------ transfer
def _transferring(eng: Engine) -> tuple[str, Redirect]:
    cid = connected(eng)  # a1 talks
    login_ready(eng, "a2", "1002", now=10.0)
    [r] = moves(eng.transfer("a1", cid, "a2", 20.0, supervisor_extension="1999", ring_timeout_s=15.0))
    return cid, r


def test_a_transfer_taken_by_the_target_during_the_outage_is_not_pulled_back_when_its_time_runs_out():
    eng = make_engine()
    cid, r = _transferring(eng)
    lost_at(eng, r, 20.1)
    assert moves(eng.tick(40.0)) == []  # the target's ring time is over, but the target may have it
    out = back(eng, [in_bridge(cid, "dialer-transfer", "1002")], 41.0)
    assert moves(out) == []
    assert eng.calls[cid].state is CallState.CONNECTED
    assert eng.roster.get("a2").state is AgentState.TALKING
    assert moves(eng.tick(60.0)) == []


def test_a_transfer_not_carried_out_falls_back_as_after_a_refusal():
    eng = make_engine()
    cid, r = _transferring(eng)
    lost_at(eng, r, 20.1)
    out = back(eng, [in_bridge(cid)], 22.0)  # still in a1's bridge
    assert [(m.context, m.exten) for m in moves(out)] == [("dialer-transfer", "1001")]  # back to a1
    assert eng.roster.get("a2").state is AgentState.READY


def test_a_transfer_still_ringing_at_the_resync_fails_at_its_time_as_usual():
    eng = make_engine()
    cid, r = _transferring(eng)
    lost_at(eng, r, 20.1)
    ringing = dataclasses.replace(row(cid, context="dialer-transfer", application="Dial"), exten="1002")
    assert moves(back(eng, [ringing], 22.0)) == []
    assert [(m.context, m.exten) for m in moves(eng.tick(35.0))] == [("dialer-transfer", "1001")]


# ------------------------------------------------------------------------------------------ agentless
def _agentless(eng: Engine) -> tuple[str, Redirect]:
    pacer = eng.campaigns["camp"].pacer
    pacer.set_knobs(dataclasses.replace(pacer.knobs, mode=Mode.AGENTLESS))
    [cid] = dial(eng)
    [r] = moves(answer(eng, cid, 0), "agentless")
    return cid, r


def test_an_agentless_message_under_way_is_not_replaced_by_the_abandon_message():
    eng = make_engine()
    cid, r = _agentless(eng)
    lost_at(eng, r, 6.6)
    assert acts(back(eng, [row(cid, context="dialer-agentless", application="Playback")], 8.0)) == []
    [rec] = records(hangup(eng, cid, 20.0))
    assert (rec.outcome, rec.abandoned) == ("delivered", False)
    assert eng.stats.abandoned == 0


def test_an_agentless_redirect_not_carried_out_gives_the_information_message_as_after_a_refusal():
    eng = make_engine()
    cid, r = _agentless(eng)
    lost_at(eng, r, 6.6)
    assert [(m.context, m.purpose) for m in moves(back(eng, [row(cid)], 8.0))] == [("dialer-abandon", "abandon")]


# ------------------------------------------------------------------------------------------ hangup
def _machine(eng: Engine) -> tuple[str, HangupChannel]:
    [cid] = dial(eng)
    [h] = [c for c in answer(eng, cid, 0, ev.AmdStatus.MACHINE) if isinstance(c, HangupChannel)]
    return cid, h


def test_a_hangup_not_carried_out_is_sent_again():
    eng = make_engine()
    cid, h = _machine(eng)
    lost_at(eng, h, 6.6)
    assert acts(back(eng, [row(cid)], 8.0)) == [h]
    assert eng.tick(30.0) == []


def test_a_hangup_carried_out_is_not_sent_again():
    eng = make_engine()
    cid, h = _machine(eng)
    lost_at(eng, h, 6.6)
    [rec] = records(back(eng, [], 8.0))
    assert (rec.call_id, rec.outcome) == (cid, "machine")
    assert [c for c in acts(eng.tick(30.0)) if isinstance(c, HangupChannel | CheckChannels)] == []


def test_a_hangup_settled_by_its_hangup_event_needs_no_look():
    eng = make_engine()
    cid, h = _machine(eng)
    assert eng.on_action_failed(h, Unanswered("no answer to Hangup within 5 s"), 11.6) == [CheckChannels(11.6)]
    hangup(eng, cid, 11.7)
    assert eng.tick(30.0) == []


def test_a_resync_with_bare_uniqueids_leaves_it_unsure_until_a_look():
    eng = make_engine()
    cid, r = to_agent(eng)
    lost_at(eng, r, 6.6)
    eng.on_ami(ev.AmiConnected(reconnect=True), 7.0)
    assert eng.resync([cid], 7.1) == []
    assert eng.calls[cid].state is CallState.CONNECTING
    assert eng.tick(7.2) == [CheckChannels(7.2)]


def test_an_agent_started_calls_transfer_is_settled_from_the_customer_legs_row():
    eng = tf.make_engine()
    cid = tf.connected_manual_call(eng)  # ann talks to the customer, whose leg is tf.CUST (tf.CUST_UID)
    [r] = moves(eng.transfer("ann", cid, "bob", 20.0, supervisor_extension="1999", ring_timeout_s=15.0))
    assert r.channel == tf.CUST
    lost_at(eng, r, 20.1)
    taken = ev.ChannelRow(channel=tf.CUST, uniqueid=tf.CUST_UID, linkedid=cid, state=ev.ChannelState.UP,
                          context="dialer-transfer", exten="1002", application="Dial", bridge_id="b9")
    agent_leg = row(cid, context="dialer-agent-dial", application="Dial")
    assert moves(back(eng, [agent_leg, taken], 40.0)) == []
    assert eng.calls[cid].state is CallState.CONNECTED
    assert eng.roster.get("bob").state is AgentState.TALKING


def test_an_amd_audit_redirect_not_carried_out_hangs_the_machine_up_as_after_a_refusal():
    eng = audit.make_engine()
    audit.login_ready(eng, "a1", "1001")
    [cid] = audit.dial(eng)
    [r] = moves(audit.machine(eng, cid, 0), "agent")
    lost_at(eng, r, 7.0)
    out = back(eng, [row(cid)], 8.0)
    assert [c for c in out if isinstance(c, HangupChannel)] == [HangupChannel(cid, audit.chan(cid), 16)]
    assert eng.calls[cid].state is CallState.MACHINE
    assert eng.roster.get("a1").state is AgentState.READY


def test_a_second_transfer_not_carried_out_is_not_taken_for_the_bridge_of_its_target():
    """The customer still talks to a2 (in `dialer-transfer,1002`'s bridge since the first transfer)."""
    eng = make_engine()
    cid, _first = _transferring(eng)
    bridge(eng, cid, 21.0)  # a2 took it
    login_ready(eng, "a3", "1003", now=22.0)
    [r] = moves(eng.transfer("a2", cid, "a3", 30.0, supervisor_extension="1999", ring_timeout_s=15.0))
    lost_at(eng, r, 30.1)
    out = back(eng, [in_bridge(cid, "dialer-transfer", "1002")], 31.0)
    assert eng.roster.get("a3").state is AgentState.READY  # not talking to a customer it never got
    assert [(m.context, m.exten) for m in moves(out)] == [("dialer-transfer", "1002")]  # back to a2
