"""Phone normalisation and the lead's stored form; merging is idempotent and keeps what it had."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.campaigns.vocab import Consent
from dialer.errors import LeadError
from dialer.leads import Lead, LeadNumber, LeadSource, decode_lead, encode_lead, merge_leads, normalize, parse_number
from dialer.leads.model import decode_fields, decode_header


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(212) 555-0142", "US", "+12125550142"),
        ("212.555.0142", "US", "+12125550142"),
        ("+1 312 555 0177", "GB", "+13125550177"),
        ("020 7946 0123", "GB", "+442079460123"),
        ("07400 123456", "GB", "+447400123456"),
    ],
)
def test_normalize(raw: str, region: str, e164: str) -> None:
    assert normalize(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("hello", "not a phone number"),
        ("123", "wrong number of digits"),
        ("+1 555 555 1234", "not a valid number"),
        ("+1 900 555 0123", "premium-rate"),
    ],
)
def test_rejected_numbers_say_why(raw: str, why: str) -> None:
    with pytest.raises(LeadError, match=why):
        normalize(raw, "US")


def test_zones_of_numbers() -> None:
    assert parse_number("+13125550177", "US")[1] == ("America/Chicago",)
    assert parse_number("+16025550190", "US")[1] == ("America/Phoenix",)
    assert len(parse_number("+447400123456", "GB")[1]) == 4  # a UK mobile: London and the islands


def lead(lid: str = "L1", *nums: str, **over: object) -> Lead:
    numbers = tuple(LeadNumber(n, "mobile", ("America/New_York",)) for n in (nums or ("+12125550142",)))
    return Lead(lid, numbers, {"name": "Ann"}, (LeadSource("list-a", "file", 100.0),), **over)  # type: ignore[arg-type]


def test_encode_decode_round_trip_and_header() -> None:
    original = lead(
        "L1",
        "+12125550142",
        "+13125550177",
        subscriber_id="S9",
        consent=Consent.GRANTED,
        area="NY01",
        rank=-4200,
        prev_leaves=1,
        jumper_now=True,
    )
    blob = encode_lead(original)
    back = decode_lead("L1", blob)
    assert back.numbers[1].e164 == "+13125550177"
    assert back.fields == original.fields
    assert back.sources == original.sources
    assert (back.subscriber_id, back.consent, back.area, back.rank) == ("S9", Consent.GRANTED, "NY01", -4200)
    h = decode_header(blob)
    assert h.person == "subscriber:S9"
    assert h.numbers == ("+12125550142", "+13125550177")
    assert h.prev_leaves == 1
    assert h.jumper_now
    assert decode_fields(blob) == {"name": "Ann"}
    assert (h.region, back.region) == (None, None)
    with pytest.raises(LeadError, match="unknown format"):
        decode_header("garbage")


def test_the_address_region_and_the_lists_are_in_the_header_and_leads_stored_before_them_still_read() -> None:
    florida = lead("L1", "+13055550100", region="US-FL")
    blob = encode_lead(florida)
    assert decode_header(blob).region == decode_lead("L1", blob).region == "US-FL"
    assert decode_header(blob).lists == ("list-a",)
    assert decode_fields(blob) == {"name": "Ann"}
    # format L1, as an earlier version stored it: the same header without the region slot
    old = "\x1f".join(["L1", "+13055550100", "number:+13055550100", "NY01", "unknown", "America/New_York", "5",
                        "0", "0", '{"f":{"name":"Ann"},"s":[["may, vendor","file",100.0]]}'])
    h = decode_header(old)
    assert (h.numbers, h.area, h.zones, h.rank, h.region) == (("+13055550100",), "NY01", ("America/New_York",), 5,
                                                              None)
    assert decode_lead("L1", old).fields == {"name": "Ann"}
    assert h.lists == ("may_ vendor",)  # from its JSON sources, as the header keeps names (no commas)
    assert decode_fields(old) == {"name": "Ann"}
    moved = merge_leads(florida, lead("L1", "+13055550100", region="US-GA"))
    assert moved.region == "US-GA"  # the newer address wins, as a newer time zone does
    assert merge_leads(florida, lead("L1", "+13055550100")).region == "US-FL"


def test_zones_are_the_union_and_an_address_zone_narrows_only_the_numbers_it_is_among() -> None:
    two = Lead(
        "L",
        (
            LeadNumber("+12125550142", zones=("America/New_York",)),
            LeadNumber("+14155550123", zones=("America/Los_Angeles",)),
        ),
    )
    assert two.zones == ("America/Los_Angeles", "America/New_York")
    # An address in Chicago does not move the numbers' owners there: an LA mobile whose row says New York
    # was called at 08:05 New York time, 05:05 where the phone is. Each number placed elsewhere holds.
    assert replace(two, timezone="America/Chicago").zones == (
        "America/Chicago", "America/Los_Angeles", "America/New_York")
    assert replace(two, timezone="America/New_York").zones == ("America/Los_Angeles", "America/New_York")
    # A number phonenumbers places only vaguely (a Russian mobile: all of the country's zones, not even
    # Kaliningrad's among them) takes the address's zone instead
    russia = ("Asia/Kamchatka", "Asia/Novosibirsk", "Asia/Yekaterinburg", "Europe/Moscow")
    mobile = Lead("M", (LeadNumber("+79161234567", zones=russia),), timezone="Europe/Kaliningrad")
    assert mobile.zones == ("Europe/Kaliningrad",)
    unplaced = Lead("U", (LeadNumber("+18005550100", zones=()),), timezone="America/Denver")
    assert unplaced.zones == ("America/Denver",)
    assert two.person == "number:+12125550142"
    with pytest.raises(LeadError, match="no phone number"):
        Lead("x", ())
    with pytest.raises(LeadError, match=r"not E\.164"):
        LeadNumber("2125550142")


def test_merge_appends_numbers_and_sources_and_keeps_identity() -> None:
    old = lead("L1", "+12125550142")
    new = replace(lead("L2", "+13125550177", "+12125550142"), sources=(LeadSource("list-b", "file", 200.0),))
    merged = merge_leads(old, replace(new, fields={"name": "", "tariff": "Internet 300"}))
    assert merged.lead_id == "L1"
    assert [n.e164 for n in merged.numbers] == ["+12125550142", "+13125550177"]
    assert merged.fields == {"name": "Ann", "tariff": "Internet 300"}
    assert [s.list_name for s in merged.sources] == ["list-a", "list-b"]
    capped = merge_leads(old, new, max_numbers=1)
    assert len(capped.numbers) == 1


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@given(st.dictionaries(texts, texts, max_size=5), st.dictionaries(texts, texts, max_size=5))
def test_merge_is_idempotent(f1: dict[str, str], f2: dict[str, str]) -> None:
    a = replace(lead(), fields=f1)
    b = replace(lead("L1", "+13125550177"), fields=f2, sources=(LeadSource("b", "api", 5.0),))
    once = merge_leads(a, b)
    assert merge_leads(once, b) == once
    assert merge_leads(once, once) == once
    assert decode_lead("L1", encode_lead(once)).fields == once.fields
