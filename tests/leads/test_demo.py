"""Synthetic demo leads: valid, distinct numbers in several zones, fields per kind, same seed same leads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import phonenumbers

from dialer.campaigns import load_campaigns
from dialer.leads.demo import synth_leads

NOW = datetime(2024, 6, 15, 12, tzinfo=UTC).timestamp()
CAMPAIGNS = load_campaigns(Path(__file__).resolve().parents[2] / "examples" / "campaigns")


def test_numbers_are_valid_distinct_and_spread_over_zones() -> None:
    leads = list(synth_leads(CAMPAIGNS["upsell-fiber"], 400, 1, NOW))
    numbers = [n.e164 for lead in leads for n in lead.numbers]
    assert len(numbers) == len(set(numbers))
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in numbers[::7])
    zones = {lead.zone_key for lead in leads}
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles"} <= zones
    assert all({"name", "address", "tariff", "arpu"} <= set(lead.fields) for lead in leads)


def test_same_seed_same_leads_other_seed_other_leads() -> None:
    c = CAMPAIGNS["cold-fiber"]
    a = [lead.numbers[0].e164 for lead in synth_leads(c, 50, 3, NOW)]
    assert a == [lead.numbers[0].e164 for lead in synth_leads(c, 50, 3, NOW)]
    assert a != [lead.numbers[0].e164 for lead in synth_leads(c, 50, 4, NOW)]
    assert {lead.consent.value for lead in synth_leads(c, 200, 3, NOW)} == {"granted", "denied"}


def test_winback_leads_carry_reason_and_date_and_exclusions_apply() -> None:
    c = CAMPAIGNS["winback"]
    leads = list(synth_leads(c, 300, 5, NOW))
    assert len(leads) < 300  # "moved" is excluded by the example campaign
    assert all(lead.fields["cancel_reason"] != "moved" for lead in leads)
    assert any(lead.fields.get("offer_restriction") == "paid_connection_only" for lead in leads)
