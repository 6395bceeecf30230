"""`local_midnight` (the wallboard's, the metrics' and the reports' "today", agents' contacts_today) starts the
day at that midnight's own UTC offset: on a day the offset changed overnight (DST) it kept now's, an hour off."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialer.supervisor.tally import ABANDONED, LIVE, Tally, _Buckets, local_midnight


@pytest.mark.parametrize(("day", "hour"), [((2024, 3, 10), 14), ((2024, 11, 3), 14), ((2024, 3, 10), 1),
                                           ((2024, 11, 3), 23), ((2024, 7, 1), 0)])
def test_local_midnight_on_dst_days_in_new_york(local_zone, day, hour):
    ny = local_zone("America/New_York")
    now = datetime(*day, hour, 0, tzinfo=ny).timestamp()
    assert local_midnight(now) == datetime(*day, 0, 0, tzinfo=ny).timestamp()


def test_a_midnight_that_dst_skips_starts_the_day_at_the_change(local_zone):
    local_zone("America/Santiago")  # 2024-09-08 00:00 -04 became 01:00 -03: that day has no midnight
    now = datetime(2024, 9, 8, 12, 0, tzinfo=ZoneInfo("America/Santiago")).timestamp()
    assert local_midnight(now) == datetime(2024, 9, 8, 4, 0, tzinfo=ZoneInfo("UTC")).timestamp()


def test_today_on_a_dst_day_leaves_out_yesterdays_last_hour_and_keeps_all_of_a_25_hour_day(local_zone):
    ny = local_zone("America/New_York")
    b = _Buckets()
    yesterday = datetime(2024, 3, 9, 23, 30, tzinfo=ny).timestamp()  # EST; today is EDT since 02:00
    b.add(yesterday, LIVE)
    b.add(yesterday, ABANDONED)
    now = datetime(2024, 3, 10, 14, 0, tzinfo=ny).timestamp()
    today = b.window(local_midnight(now), now)
    assert (today.live, today.abandoned) == (0, 0)
    # the day DST ends has 25 hours: a call at 00:10 is still today's at 23:59, and yesterday's 23:50 is not
    b = _Buckets()
    b.add(datetime(2024, 11, 2, 23, 50, tzinfo=ny).timestamp(), LIVE)
    b.add(datetime(2024, 11, 3, 0, 10, tzinfo=ny).timestamp(), LIVE)
    now = datetime(2024, 11, 3, 23, 59, tzinfo=ny).timestamp()
    b.prune(now)
    assert b.window(local_midnight(now), now).live == 1


def test_the_last_minute_of_a_25_hour_day_in_a_half_hour_zone_keeps_minute_precision(local_zone):
    # Adelaide (+10:30, then +9:30 from 03:00 on 2024-04-07): at 23:59:30 that day began 24 h 59.5 min ago;
    # summed from whole UTC hours, "today" began at 23:30 the day before
    adl = local_zone("Australia/Adelaide")
    b = _Buckets()
    b.add(datetime(2024, 4, 6, 23, 45, tzinfo=adl).timestamp(), LIVE)
    b.add(datetime(2024, 4, 7, 0, 10, tzinfo=adl).timestamp(), LIVE)
    now = datetime(2024, 4, 7, 23, 59, 30, tzinfo=adl).timestamp()
    b.prune(now)
    assert b.window(local_midnight(now), now).live == 1


def test_an_agents_contacts_today_on_a_dst_day(local_zone):
    ny = local_zone("America/New_York")
    tally = Tally.__new__(Tally)
    tally._agent_day = {}
    tally._agent_count("a1", datetime(2024, 3, 9, 23, 30, tzinfo=ny).timestamp(), 1)  # yesterday, EST
    now = datetime(2024, 3, 10, 14, 0, tzinfo=ny).timestamp()
    assert tally.agent_today("a1", now) == (0, 0)
    tally._agent_count("a1", datetime(2024, 3, 10, 0, 30, tzinfo=ny).timestamp(), 1)  # today, before 02:00
    assert tally.agent_today("a1", now) == (1, 0)
