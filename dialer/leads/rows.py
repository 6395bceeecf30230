"""One import row (a mapping of column to value) to one `Lead`, or a clear reason why not.

Pure: no Redis, no files. The same parser serves CSV, JSON Lines and API payloads, so a row means the
same thing whichever way it arrives. A row is rejected only when it cannot become a callable lead (no
valid number, a field the campaign kind needs is unusable); a bad second number is a warning and the row
is kept with its good numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.campaigns.kinds import rank_lead
from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.regions import parse_region
from dialer.campaigns.vocab import Consent
from dialer.errors import LeadError
from dialer.leads.model import Lead, LeadNumber, LeadSource
from dialer.leads.phone import parse_number

__all__ = [
    "Accepted",
    "Excluded",
    "Parsed",
    "Rejected",
    "RowIssue",
    "RowParser",
    "RowValues",
    "required_columns",
    "span_note",
]

_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_AREA_BAD = re.compile(r"[\x00-\x1f,|]")


@dataclass(frozen=True, slots=True)
class RowIssue:
    """A problem with one row: the line (or item) number, the column if one is to blame, and why."""

    line: int
    reason: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class RowValues(dict[str, object]):
    """A file row's values, the last line of its record when that is not its first (a CSV quoted value
    holding line breaks, in the `broken` columns), and the reader's warnings on it.

    A quote left open by mistake makes one record of several rows; the parser names the lines in the row's
    error, or in a warning if it is accepted, so rows taken into a value are not lost unsaid. (A dict, so the
    importer hands it to `RowParser.parse` as any row.)
    """

    __slots__ = ("broken", "last_line", "warnings")

    def __init__(
        self,
        items: Iterable[tuple[str, object]],
        *,
        last_line: int,
        broken: tuple[str, ...] = (),
        warnings: tuple[RowIssue, ...] = (),
    ) -> None:
        super().__init__(items)
        self.last_line = last_line
        self.broken = broken
        self.warnings = warnings  # the reader's, added to the row's if it is accepted (an unnamed column's value)


def span_note(first: int, last: int, broken: Sequence[str]) -> str:
    """Why a record covers lines `first`-`last`, for a row's error or warning."""
    cols = ", ".join(broken)
    return (
        f"the record runs over lines {first}-{last}: a quoted value ({cols}) holds line breaks; "
        "if it should not, a closing quote is missing on line " + str(first)
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    line: int
    lead: Lead
    warnings: tuple[RowIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    error: RowIssue


@dataclass(frozen=True, slots=True)
class Excluded:
    """A valid row the campaign does not want (excluded cancel reason, recidivist...)."""

    line: int
    reason: str


Parsed = Accepted | Rejected | Excluded


def required_columns(campaign: CampaignConfig) -> tuple[str, ...]:
    """Columns every row of this campaign must have (the kind's own plus the configured ones)."""
    req = list(campaign.leads.required)
    if campaign.winback is not None:
        req += [campaign.winback.reason_field, campaign.winback.cancelled_at_field]
    return tuple(dict.fromkeys(req))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip()
    raise LeadError(f"is a {type(value).__name__}; lead fields must be text or numbers")


@dataclass(slots=True)
class RowParser:
    """Parses rows for one campaign and one import (list name, source, time)."""

    campaign: CampaignConfig
    list_name: str
    source: str
    now: float
    _reserved: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        cols = self.campaign.leads
        self._reserved = frozenset(
            {
                *cols.number_columns,
                cols.numbers_column,
                cols.id_column,
                cols.timezone_column,
                cols.consent_column,
            }
        )

    def parse(self, line: int, raw: Mapping[str, object]) -> Parsed:
        spans = isinstance(raw, RowValues) and raw.last_line > line and bool(raw.broken)
        try:
            parsed = self._parse(line, raw)
        except _RowFailure as failure:
            reason = failure.reason
            if spans:
                assert isinstance(raw, RowValues)
                reason += f"; {span_note(line, raw.last_line, raw.broken)}"
            return Rejected(RowIssue(line, reason, failure.column))
        if isinstance(raw, RowValues) and isinstance(parsed, Accepted):
            notes = raw.warnings
            if spans:
                notes += (RowIssue(line, span_note(line, raw.last_line, raw.broken), ", ".join(raw.broken)),)
            if notes:
                parsed = Accepted(parsed.line, parsed.lead, (*parsed.warnings, *notes))
        return parsed

    def _parse(self, line: int, raw: Mapping[str, object]) -> Parsed:
        cols = self.campaign.leads
        texts: dict[str, str] = {}
        lists: dict[str, Sequence[object]] = {}
        for key, value in raw.items():
            name = str(key).strip()
            if isinstance(value, list | tuple) and name == cols.numbers_column:
                lists[name] = value
                continue
            try:
                texts[name] = _text(value)
            except LeadError as exc:
                raise _RowFailure(str(exc), name) from None
        for req in required_columns(self.campaign):
            if not texts.get(req):
                raise _RowFailure("required value is missing or empty", req)
        warnings: list[RowIssue] = []
        fields = {k: v for k, v in texts.items() if k not in self._reserved}
        tz = self._timezone(texts, fields)
        numbers = self._numbers(line, texts, lists, warnings, tz or self.campaign.default_timezone)
        subscriber = texts.get(cols.subscriber_column) or None
        if subscriber is not None and not _ID_RE.match(subscriber):
            raise _RowFailure(f"{subscriber!r} must be 1-64 letters, digits or _ . : -", cols.subscriber_column)
        lead_id = texts.get(cols.id_column) or ""
        if lead_id and not _ID_RE.match(lead_id):
            raise _RowFailure(f"{lead_id!r} must be 1-64 letters, digits or _ . : -", cols.id_column)
        if not lead_id:
            lead_id = f"s-{subscriber}" if subscriber else "n" + numbers[0].e164[1:]
        try:
            consent = Consent.parse(texts.get(cols.consent_column, ""))
        except ValueError as exc:
            raise _RowFailure(str(exc), cols.consent_column) from None
        region = self._region(texts)
        area = texts.get(cols.area_column) or None
        if area is not None:
            area = _AREA_BAD.sub("_", area)[:64]
        try:
            ranking = rank_lead(self.campaign, fields, self.now)
        except LeadError as exc:
            raise _RowFailure(str(exc)) from None
        if ranking.excluded is not None:
            return Excluded(line, ranking.excluded)
        if ranking.extra_fields:
            fields.update(ranking.extra_fields)
        if ranking.warning is not None:
            warnings.append(RowIssue(line, ranking.warning, self.campaign.order_by))
        lead = Lead(
            lead_id=lead_id,
            numbers=tuple(numbers),
            fields=fields,
            sources=(LeadSource(self.list_name, self.source, self.now),),
            subscriber_id=subscriber,
            consent=consent,
            timezone=tz,
            area=area,
            region=region,
            rank=ranking.rank,
            prev_leaves=ranking.prev_leaves,
            jumper_now=ranking.jumper_now,
        )
        if not lead.zones:
            raise _RowFailure("no time zone is known for its numbers; add a timezone column or default_timezone")
        return Accepted(line, lead, tuple(warnings))

    def _numbers(
        self,
        line: int,
        texts: Mapping[str, str],
        lists: Mapping[str, Sequence[object]],
        warnings: list[RowIssue],
        fallback: str | None,
    ) -> list[LeadNumber]:
        cols = self.campaign.leads
        candidates: list[tuple[str, str]] = []
        for col in cols.number_columns:
            for part in texts.get(col, "").split(";"):
                if part.strip():
                    candidates.append((col, part))
        if cols.numbers_column in lists:
            candidates += [(cols.numbers_column, str(v)) for v in lists[cols.numbers_column] if str(v).strip()]
        else:
            candidates += [(cols.numbers_column, p) for p in texts.get(cols.numbers_column, "").split(";") if p.strip()]
        if not candidates:
            names = ", ".join([*cols.number_columns, cols.numbers_column])
            raise _RowFailure(f"no phone number (looked in {names})")
        out: list[LeadNumber] = []
        seen: set[str] = set()
        problems: list[str] = []
        for col, text in candidates:
            try:
                e164, zones = parse_number(text, self.campaign.default_region)
            except LeadError as exc:
                problems.append(f"{col}: {exc}")
                continue
            if not zones:
                if fallback is None:
                    problems.append(f"{col}: no time zone is known for {e164}; add a timezone column")
                    continue
                zones = (fallback,)
            if e164 in seen:
                continue
            if len(out) >= cols.max_numbers:
                warnings.append(RowIssue(line, f"{e164} dropped: at most {cols.max_numbers} numbers per lead", col))
                continue
            seen.add(e164)
            out.append(LeadNumber(e164, col, zones))
        if not out:
            raise _RowFailure("no valid phone number: " + "; ".join(problems))
        warnings.extend(RowIssue(line, p.split(": ", 1)[1], p.split(": ", 1)[0]) for p in problems)
        return out

    def _region(self, texts: Mapping[str, str]) -> str | None:
        column = self.campaign.leads.region_column
        value = texts.get(column, "").strip() if column else ""
        if not column or not value:
            return None
        try:
            return parse_region(value, self.campaign.default_region)
        except ValueError as exc:
            raise _RowFailure(str(exc), column) from None

    def _timezone(self, texts: Mapping[str, str], fields: Mapping[str, str]) -> str | None:
        cols = self.campaign.leads
        explicit = texts.get(cols.timezone_column, "")
        if explicit:
            try:
                ZoneInfo(explicit)
            except (ZoneInfoNotFoundError, ValueError):
                raise _RowFailure(f"{explicit!r} is not an IANA time zone", cols.timezone_column) from None
            return explicit
        by = cols.timezone_by
        if by is not None:
            key = fields.get(by.field, "").strip().lower()
            if key in by.zones:
                return by.zones[key]
        return None


class _RowFailure(Exception):
    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column
