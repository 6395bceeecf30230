"""Calls an earlier daemon process left in Asterisk: found among CoreShowChannels' rows, and taken over.

Pure functions over the `Engine`'s state, like `link` and `unsure`. A daemon that dies (kill -9, OOM, its host
lost) leaves its calls in Asterisk: dials still ringing, people who answered and wait in `dialer-connect`
(`Wait(${DIALER_PARK_MAX})`, 600 s of silence, before the dialplan plays the information message by itself),
conversations with agents. The new process's engine knows none of them, so their events match no call: a
person would wait in silence, never be counted abandoned, and their lead be recovered an hour later as a
plain no-answer. Hence every look at the channels (the resync after each AMI connect, the first one
included, and the looks `dialer.engine.unsure` asks for) also looks for them, and a verdict (`DialerAMD`) of
an unknown call of one of our campaigns asks for a look (`look`):

    find(rows)      the calls nobody here placed: rows grouped by Linkedid (every channel of a call has the
                    call id as its Linkedid), whose first leg, the one whose Uniqueid is the call id
                    (ChannelId on the Originate), is a Local channel of ours: `Local/<digits>@<outbound
                    context>-...;1` for a predictive dial, `Local/<extension>@dialer-agent-...;1` for an
                    agent's (preview, manual). Rows carry no channel variables (Asterisk 22's CoreShowChannel
                    lists only the snapshot, Application, Duration and BridgeId), so:
    (the daemon)    reads each one's `DIALER_CAMPAIGN` and `DIALER_LEAD` (AMI `Getvar`) and, from the
                    campaign's lead source, the lead's take (a `DialRequest` with its target), so that the
                    call's record is written on the lead as any other; a campaign not run here is left alone
    adopt(...)      takes the call over, by where its legs are:

    not up (ringing)            a dial again, hung up once it has rung `MIN_RING_S` (15 s) counted from the
                                look (it may have rung before: the law's minimum is never cut short); if it is
                                answered first, it is served as any answer. Ended so, it is a no-answer
    `dialer-connect`, in AMD()  answered, its verdict to come: served as any answer (an agent, else the hold and
                                the information message)
    `dialer-connect`, else      its verdict went with the old process: a live answer waiting for nobody, whatever
                                the verdict was (the safe side). The information message now (`dialer-abandon`),
                                counted abandoned in the campaign's ledger; its record takes the 72-hour lock on
                                the lead's numbers. How long the person waited before is not known (`wait_s` 0)
    `dialer-abandon`            hearing the message already (the old process counted the abandon): followed to its
                                end, abandoned, with the lock
    with an agent               `dialer-to-agent` or `dialer-transfer` (the extension it was sent to), or in a
                                bridge: left to finish. The agent of that extension, if logged in and not busy here
                                (a restart logs agents back in paused), is TALKING on it as if connected at the look,
                                gets its screen-pop, goes to wrap-up at its end, then back to the pause they were in
    agent-first                 with its agent from the start: the agent (of the extension in the channel name)
                                DIALING until the customer answers, TALKING once they have
    elsewhere                   left alone (a machine's message, an agentless message or IVR: no one waits)

Adopted calls end by their own events. Their OriginateResponse went to the dead process's connection, so a
dial not answered ends at its Hangup (`adopted`); a Redirect or Hangup Asterisk refuses because the channel is
gone ends the call at once (its Hangup may have come before it was adopted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.state import AgentEvent, AgentState
from dialer.ami import events as ev
from dialer.engine import link, transfers
from dialer.engine.calls import Call, CallEvent, CallKind
from dialer.engine.commands import (
    ABANDON_CONTEXT,
    AGENT_CONTEXT,
    AgentNotice,
    CheckChannels,
    Command,
    ScreenPop,
)
from dialer.engine.unsure import RECHECK_S
from pacing.types import MIN_RING_S

if TYPE_CHECKING:
    from agents.state import Agent
    from dialer.engine.core import DialRequest, Engine

__all__ = ["AGENT_LOCAL_CONTEXT", "Orphan", "adopt", "find", "look"]

AGENT_LOCAL_CONTEXT = "dialer-agent"  # `Local/<ext>@dialer-agent/n`: the agent leg of an agent-first Originate
_ASTERISK_UNIQUEID = re.compile(r"^\d+\.\d+$")  # what Asterisk names a channel we did not name (no ChannelId)
_CALL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
_LOCAL = re.compile(r"^Local/(?P<exten>[^@]+)@(?P<context>.+)-[0-9a-f]+;1$")
_WITH_AGENT = (AGENT_CONTEXT, transfers.CONTEXT)


@dataclass(frozen=True, slots=True)
class Orphan:
    """A call in Asterisk that this engine never placed: its first leg (Uniqueid == the call id) and the
    other rows of the call (its Linkedid), as CoreShowChannels listed them."""

    call_id: str
    first: ev.ChannelRow
    others: tuple[ev.ChannelRow, ...] = ()

    @property
    def agent_first(self) -> bool:
        """An agent's dial (preview, manual): the first leg is the agent's phone."""
        m = _LOCAL.match(self.first.channel)
        return m is not None and m["context"] == AGENT_LOCAL_CONTEXT

    @property
    def customer(self) -> ev.ChannelRow | None:
        """The customer's leg: the first leg of a predictive dial; the `;1` leg the agent's `Dial()` made."""
        if not self.agent_first:
            return self.first
        return next((r for r in self.others if _LOCAL.match(r.channel) and r.uniqueid != self.call_id), None)

    @property
    def number(self) -> str:
        """The number dialed (E.164), from the customer leg's Local channel name ("" when not known yet)."""
        leg = self.customer
        m = _LOCAL.match(leg.channel) if leg is not None else None
        digits = m["exten"] if m is not None else ""
        return f"+{digits}" if digits.isdigit() else ""

    @property
    def extension(self) -> str | None:
        """The agent's phone the call is with: the agent leg's for an agent's dial, else the extension the
        customer leg was sent to (`dialer-to-agent`, `dialer-transfer`); None when with nobody."""
        if self.agent_first:
            m = _LOCAL.match(self.first.channel)
            return m["exten"] if m is not None else None
        if self.first.context in _WITH_AGENT and self.first.exten:
            return self.first.exten
        return None

    @property
    def with_agent(self) -> bool:
        return self.agent_first or self.extension is not None or bool(self.first.bridge_id)


