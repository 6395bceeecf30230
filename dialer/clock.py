"""Clocks: the one source of `now` for the daemon, real or scaled.

The pure core never reads time itself; it is handed `now`. The daemon asks a `Clock`. A `ScaledClock`
runs `scale` times faster than the wall clock, so the demo can play an 8-hour shift in minutes while the
PBX simulator, the daemon and the simulated agents all agree on the same virtual time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ScaledClock", "WallClock"]


class Clock(Protocol):
    """Seconds since the epoch, possibly virtual, and a sleep in the same unit."""

    @property
    def scale(self) -> float: ...

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def to_real(self, seconds: float) -> float: ...


class ScaledClock:
    """Virtual time that starts at `start` and advances `scale` times faster than the wall clock."""

    def __init__(self, scale: float = 1.0, start: float | None = None, real0: float | None = None) -> None:
        if scale <= 0:
            raise ValueError(f"clock scale must be positive, got {scale}")
        self._scale = scale
        self._real0 = time.monotonic() if real0 is None else real0
        self._virt0 = time.time() if start is None else start

    @property
    def anchor(self) -> tuple[float, float, float]:
        """(scale, start, real0): enough to build the same clock in another process on this machine
        (`time.monotonic` is system-wide on Linux)."""
        return self._scale, self._virt0, self._real0

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return self._virt0 + (time.monotonic() - self._real0) * self._scale

    def to_real(self, seconds: float) -> float:
        return seconds / self._scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._scale)


class WallClock(ScaledClock):
    """Real time: a `ScaledClock` with scale 1 that starts now."""

    def __init__(self) -> None:
        super().__init__(1.0)
