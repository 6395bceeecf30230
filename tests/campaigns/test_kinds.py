"""What each campaign kind means for a lead: ranking, win-back bands and recidivists."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from dialer.campaigns import parse_campaign, rank_lead
from dialer.campaigns.kinds import LAST_RANK, is_recidivist, months_between
from dialer.errors import LeadError

NOW = datetime(2024, 6, 15, 12, tzinfo=UTC).timestamp()
BASE: dict[str, Any] = {
    "id": "c1",
    "kind": "winback",
    "name": "C",
    "caller_id_name": "Acme",
    "caller_id_number": "+12125550100",
    "jurisdiction": "us",
}
WB = parse_campaign(BASE)


@pytest.mark.parametrize(
    ("earlier", "later", "months"),
    [
        (date(2024, 1, 15), date(2024, 1, 31), 0),
        (date(2024, 1, 15), date(2024, 2, 14), 0),
        (date(2024, 1, 15), date(2024, 2, 15), 1),
        (date(2023, 12, 31), date(2024, 3, 1), 2),
    ],
)
def test_months_between(earlier: date, later: date, months: int) -> None:
    assert months_between(earlier, later) == months


def wb(reason: str, left: str, leaves: str = "0") -> dict[str, str]:
    return {"cancel_reason": reason, "cancelled_at": left, "discount_leaves": leaves}


def test_winback_rank_orders_by_reason_then_months_band() -> None:
    price_recent = rank_lead(WB, wb("price", "2024-04-01"), NOW).rank  # 2 months: band 0
    price_older = rank_lead(WB, wb("price", "2024-01-01"), NOW).rank  # 5 months: band 1
    quality_recent = rank_lead(WB, wb("quality", "2024-04-01"), NOW).rank
    beyond = rank_lead(WB, wb("price", "2022-01-01"), NOW).rank
    assert price_recent < price_older < quality_recent
    assert price_older < beyond < quality_recent  # beyond the bands: last within its reason
    assert rank_lead(WB, wb("No Reason", "2024-04-01"), NOW).rank == 200


def test_winback_exclusions_and_recidivists() -> None:
    strict = parse_campaign(
        {**BASE, "winback": {"excluded_reasons": ["moved"], "beyond_bands": "exclude", "recidivist": "exclude"}}
    )
    assert rank_lead(strict, wb("moved", "2024-04-01"), NOW).excluded
    assert rank_lead(strict, wb("price", "2020-04-01"), NOW).excluded
    assert "recidivist" in (rank_lead(strict, wb("price", "2024-04-01", "1"), NOW).excluded or "")
    assert rank_lead(strict, wb("quality", "2024-04-01", "1"), NOW).excluded is None  # left for quality now
    marked = rank_lead(WB, wb("price", "2024-04-01", "1"), NOW)
    assert marked.excluded is None
    assert marked.extra_fields is not None
    assert marked.extra_fields["offer_restriction"] == "paid_connection_only"
    assert marked.jumper_now
    assert marked.prev_leaves == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (wb("greed", "2024-04-01"), "cancel_reason 'greed' is not one of"),
        (wb("price", "01/04/2024"), "is not a date"),
        (wb("price", "2024-09-01"), "in the future"),
        (wb("price", "2024-06-17"), "in the future"),  # two days ahead of the UTC date: nowhere is it today
        (wb("price", "2024-04-01", "two"), "not a whole number"),
        (wb("price", "2024-04-01", "-1"), "negative"),
    ],
)
def test_winback_field_errors(fields: dict[str, str], message: str) -> None:
    with pytest.raises(LeadError, match=message):
        rank_lead(WB, fields, NOW)


def test_a_cancellation_dated_on_an_eastern_calendar_today_is_not_in_the_future() -> None:
    # 12:00 UTC on 15 June is 00:00 on 16 June in Kiritimati (UTC+14) and 22:00 in Sydney
    ranked = rank_lead(WB, wb("price", "2024-06-16"), NOW)
    assert ranked.excluded is None
    assert ranked.rank == rank_lead(WB, wb("price", "2024-06-15"), NOW).rank  # the same months band


def test_base_order_by_numeric_field() -> None:
    base = parse_campaign({**BASE, "kind": "base_upsell", "order_by": "arpu"})
    hi, lo = rank_lead(base, {"arpu": "80.5"}, NOW).rank, rank_lead(base, {"arpu": "20,10"}, NOW).rank
    assert hi < lo
    assert rank_lead(base, {"arpu": "n/a"}, NOW).rank == LAST_RANK
    asc = parse_campaign({**BASE, "kind": "base_upsell", "order_by": "arpu", "order_desc": False})
    assert rank_lead(asc, {"arpu": "80"}, NOW).rank > rank_lead(asc, {"arpu": "20"}, NOW).rank
    assert rank_lead(parse_campaign({**BASE, "kind": "cold"}), {}, NOW).rank == 0


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "Infinity", "1e400", "-1e400"])
def test_a_non_finite_order_by_value_ranks_last_like_unparsable_text(value: str) -> None:
    # float() reads these (pandas and Excel write NaN and inf), but they are no place in the order
    for desc in (True, False):
        base = parse_campaign({**BASE, "kind": "base_upsell", "order_by": "arpu", "order_desc": desc})
        assert rank_lead(base, {"arpu": value}, NOW).rank == LAST_RANK


def test_a_huge_finite_order_by_value_is_clamped_not_overflowed() -> None:
    base = parse_campaign({**BASE, "kind": "base_upsell", "order_by": "arpu"})
    assert rank_lead(base, {"arpu": "1e307"}, NOW).rank == -LAST_RANK + 1  # value * 100 is inf in floats
    assert rank_lead(base, {"arpu": "-1.7e308"}, NOW).rank == LAST_RANK - 1


@pytest.mark.parametrize(
    ("prev", "won_back", "now_jumper", "expected"),
    [
        (0, 0, True, False),
        (1, 0, True, True),
        (0, 1, True, True),
        (1, 1, True, True),
        (2, 0, False, True),
        (1, 1, False, False),
    ],
)
def test_is_recidivist(prev: int, won_back: int, now_jumper: bool, expected: bool) -> None:
    assert is_recidivist(prev, won_back, now_jumper) is expected
