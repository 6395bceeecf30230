"""Agent presence: is somebody actually in front of this agent's desktop?

An open event stream does not prove it: a laptop that sleeps or loses its network leaves a TCP
connection that still accepts writes for minutes. So presence is the time of the last sign of life
from the page itself: every API call, and the page's answer to each `ping` the event stream sends
(answering an event, unlike a page timer, is not throttled when the tab is in the background). No
sign for `timeout_s` and the agent is offline; `sweep()` returns who just went offline so the desk can
pause them (a ready agent nobody is watching must not get calls).

Pure and clock-injected, like the rest of the core: the desk's lifespan task calls `sweep` now and then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Presence", "PresenceState"]


@dataclass(slots=True)
class PresenceState:
    last_seen: float
    online: bool = True
    streams: int = 0


class Presence:
    def __init__(self, timeout_s: float = 45.0, *, now: Callable[[], float] = time.monotonic) -> None:
        if timeout_s <= 0:
            raise ValueError(f"presence timeout must be positive, got {timeout_s}")
        self.timeout_s = timeout_s
        self._now = now
        self._agents: dict[str, PresenceState] = {}

    def now(self) -> float:
        return self._now()

    def seen(self, agent_id: str) -> bool:
        """A sign of life; True when the agent was offline (or unknown) until now."""
        st = self._agents.get(agent_id)
        if st is None:
            self._agents[agent_id] = PresenceState(self._now())
            return True
        came_back = not st.online
        st.last_seen = self._now()
        st.online = True
        return came_back

    def stream_opened(self, agent_id: str) -> bool:
        came_back = self.seen(agent_id)
        self._agents[agent_id].streams += 1
        return came_back

    def stream_closed(self, agent_id: str) -> None:
        st = self._agents.get(agent_id)
        if st is not None:
            st.streams = max(0, st.streams - 1)

    def forget(self, agent_id: str) -> None:
        """The agent logged out: no presence to keep."""
        self._agents.pop(agent_id, None)

    def online(self, agent_id: str) -> bool:
        st = self._agents.get(agent_id)
        return st is not None and st.online and self._now() - st.last_seen <= self.timeout_s

    def streams(self, agent_id: str) -> int:
        st = self._agents.get(agent_id)
        return st.streams if st is not None else 0

    def sweep(self) -> list[str]:
        """Mark agents with no sign of life for `timeout_s` offline; return those that just went."""
        now = self._now()
        gone: list[str] = []
        for agent_id, st in self._agents.items():
            if st.online and now - st.last_seen > self.timeout_s:
                st.online = False
                gone.append(agent_id)
        return gone

    def to_json(self, agent_id: str) -> dict[str, object]:
        st = self._agents.get(agent_id)
        if st is None:
            return {"online": False, "streams": 0, "seen_s_ago": None}
        return {"online": self.online(agent_id), "streams": st.streams,
                "seen_s_ago": round(self._now() - st.last_seen, 1)}
