"""When a READY agent may be handed a callback they kept for themselves, without an abandon to pay for it.

The pacer launches dials for the agents it counts READY. Taking one of them away for their own callback
(a preview: the agent reads, then dials) while dials launched on their account still ring leaves those
dials one agent short: a person who answers may find nobody within the 2 s, an abandon the dialer made
itself. So:

- an agent who became READY after every pacer dial still in flight (typically: just back from a wrap-up)
  is offered their callback at once, before the pacer counts them: the pacer counts an agent READY only
  once the daemon has looked for their callbacks (`Engine.callbacks_looked_at`), so one who became READY
  while the daemon was busy with Redis waits a quarter second for the next look;
- otherwise the agent is *held* for it: the pacer no longer counts them READY, so no new dial is launched
  on their account, while a live answer may still reach them as it would any READY agent. Once every
  pacer dial launched while they were READY, up to the hold, has resolved (within the ring timeout plus
  AMD, about half a minute), the callback is offered. If a call reaches them first, their callback is
  offered when they are READY again, at once. A live answer goes to a held agent only when no other
  agent is READY (`routed_last`): another agent's call would otherwise keep the callback waiting through
  its talk and wrap-up.

Pure functions over the `Engine`'s state, as in `agentcalls`; the daemon asks and acts
(`Daemon.offer_own_callbacks`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from agents.state import AgentState
from dialer.engine.calls import CallState

if TYPE_CHECKING:
    from dialer.engine.core import Engine

__all__ = ["hold", "not_countable", "prune", "release", "routed_last", "safe_to_offer"]

_UNRESOLVED = (CallState.PENDING, CallState.DIALING, CallState.RINGING, CallState.SCREENING, CallState.WAITING)


def _ready_since(engine: Engine, agent_id: str) -> float | None:
    a = engine.roster.get(agent_id)
    return a.since if a is not None and a.state is AgentState.READY else None


def safe_to_offer(engine: Engine, campaign_id: str, agent_ids: Iterable[str], now: float) -> frozenset[str]:
    """Those of the campaign's READY agents that may be taken off the pacer's count now: no pacer dial
    launched while they were READY (up to their hold, if held) is unresolved."""
    camp = engine.campaigns.get(campaign_id)
    dialed = sorted(c.dialed_at for c in (engine.calls[cid] for cid in camp.active)
                    if not c.agent_first and c.state in _UNRESOLVED) if camp is not None else []
    out = []
    for agent_id in agent_ids:
        since = _ready_since(engine, agent_id)
        if since is None:
            continue
        until = engine.callback_holds.get(agent_id, now)
        if until < since:  # a hold from an earlier READY spell: not this one's
            until = now
        i = bisect_left(dialed, since)
        if i == len(dialed) or dialed[i] > until:
            out.append(agent_id)
    return frozenset(out)


def hold(engine: Engine, agent_id: str, now: float) -> None:
    """Keep the READY agent out of the pacer's count until their callback can be offered."""
    since = _ready_since(engine, agent_id)
    if since is None:
        return
    held = engine.callback_holds.get(agent_id)
    if held is None or held < since:
        engine.callback_holds[agent_id] = now


def release(engine: Engine, agent_id: str) -> None:
    engine.callback_holds.pop(agent_id, None)


def prune(engine: Engine) -> None:
    """Drop the holds of agents no longer READY, or READY again since (their hold was an earlier spell's)."""
    for agent_id, at in list(engine.callback_holds.items()):
        a = engine.roster.get(agent_id)
        if a is None or a.state is not AgentState.READY or at < a.since:
            del engine.callback_holds[agent_id]


def routed_last(engine: Engine) -> Collection[str]:
    """The agents a live answer should reach only when no other agent is READY: those held for a callback."""
    if engine.callback_holds:
        prune(engine)
    return engine.callback_holds


def not_countable(engine: Engine, campaign_id: str) -> int:
    """How many READY agents of the campaign the pacer must not count: those held for their callback, and
    those the daemon has not looked at for callbacks yet (READY since its last look)."""
    prune(engine)
    looked = engine.callbacks_looked_at.get(campaign_id)
    return sum(1 for a in engine.roster.ready_of(campaign_id)
               if a.agent_id in engine.callback_holds or (looked is not None and a.since > looked))
