"""Blind transfers and what happens when a transfer leg fails, for the engine.

Pure functions over the `Engine`'s state, like `agentcalls`. A blind transfer is a Redirect of the
customer leg to `dialer-transfer,<extension>` (docs/DIALPLAN_CONTRACT.md, "Blind transfer"): the
dialplan `Dial()`s that phone, and when the `Dial()` fails it holds the customer (music on hold) until
the daemon moves the call again. So a failed leg never drops the person, and the engine decides where
they go next:

    CONNECTED --transfer--> TRANSFERRING          Redirect to the target; the target is RESERVED, the
                                                  first agent TALKING --transfer--> WRAPUP at once
    TRANSFERRING --bridge--> CONNECTED            the target took it (BridgeEnter of the customer leg)
    TRANSFERRING|TRANSFER_FALLBACK
        --transfer_fail--> TRANSFER_FALLBACK      the leg failed: `DialEnd` BUSY, NOANSWER, CONGESTION or
                                                  CHANUNAVAIL of the customer's Dial(); no answer within
                                                  the plan's `ring_timeout_s` (`tick`); the target agent
                                                  paused or logged out meanwhile; the Redirect refused, or
                                                  its answer lost and the leg found where it was
                                                  (`dialer.engine.unsure`)
    TRANSFER_FALLBACK --bridge--> CONNECTED       a fallback took it

The fallbacks, in order, each tried at most once per call:

1. back to the first agent, when that agent is still in wrap-up for this call (WRAPUP --take_back-->
   RESERVED, then TALKING on the bridge; the desk gets `transfer_failed` with the reason);
2. the supervisor's extension (unless the failed transfer was to the supervisor);
3. none left: the customer leg is hung up and the call ends `transfer_failed`: the person had talked to
   an agent, so it is neither an abandon for the ledger nor a pacing outcome.

Every failed leg is noted on the call (`Call.transfer_failures`, the record's `transfer_failures`).
After a transfer the disposition that counts is the target's (or, for the supervisor, who has no
desktop, the first agent's); the first agent's is kept as a note (`DispositionMade.final` False).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.state import AgentEvent, AgentState
from dialer.ami import events as ev
from dialer.engine.calls import TRANSFER_STATES, Call, CallEvent, CallOutcome, CallState, TransferPlan
from dialer.engine.commands import AgentNotice, Command, HangupChannel, Redirect, ScreenPop
from dialer.errors import IllegalTransition

if TYPE_CHECKING:
    from dialer.engine.core import Engine

__all__ = [
    "CONTEXT",
    "SUPERVISOR",
    "bridged",
    "ended",
    "is_final_disposition",
    "leg_failed",
    "on_dialbegin",
    "on_dialend",
    "rung_extension",
    "target_leaves",
    "transfer",
]

SUPERVISOR = "supervisor"
CONTEXT = "dialer-transfer"
_WHY_BY_DIALSTATUS = {
    "BUSY": "busy",
    "NOANSWER": "no answer",
    "CONGESTION": "congestion",
    "CHANUNAVAIL": "phone unavailable",
}


def transfer(engine: Engine, agent_id: str, call_id: str, target: str, plan: TransferPlan,
             now: float) -> list[Command]:
    """Blind-transfer `call_id` from `agent_id` to another agent (who must be READY) or the supervisor."""
    c = engine.calls.get(call_id)
    agent = engine.roster.get(agent_id)
    if c is None or agent is None or c.agent_id != agent_id or agent.call_id != call_id:
        raise IllegalTransition("agent", agent_id, agent.state.value if agent else "unknown",
                                f"transfer call {call_id}, which is not theirs")
    if target == agent_id:
        raise IllegalTransition("agent", agent_id, agent.state.value, "transfer a call to themselves")
    if c.state is not CallState.CONNECTED or agent.state is not AgentState.TALKING:
        raise IllegalTransition("call", call_id, c.state.value, "transfer (only a connected call can be)")
    channel = c.customer_leg
    if not channel:
        raise IllegalTransition("call", call_id, c.state.value, "transfer (its customer leg is not known yet)")
    if target == SUPERVISOR:
        extension = plan.supervisor_extension
    else:
        other = engine.roster.get(target)
        if other is None or other.campaign_id != agent.campaign_id:
            raise IllegalTransition("agent", target, "unknown", f"take a transfer in campaign {agent.campaign_id}")
        engine.roster.apply(target, AgentEvent.RESERVE, now, call_id=call_id)  # a busy target refuses, changing nothing
        extension = other.extension
    c.apply(CallEvent.TRANSFER)
    c.transferred_from, c.agent_id, c.transfer_plan = agent_id, target, plan
    c.transfer_failures.clear()
    engine.roster.apply(agent_id, AgentEvent.TRANSFER, now)  # the wrap-up keeps the call's id
    camp = engine.campaigns[c.campaign_id]
    engine.wrapup_deadlines[agent_id] = now + camp.wrapup_timeout_s
    out: list[Command] = [
        *_ring(engine, c, channel, extension, now),
        AgentNotice(agent_id, "transferred", {"call_id": call_id, "target": target}),
        engine.state_notice(agent),
    ]
    other = engine.roster.get(target)
    if other is not None:
        out.append(ScreenPop(target, call_id, engine.screenpop(c, other)))
        out.append(engine.state_notice(other))
    return out


def _ring(engine: Engine, c: Call, channel: str, extension: str, now: float) -> list[Command]:
    """Send the customer to `extension` through `dialer-transfer`; the leg has the plan's time to answer."""
    assert c.transfer_plan is not None
    c.transfer_leg = None
    engine.transfer_deadlines[c.call_id] = now + c.transfer_plan.ring_timeout_s
    return [Redirect(c.call_id, channel, CONTEXT, extension, "transfer", c.agent_id)]


