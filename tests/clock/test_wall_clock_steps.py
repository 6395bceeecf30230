"""The production clock follows the system's wall clock through NTP steps and suspends; scaled clocks do not.

`ScaledClock` reads wall time once and then counts `time.monotonic`, which follows neither a clock step nor a
suspend: a daemon started before chrony stepped the clock kept a `now` off by the step for its whole run, and
calling hours, callbacks, the ledger's windows and the call records used it."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialer.campaigns.models import CallingHours
from dialer.clock import ClockStep, ScaledClock, WallClock
from dialer.config import DialerSettings
from dialer.metrics import Metrics
from dialer.policy.hours import Hours
from dialer.runner import production_clock

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=NY).timestamp()
HOUR = 3600.0


class FakeTime:
    """The system's two clocks, moved by hand: `wall` (time.time) and `mono` (time.monotonic)."""

    def __init__(self, wall: float = T0, mono: float = 1000.0) -> None:
        self.wall, self.mono = wall, mono

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def run(self, seconds: float) -> None:
        """Time passes normally: both clocks advance."""
        self.wall += seconds
        self.mono += seconds


def wall_clock(t: FakeTime, tolerance_s: float = 1.0) -> WallClock:
    return WallClock(tolerance_s=tolerance_s, wall=t.time, monotonic=t.monotonic)


def test_a_forward_step_of_an_hour_is_followed() -> None:
    t = FakeTime()
    clock = wall_clock(t)
    t.run(10.0)
    assert clock.now() == T0 + 10.0
    t.wall += HOUR  # chrony steps the clock forward (it was an hour behind)
    assert clock.now() == T0 + 10.0 + HOUR
    assert clock.step_count == 1
    assert clock.last_step == ClockStep(at=T0 + 10.0 + HOUR, seconds=HOUR)
    assert clock.last_step.direction == "forward"
    t.run(5.0)  # smooth again after the step, on the new anchor
    assert clock.now() == T0 + 15.0 + HOUR
    assert clock.step_count == 1


def test_a_backward_step_is_followed_and_counted() -> None:
    t = FakeTime()
    clock = wall_clock(t)
    seen: list[ClockStep] = []
    clock.on_step(seen.append)
    t.run(60.0)
    t.wall -= HOUR  # the host's clock was an hour ahead; NTP steps it back
    assert clock.now() == T0 + 60.0 - HOUR
    assert seen == [ClockStep(at=T0 + 60.0 - HOUR, seconds=-HOUR)]
    assert seen[0].direction == "backward"
    assert clock.step_count == 1


def test_a_suspend_is_followed() -> None:
    """While the host sleeps CLOCK_MONOTONIC stands still and the wall clock does not."""
    t = FakeTime()
    clock = wall_clock(t)
    t.run(30.0)
    assert clock.now() == T0 + 30.0
    t.wall += 8 * HOUR  # suspended overnight: monotonic did not move
    assert clock.now() == T0 + 30.0 + 8 * HOUR
    assert clock.last_step is not None
    assert clock.last_step.seconds == 8 * HOUR


def test_jitter_below_the_tolerance_is_not_a_step() -> None:
    """Within the tolerance `now` stays on the monotonic anchor (smooth, never backwards); small offsets that add
    up past it are one step."""
    t = FakeTime()
    clock = wall_clock(t)
    t.run(1.0)
    t.wall -= 0.6
    assert clock.now() == T0 + 1.0  # not T0 + 0.4: no step, no going back
    t.run(1.0)
    t.wall += 1.2  # now 0.6 s ahead of the anchor
    assert clock.now() == T0 + 2.0
    assert clock.step_count == 0
    t.wall += 0.5  # 1.1 s ahead in all
    assert clock.now() == t.wall
    assert clock.step_count == 1


def test_each_step_is_logged_once_with_what_to_check(caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    clock = wall_clock(t)
    with caplog.at_level(logging.WARNING, logger="dialer.clock"):
        t.wall -= HOUR
        for _ in range(3):
            clock.now()
            t.run(1.0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    for words in ("set back 3600", "NTP", "chrony", "2 s"):
        assert words in text


def test_the_real_time_clock_reads_the_system_clocks_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built without arguments (as in production) it follows `time.time` as it is when asked, not as it was when
    the clock was made (the reviewer's repro replaces `time.time` after building the clock)."""
    t = FakeTime()
    monkeypatch.setattr(time, "time", t.time)
    monkeypatch.setattr(time, "monotonic", t.monotonic)
    clock = WallClock()
    t.run(2.0)
    t.wall += HOUR
    assert clock.now() == T0 + 2.0 + HOUR


def test_a_scaled_clock_keeps_its_virtual_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated time never follows the system clock: it is the demo's and the tests' own."""
    t = FakeTime()
    monkeypatch.setattr(time, "time", t.time)
    monkeypatch.setattr(time, "monotonic", t.monotonic)
    fixed = ScaledClock(1.0, start=T0 - 5 * HOUR)
    fast = ScaledClock(60.0)
    t.run(2.0)
    t.wall += HOUR
    assert fixed.now() == T0 - 5 * HOUR + 2.0
    assert fast.now() == T0 + 120.0
    assert not isinstance(fixed, WallClock)


def test_clock_steps_are_exported_to_prometheus() -> None:
    t = FakeTime()
    clock = wall_clock(t)
    metrics = Metrics()
    metrics.watch_clock(clock)
    r = metrics.registry
    assert r.get_sample_value("dialer_clock_steps_total", {"direction": "forward"}) == 0.0
    assert r.get_sample_value("dialer_clock_steps_total", {"direction": "backward"}) == 0.0
    t.wall -= HOUR
    clock.now()
    t.wall += 2 * HOUR
    clock.now()
    t.wall -= 30.0
    clock.now()
    assert r.get_sample_value("dialer_clock_steps_total", {"direction": "forward"}) == 1.0
    assert r.get_sample_value("dialer_clock_steps_total", {"direction": "backward"}) == 2.0
    assert r.get_sample_value("dialer_clock_last_step_seconds") == -30.0


def test_dialer_run_builds_the_wall_clock_at_scale_one_only() -> None:
    assert isinstance(production_clock(DialerSettings()), WallClock)
    simulated = production_clock(DialerSettings(clock_scale=60.0))
    assert not isinstance(simulated, WallClock)
    assert simulated.scale == 60.0


def test_calling_hours_after_a_step_use_the_right_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewer's repro: the host booted an hour behind; it is really 21:30 in New York, after hours. Once
    chrony has stepped the clock, the daemon's `now` (the clock `dialer run` builds) says so."""
    true_now = datetime(2026, 11, 24, 21, 30, tzinfo=NY).timestamp()
    t = FakeTime(wall=true_now - HOUR)
    monkeypatch.setattr(time, "time", t.time)
    monkeypatch.setattr(time, "monotonic", t.monotonic)
    clock = production_clock(DialerSettings())
    hours = Hours(CallingHours(), "us")
    assert hours.allowed(("America/New_York",), clock.now())  # 20:30 by the host's wrong clock
    t.wall = true_now  # chrony's step
    now = clock.now()
    assert now == true_now
    assert not hours.allowed(("America/New_York",), now)
