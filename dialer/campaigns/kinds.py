"""What each campaign kind means for a lead: its place in the fresh queue, and whether it is callable at all.

Pure functions of the campaign, the lead's fields and `now`; the importer calls them once per row and
stores the rank as the lead's score in the fresh queue (lower is called earlier).

- base_upsell: by a numeric field (`order_by`, e.g. ARPU, highest first), else import order; a value that is
  not a finite number (text, empty, NaN, inf) ranks last. Amounts are read as lists write them (`_parse_amount`).
- winback: by cancel reason rank, then by months since leaving (bands, e.g. 1-3 months first); the reason
  field is stored as its `CancelReason` word whatever the spelling, the text as given in `<field>_raw`;
  recidivists ("jumpers": left for a discount more than once) are excluded or marked for a
  paid-connection offer only.
- cold, confirmation: import order.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dialer.campaigns.models import CampaignConfig, WinbackRules
from dialer.campaigns.vocab import CancelReason
from dialer.errors import LeadError

__all__ = [
    "LAST_RANK",
    "RECIDIVIST_MARKS",
    "Ranking",
    "is_recidivist",
    "months_between",
    "rank_lead",
    "reason_raw_field",
]

LAST_RANK = 999_999
RECIDIVIST_MARKS: Mapping[str, str] = {"recidivist": "yes", "offer_restriction": "paid_connection_only"}


@dataclass(frozen=True, slots=True)
class Ranking:
    """A lead's place in the fresh queue, or why the campaign does not want it."""

    rank: int
    excluded: str | None = None
    prev_leaves: int = 0
    jumper_now: bool = False
    extra_fields: Mapping[str, str] | None = None
    warning: str | None = None  # about the `order_by` value (a reading that is a guess), for the row's warnings


def months_between(earlier: date, later: date) -> int:
    """Whole months from `earlier` to `later` (0 in the same month, before the day-of-month is reached)."""
    months = (later.year - earlier.year) * 12 + (later.month - earlier.month)
    if later.day < earlier.day:
        months -= 1
    return months


def _parse_date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise LeadError(f"{name} {text!r} is not a date; write YYYY-MM-DD") from None


def _parse_reason(text: str, name: str) -> CancelReason:
    value = text.strip().lower().replace(" ", "_").replace("-", "_")
    if value in {"", "no_reason", "unknown"}:
        return CancelReason.NONE
    try:
        return CancelReason(value)
    except ValueError:
        allowed = ", ".join(r.value for r in CancelReason)
        raise LeadError(f"{name} {text!r} is not one of {allowed}") from None


def reason_raw_field(rules: WinbackRules) -> str:
    """The field that keeps a win-back lead's cancel reason as the list wrote it (the reason field holds its word)."""
    return f"{rules.reason_field}_raw"


def is_recidivist(prev_leaves: int, won_back: int, jumper_now: bool) -> bool:
    """Left for a discount more than once, counting this leave.

    `prev_leaves` comes from the operator's data (earlier leaves for a discount), `won_back` from our own
    records (times we won this person back); they may describe the same events, so the larger is taken.
    """
    return max(prev_leaves, won_back) + (1 if jumper_now else 0) >= 2