def rung_extension(engine: Engine, c: Call) -> str | None:
    """The extension the transfer (or its fallback) in progress rings: the target agent's or the supervisor's."""
    if c.agent_id == SUPERVISOR:
        return c.transfer_plan.supervisor_extension if c.transfer_plan is not None else None
    agent = engine.roster.get(c.agent_id or "")
    return agent.extension if agent is not None else None


# ------------------------------------------------------------------------------------------ AMI events
def on_dialbegin(c: Call, e: ev.DialBegin) -> list[Command]:
    """The customer leg's `Dial()` in `dialer-transfer` started: remember the leg it rings."""
    if c.transfer_leg is None:
        c.transfer_leg = e.dest_uniqueid
    return []


def on_dialend(engine: Engine, c: Call, e: ev.DialEnd, now: float) -> list[Command]:
    """The customer leg's `Dial()` ended: a final failure status fails the leg (ANSWER: the bridge follows;
    CANCEL: the daemon moved the customer itself)."""
    why = _WHY_BY_DIALSTATUS.get(str(e.dial_status))
    if why is None or (c.transfer_leg is not None and e.dest_uniqueid != c.transfer_leg):
        return []
    return leg_failed(engine, c, why, now)


def bridged(engine: Engine, c: Call, now: float) -> list[Command]:
    """The customer leg entered the bridge of the phone the transfer (or a fallback) rang: done."""
    c.apply(CallEvent.BRIDGE)
    engine.transfer_deadlines.pop(c.call_id, None)
    c.transfer_leg = None
    if c.agent_id is not None and c.agent_id == c.transferred_from:
        c.transferred_from = None  # it came back: the call is the first agent's again
    agent = engine.roster.get(c.agent_id or "")
    if agent is None or agent.state is not AgentState.RESERVED or agent.call_id != c.call_id:
        return []
    engine.roster.apply(agent.agent_id, AgentEvent.CONNECT, now)
    agent.calls_taken += 1
    return [AgentNotice(agent.agent_id, "connected", {"call_id": c.call_id, "wait_s": 0.0}),
            engine.state_notice(agent)]


# ------------------------------------------------------------------------------------------ failures
def target_leaves(engine: Engine, agent_id: str, why: str, now: float) -> list[Command]:
    """A RESERVED agent a transfer leg rings pauses or logs out: that leg fails now (nothing if the agent
    is not such a target). The caller then applies the pause or logout to the freed agent."""
    agent = engine.roster.get(agent_id)
    if agent is None or agent.state is not AgentState.RESERVED or agent.call_id is None:
        return []
    c = engine.calls.get(agent.call_id)
    if c is None or c.state not in TRANSFER_STATES or c.agent_id != agent_id or agent_id == c.transferred_from:
        return []
    return leg_failed(engine, c, why, now)


