"""Lead files separated by ";" or tabs are read, not refused: .tsv means tabs, else the header line tells."""

from __future__ import annotations

import io

import pytest

from dialer.leads.files import RawRow, read_csv, read_rows, sniff_delimiter
from dialer.leads.rows import RowIssue

ROWS = [["id", "mobile", "name"], ["a1", "+12125550141", "Ann, Lee"], ["a2", "+12125550142", "Bob"]]


def rows_of(data: bytes, name: str) -> list[RawRow | RowIssue]:
    return list(read_rows(io.BytesIO(data), "csv", name=name, required=(), number_columns=("mobile",)))


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("id,mobile,name", ","),
        ("id;mobile;name", ";"),
        ("id\tmobile\tname", "\t"),
        ('"name, full";mobile;id', ";"),  # a delimiter inside a quoted name does not count
        ("mobile", ","),
        ("id;mobile,name;x", ";"),
    ],
)
def test_the_header_line_tells_the_delimiter(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header + "\r\n") == delimiter


@pytest.mark.parametrize(("sep", "name"), [("\t", "list.tsv"), ("\t", "list.txt"), (";", "list.csv"), (",", "x.csv")])
def test_semicolon_and_tab_files_are_read(sep: str, name: str) -> None:
    data = "".join(sep.join(f'"{v}"' if "," in v and sep == "," else v for v in r) + "\r\n" for r in ROWS)
    got = rows_of(data.encode(), name)
    assert [r.data for r in got if isinstance(r, RawRow)] == [
        {"id": "a1", "mobile": "+12125550141", "name": "Ann, Lee"},
        {"id": "a2", "mobile": "+12125550142", "name": "Bob"},
    ]
    assert not [r for r in got if isinstance(r, RowIssue)]


def test_a_tsv_file_is_read_with_tabs_even_when_its_header_has_commas() -> None:
    got = rows_of(b"id\tmobile\tname, full\ta,b,c\na1\t+12125550141\tAnn\tx\n", "vendor.tsv")
    assert [r.data for r in got if isinstance(r, RawRow)] == [
        {"id": "a1", "mobile": "+12125550141", "name, full": "Ann", "a,b,c": "x"}
    ]


def test_a_sniffed_header_keeps_line_numbers_and_quotes() -> None:
    data = b'id;mobile;note\na1;+12125550141;"two\nlines"\na2;+12125550142;x\n'
    got = list(read_csv(io.BytesIO(data), name="f.csv", required=(), number_columns=("mobile",)))
    assert [(r.line, r.data["note"]) for r in got if isinstance(r, RawRow)] == [(2, "two\nlines"), (4, "x")]