def _winback(rules: WinbackRules, fields: Mapping[str, str], now: float) -> Ranking:
    reason = _parse_reason(fields.get(rules.reason_field, ""), rules.reason_field)
    left = _parse_date(fields.get(rules.cancelled_at_field, ""), rules.cancelled_at_field)
    today = datetime.fromtimestamp(now, UTC).date()
    # a date on the operator's own calendar: east of UTC (up to UTC+14) it is already tomorrow's date while
    # the UTC date is today's, and a cancellation made this morning there is not in the future
    if left > today + timedelta(days=1):
        raise LeadError(f"{rules.cancelled_at_field} {left} is in the future")
    today = max(today, left)
    prev_text = fields.get(rules.previous_leaves_field, "").strip() or "0"
    try:
        prev = int(prev_text)
    except ValueError:
        raise LeadError(f"{rules.previous_leaves_field} {prev_text!r} is not a whole number") from None
    if prev < 0:
        raise LeadError(f"{rules.previous_leaves_field} {prev} is negative")
    jumper = reason in rules.jumper_reasons
    months = months_between(left, today)
    band = next((i for i, (lo, hi) in enumerate(rules.months_bands) if lo <= months <= hi), None)
    excluded: str | None = None
    if reason in rules.excluded_reasons:
        excluded = f"cancel reason {reason.value} is excluded by this campaign"
    elif band is None and rules.beyond_bands == "exclude":
        excluded = f"left {months} month(s) ago, outside the campaign's bands {list(rules.months_bands)}"
    # the reason is stored as its word, not as typed: the scripts branch on it (`lead.cancel_reason ==
    # 'price'`) and the conversion report groups by it, so "Price", "PRICE" and "Competitor services" must be
    # the one value; the text as the list gave it stays beside it for the screen-pop
    raw = fields.get(rules.reason_field, "")
    extra: dict[str, str] = {rules.reason_field: reason.value, reason_raw_field(rules): raw}
    if excluded is None and is_recidivist(prev, 0, jumper):
        if rules.recidivist == "exclude":
            excluded = "recidivist (left for a discount more than once): excluded by this campaign"
        else:
            extra.update(RECIDIVIST_MARKS)
    rank = rules.reason_rank.get(reason, 9) * 100 + (band if band is not None else 99)
    return Ranking(rank=rank, excluded=excluded, prev_leaves=prev, jumper_now=jumper, extra_fields=extra)


_THOUSANDS_GROUP = re.compile(r"^-?\d{1,3}(,\d{3})+$")
_LONE_COMMA_THOUSANDS = re.compile(r"^-?\d{1,3},\d{3}$")


def _parse_amount(text: str) -> tuple[float | None, str | None]:
    """A money or count value as lists write it, and a note when its reading is a guess.

    Spaces and currency signs go ("$42.50", "1 234,50 €"); with both "," and "." the last one is the
    decimal mark ("1,234.50", "1.234,50"); a lone "," is a decimal mark ("42,5"), unless exactly three
    digits follow it ("1,234"): that reads as thousands (US exports), with a note, since "1,234" can be
    1.234 in Europe. None for text that is no number.
    """
    cleaned = "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Sc")
    note = None
    comma, dot = cleaned.rfind(","), cleaned.rfind(".")
    if comma >= 0 and dot >= 0:
        mark = "," if comma > dot else "."
        cleaned = cleaned.replace("." if mark == "," else ",", "").replace(",", ".")
    elif comma >= 0:
        if _LONE_COMMA_THOUSANDS.match(cleaned):
            note = f"{text.strip()!r} is read as {cleaned.replace(',', '')}: the ',' taken as a thousands separator; "
            note += "write it with '.' for a decimal mark if it meant " + cleaned.replace(",", ".")
            cleaned = cleaned.replace(",", "")
        elif _THOUSANDS_GROUP.match(cleaned):
            cleaned = cleaned.replace(",", "")
        else:
            cleaned = cleaned.replace(",", ".")
    elif cleaned.count(".") > 1 and re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned):
        cleaned = cleaned.replace(".", "")
    try:
        return float(cleaned), note
    except ValueError:
        return None, None


def rank_lead(campaign: CampaignConfig, fields: Mapping[str, str], now: float) -> Ranking:
    """Rank a lead for its campaign; raise `LeadError` if a field the kind needs is unusable."""
    if campaign.kind == "winback":
        assert campaign.winback is not None
        return _winback(campaign.winback, fields, now)
    if campaign.order_by:
        value, note = _parse_amount(fields.get(campaign.order_by, ""))
        if value is None or not math.isfinite(value):
            # "NaN", "inf" (pandas and Excel exports write them) and "1e400" parse, but are no more a
            # place in the order than unparsable text: last, like it, instead of failing round()
            return Ranking(rank=LAST_RANK)
        # clamped before round(): value * 100 can still overflow to inf for a finite value near 1.8e308
        scaled = max(-LAST_RANK + 1.0, min(LAST_RANK - 1.0, -value * 100 if campaign.order_desc else value * 100))
        return Ranking(rank=round(scaled), warning=note)
    return Ranking(rank=0)
