"""`journal_times` (the agents report's logged-in, wait and pause time per agent and day) splits an interval
that crosses midnight at the day boundary of the report's timezone (the process's local zone, as the report
names its days): before, the whole interval went to the day it began."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialer.supervisor import reports as rp


@pytest.fixture
def new_york(local_zone: Callable[[str], ZoneInfo]) -> ZoneInfo:
    """The process's local zone is New York for one test."""
    return local_zone("America/New_York")


def at(tz: ZoneInfo, *when: int) -> float:
    return datetime(*when, tzinfo=tz).timestamp()


def test_a_ready_interval_over_midnight_is_split_at_local_midnight(new_york):
    journal = [rp.JournalEntry("a", "ready", at(new_york, 2024, 5, 14, 23, 0)),
               rp.JournalEntry("a", "paused", at(new_york, 2024, 5, 15, 1, 0))]
    times = rp.journal_times(journal, until=at(new_york, 2024, 5, 15, 1, 30))
    assert times == {("a", "2024-05-14"): {"ready": 3600.0},
                     ("a", "2024-05-15"): {"ready": 3600.0, "paused": 1800.0}}


def test_the_open_interval_up_to_until_is_split_on_every_day_it_spans(new_york):
    journal = [rp.JournalEntry("a", "paused", at(new_york, 2024, 5, 14, 22, 0))]
    times = rp.journal_times(journal, until=at(new_york, 2024, 5, 16, 2, 0))
    assert times == {("a", "2024-05-14"): {"paused": 7200.0}, ("a", "2024-05-15"): {"paused": 86400.0},
                     ("a", "2024-05-16"): {"paused": 7200.0}}


def test_the_split_is_at_that_night_s_midnight_on_a_dst_change(new_york):
    # 2024-03-10: 02:00 skipped in New York; 23:00 to 03:00 is three hours, two of them on the 10th
    journal = [rp.JournalEntry("a", "ready", at(new_york, 2024, 3, 9, 23, 0)),
               rp.JournalEntry("a", "logged_out", at(new_york, 2024, 3, 10, 3, 0))]
    times = rp.journal_times(journal, until=at(new_york, 2024, 3, 10, 3, 0))
    assert times == {("a", "2024-03-09"): {"ready": 3600.0}, ("a", "2024-03-10"): {"ready": 7200.0}}
