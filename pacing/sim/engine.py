"""A minimal discrete-event core: a heap of (time, seq, kind, arg), as in SimPy's `Environment`.

`seq` comes from a counter, so events at the same time pop in the order they were scheduled and a run
replays exactly. Events are plain tuples (no objects, no callbacks): the shift simulator dispatches on
`kind`, which keeps an 8-hour, 100-agent shift (a few hundred thousand events) to a few seconds.
"""

from __future__ import annotations

import heapq
from itertools import count

__all__ = ["EventQueue"]


class EventQueue:
    """Future events ordered by time, then by scheduling order."""

    __slots__ = ("_heap", "_seq", "now")

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = count()

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, t: float, kind: int, arg: int = 0) -> None:
        """Schedule `kind(arg)` at absolute time `t` (never before now)."""
        if t < self.now:
            raise ValueError(f"cannot schedule at {t} before now {self.now}")
        heapq.heappush(self._heap, (t, next(self._seq), kind, arg))

    def peek(self) -> float:
        """Time of the next event, or infinity."""
        return self._heap[0][0] if self._heap else float("inf")

    def pop(self) -> tuple[float, int, int]:
        """Advance to the next event and return (time, kind, arg)."""
        t, _, kind, arg = heapq.heappop(self._heap)
        self.now = t
        return t, kind, arg
