"""Unnamed header columns (Excel's trailing empty ones) are ignored, never a blank-named refusal of the file."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from dialer.campaigns import parse_campaign
from dialer.errors import LeadError
from dialer.leads.files import RawRow, read_csv
from dialer.leads.rows import Accepted, RowIssue, RowParser

NOW = datetime(2025, 3, 3, 12, tzinfo=UTC).timestamp()
CAMPAIGN = parse_campaign(
    {
        "id": "c1",
        "kind": "cold",
        "name": "C",
        "caller_id_name": "Acme",
        "caller_id_number": "+12125550100",
        "jurisdiction": "us",
    }
)


def read(data: bytes) -> list[RawRow | RowIssue]:
    return list(read_csv(io.BytesIO(data), name="vendor.csv", required=(), number_columns=("mobile",)))


def test_two_trailing_empty_columns_are_ignored() -> None:
    rows = read(b"id,mobile,name,,\na1,+12125550141,Ann,,\na2,+12125550142,Bob,,\n")
    assert [r.data for r in rows if isinstance(r, RawRow)] == [
        {"id": "a1", "mobile": "+12125550141", "name": "Ann"},
        {"id": "a2", "mobile": "+12125550142", "name": "Bob"},
    ]
    assert not [r for r in rows if isinstance(r, RowIssue)]


def test_rows_may_leave_the_trailing_unnamed_columns_out() -> None:
    rows = read(b"id,mobile,name,,\na1,+12125550141,Ann\na2,+12125550142\n")
    assert [r.line for r in rows if isinstance(r, RawRow)] == [2]
    issue = rows[1]
    assert isinstance(issue, RowIssue)
    assert issue.reason == (
        "2 values for 5 columns (id, mobile, name, column 4 (unnamed), column 5 (unnamed))"
    )


def test_a_value_under_an_unnamed_column_is_a_warning_naming_its_position() -> None:
    parser = RowParser(CAMPAIGN, "l", "file", NOW)
    rows = read(b"id,,mobile,name\na1,VIP,+12125550141,Ann\na2,,+12125550142,Bob\n")
    got = [parser.parse(r.line, r.data) for r in rows if isinstance(r, RawRow)]
    first, second = got
    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert dict(first.lead.fields) == {"name": "Ann"}
    assert [(w.line, w.column) for w in first.warnings] == [(2, "column 2 (unnamed)")]
    assert "no name" in first.warnings[0].reason
    assert second.warnings == ()


def test_file_level_messages_never_print_a_blank_name() -> None:
    with pytest.raises(LeadError) as exc:
        read(b"id,name,,\na1,Ann,,\n")
    assert "(the header has id, name, column 3 (unnamed), column 4 (unnamed))" in str(exc.value)
    assert ", ," not in str(exc.value)
    with pytest.raises(LeadError, match=r"column\(s\) name more than once$"):
        read(b"mobile,name,,name,\n")
