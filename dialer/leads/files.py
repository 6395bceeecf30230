"""Reading lead files (CSV, JSON Lines) into raw rows, one clear issue per unreadable row.

The readers never give up on a file because of one bad row: an undecodable byte, a row with the wrong
number of values, a broken JSON line or a line longer than the limit becomes a `RowIssue` with its line
number, and the next row is read. Only a file-level problem (no header, a required column missing, no
phone column at all) stops the import, and it does so before any row is yielded, so nothing is half done.

Bytes that do not decode are kept as surrogates (`errors="surrogateescape"`) so they can be found per row
instead of failing the whole file. A line longer than `max_row_chars` is skipped while it is read, in
bounded chunks, so a hostile file cannot make us hold a gigabyte line in memory; the same holds for a
CSV record spread over many lines inside one quoted field.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal, cast

from dialer.errors import LeadError
from dialer.leads.rows import RowIssue

__all__ = ["RawRow", "detect_format", "read_csv", "read_jsonl", "read_rows"]

_BAD_BYTES = re.compile("[\udc80-\udcff]")
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class RawRow:
    """One readable row: its first line number and its values by column name."""

    line: int
    data: dict[str, object]


def detect_format(name: str) -> Literal["csv", "jsonl"]:
    lower = name.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    raise LeadError(f"{name}: cannot tell the format from the name; use .csv or .jsonl, or pass fmt=")


def _text_stream(raw: BinaryIO, encoding: str) -> io.TextIOWrapper:
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw))
    head = buffered.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif encoding.replace("_", "-").lower() in {"utf-8", "utf8"}:
        encoding = "utf-8-sig"
    return io.TextIOWrapper(buffered, encoding=encoding, errors="surrogateescape", newline="")


def _read_line(stream: io.TextIOWrapper, limit: int) -> tuple[str, int]:
    """One physical line, or, if it is longer than `limit`, its length after draining it in chunks."""
    line = stream.readline(limit + 1)
    if len(line) > limit and not line.endswith("\n"):
        total = len(line)
        while True:
            more = stream.readline(_CHUNK)
            total += len(more)
            if not more or more.endswith("\n"):
                return "", total
    return line, len(line)


def _lines(stream: io.TextIOWrapper, limit: int, huge: dict[int, int], quoted: bool) -> Iterator[str]:
    """Physical lines, one item per line so the CSV reader's line count stays the file's.

    A record over `limit` characters is drained and replaced by empty lines, and its first line is
    recorded in `huge`. With `quoted` (CSV), a record is the run of lines inside one quoted field
    (tracked by quote parity), buffered up to `limit` before it is passed on.
    """
    n = 0
    while True:
        line, size = _read_line(stream, limit)
        if size == 0:
            return
        n += 1
        if not line:
            huge[n] = size
            yield "\n"
            continue
        if not quoted or line.count('"') % 2 == 0:
            yield line
            continue
        first, record, total, over = n, [line], size, False
        while True:
            nxt, nsize = _read_line(stream, limit)
            if nsize == 0:
                break
            n += 1
            total += nsize
            over = over or not nxt or total > limit
            if not over:
                record.append(nxt)
            if nxt.count('"') % 2 == 1:
                break
        if over:
            huge[first] = total
            yield from ["\n"] * (n - first + 1)
        else:
            yield from record


def _bad_bytes(line: int, values: Sequence[str], header: Sequence[str] | None) -> RowIssue | None:
    for i, value in enumerate(values):
        m = _BAD_BYTES.search(value)
        if m:
            byte = value[m.start()].encode("utf-8", "surrogateescape")
            col = header[i] if header is not None and i < len(header) else None
            return RowIssue(
                line,
                f"byte {byte!r} does not decode in the file's encoding; save the file as UTF-8 "
                "or import it with the right encoding (e.g. encoding='cp1252')",
                col,
            )
    return None


def _huge_issue(first: int, last: int, huge: dict[int, int], limit: int) -> RowIssue | None:
    for ln in range(first, last + 1):
        if ln in huge:
            return RowIssue(ln, f"row is {huge[ln]} characters long, over the {limit} limit; row skipped")
    return None


def read_csv(
    raw: BinaryIO,
    *,
    name: str,
    required: Sequence[str],
    number_columns: Sequence[str],
    encoding: str = "utf-8",
    max_row_chars: int = 64 * 1024,
    delimiter: str = ",",
) -> Iterator[RawRow | RowIssue]:
    """Rows of a CSV file with a header line. Raises `LeadError` for file-level problems."""
    huge: dict[int, int] = {}
    reader = csv.reader(_lines(_text_stream(raw, encoding), max_row_chars, huge, True), delimiter=delimiter)
    try:
        header_row = next(reader)
    except StopIteration:
        raise LeadError(f"{name}: the file is empty; a CSV lead file needs a header line") from None
    except csv.Error as exc:
        raise LeadError(f"{name}: line 1: the header cannot be read ({exc})") from None
    if 1 in huge or not header_row:
        raise LeadError(f"{name}: line 1: the header is empty or too long; the first line must name the columns")
    if (issue := _bad_bytes(1, header_row, None)) is not None:
        raise LeadError(f"{name}: header: {issue.reason}")
    header = [h.strip().lower() for h in header_row]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise LeadError(f"{name}: header names column(s) {', '.join(dupes)} more than once")
    missing = [c for c in required if c not in header]
    if missing:
        raise LeadError(f"{name}: missing required column(s) {', '.join(missing)}; the header has {', '.join(header)}")
    if not any(c in header for c in number_columns):
        raise LeadError(
            f"{name}: no phone column; name one of {', '.join(number_columns)} in the header "
            f"(the header has {', '.join(header)})"
        )
    while True:
        first = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowIssue(first, f"cannot be read as CSV ({exc})")
            continue
        last = reader.line_num
        if (issue := _huge_issue(first, last, huge, max_row_chars)) is not None:
            yield issue
            continue
        if not row or all(not v.strip() for v in row):
            continue
        if (issue := _bad_bytes(first, row, header)) is not None:
            yield issue
            continue
        if len(row) != len(header):
            yield RowIssue(first, f"{len(row)} values for {len(header)} columns ({', '.join(header)})")
            continue
        yield RawRow(first, dict(zip(header, row, strict=True)))


def read_jsonl(
    raw: BinaryIO,
    *,
    name: str,
    encoding: str = "utf-8",
    max_row_chars: int = 64 * 1024,
) -> Iterator[RawRow | RowIssue]:
    """Rows of a JSON Lines file: one JSON object per line; blank lines are skipped."""
    del name  # kept for a symmetric signature with read_csv
    huge: dict[int, int] = {}
    for n, line in enumerate(_lines(_text_stream(raw, encoding), max_row_chars, huge, False), start=1):
        if n in huge:
            yield RowIssue(n, f"row is {huge[n]} characters long, over the {max_row_chars} limit; row skipped")
            continue
        text = line.strip()
        if not text:
            continue
        if (issue := _bad_bytes(n, [text], None)) is not None:
            yield issue
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield RowIssue(n, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield RowIssue(n, f"is a JSON {type(obj).__name__}; each line must be one object")
            continue
        yield RawRow(n, {str(k).strip().lower(): v for k, v in obj.items()})


def read_rows(
    raw: BinaryIO,
    fmt: Literal["csv", "jsonl"],
    *,
    name: str,
    required: Sequence[str],
    number_columns: Sequence[str],
    encoding: str = "utf-8",
    max_row_chars: int = 64 * 1024,
) -> Iterator[RawRow | RowIssue]:
    """Dispatch to the reader of `fmt`."""
    if fmt == "csv":
        return read_csv(
            raw,
            name=name,
            required=required,
            number_columns=number_columns,
            encoding=encoding,
            max_row_chars=max_row_chars,
        )
    return read_jsonl(raw, name=name, encoding=encoding, max_row_chars=max_row_chars)
