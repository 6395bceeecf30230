"""Reading lead files (CSV, JSON Lines) into raw rows, one clear issue per unreadable row.

The readers never give up on a file because of one bad row: an undecodable byte, a row with the wrong
number of values, a broken JSON line or a line longer than the limit becomes a `RowIssue` with its line
number, and the next row is read. Only a file-level problem (no header, a required column missing, no
phone column at all) stops the import, and it does so before any row is yielded, so nothing is half done.

Bytes that do not decode are kept as surrogates (`errors="surrogateescape"`) so they can be found per row
instead of failing the whole file. A line longer than `max_row_chars` is skipped while it is read, in
bounded chunks, so a hostile file cannot make us hold a gigabyte line in memory; the same holds for a
CSV record spread over many lines inside one quoted field. Every line skipped that way is reported with
its own line number: nothing is dropped unsaid. Lines end at "\n", "\r\n" or a lone "\r" (old Mac Excel).
A CSV named .tsv is read with tabs; any other with the delimiter its header line uses (",", ";" or tab).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO, Literal, cast

from dialer.errors import LeadError
from dialer.leads.rows import RowIssue, RowValues, span_note

__all__ = ["RawRow", "detect_format", "list_name_of_file", "read_csv", "read_jsonl", "read_rows", "sniff_delimiter"]

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


def list_name_of_file(name: str) -> str:
    """The lead list a file's leads join when none is named: the file's name without its extension, each run
    of characters other than letters, digits, `_ . -` made one `-`, at most 64 (what the API's list names
    allow); "upload" if nothing is left. The CLI's upload and `LeadStore.import_file` both name lists so, so
    one file gets one list name whichever way it came in."""
    stem = PurePath(name).stem
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-")[:64].strip("-")
    return cleaned or "upload"


_QUOTED_TEXT = re.compile(r'"[^"]*"')
_DELIMITERS = (",", "\t", ";")  # in this order when a header holds as many of one as of another


def sniff_delimiter(header: str) -> str:
    """The delimiter a CSV header line uses: the most frequent of ",", tab and ";" outside quoted names.

    Excel writes ";" where "," is the decimal mark (most of Europe), and tab-separated exports are often
    named .txt or .csv; a header names the columns, so it holds little else to confuse the count.
    """
    bare = _QUOTED_TEXT.sub("", header)
    return max(_DELIMITERS, key=lambda d: (bare.count(d), -_DELIMITERS.index(d)))


def _text_stream(raw: BinaryIO, encoding: str) -> io.TextIOWrapper:
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw))
    head = buffered.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif encoding.replace("_", "-").lower() in {"utf-8", "utf8"}:
        encoding = "utf-8-sig"
    return io.TextIOWrapper(buffered, encoding=encoding, errors="surrogateescape", newline="")


class _LineReader:
    """Physical lines of a text stream, read in pieces of bounded size, each line ending at "\n", "\r\n" or "\r"."""

    def __init__(self, stream: io.TextIOWrapper) -> None:
        self._stream = stream
        self._carry = ""
        self._back = ""

    def push_back(self, piece: str) -> None:
        """Give back the piece the last `readline` returned (the header line, once its delimiter is known)."""
        self._back = piece

    def readline(self, size: int) -> str:
        """Up to `size` characters of the current line, or one more to keep a "\r\n" whole."""
        if self._back:
            piece, self._back = self._back, ""
            return piece
        piece, self._carry = self._carry, ""
        carried_cr = piece == "\r"
        if not carried_cr:
            piece += self._stream.readline(size - len(piece))
        # readline(size) can stop between the "\r" and the "\n" of one line end; taken apart, a CRLF file
        # would gain an empty line there and every line number after it would be off by one. (A "\r" that
        # readline ends on before `size` is a lone one: the decoder never splits "\r\n" across its buffers.)
        if piece.endswith("\r") and (len(piece) >= size or carried_cr):
            nxt = self._stream.read(1)
            if nxt == "\n":
                piece += nxt
            else:
                self._carry = nxt
        return piece


# Where csv.reader (excel dialect, not strict) stands in a record: at the start of a field, inside an
# unquoted field, inside a quoted value, or just after a quote inside a quoted value.
_START, _FIELD, _QUOTED, _CLOSING = range(4)


class _Quotes:
    """Tracks, piece by piece, whether a CSV record goes on past the end of a line, the way csv.reader reads it.

    Only a quote at the start of a field opens a quoted value (which may hold line ends); any other quote is
    a literal character (`Pat O"Neil`, `5" screen`), and so is text after a closed quoted value. Counting
    quotes per line instead would take one stray quote for the start of a record running to the next one.
    """

    __slots__ = ("_delimiter", "_state", "field")

    def __init__(self, delimiter: str) -> None:
        self._delimiter = delimiter
        self._state = _START
        self.field = 0  # the 0-based field the record is in (the open quoted value's, at a line end)

    def feed(self, text: str) -> None:
        d, state = self._delimiter, self._state
        if state in (_START, _FIELD) and '"' not in text:
            # most lines: no quote at all, so only the delimiters move us on
            if text:
                self.field += text.count(d)
                self._state = _START if text.endswith(d) else _FIELD
            return
        pos, end = 0, len(text)
        while pos < end:
            if state == _QUOTED:
                i = text.find('"', pos)
                if i < 0:
                    break
                state, pos = _CLOSING, i + 1
            elif state == _CLOSING:
                if text[pos] == '"':  # a doubled quote: a literal one, the value goes on
                    state, pos = _QUOTED, pos + 1
                else:
                    state = _FIELD
            elif state == _START and text[pos] == '"':
                state, pos = _QUOTED, pos + 1
            else:
                i = text.find(d, pos)
                if i < 0:
                    state = _FIELD
                    break
                state, pos = _START, i + 1
                self.field += 1
        self._state = state

    def record_goes_on(self) -> bool:
        """At the end of a line: True if the record goes on (a quoted value is open), else start a new one."""
        if self._state == _QUOTED:
            return True
        self._state, self.field = _START, 0
        return False


def _read_line(lines: _LineReader, limit: int, quotes: _Quotes | None) -> tuple[str, int]:
    """One physical line, or, if it is longer than `limit`, "" and its length after draining it in chunks.

    `quotes` (CSV) sees the whole line, drained chunks too, so a quoted value opened or closed inside a
    skipped line still tells where the record ends.
    """
    line = lines.readline(limit + 1)
    if quotes is not None:
        quotes.feed(line)
    if len(line) > limit and not line.endswith(("\n", "\r")):
        total = len(line)
        while True:
            more = lines.readline(_CHUNK)
            if quotes is not None:
                quotes.feed(more)
            total += len(more)
            if not more or more.endswith(("\n", "\r")):
                return "", total
    return line, len(line)


@dataclass(frozen=True, slots=True)
class _Skipped:
    """Lines `first` to `last` were not read: one line, or one record over several, of `size` characters.

    `field` is the 0-based CSV field whose quoted value runs over the lines (None for a single line);
    `unclosed` says that value was still open at the end of the file (its quote is never closed).
    """

    first: int
    last: int
    size: int
    field: int | None = None
    unclosed: bool = False


def _lines(lines: _LineReader, limit: int, skipped: dict[int, _Skipped], delimiter: str | None) -> Iterator[str]:
    """Physical lines, one item per line so the CSV reader's line count stays the file's.

    A record over `limit` characters is drained and replaced by empty lines, and recorded in `skipped` by its
    first line. With a CSV `delimiter`, a record is the run of lines inside one quoted value (as csv.reader
    sees quotes), buffered up to `limit` before it is passed on. A quoted value still open at the end of the
    file is treated the same way, whatever its size: csv.reader would hand back every line after its quote as
    part of one value (the rows below it silently gone into a name or a note), so each line it covers is
    reported instead.
    """
    quotes = _Quotes(delimiter) if delimiter is not None else None
    n = 0
    while True:
        line, size = _read_line(lines, limit, quotes)
        if size == 0:
            return
        n += 1
        if quotes is None or not quotes.record_goes_on():
            if not line:
                skipped[n] = _Skipped(n, n, size)
                yield "\n"
            else:
                yield line
            continue
        first, field, record, total, over, closed = n, quotes.field, [line], size, not line, False
        while True:
            nxt, nsize = _read_line(lines, limit, quotes)
            if nsize == 0:
                break
            n += 1
            total += nsize
            over = over or not nxt or total > limit
            if not over:
                record.append(nxt)
            if not quotes.record_goes_on():
                closed = True
                break
        if over or not closed:
            skipped[first] = _Skipped(first, n, total, field, unclosed=not closed)
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
                f"byte {byte!r} does not decode in the file's encoding; save the file as UTF-8, or name its "
                "encoding: on an upload a charset in the Content-Type (text/csv; charset=windows-1252) or "
                "?encoding=cp1252, in LeadStore.import_file encoding='cp1252'",
                col,
            )
    return None


def _skipped_issue(line: int, span: _Skipped, header: Sequence[str] | None, limit: int) -> RowIssue:
    """The issue of one line of a skipped span: the first names the size and the cause, the others point back."""
    col = header[span.field] if header is not None and span.field is not None and span.field < len(header) else None
    where = f"column {col}" if col is not None else f"field {(span.field or 0) + 1}"
    if span.unclosed:
        if line == span.first:
            lines = f"line {line}" if span.first == span.last else f"lines {span.first}-{span.last}"
            return RowIssue(
                line,
                f"the quoted value opened on this line is never closed: it runs to the end of the file; {lines} "
                'not imported; close the quote, or double it ("") to write a quote inside a value',
                col,
            )
        return RowIssue(line, f"not imported: inside the unclosed quoted value opened on line {span.first} ({where})")
    if span.first == span.last:
        return RowIssue(line, f"row is {span.size} characters long, over the {limit} limit; row skipped")
    if line == span.first:
        return RowIssue(
            line,
            f"row is {span.size} characters long, over the {limit} limit: the quoted value opened on this line "
            f"runs to line {span.last}; lines {span.first}-{span.last} skipped (a quote that is never closed?)",
            col,
        )
    return RowIssue(line, f"skipped: inside the over-long quoted value opened on line {span.first} ({where})")


def _broken_columns(row: Sequence[str], header: Sequence[str]) -> tuple[str, ...]:
    """The columns (or "field N" past the header) whose values hold line breaks."""
    return tuple(
        header[i] if i < len(header) else f"field {i + 1}" for i, v in enumerate(row) if "\n" in v or "\r" in v
    )


def read_csv(
    raw: BinaryIO,
    *,
    name: str,
    required: Sequence[str],
    number_columns: Sequence[str],
    encoding: str = "utf-8",
    max_row_chars: int = 64 * 1024,
    delimiter: str | None = None,
) -> Iterator[RawRow | RowIssue]:
    """Rows of a CSV file with a header line. Raises `LeadError` for file-level problems.

    `delimiter` None: the one the header line uses (`sniff_delimiter`).
    """
    skipped: dict[int, _Skipped] = {}
    physical = _LineReader(_text_stream(raw, encoding))
    if delimiter is None:
        head = physical.readline(max_row_chars + 1)
        delimiter = sniff_delimiter(head)
        physical.push_back(head)
    lines = _lines(physical, max_row_chars, skipped, delimiter)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header_row = next(reader)
    except StopIteration:
        raise LeadError(f"{name}: the file is empty; a CSV lead file needs a header line") from None
    except csv.Error as exc:
        raise LeadError(f"{name}: line 1: the header cannot be read ({exc})") from None
    if 1 in skipped and skipped[1].unclosed:
        raise LeadError(
            f"{name}: line 1: a quote opened in the header is never closed; close it, or double it (\"\") "
            "to write a quote inside a column name"
        )
    if 1 in skipped or not header_row:
        raise LeadError(f"{name}: line 1: the header is empty or too long; the first line must name the columns")
    if (issue := _bad_bytes(1, header_row, None)) is not None:
        raise LeadError(f"{name}: header: {issue.reason}")
    header = [h.strip().lower() for h in header_row]
    # an unnamed column (Excel exports trailing empty ones: "id,mobile,name,,") holds nothing to import; its
    # name in messages is its position, never a blank
    shown = [h or f"column {i + 1} (unnamed)" for i, h in enumerate(header)]
    named = [h for h in header if h]
    unnamed = [i for i, h in enumerate(header) if not h]
    # a row may leave out the trailing unnamed columns (some exports write no commas for them)
    shortest = len(header) - next((n for n, h in enumerate(reversed(header)) if h), len(header))
    dupes = sorted({h for h in named if named.count(h) > 1})
    if dupes:
        raise LeadError(f"{name}: header names column(s) {', '.join(dupes)} more than once")
    missing = [c for c in required if c not in header]
    if missing:
        raise LeadError(f"{name}: missing required column(s) {', '.join(missing)}; the header has {', '.join(shown)}")
    if not any(c in header for c in number_columns):
        raise LeadError(
            f"{name}: no phone column; name one of {', '.join(number_columns)} in the header "
            f"(the header has {', '.join(shown)})"
        )
    span: _Skipped | None = None
    while True:
        first = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowIssue(first, f"cannot be read as CSV ({exc})")
            continue
        # a skipped span reaches the reader as one empty line per line of it, so each gets its own issue;
        # the span is popped so that a long file of them does not pile up in memory
        span = skipped.pop(first, span)
        if span is not None and span.first <= first <= span.last:
            yield _skipped_issue(first, span, shown, max_row_chars)
            continue
        if not row or all(not v.strip() for v in row):
            continue
        if (issue := _bad_bytes(first, row, shown)) is not None:
            yield issue
            continue
        last = reader.line_num
        broken = _broken_columns(row, shown) if last > first else ()
        if not shortest <= len(row) <= len(header):
            spans = f"; {span_note(first, last, broken)}" if broken else ""
            yield RowIssue(first, f"{len(row)} values for {len(header)} columns ({', '.join(shown)}){spans}")
            continue
        ignored = tuple(
            RowIssue(first, "the header gives this column no name: its value is ignored; name it to import it", c)
            for i, c in ((i, shown[i]) for i in unnamed)
            if i < len(row) and row[i].strip()
        )
        values = ((h, v) for h, v in zip(header, row, strict=False) if h)
        yield RawRow(first, RowValues(values, last_line=last, broken=broken, warnings=ignored))


def read_jsonl(
    raw: BinaryIO,
    *,
    name: str,
    encoding: str = "utf-8",
    max_row_chars: int = 64 * 1024,
) -> Iterator[RawRow | RowIssue]:
    """Rows of a JSON Lines file: one JSON object per line; blank lines are skipped."""
    del name  # kept for a symmetric signature with read_csv
    skipped: dict[int, _Skipped] = {}
    for n, line in enumerate(_lines(_LineReader(_text_stream(raw, encoding)), max_row_chars, skipped, None), start=1):
        if (span := skipped.pop(n, None)) is not None:
            yield _skipped_issue(n, span, None, max_row_chars)
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
    """Dispatch to the reader of `fmt`; a CSV named .tsv is read with tabs, any other with the header's delimiter."""
    if fmt == "csv":
        return read_csv(
            raw,
            name=name,
            required=required,
            number_columns=number_columns,
            encoding=encoding,
            max_row_chars=max_row_chars,
            delimiter="\t" if name.lower().endswith(".tsv") else None,
        )
    return read_jsonl(raw, name=name, encoding=encoding, max_row_chars=max_row_chars)
