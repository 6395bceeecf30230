"""Stricter calling hours for the people of some regions (`calling_hours.regions`): a US state's
telemarketing law, another country's regulator. A person's regions come from their numbers."""

from __future__ import annotations

import pytest
from policy_helpers import CHI, NY, at, campaign, view
from pydantic import ValidationError

from dialer.campaigns.regions import NumberRegions
from dialer.errors import PolicyViolation
from dialer.policy import Block, ContactPolicy, DialResult
from dialer.policy.hours import Hours

MIAMI, MANHATTAN, NEW_ORLEANS, AUSTIN = "+13055550100", "+12125550142", "+15045550100", "+15125550100"
STATE_LAWS = {
    "US-FL": {"window": "08:00-20:00"},
    "US-LA": {"window": "08:00-20:00", "by_day": {"sun": None}, "public_holidays": True},
    "us-tx": {"by_day": {"sun": "12:00-21:00"}},
}


def r_no_answer() -> DialResult:
    return DialResult("no_answer")  # type: ignore[arg-type]


def policy(**hours: object) -> ContactPolicy:
    return ContactPolicy(campaign(calling_hours={"window": "09:00-21:00", "days": ["mon", "tue", "wed", "thu",
                                                                                    "fri", "sat", "sun"],
                                                 "regions": STATE_LAWS, **hours}))


@pytest.mark.parametrize(
    ("number", "regions"),
    [
        (MIAMI, ("US", "US-FL")),
        (MANHATTAN, ("US", "US-NY")),  # the geocoder says "New York, NY"
        ("+12065550100", ("US", "US-WA")),  # "Washington State"
        ("+12025550123", ("US", "US-DC")),  # "Washington D.C."
        ("+19025550123", ("CA", "CA-NS", "CA-PE")),  # "Nova Scotia/Prince Edward Island": both
        ("+18005550100", ("US",)),  # toll free: no state
        ("+441315550100", ("GB",)),  # outside North America, the country only
        ("+447911123456", ("GG",)),  # +44 is not only Great Britain
        ("+4930123456", ("DE",)),
    ],
)
def test_a_numbers_regions_are_its_country_and_in_north_america_its_area_codes_state(
        number: str, regions: tuple[str, ...]) -> None:
    assert NumberRegions().of(number) == regions


def test_the_regions_of_a_number_are_kept_by_prefix_and_the_store_stays_bounded() -> None:
    found = NumberRegions(max_prefixes=2)
    assert found.of(MIAMI) == found.of("+13055550199") == ("US", "US-FL")
    for n in (MANHATTAN, NEW_ORLEANS, AUSTIN):
        found.of(n)
    assert len(found._by_prefix) <= 2
    assert found.of(MIAMI) == ("US", "US-FL")


def test_only_the_regions_a_campaign_has_rules_for_hold_and_those_of_every_number() -> None:
    h = policy().hours
    assert h.regions_of([MIAMI]) == ("US-FL",)
    assert h.regions_of([MANHATTAN]) == ()  # no rule for New York: the campaign's hours alone
    assert h.regions_of([MANHATTAN, AUSTIN, MIAMI]) == ("US-FL", "US-TX")
    assert Hours(campaign().calling_hours, "us").regions_of([MIAMI]) == ()


def test_a_stricter_state_window_holds_its_people_only() -> None:
    p = policy()
    evening = at(2024, 5, 15, 20, 30)  # Wednesday 20:30 in New York and Miami
    assert p.check(view(MANHATTAN), evening).ok
    v = p.check(view(MIAMI), evening)
    assert v.block is Block.OUTSIDE_HOURS
    assert v.not_before == at(2024, 5, 16, 9, 0)  # the campaign's window opens later than Florida's
    assert "US-FL: 08:00-20:00" in v.detail
    # a person with a Miami and a Manhattan number is held to Florida's hours too
    assert p.check(view(MANHATTAN, MIAMI), evening).block is Block.OUTSIDE_HOURS
    assert p.check(view(MIAMI), at(2024, 5, 15, 19, 59)).ok


def test_a_region_closes_days_and_keeps_its_own_public_holidays() -> None:
    p = policy()
    sunday = at(2024, 5, 19, 10, 0, tz=CHI)
    assert p.check(view(NEW_ORLEANS, zones=(CHI,)), sunday).block is Block.OUTSIDE_HOURS
    assert p.check(view(MANHATTAN), at(2024, 5, 19, 10, 0)).ok  # the campaign calls on Sundays
    mardi_gras = at(2024, 2, 13, 12, 0, tz=CHI)  # a Louisiana holiday, not a federal one
    assert p.check(view(MANHATTAN), at(2024, 2, 13, 12, 0)).ok
    v = p.check(view(NEW_ORLEANS, zones=(CHI,)), mardi_gras)
    assert v.block is Block.OUTSIDE_HOURS
    assert v.not_before == at(2024, 2, 14, 9, 0, tz=CHI)


