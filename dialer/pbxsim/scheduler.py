"""One timer heap for the whole simulated PBX, driven by the injected clock (SimPy's design).

Thousands of live calls each wait for something (ring time, AMD, patience, talk). A sleeping task per
call would cost a task, a future and a loop timer each; instead every wait is an entry
`(virtual time, seq, Timer)` in one heap, and one task (`run`) sleeps on the clock until the earliest
entry is due, then fires every due entry in order. `seq` breaks ties, so two timers due at the same
virtual instant fire in the order they were set: the event stream is deterministic for a given
sequence of inputs.

The task sleeps with `clock.sleep`, so a scaled clock runs the same PBX 1000 times faster, and a
manual test clock drives it step by step. A timer set earlier than the current sleep target wakes the
task. Cancelling a timer only flags it (lazy deletion); it is dropped when it reaches the top.

A callback that raises does not stop the PBX (one bad call must not kill the others): the error goes
to `on_error`, which logs and counts it, so tests can assert that none happened.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from dialer.clock import Clock

__all__ = ["Scheduler", "Timer"]

# A timer within this much *real* time of now is due: asyncio may wake a little early, and a sleep
# shorter than the loop's resolution would only spin.
_REAL_SLACK_S = 0.0005


class Timer:
    """A scheduled callback; `cancel()` makes it a no-op."""

    __slots__ = ("args", "cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """`at`/`later` put callbacks on the heap; `run()` is the one task that fires them on time."""

    def __init__(self, clock: Clock, on_error: Callable[[BaseException], None]) -> None:
        self._clock = clock
        self._on_error = on_error
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._target = math.inf
        self._wake: asyncio.Future[None] | None = None
        self.fired = 0
        self.firing: float | None = None  # the virtual time of the timer being fired, while it runs
        self.lag_max = 0.0  # virtual seconds the latest-firing timer was late (is the loop keeping up?)

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, fn: Callable[..., None], *args: Any) -> Timer:
        """Call `fn(*args)` at virtual time `when`."""
        timer = Timer(when, fn, args)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        if when < self._target and self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        return timer

    def now(self) -> float:
        """The simulated PBX's present: inside a timer, the virtual time it was due (SimPy's `now`),
        so a host loop that wakes late neither shifts event Timestamps nor lets delays pile up."""
        return self.firing if self.firing is not None else self._clock.now()

    def later(self, delay: float, fn: Callable[..., None], *args: Any) -> Timer:
        """Call `fn(*args)` after `delay` virtual seconds."""
        return self.at(self.now() + max(0.0, delay), fn, *args)

    def run_due(self) -> int:
        """Fire every timer that is due now; returns how many fired."""
        heap = self._heap
        fired = 0
        while heap:
            when = heap[0][0]
            if self._clock.to_real(when - self._clock.now()) > _REAL_SLACK_S:
                break
            timer = heapq.heappop(heap)[2]
            if timer.cancelled:
                continue
            fired += 1
            lag = self._clock.now() - when
            if lag > self.lag_max:
                self.lag_max = lag
            self.firing = when
            try:
                timer.fn(*timer.args)
            except Exception as exc:  # one broken call must not stop the PBX; on_error records it
                self._on_error(exc)
            finally:
                self.firing = None
        self.fired += fired
        return fired

    async def run(self) -> None:
        """Fire timers forever; cancel the task to stop."""
        loop = asyncio.get_running_loop()
        while True:
            self.run_due()
            self._wake = loop.create_future()
            if not self._heap:
                self._target = math.inf
                await self._wake
                continue
            self._target = self._heap[0][0]
            sleeper = asyncio.ensure_future(self._clock.sleep(self._target - self._clock.now()))
            try:
                await asyncio.wait((sleeper, self._wake), return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not sleeper.done():
                    sleeper.cancel()
