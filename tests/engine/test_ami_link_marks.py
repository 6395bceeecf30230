"""The resync with the dialplan's answer marks (`dialer.engine.link.marks_wanted`, `end_gone`): which calls the
daemon looks up, and how a gone call ends by its mark."""

from __future__ import annotations

import pytest
from test_agentless import make_engine as make_agentless_engine
from test_engine import answer, chan, dial, login_ready, make_engine, records

from dialer.ami import events as ev
from dialer.ami.marks import AnswerMark
from dialer.engine import link
from dialer.engine.calls import CallOutcome, CallState
from dialer.engine.commands import HangupChannel, Originate, Redirect
from dialer.engine.core import DialRequest, Engine


def outage(eng: Engine, lost_at: float, back_at: float) -> None:
    eng.on_ami(ev.AmiDisconnected("half-open: no answer to Ping"), lost_at)
    eng.on_ami(ev.AmiConnected(reconnect=True), back_at)


def test_only_calls_gone_before_their_answer_or_verdict_was_seen_are_looked_up():
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    ringing, screening, still_there, talking = dial(eng, now=0.0, n=4)
    kw = {"channel": chan(screening), "uniqueid": screening, "linkedid": screening}
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), 1.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), 2.0)  # answered, the verdict to come
    answer(eng, talking, 2.0)  # a person, sent to a1
    eng.on_ami(ev.AmiDisconnected("half-open"), 3.0)
    [after] = dial(eng, now=4.0)  # placed after the loss: its events come as usual
    eng.on_ami(ev.AmiConnected(reconnect=True), 5.0)
    row = ev.ChannelRow(channel=chan(still_there), uniqueid=still_there, linkedid=still_there,
                        state=ev.ChannelState.RINGING, context="dialer-outbound", application="AppDial2")
    wanted = link.marks_wanted(eng, [row], 6.0)
    assert wanted == {ringing: (0.0, 6.0), screening: (0.0, 6.0)}
    assert after not in wanted
    assert eng.calls[talking].state is CallState.CONNECTING  # known answered with a verdict: not looked up


@pytest.mark.parametrize(("verdict", "outcome", "abandoned"), [
    (ev.AmdStatus.HUMAN, CallOutcome.ABANDONED, True),
    (ev.AmdStatus.NOTSURE, CallOutcome.ABANDONED, True),
    (ev.AmdStatus.SKIPPED, CallOutcome.ABANDONED, True),
    (None, CallOutcome.ABANDONED, True),
    (ev.AmdStatus.HANGUP, CallOutcome.ABANDONED, True),
    (ev.AmdStatus.MACHINE, CallOutcome.MACHINE, False),
])
def test_a_gone_call_ends_by_its_mark_and_nothing_is_sent_to_its_channel(verdict, outcome, abandoned):
    eng = make_engine()
    login_ready(eng, "a1", "1001")
    [cid] = dial(eng, now=0.0)
    outage(eng, 2.0, 9.0)
    eng.ami_link.marks = {cid: AnswerMark(cid, 4.0, verdict)}
    cmds = eng.resync([], 10.0)
    c = eng.calls[cid]
    assert (c.outcome, c.abandoned, c.answered_at) == (outcome, abandoned, 4.0)
    assert not [x for x in cmds if isinstance(x, Redirect | HangupChannel)]
    [record] = records(cmds)
    assert (record.outcome, record.abandoned) == (outcome.value, abandoned)
    assert eng.roster.get("a1").state.value == "ready"  # nobody was reserved for a gone call
    assert eng.ami_link.marks == {}  # used once


def test_a_mark_before_the_dial_counts_from_the_dial():
    """${EPOCH} is whole seconds: an answer in the dial's first second may be marked before it."""
    eng = make_engine()
    [cid] = dial(eng, now=100.4)
    outage(eng, 102.0, 109.0)
    eng.ami_link.marks = {cid: AnswerMark(cid, 100.0, ev.AmdStatus.HUMAN)}
    eng.resync([], 110.0)
    assert eng.calls[cid].answered_at == eng.calls[cid].human_at == 100.4


@pytest.mark.parametrize(("verdict", "outcome"), [
    (ev.AmdStatus.HUMAN, CallOutcome.HUNG_UP_BEFORE_MESSAGE),
    (None, CallOutcome.HUNG_UP_SCREENING),
    (ev.AmdStatus.MACHINE, CallOutcome.MACHINE),
])
def test_in_an_agentless_campaign_nobody_waited_for_an_agent_so_no_abandon(verdict, outcome):
    eng = make_agentless_engine()
    [cid] = [c.call_id for c in eng.launch("camp", [DialRequest("L0", "+15551230000")], 0.0)
             if isinstance(c, Originate)]
    outage(eng, 2.0, 9.0)
    eng.ami_link.marks = {cid: AnswerMark(cid, 4.0, verdict)}
    [record] = records(eng.resync([], 10.0))
    assert (record.outcome, record.abandoned) == (outcome.value, False)
    if outcome is CallOutcome.HUNG_UP_BEFORE_MESSAGE:  # as a person who hung up still parked
        assert (record.human_at, record.message) == (4.0, "custom/outage-notice")


def test_a_gone_call_without_a_mark_is_lost_as_before():
    eng = make_engine()
    [cid, other] = dial(eng, now=0.0, n=2)
    outage(eng, 2.0, 9.0)
    eng.ami_link.marks = {other: AnswerMark(other, 4.0, ev.AmdStatus.HUMAN)}
    eng.resync([], 10.0)
    assert (eng.calls[cid].outcome, eng.calls[cid].abandoned) == (CallOutcome.LOST, False)
