"""`order_by` amounts are read as lists write them: US and European marks, currency signs, spaces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.campaigns import kinds, parse_campaign
from dialer.campaigns.kinds import LAST_RANK, rank_lead
from dialer.leads.rows import Accepted, RowParser

NOW = datetime(2025, 3, 3, 12, tzinfo=UTC).timestamp()
UPSELL = parse_campaign(
    {
        "id": "up",
        "kind": "base_upsell",
        "name": "U",
        "caller_id_name": "Acme",
        "caller_id_number": "+12125550100",
        "jurisdiction": "us",
        "order_by": "arpu",
    }
)


@pytest.mark.parametrize(
    ("text", "value", "guessed"),
    [
        ("42", 42.0, False),
        ("42.5", 42.5, False),
        ("42,5", 42.5, False),  # a lone ',' not followed by three digits: a decimal mark
        ("42,50", 42.5, False),
        ("1,234", 1234.0, True),  # thousands, but 1.234 in Europe: read as thousands, with a warning
        ("1,234.50", 1234.5, False),
        ("1.234,50", 1234.5, False),
        ("1,234,567", 1234567.0, False),
        ("1.234.567", 1234567.0, False),
        ("$42.50", 42.5, False),
        ("42.50 €", 42.5, False),
        ("£1,234.50", 1234.5, False),
        ("1 234,50", 1234.5, False),
        ("1\u00a0234", 1234.0, False),
        ("-3,5", -3.5, False),
        ("1.234", 1.234, False),
    ],
)
def test_amounts_are_read_as_lists_write_them(text: str, value: float, guessed: bool) -> None:
    got, note = kinds._parse_amount(text)
    assert got == pytest.approx(value)
    assert (note is not None) is guessed


def test_amounts_rank_by_their_value_highest_first() -> None:
    texts = ["1,234", "$42.50", "1,234.50", "999", "1.234,75", "40"]
    ranks = {t: rank_lead(UPSELL, {"arpu": t}, NOW).rank for t in texts}
    assert sorted(texts, key=ranks.__getitem__) == ["1.234,75", "1,234.50", "1,234", "999", "$42.50", "40"]
    assert ranks["$42.50"] == -4250


@pytest.mark.parametrize("text", ["", "n/a", "$", "1,2,3", "NaN", "inf", "12abc"])
def test_text_that_is_no_amount_ranks_last(text: str) -> None:
    got = rank_lead(UPSELL, {"arpu": text}, NOW)
    assert got.rank == LAST_RANK
    assert got.warning is None


def test_a_thousands_guess_is_a_warning_on_the_row_naming_the_column() -> None:
    got = RowParser(UPSELL, "l", "file", NOW).parse(5, {"mobile": "+12125550141", "arpu": "1,234"})
    assert isinstance(got, Accepted)
    assert got.lead.rank == -123400
    [warning] = got.warnings
    assert (warning.line, warning.column) == (5, "arpu")
    assert "'1,234' is read as 1234" in warning.reason
    assert "thousands separator" in warning.reason
