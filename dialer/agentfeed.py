"""Per-agent event feed: sequence numbers, a replay buffer, and fan-out to MQTT and the desktop.

Every message to an agent gets the next `seq` of that agent. It is published on MQTT
(`agents/<id>/screenpop` or `agents/<id>/events`) and kept in a bounded buffer, so a desktop that
reconnects (page reload, short network drop) asks for everything after the last `seq` it saw and
gets it in order; when the gap is older than the buffer it is told to fetch a snapshot instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from dialer.bus import BusPort

__all__ = ["AgentFeed"]


class AgentFeed:
    def __init__(self, bus: BusPort | None, *, keep: int = 500) -> None:
        self._bus = bus
        self._keep = keep
        self._seq: dict[str, int] = {}
        self._buf: dict[str, deque[dict[str, Any]]] = {}
        self._changed: dict[str, asyncio.Event] = {}

    def publish(self, agent_id: str, kind: str, payload: dict[str, Any]) -> int:
        seq = self._seq.get(agent_id, 0) + 1
        self._seq[agent_id] = seq
        msg = {"seq": seq, "kind": kind, **payload}
        self._buf.setdefault(agent_id, deque(maxlen=self._keep)).append(msg)
        if self._bus is not None:
            topic = f"agents/{agent_id}/{'screenpop' if kind == 'screenpop' else 'events'}"
            self._bus.publish(topic, msg)
        ev = self._changed.pop(agent_id, None)
        if ev is not None:
            ev.set()
        return seq

    def last_seq(self, agent_id: str) -> int:
        return self._seq.get(agent_id, 0)

    def since(self, agent_id: str, after: int) -> list[dict[str, Any]] | None:
        """Messages with seq > after, oldest first; None when some were already dropped (gap)."""
        buf = self._buf.get(agent_id)
        if not buf:
            return [] if after >= self.last_seq(agent_id) else None
        if after < buf[0]["seq"] - 1:
            return None
        return [m for m in buf if m["seq"] > after]

    def last_pop(self, agent_id: str, call_id: str) -> dict[str, Any] | None:
        """The newest screen-pop of `call_id` still in the agent's buffer (without `seq` and `kind`)."""
        for msg in reversed(self._buf.get(agent_id, ())):
            if msg.get("kind") == "screenpop" and msg.get("call_id") == call_id:
                return {k: v for k, v in msg.items() if k not in ("seq", "kind")}
        return None

    async def wait(self, agent_id: str, after: int, timeout_s: float) -> list[dict[str, Any]] | None:
        """Like `since`, but waits up to `timeout_s` (real seconds) for something new."""
        got = self.since(agent_id, after)
        if got is None or got:
            return got
        ev = self._changed.setdefault(agent_id, asyncio.Event())
        try:
            async with asyncio.timeout(timeout_s):
                await ev.wait()
        except TimeoutError:
            return []
        return self.since(agent_id, after)
