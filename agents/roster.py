"""The roster: every agent, and the longest-idle ready agent of a campaign in O(1).

Time only moves forward, so agents become ready in the order of their `since`; an insertion-ordered
dict per campaign is therefore already sorted by idle time, and the longest-idle agent is its first key.
"""

from __future__ import annotations

from collections.abc import Container, Iterator

from agents.state import Agent, AgentEvent, AgentState
from dialer.errors import IllegalTransition

__all__ = ["Roster"]


class Roster:
    """All agents known to the daemon, indexed for the dialer's hot path."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}
        self._ready: dict[str, dict[str, None]] = {}

    def add(self, agent: Agent) -> Agent:
        self._agents.setdefault(agent.agent_id, agent)
        return self._agents[agent.agent_id]

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def of_campaign(self, campaign_id: str) -> Iterator[Agent]:
        return (a for a in self._agents.values() if a.campaign_id == campaign_id)

    def ready_count(self, campaign_id: str) -> int:
        return len(self._ready.get(campaign_id, ()))

    def ready_of(self, campaign_id: str) -> list[Agent]:
        """The campaign's ready agents, longest idle first (from the ready index: no walk over every agent)."""
        return [self._agents[a] for a in self._ready.get(campaign_id, ())]

    def apply(self, agent_id: str, event: AgentEvent, now: float, *, call_id: str | None = None,
              reason: str | None = None) -> Agent:
        """Apply an event (with its data: `Agent.apply`) to an agent and keep the ready index true."""
        agent = self._agents.get(agent_id)
        if agent is None:
            raise IllegalTransition("agent", agent_id, "unknown", event.value)
        before = agent.state
        agent.apply(event, now, call_id=call_id, reason=reason)
        if agent.campaign_id is not None:
            ready = self._ready.setdefault(agent.campaign_id, {})
            if before is AgentState.READY and agent.state is not AgentState.READY:
                ready.pop(agent_id, None)
            elif agent.state is AgentState.READY and before is not AgentState.READY:
                ready[agent_id] = None
        return agent

    def set_campaign(self, agent_id: str, campaign_id: str | None) -> None:
        """Move an agent to another campaign (only while not ready, so the index stays simple)."""
        agent = self._agents[agent_id]
        if agent.state is AgentState.READY and agent.campaign_id is not None:
            self._ready.get(agent.campaign_id, {}).pop(agent_id, None)
        agent.campaign_id = campaign_id
        if agent.state is AgentState.READY and campaign_id is not None:
            self._ready.setdefault(campaign_id, {})[agent_id] = None

    def longest_idle(self, campaign_id: str, last: Container[str] = ()) -> Agent | None:
        """The ready agent of this campaign who has waited longest, or None. Agents in `last` come after
        every other ready agent (the callback holds: an agent about to be offered their own callback)."""
        ready = self._ready.get(campaign_id)
        if not ready:
            return None
        for agent_id in ready:
            if agent_id not in last:
                return self._agents[agent_id]
        return self._agents[next(iter(ready))]
