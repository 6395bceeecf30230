"""The AMD audit, for the engine: a machine verdict checked by a spare agent.

Pure functions over the `Engine`'s state, like `agentcalls` and `transfers`. A machine verdict is, with
probability `amd_audit_share` (the engine's injected `rng`), a candidate for an audit. It goes to an
agent (SCREENING --audit--> AUDITING, then CONNECTED on the bridge) only when that agent is spare: the
ready agents outnumber every dial still in flight that may answer live plus every person waiting, so
even if all of them answer live each still finds an agent; otherwise it is hung up as usual and not
counted. An audit therefore never causes an abandon, whatever the ledger's budget. The agent's
disposition on it says whether AMD was right (`dialer.amd_audit`); the person possibly found was
already counted, as an estimated false positive, by the ledger, so the audit call feeds neither the
ledger nor the talk and wrap-up estimators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.state import AgentEvent
from dialer.ami import events as ev
from dialer.engine import callback_holds
from dialer.engine.calls import Call, CallEvent, CallState
from dialer.engine.commands import AGENT_CONTEXT, AgentNotice, Command, Redirect, ScreenPop

if TYPE_CHECKING:
    from agents.state import Agent
    from dialer.engine.core import Engine

__all__ = ["bridged", "hand_over", "spare_agent"]


def spare_agent(engine: Engine, c: Call) -> Agent | None:
    """The agent a machine verdict goes to for the AMD audit, or None: hang it up as usual.

    The draw comes first, so the random sequence does not depend on the agents. A candidate takes the
    longest-idle ready agent only when that agent is spare: more agents ready than dials that may still
    answer live (ringing, or under AMD) plus people waiting.
    """
    camp = engine.campaigns[c.campaign_id]
    if camp.amd_audit_share <= 0.0 or engine.rng.random() >= camp.amd_audit_share:
        return None
    may_answer = 0
    for cid in camp.active:
        other = engine.calls[cid]
        if cid != c.call_id and (other.is_pre_answer or other.state is CallState.SCREENING):
            may_answer += 1
    waiting = sum(1 for cid in camp.waiting if (w := engine.calls.get(cid)) is not None
                  and w.state is CallState.WAITING)
    if engine.roster.ready_count(c.campaign_id) <= may_answer + waiting:
        engine.stats.amd_audits_skipped += 1
        return None
    held = callback_holds.routed_last(engine)
    agent = engine.roster.longest_idle(c.campaign_id, last=held)
    if agent is not None and agent.agent_id in held:  # an audit is optional; the callback they wait for is not
        engine.stats.amd_audits_skipped += 1
        return None
    return agent


def hand_over(engine: Engine, c: Call, agent: Agent, now: float) -> list[Command]:
    """Send the machine-verdict call to the spare agent, with a screen-pop that says it is an audit."""
    engine.roster.apply(agent.agent_id, AgentEvent.RESERVE, now, call_id=c.call_id)
    c.apply(CallEvent.AUDIT)
    c.agent_id = agent.agent_id
    c.amd_audit = True
    engine.stats.amd_audits += 1
    payload = engine.screenpop(c, agent)
    payload["amd_audit"] = True  # the desktop says: AMD took this for a machine; tell us who answers
    return [
        Redirect(c.call_id, c.channel or "", AGENT_CONTEXT, agent.extension, "agent", agent.agent_id),
        ScreenPop(agent.agent_id, c.call_id, payload),
        engine.state_notice(agent),
    ]


def bridged(engine: Engine, c: Call, e: ev.BridgeEnter, now: float) -> list[Command]:
    """The audited call reached its agent."""
    c.apply(CallEvent.BRIDGE)
    c.connected_at = now
    c.connected_pbx_ts = e.timestamp
    out: list[Command] = []
    if c.agent_id is not None:
        agent = engine.roster.apply(c.agent_id, AgentEvent.CONNECT, now)
        out.append(AgentNotice(agent.agent_id, "connected", {"call_id": c.call_id, "amd_audit": True}))
        out.append(engine.state_notice(agent))
    return out