def find(engine: Engine, rows: Iterable[ev.ChannelRow], outbound_context: str = "dialer-outbound") -> list[Orphan]:
    """The calls in `rows` that no call of the engine (ended or not) is, whose first leg is a Local channel of
    ours (`outbound_context` for predictive dials, `dialer-agent` for agents'); in the order of the rows."""
    by_call: dict[str, list[ev.ChannelRow]] = {}
    for row in rows:
        by_call.setdefault(row.linkedid, []).append(row)
    out: list[Orphan] = []
    for call_id, legs in by_call.items():
        if call_id in engine.calls or call_id in engine.aliases or not _CALL_ID.match(call_id):
            continue
        if _ASTERISK_UNIQUEID.match(call_id):
            continue
        first = next((r for r in legs if r.uniqueid == call_id), None)
        m = _LOCAL.match(first.channel) if first is not None else None
        if first is None or m is None or m["context"] not in (outbound_context, AGENT_LOCAL_CONTEXT):
            continue
        out.append(Orphan(call_id, first, tuple(r for r in legs if r is not first)))
    return out


def look(engine: Engine, call_id: str, now: float) -> list[Command]:
    """A verdict of a call the engine does not know: when its id is one of our campaigns' (the id starts with
    the campaign's, see `Engine.new_call_id`), look at the channels (`CheckChannels`; the daemon adopts what it
    finds), at most every `RECHECK_S`. The look at each connect finds such calls first; this one is for a look
    that failed, or a call that escaped it."""
    if call_id in engine.calls or call_id in engine.aliases:
        return []
    head = call_id.rsplit("-", 2)[0] if call_id.count("-") >= 2 else None
    if head is None or not any(cid[:24] == head for cid in engine.campaigns):
        return []
    if engine.orphans_looked_at is not None and now < engine.orphans_looked_at + RECHECK_S:
        return []
    engine.orphans_looked_at = now
    return [CheckChannels(asked_at=now)]


def adopt(engine: Engine, orphan: Orphan, campaign_id: str, request: DialRequest, now: float) -> list[Command]:
    """Take over `orphan`, a call of `campaign_id` for the lead of `request` (see the module docstring).
    Returns [] and changes nothing for a call that is left alone (unknown campaign, or nowhere we serve)."""
    if campaign_id not in engine.campaigns or orphan.call_id in engine.calls:
        return []
    if orphan.agent_first:
        return _adopt_agent_first(engine, orphan, campaign_id, request, now)
    row = orphan.first
    up = row.state is ev.ChannelState.UP
    if not up:
        c = _call(engine, orphan, campaign_id, request, now, CallEvent.ORIGINATE)
        c.ring_limit_s = MIN_RING_S
        if row.state is ev.ChannelState.RINGING:
            c.apply(CallEvent.RING)
            c.ringing_at = now  # the latest it began ringing: the 15 s run from here
            engine.ring_deadlines[c.call_id] = now + MIN_RING_S
        return []
    if row.context == link.CONNECT_CONTEXT and row.application == "AMD" and not row.bridge_id:
        c = _call(engine, orphan, campaign_id, request, now, CallEvent.ORIGINATE)
        return engine.answered(c, now)
    if row.context == link.CONNECT_CONTEXT and not row.bridge_id:
        c = _call(engine, orphan, campaign_id, request, now, CallEvent.ORIGINATE, CallEvent.ANSWER,
                  CallEvent.HUMAN)
        c.answered_at = c.human_at = now
        c.amd_status, c.amd_cause = ev.AmdStatus.NOTSURE.value, link.MISSED_VERDICT
        engine.stats.answered += 1
        engine.stats.live += 1
        return engine.abandon(c, now)
    if row.context == ABANDON_CONTEXT and not row.bridge_id:
        c = _call(engine, orphan, campaign_id, request, now, CallEvent.ORIGINATE, CallEvent.ANSWER,
                  CallEvent.HUMAN, CallEvent.ABANDON)
        c.answered_at = c.human_at = now
        c.abandoned = True  # counted by the process that sent it there
        return []
    if orphan.extension is None and not row.bridge_id:
        return []  # a machine's or an agentless message: nobody waits, and it ends by itself
    c = _call(engine, orphan, campaign_id, request, now, CallEvent.ORIGINATE, CallEvent.ANSWER, CallEvent.HUMAN,
              CallEvent.ASSIGN, CallEvent.BRIDGE)
    c.answered_at = c.human_at = c.connected_at = now
    engine.stats.connected += 1
    return _agent_on(engine, c, orphan.extension, now, talking=True)


