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

__all__ = ["DncRow", "base_row", "dnc_numbers", "dnc_rows", "kind_text", "subject_for"]

_SUBJECTS = ("lead", "subscriber", "number", "area")
_DNC_COLUMNS = ("number", "phone", "e164", "msisdn", "mobile", "home")


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


def base_row(row: Mapping[str, object], region: str) -> tuple[str, str, list[str]]:
    data = {str(k).strip().lower(): v for k, v in row.items()}
    sub = str(data.get("subscriber_id") or "").strip()
    raw_numbers = [str(data.get(c) or "") for c in ("mobile", "home", "phone")]
    raw_numbers += str(data.get("phones") or "").split(";")
    status = str(data.get("status") or "current").strip().lower()
    if not sub:
        raise LeadError("subscriber_id is missing")
    if status not in ("current", "former"):
        raise LeadError(f"status {status!r} must be current or former")
    nums = [normalize(x, region) for x in raw_numbers if x.strip()]
    if not nums:
        raise LeadError("no phone number")
    return sub, status, nums


def kind_text(kind: SuppressionKind | str) -> str:
    value = kind.value if isinstance(kind, SuppressionKind) else str(kind)
    base = value.partition(":")[0]
    if base not in {k.value for k in SuppressionKind}:
        allowed = ", ".join(k.value for k in SuppressionKind)
        raise LeadError(f"suppression kind {value!r} is not one of {allowed} (declined_offer may add :<offer>)")
    return value


@dataclass(frozen=True, slots=True)
class DncRow:
    """One row of a DNC file: the line it starts on, its number ("" when it has none), the column read."""

    line: int
    number: str
    column: int  # 0-based
    fields: int  # how many fields the row has


def dnc_rows(content: str) -> Iterator[DncRow]:
    """The rows of a DNC file, read with the csv module (a spreadsheet quotes "Doe, Jane", and a quoted field
    may span lines: each row keeps the line it starts on). The number is in the first column the first
    non-blank row names (number, phone, e164, msisdn, mobile, home); a file whose first row names none has
    one number per line, in its first column. Blank rows are skipped. Raises LeadError naming the line of a
    row the csv module cannot read."""
    rows = csv.reader(io.StringIO(content, newline=""))
    col: int | None = None
    first, end = True, 0
    try:
        for row in rows:
            line, end = end + 1, rows.line_num
            if not any(x.strip() for x in row):
                continue
            if first:
                first = False
                head = [h.strip().lower() for h in row]
                col = next((head.index(c) for c in _DNC_COLUMNS if c in head), None)
                if col is not None:
                    continue
            n = 0 if col is None else col
            yield DncRow(line, row[n].strip() if n < len(row) else "", n, len(row))
    except csv.Error as exc:
        raise LeadError(f"unreadable as CSV at line {rows.line_num}: {exc}") from None


def dnc_numbers(data: bytes, encoding: str) -> Iterator[tuple[int, str]]:
    """(line, number) of each row of a DNC file in `encoding` (`dnc_rows`); "" for a row without one."""
    try:
        content = data.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        raise LeadError(f"DNC file is not {encoding} (byte {exc.start}); save it as UTF-8 or pass encoding=") from None
    return ((r.line, r.number) for r in dnc_rows(content))
