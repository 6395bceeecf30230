"""Where the daemon gets the next leads to dial, and where it reports what became of them.

`LeadSource` is the port; the Redis hopper of `dialer.hopper` implements it in production (through
`HopperLeadSource`), and `InMemoryLeadSource` serves tests and small runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from dialer.engine.commands import DispositionMade
from dialer.engine.core import DialRequest
from dialer.engine.records import CallRecord

__all__ = ["InMemoryLeadSource", "LeadSource"]


class LeadSource(Protocol):
    async def take(self, n: int, now: float) -> list[DialRequest]: ...

    async def depth(self, now: float) -> int: ...

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None: ...

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None: ...


class InMemoryLeadSource:
    """A FIFO of dial requests; remembers what it was told (for tests and small demos)."""

    def __init__(self, requests: Iterable[DialRequest] = ()) -> None:
        self._queue: deque[DialRequest] = deque(requests)
        self.results: list[CallRecord] = []
        self.dispositions: list[DispositionMade] = []

    def add(self, request: DialRequest) -> None:
        self._queue.append(request)

    async def take(self, n: int, now: float) -> list[DialRequest]:
        out: list[DialRequest] = []
        while self._queue and len(out) < n:
            out.append(self._queue.popleft())
        return out

    async def depth(self, now: float) -> int:
        return len(self._queue)

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None:
        self.results.append(record)

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None:
        self.dispositions.append(disposition)
