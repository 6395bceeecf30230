"""Malformed lead files: every bad row gets its line and reason, good rows are kept, file errors stop early."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import pytest

from dialer.errors import LeadError
from dialer.leads import files
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


def test_a_quoted_record_over_many_lines_is_skipped_with_each_line_named_and_the_next_row_survives() -> None:
    lines = b"".join(b"y" * 900 + b"\n" for _ in range(200))
    rows = csv_rows(b'name,phone\nAnn,"' + lines + b'"\nBob,2125550143\n', max_row_chars=5000)
    found = issues(rows)
    assert sorted(found) == list(range(2, 203))  # every skipped line is reported, none silently lost
    assert found[2] == (
        "row is 180207 characters long, over the 5000 limit: the quoted value opened on this line runs to "
        "line 202; lines 2-202 skipped (a quote that is never closed?)"
    )
    assert next(r for r in rows if isinstance(r, RowIssue)).column == "phone"
    assert found[150] == "skipped: inside the over-long quoted value opened on line 2 (column phone)"
    assert good(rows) == [203]


def test_a_stray_quote_inside_a_value_is_a_literal_character_as_in_the_csv_module() -> None:
    body = ['L0,2125550100,Pat O"Neil'] + [f"L{i},21255501{i:02d},Person {i}" for i in range(1, 39)]
    body += ['L39,2125550139,"5"" screen",x', 'L40,2125550140,a 5" screen']  # an even, then an odd count
    data = ("id,phone,name\n" + "\n".join(body) + "\n").encode()
    rows = csv_rows(data, max_row_chars=256)
    assert good(rows) == [*range(2, 41), 42]
    assert issues(rows) == {41: "4 values for 3 columns (id, phone, name)"}
    named = {r.line: r.data["name"] for r in rows if isinstance(r, RawRow)}
    assert named[2] == 'Pat O"Neil'
    assert named[40] == "Person 38"
    assert named[42] == 'a 5" screen'


def test_a_quote_opening_a_field_still_spans_lines_and_a_closed_one_is_followed_by_literal_text() -> None:
    text = 'name,phone,note\nAnn,2125550142,"one\ntwo, "" three"\n"Big" Jo,2125550143,x\nCy,2125550144,"a""\n'
    rows = csv_rows(text.encode())
    assert good(rows) == [2, 4]
    # the values are what the csv module reads; a quote still open at the end of the file is not a value
    assert [list(r.data.values()) for r in rows if isinstance(r, RawRow)] == list(csv.reader(io.StringIO(text)))[1:3]
    assert [r.data["note"] for r in rows if isinstance(r, RawRow)] == ['one\ntwo, " three', "x"]
    assert "is never closed" in issues(rows)[5]


def test_an_unclosed_quote_reports_every_line_it_swallows() -> None:
    body = ['L0,2125550100,"Pat'] + [f"L{i},21255501{i:02d},Person {i}" for i in range(1, 30)]
    data = ("id,phone,name\n" + "\n".join(body) + "\n").encode()
    rows = csv_rows(data, max_row_chars=256)
    found = issues(rows)
    assert good(rows) == []
    assert sorted(found) == list(range(2, 32))
    assert "is never closed: it runs to the end of the file; lines 2-31" in found[2]
    assert found[31] == "not imported: inside the unclosed quoted value opened on line 2 (column name)"


def test_a_quote_opened_inside_a_skipped_long_line_still_ends_the_record_where_the_csv_module_does() -> None:
    long_open = b'Ann,2125550142,"' + b"x" * 3000 + b"\n"  # over the limit, and its quoted value goes on
    data = b"name,phone,note\n" + long_open + b'still the note",\nBob,2125550143,ok\n'
    rows = csv_rows(data, max_row_chars=1000)
    assert good(rows) == [4]
    assert set(issues(rows)) == {2, 3}
    long_close = b'Ann,2125550142,"a\n' + b"x" * 3000 + b'"\nBob,2125550143,ok\n'  # closed in the skipped line
    rows = csv_rows(b"name,phone,note\n" + long_close, max_row_chars=1000)
    assert good(rows) == [4]
    assert set(issues(rows)) == {2, 3}


@pytest.mark.parametrize("end", [b"\r", b"\r\n", b"\n"])
def test_an_oversize_row_loses_only_itself_whatever_the_line_ends(end: bytes) -> None:
    lines = [b"id,phone,note", b"L0,2125550100,short", b"L1,2125550101," + b"x" * 400]
    lines += [b"L%d,21255501%02d,short" % (i, i) for i in range(2, 20)]
    rows = csv_rows(end.join(lines) + end, max_row_chars=256)
    assert good(rows) == [2, *range(4, 22)]
    assert issues(rows) == {3: f"row is {414 + len(end)} characters long, over the 256 limit; row skipped"}
    jsonl = [b'{"phone": "2125550100"}', b'{"note": "' + b"x" * 400 + b'"}', b'{"phone": "2125550101"}']
    assert good(jl(end.join(jsonl) + end, limit=256)) == [1, 3]


@pytest.mark.parametrize("width", [255, 256, 257, 65791, 65792, 65793])
def test_a_crlf_cut_at_the_read_limit_is_still_one_line_end(width: int) -> None:
    # readline(size) may stop between "\r" and "\n": at the row limit, and inside a drained long line
    note = b"x" * (width - len(b"L1,2125550101,"))
    data = b"id,phone,note\r\nL1,2125550101," + note + b"\r\nL2,2125550102,ok\r\n\r\nL4,2125550104,ok\r\n"
    rows = csv_rows(data, max_row_chars=256)
    assert good(rows) == ([2, 3, 5] if width <= 256 else [3, 5])
    assert set(issues(rows)) == (set() if width <= 256 else {2})
    cr_only = csv_rows(data.replace(b"\r\n", b"\r"), max_row_chars=256)
    assert good(cr_only) == good(rows)


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


def _open_at_the_end(lines: list[str]) -> bool:
    """A record whose quoted value is still open after its last line (so at the end of the file)."""
    quotes = files._Quotes(",")
    goes_on = False
    for ln in lines:
        quotes.feed(ln)
        goes_on = quotes.record_goes_on()
    return goes_on


@pytest.mark.parametrize("seed", range(4))
def test_records_are_where_the_csv_module_finds_them_and_every_skipped_line_is_named(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small files of quotes, delimiters and all three line ends, read with a tiny limit and tiny chunks: a
    # record within the limit has the csv module's values, every line of a record over it gets its own issue
    rng = random.Random(seed)
    pieces = ["a", "bbbbbbb", " ", '"', '"', ",", "\n", "\r\n", "\r", 'x"y', '""']
    for _ in range(500):
        monkeypatch.setattr(files, "_CHUNK", rng.randint(1, 5))
        limit = rng.randint(8, 30)
        text = "a,phone\n" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        physical = io.StringIO(text, newline="").readlines()
        reader = csv.reader(iter(physical))
        next(reader)
        expected: list[tuple[int, list[str] | None]] = []
        while True:
            first = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            lines = physical[first - 1 : reader.line_num]
            if (
                any(len(ln.rstrip("\r\n")) > limit for ln in lines)
                or (len(lines) > 1 and len("".join(lines)) > limit)
                or _open_at_the_end(lines)
            ):
                expected += [(n, None) for n in range(first, reader.line_num + 1)]
            elif any(v.strip() for v in row):
                expected.append((first, row if len(row) == 2 else None))
        got = [
            (r.line, list(r.data.values()) if isinstance(r, RawRow) else None)
            for r in csv_rows(text.encode(), max_row_chars=limit)
        ]
        assert got == expected, (text, limit, files._CHUNK)


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
