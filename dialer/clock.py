"""Clocks: the one source of `now` for the daemon, real or scaled.

The pure core never reads time itself; it is handed `now`. The daemon asks a `Clock`. A `ScaledClock`
runs `scale` times faster than the wall clock, so the demo can play an 8-hour shift in minutes while the
PBX simulator, the daemon and the simulated agents all agree on the same virtual time.

A `WallClock` is real time, and follows the system's clock: an NTP step, a host suspend or a VM resumed from a
snapshot moves `time.time` but not `time.monotonic`, and calling hours, callbacks, the compliance ledger and the
call records must use the real time of day. Between steps it runs on `time.monotonic`, so small jitter never
makes it go back. A step is followed at once, counted (`on_step`, `dialer_clock_steps_total`) and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

__all__ = ["Clock", "ClockStep", "ScaledClock", "WallClock"]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class ClockStep:
    """The system clock moved away from the daemon's by `seconds` (negative: backwards), seen at `at` (the
    system's time after the move, which the daemon's clock now reads)."""

    at: float
    seconds: float

    @property
    def direction(self) -> Literal["forward", "backward"]:
        return "forward" if self.seconds > 0 else "backward"


def _system_time() -> float:
    return time.time()  # looked up at each call, so that a patched `time.time` is seen (tests, the repro)


def _system_monotonic() -> float:
    return time.monotonic()


class WallClock(ScaledClock):
    """Real time that follows the system's clock (`time.time`), smoothly between its steps.

    `now()` is the monotonic time since the last anchor added to the wall time read there. When that disagrees
    with `wall()` by more than `tolerance_s` the system clock was stepped (NTP, an operator) or the host slept
    (the monotonic clock stands still through a suspend): the clock takes the wall time as its new anchor,
    counts the step, logs it once and tells the `on_step` listeners. Smaller offsets are left alone: NTP slews
    both clocks alike, so they come from jitter in reading the two, and following them could step `now` back.
    """

    def __init__(self, *, tolerance_s: float = 1.0, wall: Callable[[], float] | None = None,
                 monotonic: Callable[[], float] | None = None) -> None:
        if tolerance_s <= 0:
            raise ValueError(f"clock step tolerance must be positive, got {tolerance_s}")
        self._wall = wall or _system_time
        self._mono = monotonic or _system_monotonic
        self._tolerance = tolerance_s
        self._listeners: list[Callable[[ClockStep], None]] = []
        self.step_count = 0
        self.last_step: ClockStep | None = None
        super().__init__(1.0, start=self._wall(), real0=self._mono())

    def on_step(self, listener: Callable[[ClockStep], None]) -> None:
        """Call `listener` with each step of the system clock this clock follows from now on."""
        self._listeners.append(listener)

    def now(self) -> float:
        mono = self._mono()
        smooth = self._virt0 + (mono - self._real0)
        wall = self._wall()
        if abs(wall - smooth) <= self._tolerance:
            return smooth
        self._virt0, self._real0 = wall, mono
        step = ClockStep(at=wall, seconds=wall - smooth)
        self.step_count += 1
        self.last_step = step
        _log_step(step)
        for listener in self._listeners:
            listener(step)
        return wall


def _log_step(step: ClockStep) -> None:
    # The engine measures waits as differences of `now`: what was being timed across the step is off by it.
    size = abs(step.seconds)
    when = datetime.fromtimestamp(step.at, UTC).isoformat(timespec="seconds")
    if step.seconds > 0:
        what = (f"the system clock jumped forward {size:.1f} s (an NTP step, or the host was suspended); the "
                f"daemon now reads {when}. Waits timed across the step come out {size:.1f} s long: a person "
                f"waiting for an agent at that moment is abandoned at once, wrap-ups and ring limits end early")
    else:
        what = (f"the system clock was set back {size:.1f} s; the daemon now reads {when}. Waits timed across the "
                f"step come out {size:.1f} s short: a live answer waiting at that moment may be connected late "
                f"or held past its 2 s and count as on time, so check the call records around then")
    log.warning("%s. Before the step calling hours, callbacks and the abandon ledger used a time off by that "
                "much. Check the host's time sync (NTP, chrony: `chronyc tracking`, `timedatectl`) and start the "
                "daemon only once the clock is synchronised (systemd: After=time-sync.target, with chrony-wait or "
                "systemd-time-wait-sync enabled)", what)
