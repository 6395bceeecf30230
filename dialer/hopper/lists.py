"""Parsing for the contact lists: suppression subjects and kinds, DNC files, subscriber-base rows.

Pure helpers for `LeadStore`; each raises `LeadError` saying what is wrong and how to write it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dialer.campaigns.vocab import SuppressionKind
from dialer.errors import LeadError
from dialer.leads.phone import normalize

__all__ = ["BaseRow", "DncRow", "base_row", "dnc_numbers", "dnc_rows", "kind_text", "subject_for"]

_SUBJECTS = ("lead", "subscriber", "number", "area")
_DNC_COLUMNS = ("number", "phone", "e164", "msisdn", "mobile", "home", "phones")


def subject_for(subject: str) -> str:
    """Validate a suppression subject and normalise its number; raise `LeadError` with the fix."""
    kind, sep, rest = subject.partition(":")
    if not sep or kind not in _SUBJECTS or not rest.strip():
        raise LeadError(
            f"suppression subject {subject!r} must be lead:<campaign>:<lead>, subscriber:<id>, number:<E.164> "
            "or area:<area>"
        )
    if kind == "number":
        if not rest.strip().startswith("+"):
            raise LeadError(f"suppression subject {subject!r}: write the number in E.164 (+ and country code)")
        return f"number:{normalize(rest, 'ZZ')}"
    if kind == "lead" and ":" not in rest.strip(":"):
        raise LeadError(f"suppression subject {subject!r} must be lead:<campaign>:<lead id>")
    return f"{kind}:{rest.strip()}"


@dataclass(frozen=True, slots=True)
class BaseRow:
    """One subscriber-base row: the subscriber, current or former, its valid numbers (E.164), and each bad
    one as (column, why): a bad number is left out, the row's other numbers kept."""

    subscriber: str
    status: str
    numbers: list[str]
    bad: list[tuple[str, str]]


def base_row(row: Mapping[str, object], region: str) -> BaseRow:
    """Read a base row (subscriber_id, mobile/home/phone, phones split on `;`, status); raise `LeadError`
    when it has no subscriber, an unknown status or no valid number (naming each bad one's column)."""
    data = {str(k).strip().lower(): v for k, v in row.items()}
    sub = str(data.get("subscriber_id") or "").strip()
    raw_numbers = [(c, str(data.get(c) or "")) for c in ("mobile", "home", "phone")]
    raw_numbers += [("phones", x) for x in str(data.get("phones") or "").split(";")]
    status = str(data.get("status") or "current").strip().lower()
    if not sub:
        raise LeadError("subscriber_id is missing")
    if status not in ("current", "former"):
        raise LeadError(f"status {status!r} must be current or former")
    nums: list[str] = []
    bad: list[tuple[str, str]] = []
    for column, raw in raw_numbers:
        if not raw.strip():
            continue
        try:
            nums.append(normalize(raw, region))
        except LeadError as exc:
            bad.append((column, str(exc)))
    if not nums:
        if bad:
            raise LeadError("no valid phone number: " + "; ".join(f"{c}: {why}" for c, why in bad))
        raise LeadError("no phone number")
    return BaseRow(sub, status, nums, bad)


def kind_text(kind: SuppressionKind | str) -> str:
    value = kind.value if isinstance(kind, SuppressionKind) else str(kind)
    base = value.partition(":")[0]
    if base not in {k.value for k in SuppressionKind}:
        allowed = ", ".join(k.value for k in SuppressionKind)
        raise LeadError(f"suppression kind {value!r} is not one of {allowed} (declined_offer may add :<offer>)")
    return value


@dataclass(frozen=True, slots=True)
class DncRow:
    """One number of a DNC file: the line its row starts on, the number ("" for a row without any), and the
    column it is in, 1-based with the header's name ("3 (home)"; "1" in a file without a header; for a row
    without a number, every column looked in: "2 (mobile), 3 (home)")."""

    line: int
    number: str
    column: str
    fields: int  # how many fields the row has


def dnc_rows(content: str) -> Iterator[DncRow]:
    """Every number of a DNC file, read with the csv module (a spreadsheet quotes "Doe, Jane", and a quoted
    field may span lines: each number keeps the line its row starts on). When the first non-blank row names
    number columns (number, phone, e164, msisdn, mobile, home, phones), every one of them is read, one
    entry per number, a `phones` cell split on `;` (a person listed with a mobile and a home number has
    both on the list); a blank cell is no number. A file whose first row names none has one number per
    line, in its first column. Blank rows are skipped; a row with no number in any of its number columns
    gives one entry with number "". Raises LeadError naming the line of a row the csv module cannot read."""
    rows = csv.reader(io.StringIO(content, newline=""))
    cols: list[tuple[int, str]] = [(0, "1")]
    many: set[int] = set()  # the columns whose cells hold several numbers (`phones`)
    first, end = True, 0
    try:
        for row in rows:
            line, end = end + 1, rows.line_num
            if not any(x.strip() for x in row):
                continue
            if first:
                first = False
                head = [h.strip().lower() for h in row]
                named = [(i, f"{i + 1} ({h})") for i, h in enumerate(head) if h in _DNC_COLUMNS]
                if named:
                    cols, many = named, {i for i, h in enumerate(head) if h == "phones"}
                    continue
            found = False
            for i, where in cols:
                cell = row[i] if i < len(row) else ""
                for number in cell.split(";") if i in many else (cell,):
                    if number.strip():
                        found = True
                        yield DncRow(line, number.strip(), where, len(row))
            if not found:
                yield DncRow(line, "", ", ".join(where for _, where in cols), len(row))
    except csv.Error as exc:
        raise LeadError(f"unreadable as CSV at line {rows.line_num}: {exc}") from None


def dnc_numbers(data: bytes, encoding: str) -> Iterator[tuple[int, str, str]]:
    """(line, number, column) of each number of a DNC file in `encoding` (`dnc_rows`); number "" for a row
    without one."""
    try:
        content = data.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        raise LeadError(f"DNC file is not {encoding} (byte {exc.start}); save it as UTF-8 or pass encoding=") from None
    return ((r.line, r.number, r.column) for r in dnc_rows(content))
