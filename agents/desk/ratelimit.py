"""Login rate limiting for the desk: failed logins per agent id and per client address.

A sliding window of failure times per key. A key with `max_failures` failures inside the last
`window_s` seconds is refused until the oldest of them leaves the window; the desk answers 429 with
`Retry-After` set to that many seconds. Two keys per attempt: the agent id (someone guessing one
agent's password from many addresses) and the client address (someone trying many agents from one
place). The address limit is higher by default, because a whole call center often reaches the
daemon from one NAT address and a few mistyped passwords must not lock everyone out.

A refused attempt is not checked and not counted, so waiting is the only way out. A successful login
clears the agent's failures (not the address's). Memory is bounded: at most `max_keys` keys, the
stalest dropped first. Pure and clock-injected, like `presence`.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["LoginLimiter"]


class LoginLimiter:
    def __init__(self, *, max_per_agent: int = 5, max_per_address: int = 20, window_s: float = 300.0,
                 max_keys: int = 10_000, now: Callable[[], float] = time.monotonic) -> None:
        if min(max_per_agent, max_per_address, max_keys) < 1 or window_s <= 0:
            raise ValueError("login limits must be at least 1 and the window positive")
        self._limits = {"agent": max_per_agent, "address": max_per_address}
        self.window_s = window_s
        self._max_keys = max_keys
        self.now = now
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def retry_after(self, agent_id: str, address: str) -> int | None:
        """Whole seconds to wait before this agent may try from this address, or None when allowed."""
        now = self.now()
        wait = 0.0
        for key in (("agent", agent_id), ("address", address)):
            times = self._recent(key, now)
            if times is not None and len(times) >= self._limits[key[0]]:
                wait = max(wait, times[-self._limits[key[0]]] + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, agent_id: str, address: str) -> None:
        now = self.now()
        for key in (("agent", agent_id), ("address", address)):
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self._limits[key[0]])
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, agent_id: str) -> None:
        self._failures.pop(("agent", agent_id), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