def test_a_region_window_for_one_day_opens_later_that_day() -> None:
    p = policy()
    v = p.check(view(AUSTIN, zones=(CHI,)), at(2024, 5, 19, 10, 0, tz=CHI))  # Sunday in Texas
    assert v.block is Block.OUTSIDE_HOURS
    assert v.not_before == at(2024, 5, 19, 12, 0, tz=CHI)
    assert p.check(view(AUSTIN, zones=(CHI,)), at(2024, 5, 20, 10, 0, tz=CHI)).ok  # Monday: the campaign's


def test_the_address_region_holds_beside_the_numbers_regions_and_brings_its_countrys_rule() -> None:
    p = policy()
    evening = at(2024, 5, 15, 20, 30)
    assert p.hours.regions_of([MANHATTAN], "US-FL") == ("US-FL",)
    assert p.check(view(MANHATTAN, region="US-FL"), evening).block is Block.OUTSIDE_HOURS
    assert p.check(view(MANHATTAN, region="US-NY"), evening).ok
    with pytest.raises(PolicyViolation, match="US-FL"):
        p.validate_callback((NY,), evening, at(2024, 5, 15, 12), numbers=[MANHATTAN], region="US-FL")
    canada = policy(regions={"CA": {"window": "09:00-20:00"}})  # a country's rule holds in all its provinces
    assert canada.hours.regions_of([MANHATTAN], "CA-QC") == ("CA",)
    assert canada.check(view(MANHATTAN, region="CA-QC"), evening).block is Block.OUTSIDE_HOURS
    assert canada.check(view(MANHATTAN, region="US-FL"), evening).ok


def test_a_regions_24_hour_attempt_cap_holds_its_people_and_the_lower_cap_wins() -> None:
    p = policy(regions={"US-FL": {"max_attempts_per_24h": 3}})
    now = at(2024, 5, 15, 12, 0)
    evening = (now - 17 * 3600, now - 16.5 * 3600, now - 16 * 3600)
    v = p.check(view(MIAMI, recent_attempts=evening), now)
    assert (v.block, v.not_before) == (Block.ROLLING_CAP, now + 7 * 3600)
    assert p.check(view(MANHATTAN, recent_attempts=evening), now).ok  # not a Floridian
    assert p.check(view(MANHATTAN, recent_attempts=evening, region="US-FL"), now).block is Block.ROLLING_CAP
    # the times are kept for everyone (a region's cap may hold), and the lower cap holds
    assert p.plan_result(view(MANHATTAN), 0, r_no_answer(), now).recent_attempts == (now,)
    stricter = ContactPolicy(campaign(calling_hours={"regions": {"US-FL": {"max_attempts_per_24h": 3}}},
                                      retry={"max_attempts_per_24h": 2}))
    assert stricter.check(view(MIAMI, recent_attempts=evening[1:]), now).block is Block.ROLLING_CAP
    assert "at most 3 dials in 24 hours" in p.hours.describe(("US-FL",))


def test_callbacks_and_manual_dials_keep_the_regions_hours() -> None:
    p = policy()
    now = at(2024, 5, 15, 12, 0)
    with pytest.raises(PolicyViolation, match=r"US-FL: 08:00-20:00.*next allowed time is Thu 2024-05-16 09:00"):
        p.validate_callback((NY,), at(2024, 5, 15, 20, 30), now, numbers=[MIAMI])
    p.validate_callback((NY,), at(2024, 5, 15, 20, 30), now, numbers=[MANHATTAN])
    with pytest.raises(PolicyViolation, match="US-FL"):
        p.check_manual(MIAMI, (NY,), dnc=False, now=at(2024, 5, 15, 20, 30))
    p.check_manual(MANHATTAN, (NY,), dnc=False, now=at(2024, 5, 15, 20, 30))


@pytest.mark.parametrize(
    ("regions", "why"),
    [
        ({"US-XX": {}}, "US has no subdivision 'XX'"),
        ({"Florida": {}}, "no public holidays are known for country 'FLORIDA'"),
        ({"US-FL": {"window": "20:00-08:00"}}, "ends before it starts"),
        ({"US-FL": {"days": ["someday"]}}, "days"),
        ({"US-FL": {}, "us-fl": {}}, "given twice"),
    ],
)
def test_a_bad_region_rule_is_refused_at_load_saying_why(regions: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        campaign(calling_hours={"regions": regions})
