"""A win-back cancel reason is stored as its word whatever the spelling, so scripts and reports see one value."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.scripts import load_script
from dialer.campaigns import parse_campaign
from dialer.leads.rows import Accepted, RowParser

NOW = datetime(2025, 3, 3, 12, tzinfo=UTC).timestamp()
WINBACK = parse_campaign(
    {
        "id": "wb",
        "kind": "winback",
        "name": "W",
        "caller_id_name": "Acme",
        "caller_id_number": "+12125550100",
        "jurisdiction": "us",
    }
)
SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "scripts" / "winback.yaml"


def lead_fields(reason: str) -> dict[str, str]:
    row = {"mobile": "+12125550141", "cancel_reason": reason, "cancelled_at": "2025-01-15"}
    got = RowParser(WINBACK, "l", "file", NOW).parse(2, row)
    assert isinstance(got, Accepted), got
    return dict(got.lead.fields)


@pytest.mark.parametrize(
    ("typed", "word", "offer"),
    [
        ("price", "price", "offer_price"),
        ("Price", "price", "offer_price"),
        ("PRICE ", "price", "offer_price"),
        ("QUALITY", "quality", "offer_quality"),
        ("Competitor services", "competitor_services", "offer_price"),
        ("competitor-services", "competitor_services", "offer_price"),
        ("Unknown", "none", "offer_general"),
    ],
)
def test_any_spelling_is_stored_as_the_word_and_the_script_offers_its_step(typed: str, word: str, offer: str) -> None:
    fields = lead_fields(typed)
    assert fields["cancel_reason"] == word
    assert fields["cancel_reason_raw"] == typed.strip()
    shown = load_script(SCRIPT).render(fields)["steps"]["opening"]["next"]
    offers = [s for s in shown if s.startswith("offer_")]
    assert offers == [offer]


def test_the_conversion_report_key_is_one_value_for_every_spelling() -> None:
    assert WINBACK.report_by == "cancel_reason"
    keys = {lead_fields(t)[WINBACK.report_by] for t in ("price", "Price", "PRICE")}
    assert keys == {"price"}
