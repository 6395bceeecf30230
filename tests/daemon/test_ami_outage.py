"""The daemon across an AMI outage, against a scripted AMI port: no dials while the connection is down or the
calls are being resynced, a dial never sent gives its lead back uncounted, the resync leaves alone what was
dialed after the loss, and a Redirect racing a hang-up is no warning.

No test sleeps: the port hands the daemon one event at a time and says when it is done with it, and
CoreShowChannels answers when the test says so. Pacing steps are run by the test (`_pace_once`), so that
nothing dials behind its back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from daemon_fakes import db_get_answer, progressive_ami_side, ready_agent

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.client import AmiResponse
from dialer.ami.marks import MARK_FAMILY, mark_key
from dialer.clock import ScaledClock
from dialer.daemon import Daemon
from dialer.engine.calls import CallOutcome, CallState
from dialer.engine.commands import Redirect
from dialer.engine.core import DialRequest
from dialer.engine.unsure import Refused
from dialer.errors import AmiConnectionError, AmiError
from dialer.leadsource import InMemoryLeadSource
from pacing import Reason

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure
_prefixes = itertools.count(1)


class ScriptedAmi:
    """The daemon's AMI port, driven by the test.

    `feed` hands over one event and returns once the daemon asks for the next one (it is done with this
    one). CoreShowChannels answers with `channels` once the test sets its result. An Originate submitted
    while `up` is False comes back as `AmiClient` reports it: `OriginateFailed(sent=False)`; CoreShowChannels
    then raises `AmiConnectionError`, and so does every other action while `unanswered` says why.
    """

    def __init__(self) -> None:
        self._q: asyncio.Queue[tuple[ev.AmiEvent, asyncio.Future[None]]] = asyncio.Queue()
        self._fed: list[asyncio.Future[None]] = []
        self.up = True
        self.originates: list[actions.OriginateAction] = []
        self.refusal = ""  # an Error answer to every other action
        self.unanswered = ""  # no answer to every other action (the connection lost with it in flight)
        self.sent: list[actions.AmiAction] = []
        self.answered = asyncio.Event()  # an action other than Originate got its answer
        self.asked = asyncio.Event()  # CoreShowChannels was sent
        self.channels: asyncio.Future[list[ev.ChannelRow]] = asyncio.get_running_loop().create_future()
        self.astdb: dict[str, str] = {}  # AstDB as DBGet reads it: "<family>/<key>" -> value
        self.db_refusal = ""  # an Error answer to DBGet only ("Permission denied": the AMI user may not)

    async def events(self) -> AsyncIterator[ev.AmiEvent]:
        while True:
            event, done = await self._q.get()
            yield event
            done.set_result(None)

    def push(self, event: ev.AmiEvent) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._q.put_nowait((event, done))
        self._fed.append(done)
        return done

    async def feed(self, event: ev.AmiEvent) -> None:
        async with asyncio.timeout(LIMIT):
            await self.push(event)

    async def settle(self) -> None:
        """Until the daemon is done with every event handed over so far."""
        async with asyncio.timeout(LIMIT):
            await asyncio.gather(*self._fed)

    def submit_originate(self, action: actions.OriginateAction) -> None:
        self.originates.append(action)
        if not self.up:
            self.push(ev.OriginateFailed(action.call_id, "not connected to AMI; the Originate was not sent",
                                         sent=False))

    async def send(self, action: actions.AmiAction, timeout: float = 10.0, *, check: bool = False) -> Any:
        self.sent.append(action)
        self.answered.set()
        if self.unanswered:
            raise AmiConnectionError(self.unanswered)
        if self.refusal:
            raise AmiError(f"Asterisk refused {action.name}: {self.refusal}")
        if action.name == "DBGet":
            return self._db_get(dict(action.headers))
        return None

    def _db_get(self, h: dict[str, str]) -> AmiResponse:
        return db_get_answer(self.astdb, h, self.db_refusal)

    async def core_show_channels(self, timeout: float = 10.0) -> list[ev.ChannelRow]:
        if not self.up:
            raise AmiConnectionError("not connected to AMI; CoreShowChannels not sent")
        self.asked.set()
        return await self.channels


class Leads(InMemoryLeadSource):
    """Says when a lead came back."""

    def __init__(self, n: int) -> None:
        super().__init__([DialRequest(f"L{i}", f"+1555000{i:04d}") for i in range(n)])
        self.returned = asyncio.Event()

    async def give_back(self, request: DialRequest, now: float) -> None:
        await super().give_back(request, now)
        self.returned.set()


@contextlib.asynccontextmanager
async def ami_side(redis_url: str, leads: Leads) -> AsyncIterator[tuple[Daemon, ScriptedAmi]]:
    """A daemon whose AMI side runs (events in, actions out), with no pacing or timer loop of its own."""
    ami = ScriptedAmi()
    async with progressive_ami_side(redis_url, leads, ami, f"outage{next(_prefixes)}", T0) as d:
        # the login's, as AmiClient sends first: the daemon looks for calls an earlier process left (none)
        first = ami.push(ev.AmiConnected(reconnect=False))
        async with asyncio.timeout(LIMIT):
            await ami.asked.wait()
        ami.channels.set_result([])
        await first
        ami.asked.clear()
        ami.channels = asyncio.get_running_loop().create_future()
        yield d, ami


def lead_of(action: actions.OriginateAction) -> str:
    variables = dict(action.headers)["Variable"]
    return next(v.split("=", 1)[1] for v in variables.split(",") if v.startswith("DIALER_LEAD="))


async def test_no_dials_while_ami_is_down_nor_until_the_resync_is_done(redis_url):
    leads = Leads(5)
    async with ami_side(redis_url, leads) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await ami.feed(ev.AmiDisconnected("Asterisk closed the connection"))
        await d._pace_once("c", leads)
        held = d.engine.campaigns["c"].pacer.decisions[-1]
        assert (held.launch, held.reason) == (0, Reason.PBX_LINK_DOWN)
        assert "AMI connection lost (Asterisk closed the connection)" in held.detail
        back = ami.push(ev.AmiConnected(reconnect=True))
        async with asyncio.timeout(LIMIT):
            await ami.asked.wait()  # the daemon waits for CoreShowChannels...
        await d._pace_once("c", leads)
        assert ami.originates == []  # ...and dials nothing meanwhile
        assert "resyncing" in d.engine.campaigns["c"].pacer.decisions[-1].detail
        ami.channels.set_result([])
        await ami.settle()
        assert not back.cancelled()
        await d._pace_once("c", leads)
        assert [lead_of(o) for o in ami.originates] == ["L0"]
        assert await leads.depth(0.0) == 4


async def test_a_dial_never_sent_gives_its_lead_back_and_counts_nothing(redis_url):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        ami.up = False  # the connection just dropped; its AmiDisconnected is not read yet
        await d._pace_once("c", leads)
        [first] = ami.originates
        await ami.settle()
        async with asyncio.timeout(LIMIT):
            await leads.returned.wait()
        camp = d.engine.campaigns["c"]
        assert [r.lead_id for r in leads.given_back] == ["L0"]
        assert leads.results == []  # no call record: no attempt on the lead
        assert camp.pacer.est.dials == 0  # no dial for the pacer
        assert first.call_id not in d.engine.calls
        assert camp.active == set()
        assert d.leads_returned == 1
        ami.up = True
        await d._pace_once("c", leads)
        assert [lead_of(o) for o in ami.originates] == ["L0", "L0"]  # the same lead, dialed for real


async def test_the_resync_ends_only_calls_open_at_the_loss_and_catches_up_an_answer(redis_url, caplog):
    leads = Leads(2)
    caplog.set_level(logging.WARNING, logger="dialer.daemon")
    async with ami_side(redis_url, leads) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        ready_agent(d, "a3", "1003", campaign="c")
        d.agent_command(ac.Login("a2", "1002", "c"))  # paused: may dial by hand
        await d._pace_once("c", leads)
        answered, gone = (o.call_id for o in ami.originates)
        await ami.feed(ev.AmiDisconnected("Asterisk closed the connection"))
        back = ami.push(ev.AmiConnected(reconnect=True))
        async with asyncio.timeout(LIMIT):
            await ami.asked.wait()
        manual = await d.manual_dial("a2", "+15559990000")  # placed on the new connection, no channel yet
        ami.channels.set_result([ev.ChannelRow(channel="Local/15550000000@dialer-outbound-1;1", uniqueid=answered,
                                               linkedid=answered, state=ev.ChannelState.UP,
                                               context="dialer-connect", application="Wait")])
        await back
        calls = d.engine.calls
        assert calls[gone].outcome is CallOutcome.LOST
        [lost] = [r for r in caplog.records if r.getMessage().startswith("call lost")]
        assert (lost.levelno, lost.call_id) == (logging.WARNING, gone)  # type: ignore[attr-defined]
        assert calls[manual].state is not CallState.ENDED
        assert d.engine.roster.get("a2").state is AgentState.DIALING
        assert calls[answered].state is CallState.CONNECTING  # answered in the outage: to an agent at once
        assert calls[answered].channel == "Local/15550000000@dialer-outbound-1;1"


@pytest.mark.parametrize(
    ("refusal", "level"),
    [
        ("Channel does not exist: Local/15550000000@dialer-outbound-1;1", logging.DEBUG),
        ("Channel1 does not exist: Local/15550000000@dialer-outbound-1;1", logging.DEBUG),
        ("No such channel", logging.DEBUG),
        ("Redirect failed, channel not up.", logging.DEBUG),
        ("Permission denied", logging.WARNING),
    ],
)
async def test_an_action_racing_the_callers_hang_up_is_no_warning(redis_url, caplog, refusal, level):
    async with ami_side(redis_url, Leads(0)) as (d, ami):
        caplog.set_level(logging.DEBUG, logger="dialer.daemon")
        ami.refusal = refusal
        told: list[bool] = []
        engine_failed = d.engine.on_action_failed

        def on_action_failed(action, failure, now):
            told.append(isinstance(failure, Refused) and failure.channel_gone)
            return engine_failed(action, failure, now)

        d.engine.on_action_failed = on_action_failed  # type: ignore[method-assign]
        d.execute([Redirect("gone-1", "Local/15550000000@dialer-outbound-1;1", "dialer-to-agent", "1001", "agent")],
                  d.clock.now())
        async with asyncio.timeout(LIMIT):
            await ami.answered.wait()  # the failure is logged in the same step
        [failed] = [r for r in caplog.records if r.getMessage() == "AMI action failed"]
        assert failed.levelno == level
        assert told == [level == logging.DEBUG], "the engine is told whether the channel was gone"


def redirects(ami: ScriptedAmi) -> list[dict[str, str]]:
    return [dict(a.headers) for a in ami.sent if a.name == "Redirect"]


async def person_for_a1(d: Daemon, ami: ScriptedAmi, leads: Leads, unanswered: str, *,
                        drop: bool = False) -> tuple[str, str]:
    """a1 ready, one dial answered by a person: the daemon sends the Redirect to a1's phone, which gets no
    answer (`unanswered` says why; with `drop`, the connection is gone from then on)."""
    ready_agent(d, "a1", "1001", campaign="c")
    await d._pace_once("c", leads)
    [o] = ami.originates
    ami.unanswered, ami.up = unanswered, not drop
    channel = "Local/15550000000@dialer-outbound-1;1"
    kw = {"channel": channel, "uniqueid": o.call_id, "linkedid": o.call_id}
    await ami.feed(ev.Newchannel(state=ev.ChannelState.DOWN, **kw))
    await ami.feed(ev.Newstate(state=ev.ChannelState.UP, **kw))
    await ami.feed(ev.AmdResult(call_id=o.call_id, status=ev.AmdStatus.HUMAN, **kw))
    async with asyncio.timeout(LIMIT):
        await ami.answered.wait()  # the failure, if any, is handed to the engine in the same step
    return o.call_id, channel


async def test_a_redirect_whose_answer_the_drop_took_is_settled_by_the_resync_not_sent_again(redis_url):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        # the connection drops with the Redirect in flight: Asterisk may have carried it out
        cid, channel = await person_for_a1(d, ami, leads, "AMI connection lost: Asterisk closed the connection",
                                           drop=True)
        c = d.engine.calls[cid]
        assert c.state is CallState.CONNECTING  # not offered again, not sent to the abandon message
        assert d.engine.roster.get("a1").state is AgentState.RESERVED
        await ami.feed(ev.AmiDisconnected("Asterisk closed the connection"))
        ami.up, ami.unanswered = True, ""
        back = ami.push(ev.AmiConnected(reconnect=True))
        ami.channels.set_result([ev.ChannelRow(channel=channel, uniqueid=cid, linkedid=cid, state=ev.ChannelState.UP,
                                               context="dialer-to-agent", exten="1001", application="Dial",
                                               bridge_id="b-1")])
        async with asyncio.timeout(LIMIT):
            await back
        assert c.state is CallState.CONNECTED  # it was: the person talks to a1
        assert d.engine.roster.get("a1").state is AgentState.TALKING
        assert [r["Exten"] for r in redirects(ami)] == ["1001"]  # one Redirect, never a second


async def test_a_redirect_unanswered_in_time_is_checked_at_once_and_sent_again_when_not_carried_out(redis_url):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        cid, channel = await person_for_a1(
            d, ami, leads, "no answer to Redirect within 5 s: Asterisk is overloaded or the connection is half-open")
        async with asyncio.timeout(LIMIT):
            await ami.asked.wait()  # the link is up: the daemon looks where the leg is at once
        assert d.engine.calls[cid].state is CallState.CONNECTING
        ami.unanswered = ""
        ami.answered.clear()
        ami.channels.set_result([ev.ChannelRow(channel=channel, uniqueid=cid, linkedid=cid, state=ev.ChannelState.UP,
                                               context="dialer-connect", application="Wait")])
        async with asyncio.timeout(LIMIT):
            await ami.answered.wait()  # still parked: not carried out, so a1 (ready again) gets it now
        assert [r["Exten"] for r in redirects(ami)] == ["1001", "1001"]
        assert d.engine.calls[cid].agent_id == "a1"


async def gone_in_the_outage(d: Daemon, ami: ScriptedAmi, leads: Leads, mark: str | None) -> str:
    """One dial, not answered yet when the link drops; in the outage the dialplan marks its answer (`mark`:
    "<seconds after the dial>:<status>"; None: never answered), and by the resync the call is gone."""
    ready_agent(d, "a1", "1001", campaign="c")
    await d._pace_once("c", leads)
    [o] = ami.originates
    await ami.feed(ev.AmiDisconnected("half-open: no answer to Ping"))
    d.clock = ScaledClock(d.clock.scale, start=d.clock.now() + 15)  # the outage: 15 s till the reconnect
    if mark is not None:
        after, status = mark.split(":")
        at = d.engine.calls[o.call_id].dialed_at + float(after)
        ami.astdb[f"{MARK_FAMILY}/{mark_key(o.call_id, at)}"] = f"{at:.0f}:{status}"
    back = ami.push(ev.AmiConnected(reconnect=True))
    async with asyncio.timeout(LIMIT):
        await ami.asked.wait()
    ami.channels.set_result([])
    async with asyncio.timeout(LIMIT):
        await back
    return o.call_id


@pytest.mark.parametrize("status", ["HUMAN", "NOTSURE", "SKIPPED"])
async def test_a_person_who_answered_in_the_outage_and_hung_up_unseen_is_an_abandon(redis_url, status):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        cid = await gone_in_the_outage(d, ami, leads, f"6:{status}")
        c = d.engine.calls[cid]
        assert c.outcome is CallOutcome.ABANDONED  # when they hung up is not known: not hung_up_waiting (< 2 s)
        assert c.abandoned  # counted abandoned: the record's flag is what locks the number 72 hours
        assert c.answered_at == c.human_at == round(c.dialed_at + 6)  # from the mark (${EPOCH}: whole seconds)
        camp = d.engine.campaigns["c"]
        status_now = camp.pacer.ledger.status(d.clock.now())
        assert (status_now.lives, status_now.abandons) == (1, 1)
        [record] = [r for r in leads.results if r.call_id == cid]
        assert (record.outcome, record.abandoned) == ("abandoned", True)
        assert [a.name for a in ami.sent] == ["DBGet"]  # nothing sent to the gone channel


async def test_an_answer_in_the_outage_with_no_verdict_yet_is_an_abandon(redis_url):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        cid = await gone_in_the_outage(d, ami, leads, "4:ANSWERED")
        c = d.engine.calls[cid]
        assert (c.outcome, c.abandoned) == (CallOutcome.ABANDONED, True)
        assert d.engine.campaigns["c"].pacer.ledger.status(d.clock.now()).abandons == 1


async def test_a_machine_that_answered_in_the_outage_is_a_machine(redis_url):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        cid = await gone_in_the_outage(d, ami, leads, "5:MACHINE")
        c = d.engine.calls[cid]
        assert (c.outcome, c.abandoned) == (CallOutcome.MACHINE, False)
        status_now = d.engine.campaigns["c"].pacer.ledger.status(d.clock.now())
        assert (status_now.lives, status_now.abandons) == (0, 0)


async def test_a_call_never_answered_in_the_outage_stays_lost(redis_url):
    leads = Leads(1)
    async with ami_side(redis_url, leads) as (d, ami):
        cid = await gone_in_the_outage(d, ami, leads, None)
        c = d.engine.calls[cid]
        assert (c.outcome, c.abandoned) == (CallOutcome.LOST, False)
        assert [dict(a.headers)["Family"] for a in ami.sent] == [MARK_FAMILY]  # it was looked for


async def test_marks_refused_fall_back_to_lost_and_say_to_grant_the_right(redis_url, caplog):
    leads = Leads(1)
    caplog.set_level(logging.WARNING, logger="dialer.ami.marks")
    async with ami_side(redis_url, leads) as (d, ami):
        ami.db_refusal = "Permission denied"
        cid = await gone_in_the_outage(d, ami, leads, "6:HUMAN")
        assert d.engine.calls[cid].outcome is CallOutcome.LOST
        [warning] = [r for r in caplog.records if r.name == "dialer.ami.marks"]
        assert warning.levelno == logging.WARNING
        assert "Permission denied" in warning.getMessage()
        assert "write=reporting" in warning.getMessage()


async def test_marks_unanswered_fall_back_to_lost_with_a_warning(redis_url, caplog):
    leads = Leads(1)
    caplog.set_level(logging.WARNING, logger="dialer.ami.marks")
    async with ami_side(redis_url, leads) as (d, ami):
        ready_agent(d, "a1", "1001", campaign="c")
        await d._pace_once("c", leads)
        [o] = ami.originates
        await ami.feed(ev.AmiDisconnected("half-open: no answer to Ping"))
        ami.astdb[f"{MARK_FAMILY}/{mark_key(o.call_id, d.clock.now())}"] = f"{d.clock.now():.0f}:HUMAN"
        ami.unanswered = "no answer to DBGet within 5 s: Asterisk is overloaded or the connection is half-open"
        back = ami.push(ev.AmiConnected(reconnect=True))
        async with asyncio.timeout(LIMIT):
            await ami.asked.wait()
        ami.channels.set_result([])
        async with asyncio.timeout(LIMIT):
            await back
        assert d.engine.calls[o.call_id].outcome is CallOutcome.LOST
        [warning] = [r for r in caplog.records if r.name == "dialer.ami.marks"]
        assert "DBGet unanswered" in warning.getMessage()
        assert "write=reporting" in warning.getMessage()
