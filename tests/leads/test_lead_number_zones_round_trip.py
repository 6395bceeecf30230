"""The stored form keeps each number's own zones, so decode and encode give back the same lead (and its
zones) when an address zone and a number placed in another zone make up the lead's zones."""

from __future__ import annotations

from dialer.leads.model import Lead, LeadNumber, decode_lead, encode_lead, merge_leads

NY, LA = "America/New_York", "America/Los_Angeles"


def test_decoding_keeps_a_numbers_own_zone_under_an_address_zone() -> None:
    lead = Lead("L1", (LeadNumber("+12135550142", "home", (LA,)),), timezone=NY)
    assert lead.zones == (LA, NY)
    back = decode_lead("L1", encode_lead(lead))
    assert back == lead
    assert back.zones == (LA, NY)
    assert merge_leads(back, lead).zones == (LA, NY)
