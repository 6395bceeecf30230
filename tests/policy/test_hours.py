"""Calling hours in the called person's local time: windows, weekdays, DST, holidays, several zones."""

from __future__ import annotations

import pytest
from policy_helpers import CHI, LA, LON, NY, PHX, at, campaign
from pydantic import ValidationError

from dialer.campaigns.models import CallingHours
from dialer.policy.holidays import public_holidays
from dialer.policy.hours import Hours


def hours(**over: object) -> Hours:
    c = campaign(**over)
    return Hours(c.calling_hours, c.jurisdiction)


@pytest.mark.parametrize(
    ("when", "zones", "expected"),
    [
        (at(2024, 5, 15, 8, 59), (NY,), False),  # Wednesday, before 09:00
        (at(2024, 5, 15, 9, 0), (NY,), True),  # start inclusive
        (at(2024, 5, 15, 20, 59), (NY,), True),
        (at(2024, 5, 15, 21, 0), (NY,), False),  # end exclusive
        (at(2024, 5, 15, 10, 0, tz=LA), (LA,), True),
        (at(2024, 5, 15, 11, 0, tz=NY), (LA,), False),  # 08:00 in LA
        (at(2024, 5, 15, 11, 0, tz=NY), (NY, LA), False),  # allowed in NY, not in LA: not allowed
        (at(2024, 5, 15, 13, 0, tz=NY), (NY, LA), True),
        (at(2024, 5, 19, 12, 0), (NY,), False),  # Sunday is not a calling day by default
        (at(2024, 11, 28, 12, 0), (NY,), False),  # Thanksgiving
        (at(2024, 7, 4, 12, 0), (NY,), False),  # Independence Day
        (at(2024, 7, 5, 12, 0), (NY,), True),
    ],
)
def test_window_in_local_time(when: float, zones: tuple[str, ...], expected: bool) -> None:
    assert hours().allowed(zones, when) is expected


def test_dst_follows_the_zone_phoenix_does_not_shift() -> None:
    h = hours()
    # 16:00 UTC is 09:00 in Phoenix all year; Denver is 09:00 in winter but 10:00 in summer.
    summer = at(2024, 7, 10, 16, 0, tz="UTC")
    winter = at(2024, 1, 10, 16, 0, tz="UTC")
    assert h.allowed((PHX,), summer)
    assert h.allowed((PHX,), winter)
    assert not h.allowed((PHX,), summer - 60)
    assert not h.allowed((PHX,), winter - 60)
    assert h.allowed(("America/Denver",), summer - 3600)  # 09:00 MDT
    assert not h.allowed(("America/Denver",), winter - 3600)  # 08:00 MST


def test_by_day_overrides_and_closed_days() -> None:
    h = hours(calling_hours={"window": "09:00-21:00", "days": ["mon", "sat"], "by_day": {"sat": "10:00-14:00"}})
    assert h.allowed((NY,), at(2024, 5, 18, 10, 0))  # Saturday
    assert not h.allowed((NY,), at(2024, 5, 18, 14, 0))
    assert not h.allowed((NY,), at(2024, 5, 14, 12, 0))  # Tuesday not listed


def test_campaign_holidays_and_optional_public_holidays() -> None:
    h = hours(calling_hours={"holidays": ["2024-05-15"], "public_holidays": False})
    assert not h.allowed((NY,), at(2024, 5, 15, 12))
    assert h.allowed((NY,), at(2024, 11, 28, 12))  # Thanksgiving ignored


def test_uk_bank_holidays_use_uk_rules() -> None:
    h = hours(jurisdiction="uk", caller_id_number="+442079460123", default_region="GB")
    assert not h.allowed((LON,), at(2024, 4, 1, 12, tz=LON))  # Easter Monday
    assert h.allowed((LON,), at(2024, 4, 2, 12, tz=LON))
    # Christmas 2022 fell on a Sunday: Boxing Day Monday, substitute Tuesday 27th.
    assert {d.isoformat() for d in public_holidays("GB-ENG", 2022)} >= {"2022-12-26", "2022-12-27"}
    # the one-offs a rule set misses: the Queen's funeral, the coronation's bank holiday
    assert not h.allowed((LON,), at(2022, 9, 19, 12, tz=LON))
    assert not h.allowed((LON,), at(2023, 5, 8, 12, tz=LON))


def test_a_campaign_observes_the_public_holidays_of_the_region_it_names() -> None:
    scotland = hours(jurisdiction="uk", caller_id_number="+442079460123", default_region="GB",
                     calling_hours={"public_holidays_region": "gb-sct"})
    england = hours(jurisdiction="uk", caller_id_number="+442079460123", default_region="GB")
    st_andrews = at(2026, 11, 30, 12, tz=LON)  # a Monday
    assert (scotland.allowed((LON,), st_andrews), england.allowed((LON,), st_andrews)) == (False, True)
    easter_monday = at(2026, 4, 6, 12, tz=LON)  # a bank holiday in England, not in Scotland
    assert (scotland.allowed((LON,), easter_monday), england.allowed((LON,), easter_monday)) == (True, False)
    # the US observed New Year's Day 2022 on Friday 31 December 2021
    assert not hours().allowed((NY,), at(2021, 12, 31, 12))


@pytest.mark.parametrize(("region", "why"), [("XX", "no public holidays are known for country 'XX'"),
                                             ("GB-XYZ", "GB has no subdivision 'XYZ'; it has ")])
def test_an_unknown_holiday_region_is_refused_saying_what_is_known(region: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        CallingHours(public_holidays_region=region)


def test_next_open_finds_the_first_allowed_minute() -> None:
    h = hours()
    sat_night = at(2024, 5, 18, 22, 0)  # Saturday 22:00 NY; Sunday closed; Monday 09:00
    assert h.next_open((NY,), sat_night) == at(2024, 5, 20, 9, 0)
    both = h.next_open((NY, LA), at(2024, 5, 15, 7, 0))
    assert both == at(2024, 5, 15, 9, 0, tz=LA)
    assert h.next_open((NY,), at(2024, 5, 15, 12)) == at(2024, 5, 15, 12)


def test_zones_that_never_share_a_window_have_no_opening() -> None:
    h = hours(calling_hours={"window": "09:00-12:00"})
    assert h.next_open(("Asia/Tokyo", NY), at(2024, 5, 15, 12)) is None


def test_local_day_and_midnight_follow_the_first_zone() -> None:
    h = hours()
    t = at(2024, 5, 15, 23, 30, tz=CHI)
    assert h.local_day((CHI,), t) == "2024-05-15"
    assert h.next_midnight((CHI,), t) == at(2024, 5, 16, 0, 0, tz=CHI)