def _adopt_agent_first(engine: Engine, orphan: Orphan, campaign_id: str, request: DialRequest,
                       now: float) -> list[Command]:
    leg = orphan.customer
    kind = CallKind.MANUAL if request.lead_id.startswith("manual-") else CallKind.PREVIEW
    path = [CallEvent.RING_AGENT]
    if orphan.first.state is ev.ChannelState.UP or leg is not None:
        path.append(CallEvent.AGENT_UP)
    if leg is not None:
        path.append(CallEvent.RING)
    answered = leg is not None and (leg.state is ev.ChannelState.UP or bool(leg.bridge_id))
    if answered:
        path.append(CallEvent.PICKUP)
    c = _call(engine, orphan, campaign_id, request, now, *path, kind=kind)
    if leg is not None:
        c.customer_uid, c.customer_channel = leg.uniqueid, leg.channel
        engine.aliases[leg.uniqueid] = c.call_id
    if answered:
        c.answered_at = c.connected_at = now
        engine.stats.answered += 1
        engine.stats.connected += 1
    return _agent_on(engine, c, orphan.extension, now, talking=answered)


def _call(engine: Engine, orphan: Orphan, campaign_id: str, r: DialRequest, now: float, *path: CallEvent,
          kind: CallKind = CallKind.PREDICTIVE) -> Call:
    """The adopted call, moved along `path` from PENDING, and counted in its campaign."""
    camp = engine.campaigns[campaign_id]
    began = now - orphan.first.duration  # the Originate created the first leg
    c = Call(call_id=orphan.call_id, campaign_id=campaign_id, lead_id=r.lead_id, number=r.number or orphan.number,
             attempt=r.attempt, number_index=r.number_index, fields=dict(r.fields), created_at=began,
             originated_at=began, callback_agent=r.callback_agent, callback_at=r.callback_at, zone=r.zone,
             lead_list=r.lead_list, target=r.target, kind=kind, record=camp.record_calls, adopted=True,
             channel=orphan.first.channel)
    for event in path:
        c.apply(event)
    engine.calls[c.call_id] = c
    camp.active.add(c.call_id)
    return c


def _agent_on(engine: Engine, c: Call, extension: str | None, now: float, *, talking: bool) -> list[Command]:
    """The agent of `extension` is on `c`: DIALING (an agent's dial not answered yet) or TALKING. Only an agent
    of the call's campaign who is PAUSED or READY (a restart logs them back in paused) is moved; back to
    their pause after the call, as after a manual dial made while paused."""
    agent = _agent_at(engine, c.campaign_id, extension)
    if agent is None:
        return []
    back = agent.pause_reason if agent.state is AgentState.PAUSED else None
    engine.roster.apply(agent.agent_id, AgentEvent.DIAL, now, call_id=c.call_id, reason=back)
    c.agent_id = agent.agent_id
    out: list[Command] = [ScreenPop(agent.agent_id, c.call_id, engine.screenpop(c, agent))]
    if talking:
        engine.roster.apply(agent.agent_id, AgentEvent.CONNECT, now)
        agent.calls_taken += 1
        out.append(AgentNotice(agent.agent_id, "connected", {"call_id": c.call_id, "wait_s": 0.0}))
    out.append(engine.state_notice(agent))
    return out


def _agent_at(engine: Engine, campaign_id: str, extension: str | None) -> Agent | None:
    if extension is None:
        return None
    for agent in engine.roster:
        if (agent.extension == extension and agent.campaign_id == campaign_id
                and agent.state in (AgentState.PAUSED, AgentState.READY)):
            return agent
    return None
