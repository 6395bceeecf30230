"""Malformed lead files: every bad row gets its line and reason, good rows are kept, file errors stop early."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from dialer.errors import LeadError
from dialer.leads.files import RawRow, detect_format, read_csv, read_jsonl
from dialer.leads.rows import RowIssue


def csv_rows(data: bytes, **kw: Any) -> list[RawRow | RowIssue]:
    opts: dict[str, Any] = {"name": "f.csv", "required": (), "number_columns": ("phone", "mobile"), **kw}
    return list(read_csv(io.BytesIO(data), **opts))


def issues(rows: list[RawRow | RowIssue]) -> dict[int, str]:
    return {r.line: r.reason for r in rows if isinstance(r, RowIssue)}


def good(rows: list[RawRow | RowIssue]) -> list[int]:
    return [r.line for r in rows if isinstance(r, RawRow)]


def test_bad_bytes_are_reported_per_row_and_other_rows_kept() -> None:
    data = b"name,phone\nAnn,2125550142\n" + b"Jos\xe9,2125550143\n" + b"Bob,2125550144\n"
    rows = csv_rows(data)
    assert good(rows) == [2, 4]
    assert "b'\\xe9' does not decode" in issues(rows)[3]
    assert "encoding='cp1252'" in issues(rows)[3]
    latin = csv_rows(b"name,phone\nJos\xe9,2125550143\n", encoding="cp1252")
    assert isinstance(latin[0], RawRow)
    assert latin[0].data["name"] == "José"


def test_utf8_bom_and_utf16_are_read() -> None:
    rows = csv_rows("\ufeffName,Phone\nAnn,2125550142\n".encode())
    assert isinstance(rows[0], RawRow)
    assert rows[0].data == {"name": "Ann", "phone": "2125550142"}
    rows16 = csv_rows("name,phone\r\nÅsa,2125550142\r\n".encode("utf-16"))
    assert isinstance(rows16[0], RawRow)
    assert rows16[0].data["name"] == "Åsa"


def test_wrong_column_counts_blank_lines_and_multiline_fields() -> None:
    data = b'name,phone,note\nAnn,2125550142,x\n\nBob,2125550143\nCy,2125550144,"two\nlines"\nDi,1,2,3\n'
    rows = csv_rows(data)
    assert good(rows) == [2, 5]
    assert issues(rows) == {
        4: "2 values for 3 columns (name, phone, note)",
        7: "4 values for 3 columns (name, phone, note)",
    }


def test_huge_rows_are_skipped_without_reading_them_whole() -> None:
    big = b"Ann,2125550142," + b"x" * 300_000 + b"\n"
    rows = csv_rows(b"name,phone,note\n" + big + b"Bob,2125550143,ok\n", max_row_chars=1000)
    assert good(rows) == [3]
    assert "over the 1000 limit" in issues(rows)[2]


def test_a_quoted_record_over_many_lines_is_one_row_error_and_the_next_row_survives() -> None:
    lines = b"".join(b"y" * 900 + b"\n" for _ in range(200))
    rows = csv_rows(b'name,phone\nAnn,"' + lines + b'"\nBob,2125550143\n', max_row_chars=5000)
    assert issues(rows) == {2: "row is 180207 characters long, over the 5000 limit; row skipped"}
    assert good(rows) == [203]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"name,address\nAnn,x\n", "no phone column"),
        (b"name,phone,name\n", "more than once"),
        (b"name,phone\n", None),
    ],
)
def test_file_level_problems(data: bytes, message: str | None) -> None:
    if message is None:
        assert csv_rows(data) == []
        return
    with pytest.raises(LeadError, match=message):
        csv_rows(data)


def test_missing_required_columns_name_them() -> None:
    with pytest.raises(LeadError, match=r"missing required column\(s\) cancel_reason; the header has name, phone"):
        csv_rows(b"name,phone\n", required=("cancel_reason",))


def jl(data: bytes, limit: int = 64 * 1024) -> list[RawRow | RowIssue]:
    return list(read_jsonl(io.BytesIO(data), name="f.jsonl", max_row_chars=limit))


def test_jsonl_errors_per_line() -> None:
    data = b"\n".join(
        [
            json.dumps({"Name": "Ann", "phones": ["2125550142"]}).encode(),
            b"{not json",
            b"[1, 2]",
            b"",
            b'{"name": "Jos\xe9"}',
            json.dumps({"name": "x" * 2000}).encode(),
            json.dumps({"name": "Bob", "phone": 2125550143}).encode(),
        ]
    )
    rows = jl(data, limit=1000)
    assert good(rows) == [1, 7]
    found = issues(rows)
    assert "not valid JSON" in found[2]
    assert "is a JSON list" in found[3]
    assert "does not decode" in found[5]
    assert "over the 1000 limit" in found[6]
    first = rows[0]
    assert isinstance(first, RawRow)
    assert first.data == {"name": "Ann", "phones": ["2125550142"]}


def test_detect_format() -> None:
    assert detect_format("leads.CSV") == "csv"
    assert detect_format("x.ndjson") == "jsonl"
    with pytest.raises(LeadError, match="cannot tell the format"):
        detect_format("leads.xlsx")
