"""The one timer heap: order, cancellation, and waking early for an earlier timer."""

from __future__ import annotations

import asyncio
import contextlib

from dialer.clock import ScaledClock
from dialer.pbxsim.scheduler import Scheduler


class StepClock:
    """A clock the test moves by hand; `sleep` never returns (the test calls `run_due`)."""

    scale = 1.0

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def to_real(self, seconds: float) -> float:
        return seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


def test_timers_fire_in_time_then_insertion_order_and_cancelled_ones_never():
    clock = StepClock()
    errors: list[BaseException] = []
    sched = Scheduler(clock, errors.append)
    fired: list[str] = []
    sched.at(1002.0, fired.append, "b")
    sched.at(1001.0, fired.append, "a1")
    sched.at(1001.0, fired.append, "a2")
    dead = sched.at(1001.5, fired.append, "never")
    dead.cancel()
    sched.at(1003.0, lambda: 1 / 0)
    assert sched.run_due() == 0
    clock.t = 1002.0
    assert sched.run_due() == 3
    assert fired == ["a1", "a2", "b"]
    clock.t = 1010.0
    sched.run_due()
    assert len(errors) == 1
    assert isinstance(errors[0], ZeroDivisionError)


def test_a_callback_can_schedule_work_for_now():
    clock = StepClock()
    sched = Scheduler(clock, lambda exc: None)
    fired: list[int] = []

    def first() -> None:
        fired.append(1)
        sched.later(0.0, fired.append, 2)

    sched.later(1.0, first)
    clock.t += 1.0
    sched.run_due()
    assert fired == [1, 2]


async def test_run_wakes_for_a_timer_earlier_than_the_one_it_sleeps_for():
    clock = ScaledClock(scale=1000.0)
    sched = Scheduler(clock, lambda exc: None)
    loop = asyncio.get_running_loop()
    started, done = loop.create_future(), loop.create_future()
    sched.later(3600.0, lambda: done.done() or done.set_result("late"))  # 3.6 s of real time away
    sched.later(0.0, started.set_result, None)
    task = asyncio.create_task(sched.run())
    try:
        await started  # the task fired the first timer and now sleeps until the 3600 s one
        sched.later(1.0, lambda: done.done() or done.set_result("early"))
        async with asyncio.timeout(2.0):
            assert await done == "early"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
