"""One row to one lead: numbers, ids, consent, time zones, kind-specific fields, and clear rejections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dialer.campaigns import parse_campaign
from dialer.campaigns.kinds import LAST_RANK
from dialer.campaigns.vocab import Consent
from dialer.leads.rows import Accepted, Excluded, Rejected, RowParser

NOW = datetime(2024, 6, 15, 12, tzinfo=UTC).timestamp()
BASE: dict[str, Any] = {
    "id": "c1",
    "kind": "base_upsell",
    "name": "C",
    "caller_id_name": "Acme",
    "caller_id_number": "+12125550100",
    "jurisdiction": "us",
}


def parse(row: dict[str, object], **camp: Any) -> Accepted | Rejected | Excluded:
    return RowParser(parse_campaign({**BASE, **camp}), "list-a", "file", NOW).parse(7, row)


def test_accepted_row_keeps_numbers_in_column_order_and_free_fields() -> None:
    got = parse({"home": "312-555-0178", "mobile": "(212) 555-0142", "name": "Ann", "tariff": "Internet 100"})
    assert isinstance(got, Accepted)
    lead = got.lead
    assert [(n.e164, n.kind) for n in lead.numbers] == [("+12125550142", "mobile"), ("+13125550178", "home")]
    assert lead.fields == {"name": "Ann", "tariff": "Internet 100"}
    assert lead.lead_id == "n12125550142"
    assert lead.zones == ("America/Chicago", "America/New_York")
    assert lead.sources[0].list_name == "list-a"
    assert lead.sources[0].imported_at == NOW


def test_ids_subscribers_and_phone_lists() -> None:
    got = parse({"id": "b-1", "subscriber_id": "S1", "phones": ["2125550142", "+13125550177"]})
    assert isinstance(got, Accepted)
    assert got.lead.lead_id == "b-1"
    assert got.lead.person == "subscriber:S1"
    assert len(got.lead.numbers) == 2
    by_sub = parse({"subscriber_id": "S2", "phones": "2125550142;3125550177"})
    assert isinstance(by_sub, Accepted)
    assert by_sub.lead.lead_id == "s-S2"


def test_a_bad_second_number_is_a_warning_not_a_rejection() -> None:
    got = parse({"mobile": "2125550142", "home": "555-1234"})
    assert isinstance(got, Accepted)
    assert len(got.lead.numbers) == 1
    assert got.warnings[0].line == 7
    assert got.warnings[0].column == "home"


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ({"name": "Ann"}, None, "no phone number"),
        ({"mobile": "12"}, None, "no valid phone number: mobile:"),
        ({"mobile": "2125550142", "id": "has space"}, "id", "must be 1-64 letters"),
        ({"mobile": "2125550142", "subscriber_id": "a,b"}, "subscriber_id", "must be 1-64 letters"),
        ({"mobile": "2125550142", "consent": "perhaps"}, "consent", "is not one of granted"),
        ({"mobile": "2125550142", "timezone": "Mars/Base"}, "timezone", "not an IANA time zone"),
        ({"mobile": "2125550142", "meta": {"a": 1}}, "meta", "lead fields must be text or numbers"),
    ],
)
def test_rejections_name_the_column_and_reason(row: dict[str, object], column: str | None, reason: str) -> None:
    got = parse(row)
    assert isinstance(got, Rejected)
    assert got.error.line == 7
    assert got.error.column == column
    assert reason in got.error.reason


def test_required_columns_and_winback_fields() -> None:
    missing = parse({"mobile": "2125550142"}, leads={"required": ["address"]})
    assert isinstance(missing, Rejected)
    assert missing.error.column == "address"
    wb = {"kind": "winback"}
    bad = parse({"mobile": "2125550142", "cancel_reason": "price", "cancelled_at": "soon"}, **wb)
    assert isinstance(bad, Rejected)
    assert "not a date" in bad.error.reason
    ok = parse({"mobile": "2125550142", "cancel_reason": "Price", "cancelled_at": "2024-04-01"}, **wb)
    assert isinstance(ok, Accepted)
    assert ok.lead.rank == 0
    excluded = parse(
        {"mobile": "2125550142", "cancel_reason": "moved", "cancelled_at": "2024-04-01"},
        kind="winback",
        winback={"excluded_reasons": ["moved"]},
    )
    assert isinstance(excluded, Excluded)


@pytest.mark.parametrize("value", ["NaN", "inf", "1e400"])
def test_a_non_finite_order_by_value_keeps_the_row_ranked_last(value: str) -> None:
    # it used to raise ValueError/OverflowError out of the parser, failing the whole import with no line named
    got = parse({"mobile": "2125550142", "arpu": value}, order_by="arpu")
    assert isinstance(got, Accepted)
    assert got.lead.rank == LAST_RANK
    assert got.lead.fields["arpu"] == value


def test_an_address_zone_by_column_or_by_field_joins_the_zone_of_a_number_placed_in_one() -> None:
    # the person may be at the address or where the area code is: the stricter of the two decides
    explicit = parse({"mobile": "2125550142", "timezone": "America/Denver"})
    assert isinstance(explicit, Accepted)
    assert explicit.lead.zones == ("America/Denver", "America/New_York")
    by_state = parse(
        {"mobile": "2125550142", "state": "CA"},
        leads={"timezone_by": {"field": "state", "zones": {"CA": "America/Los_Angeles"}}},
    )
    assert isinstance(by_state, Accepted)
    assert by_state.lead.zones == ("America/Los_Angeles", "America/New_York")
    vague = parse({"mobile": "+79161234567", "timezone": "Europe/Kaliningrad"})  # all of Russia's zones
    assert isinstance(vague, Accepted)
    assert vague.lead.zones == ("Europe/Kaliningrad",)


def test_the_address_region_is_read_from_the_named_column_in_the_form_region_rules_use() -> None:
    camp: dict[str, Any] = {"leads": {"region_column": "state"}}
    for written in ("FL", "fl", "Florida", "US-FL", " florida "):
        got = parse({"mobile": "2125550142", "state": written}, **camp)
        assert isinstance(got, Accepted), written
        assert got.lead.region == "US-FL"
        assert got.lead.fields["state"] == written.strip()  # still on the screen-pop as written
    empty = parse({"mobile": "2125550142", "state": ""}, **camp)
    assert isinstance(empty, Accepted)
    assert empty.lead.region is None
    unread = parse({"mobile": "2125550142", "state": "FL"})  # no region_column: not read
    assert isinstance(unread, Accepted)
    assert unread.lead.region is None
    bad = parse({"mobile": "2125550142", "state": "Flx"}, **camp)
    assert isinstance(bad, Rejected)
    assert (bad.error.line, bad.error.column) == (7, "state")
    assert "'Flx' is not a region of US" in bad.error.reason
    uk = parse({"mobile": "07400 123456", "nation": "Scotland"}, default_region="GB", jurisdiction="uk",
               caller_id_number="+442079460000", leads={"region_column": "nation"})
    assert isinstance(uk, Accepted)
    assert uk.lead.region == "GB-SCT"


def test_consent_and_area() -> None:
    got = parse({"mobile": "2125550142", "consent": "Yes", "area": "NY,01"})
    assert isinstance(got, Accepted)
    assert got.lead.consent is Consent.GRANTED
    assert got.lead.area == "NY_01"


def test_max_numbers_per_lead() -> None:
    got = parse({"phones": ["2125550142", "2125550143", "2125550144"]}, leads={"max_numbers": 2})
    assert isinstance(got, Accepted)
    assert len(got.lead.numbers) == 2
    assert "at most 2 numbers" in got.warnings[0].reason
