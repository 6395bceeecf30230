"""A quote left open never swallows the rows after it unsaid: each line is reported, or the record names its lines."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest

from dialer.campaigns import parse_campaign
from dialer.errors import LeadError
from dialer.leads.files import RawRow, read_csv
from dialer.leads.rows import Accepted, Rejected, RowIssue, RowParser

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
    return list(read_csv(io.BytesIO(data), name="f.csv", required=(), number_columns=("mobile",)))


def parsed(data: bytes) -> list[Accepted | Rejected]:
    parser = RowParser(CAMPAIGN, "l", "file", NOW)
    out: list[Any] = []
    for item in read(data):
        out.append(Rejected(item) if isinstance(item, RowIssue) else parser.parse(item.line, item.data))
    return out


def test_a_quote_open_at_the_end_of_the_file_reports_every_line_instead_of_one_lead_holding_them() -> None:
    data = b'id,mobile,name\na1,+12125550141,"Ann\na2,+12125550142,Bob\na3,+12125550143,Cy\n'
    rows = read(data)
    assert [r.line for r in rows if isinstance(r, RowIssue)] == [2, 3, 4]
    assert not [r for r in rows if isinstance(r, RawRow)]
    first = rows[0]
    assert isinstance(first, RowIssue)
    assert first.column == "name"
    assert "never closed" in first.reason
    assert "lines 2-4 not imported" in first.reason
    assert isinstance(rows[2], RowIssue)
    assert rows[2].reason == "not imported: inside the unclosed quoted value opened on line 2 (column name)"


def test_an_open_quote_on_the_last_line_alone_is_reported() -> None:
    rows = read(b'id,mobile,name\na1,+12125550141,Ann\na2,+12125550142,"Bob')
    assert [r.line for r in rows if isinstance(r, RawRow)] == [2]
    issue = rows[1]
    assert isinstance(issue, RowIssue)
    assert issue.line == 3
    assert "line 3 not imported" in issue.reason


def test_a_rejected_record_over_several_lines_names_the_lines_it_took() -> None:
    data = (
        b'id,mobile,name,note\na1,+12125550141,"Ann,x\na2,+12125550142,Bob,y\na3,+12125550143,Cy,y\n'
        b'a4,+12125550144,Dee,"VIP"\na5,+12125550145,Eve,z\n'
    )
    rows = read(data)
    assert [r.line for r in rows if isinstance(r, RawRow)] == [6]
    issue = rows[0]
    assert isinstance(issue, RowIssue)
    assert issue.line == 2
    assert issue.reason.startswith("3 values for 4 columns")
    assert "the record runs over lines 2-5" in issue.reason
    assert "(name)" in issue.reason


def test_a_record_the_parser_rejects_names_its_lines_too() -> None:
    # the column count matches, so only the parser sees the row: a number swallowed into the quoted id
    data = b'mobile,id,name\n+12125550141,"a1\nx",Ann\n+12125550142,a2,Bob\n'
    got = parsed(data)
    bad = got[0]
    assert isinstance(bad, Rejected)
    assert bad.error.column == "id"
    assert "the record runs over lines 2-3: a quoted value (id) holds line breaks" in bad.error.reason
    assert isinstance(got[1], Accepted)


def test_an_accepted_value_with_line_breaks_gets_a_warning_naming_its_lines() -> None:
    got = parsed(b'id,mobile,address\na1,+12125550141,"1 Main St\nApt 2\nNew York"\na2,+12125550142,x\n')
    first, second = got
    assert isinstance(first, Accepted)
    assert first.lead.fields["address"] == "1 Main St\nApt 2\nNew York"
    assert [(w.line, w.column) for w in first.warnings] == [(2, "address")]
    assert "lines 2-4" in first.warnings[0].reason
    assert isinstance(second, Accepted)
    assert second.warnings == ()


def test_a_quote_open_in_the_header_stops_the_file_saying_so() -> None:
    with pytest.raises(LeadError, match="quote opened in the header is never closed"):
        read(b'id,mobile,"name\na1,+12125550141,Ann\n')