def leg_failed(engine: Engine, c: Call, why: str, now: float) -> list[Command]:
    """The leg ringing `c.agent_id` failed for `why`: free that phone's agent, then the next fallback."""
    failed = c.agent_id or "?"
    c.apply(CallEvent.TRANSFER_FAIL)
    c.transfer_failures.append((failed, why))
    c.transfer_leg = None
    engine.transfer_deadlines.pop(c.call_id, None)
    out = _free(engine, c, failed, now)
    first = engine.roster.get(c.transferred_from or "")
    tried = {who for who, _ in c.transfer_failures}
    notice = {"call_id": c.call_id, "target": failed, "reason": why}
    channel = c.customer_leg
    plan = c.transfer_plan
    if channel and plan is not None and first is not None and first.state is AgentState.WRAPUP \
            and first.call_id == c.call_id and first.agent_id not in tried:
        engine.roster.apply(first.agent_id, AgentEvent.TAKE_BACK, now)
        engine.wrapup_deadlines.pop(first.agent_id, None)
        c.agent_id = first.agent_id
        out += _ring(engine, c, channel, first.extension, now)
        out.append(AgentNotice(first.agent_id, "transfer_failed", {**notice, "next": "you"}))
        return [*out, engine.state_notice(first)]
    if channel and plan is not None and SUPERVISOR not in tried:
        c.agent_id = SUPERVISOR
        out += _ring(engine, c, channel, plan.supervisor_extension, now)
        if first is not None and first.call_id == c.call_id:
            out.append(AgentNotice(first.agent_id, "transfer_failed", {**notice, "next": SUPERVISOR}))
        return out
    c.agent_id = c.transferred_from or failed
    if first is not None and first.call_id == c.call_id:
        out.append(AgentNotice(first.agent_id, "transfer_failed", {**notice, "next": None}))
    if channel:
        out.append(HangupChannel(c.call_id, channel, 16))
    return out + engine.end_call(c, CallOutcome.TRANSFER_FAILED, now)


def _free(engine: Engine, c: Call, who: str, now: float) -> list[Command]:
    """The agent whose phone the failed leg rang is no longer reserved for the call."""
    agent = engine.roster.get(who)
    if agent is None or agent.state is not AgentState.RESERVED or agent.call_id != c.call_id:
        return []
    if who == c.transferred_from:  # the take-back failed: back to the wrap-up of the call
        engine.roster.apply(who, AgentEvent.TAKE_BACK_FAILED, now)
        engine.wrapup_deadlines[who] = now + engine.campaigns[c.campaign_id].wrapup_timeout_s
        return [engine.state_notice(agent)]
    return engine.released(agent, c.call_id, now)


def ended(engine: Engine, c: Call, now: float) -> list[Command]:
    """A call in a transfer state ended (the customer hung up, shutdown): free the phone it rang. A first
    agent who was taking the call back returns to its wrap-up, told that the customer hung up."""
    engine.transfer_deadlines.pop(c.call_id, None)
    who = c.agent_id or ""
    agent = engine.roster.get(who)
    if agent is None or agent.state is not AgentState.RESERVED or agent.call_id != c.call_id:
        return []
    if who == c.transferred_from:
        out = _free(engine, c, who, now)
        return [AgentNotice(who, "customer_hung_up", {"call_id": c.call_id}), *out]
    c.agent_id = None
    return engine.released(agent, c.call_id, now)


def due(engine: Engine, now: float) -> list[Command]:
    """Transfer legs that rang their plan's `ring_timeout_s` without an answer fail now."""
    out: list[Command] = []
    for call_id, deadline in sorted(engine.transfer_deadlines.items(), key=lambda kv: kv[1]):
        if deadline > now:
            continue
        c = engine.calls.get(call_id)
        if c is None or c.state not in TRANSFER_STATES or c.transfer_plan is None:
            engine.transfer_deadlines.pop(call_id, None)
            continue
        if call_id in engine.unsure.moves:
            # the answer to its Redirect was lost: the phone may have taken it, and moving the customer now
            # would pull them out of that bridge; the deadline counts again once the leg is found
            continue
        out += leg_failed(engine, c, f"no answer within {c.transfer_plan.ring_timeout_s:g} s", now)
    return out


def is_final_disposition(c: Call | None, agent_id: str) -> bool:
    """Whether this agent's disposition is the call's (see the module docstring)."""
    if c is None or c.transferred_from is None:
        return True
    if c.agent_id == agent_id:
        return True
    return c.agent_id == SUPERVISOR and c.transferred_from == agent_id
