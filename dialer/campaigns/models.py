"""Campaign configuration: one pydantic model per file section, loaded from TOML or YAML.

A campaign file is the operator's whole intent for one list: who is called (kind, lead columns, dedup,
consent), when (calling hours in the called person's local time, public holidays), how often (retry delays
by outcome, attempt caps, the 72-hour lock after an abandon), and what happens after a talk (follow-ups in
another campaign, how long a refusal suppresses the same offer). Everything is validated on load so that a
bad file stops the daemon at start-up with the file, the setting and the fix named, never mid-shift.

Legal floors are enforced here rather than trusted: calling hours cannot leave 08:00-21:00 (both
jurisdictions) and the abandon lock cannot be shorter than 72 hours. How a campaign dials (`amd`,
`ring_timeout_s`, whose 15 s floor is checked there, and its call `script`) is set in its `[[campaigns]]`
entry of dialer.toml, not here: a campaign file naming them is refused, saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from dialer.campaigns.regions import check_region
from dialer.campaigns.vocab import CancelReason, Disposition

__all__ = [
    "FULL_DAY",
    "LEGAL_WINDOW",
    "CallingHours",
    "CampaignConfig",
    "ColdRules",
    "ColumnName",
    "DedupRules",
    "FollowUp",
    "HopperSettings",
    "LeadColumns",
    "RegionRules",
    "RetryRules",
    "Weekday",
    "WinbackRules",
    "Window",
    "ZoneByField",
    "column_name",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RetryCause = Literal[
    "busy", "no_answer", "machine", "congestion", "abandoned", "invalid", "wrong_number", "not_available", "lost"
]
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ID_RE = r"^[a-z0-9][a-z0-9_-]{0,31}$"
# dialing settings of a campaign that belong to dialer.toml's `[[campaigns]]` entry, not to its campaign file
DAEMON_SETTINGS = ("amd", "ring_timeout_s", "script")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def column_name(name: str) -> str:
    """A column name as the lead readers read a file's header (`dialer.leads.files`: stripped, lower-cased)."""
    return name.strip().lower()


# Every setting that names a lead column or field is this type, so it is normalised once, on load, the same
# way as the headers it is matched against: `region_column = "State"` finds the file's "State" column.
ColumnName = Annotated[str, AfterValidator(column_name)]


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as America/Chicago") from None
    return name


class Window(_Frozen):
    """A daily window in local time, minutes since midnight, end exclusive. Written "09:00-21:00"."""

    start_min: int = Field(ge=0, le=24 * 60)
    end_min: int = Field(ge=0, le=24 * 60)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = _WINDOW_RE.match(value)
            if not m:
                raise ValueError(f"window {value!r} must look like 09:00-21:00")
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 24:
                raise ValueError(f"window {value!r} has an impossible time")
            return {"start_min": h1 * 60 + m1, "end_min": h2 * 60 + m2}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end_min <= self.start_min:
            raise ValueError(f"window {self} ends before it starts; windows may not cross midnight")
        return self

    def __str__(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}-{self.end_min // 60:02d}:{self.end_min % 60:02d}"


LEGAL_WINDOW = Window(start_min=8 * 60, end_min=21 * 60)


FULL_DAY = Window(start_min=0, end_min=24 * 60)


class RegionRules(_Frozen):
    """Stricter rules for the people of one region (`calling_hours.regions`): a US state's telemarketing
    law, another country's regulator. They only narrow the campaign's own: a time is allowed when both
    allow it, a dial when both caps do. Unset parts narrow nothing (no `window`: the campaign's; no `days`:
    the campaign's days; no `max_attempts_per_24h`: the campaign's `retry` caps)."""

    window: Window | None = None
    days: tuple[Weekday, ...] | None = None
    by_day: dict[Weekday, Window | None] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    # the region's own public holidays (a state's legal holidays with the country's), from the holidays package
    public_holidays: bool = False
    # dials of one lead in any 24 hours for the people of this region (Florida's 3); the lower of this and
    # the campaign's `retry.max_attempts_per_24h` holds
    max_attempts_per_24h: int | None = Field(default=None, ge=1, le=50)

    def window_for(self, weekday: int) -> Window | None:
        """The window this rule allows on a weekday (0 = Monday), or None when it allows no calls that day."""
        name = WEEKDAYS[weekday]
        if name in self.by_day:
            return self.by_day[name]
        if self.days is not None and name not in self.days:
            return None
        return self.window or FULL_DAY

    def describe(self) -> str:
        parts = [str(self.window)] if self.window is not None else []
        if self.days is not None:
            parts.append("on " + ",".join(self.days))
        parts += [f"{d}: {w or 'no calls'}" for d, w in self.by_day.items()]
        if self.public_holidays:
            parts.append("not on its public holidays")
        if self.holidays:
            parts.append(f"not on {len(self.holidays)} more days")
        if self.max_attempts_per_24h is not None:
            parts.append(f"at most {self.max_attempts_per_24h} dials in 24 hours")
        return ", ".join(parts) or "no narrowing"


class CallingHours(_Frozen):
    """When a person may be called, in their own local time."""

    window: Window = Window(start_min=9 * 60, end_min=21 * 60)
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat")
    by_day: dict[Weekday, Window | None] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    public_holidays: bool = True
    # whose public holidays: a country, optionally with a subdivision ("US-CA", "GB-SCT"); None: the
    # jurisdiction's (us: US federal, uk: England's bank holidays)
    public_holidays_region: str | None = None
    # stricter hours for the people of some regions, by region ("US-FL", "CA"): see RegionRules. A person's
    # regions are those of all their numbers (in North America, the state or province of the area code)
    regions: dict[str, RegionRules] = Field(default_factory=dict)

    @field_validator("public_holidays_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        return None if value is None else check_region(value.upper())

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, value: dict[str, RegionRules]) -> dict[str, RegionRules]:
        out: dict[str, RegionRules] = {}
        for name, rule in value.items():
            key = check_region(name.strip().upper())
            if key in out:
                raise ValueError(f"{name!r} is given twice (names are not case-sensitive)")
            out[key] = rule
        return out

    def window_for(self, weekday: int) -> Window | None:
        """The window on a weekday (0 = Monday), or None when that day has no calls."""
        name = WEEKDAYS[weekday]
        if name in self.by_day:
            return self.by_day[name]
        return self.window if name in self.days else None

    def all_windows(self) -> list[Window]:
        return [w for w in (self.window_for(d) for d in range(7)) if w is not None]


_DEFAULT_DELAYS: dict[str, float] = {
    "busy": 15 * 60.0,
    "no_answer": 2 * 3600.0,
    "machine": 4 * 3600.0,
    "congestion": 5 * 60.0,
    "abandoned": 72 * 3600.0,
    "invalid": 60.0,
    "wrong_number": 60.0,
    "not_available": 24 * 3600.0,
    "lost": 2 * 3600.0,
}


class RetryRules(_Frozen):
    """Retry delay by outcome, attempt caps, number rotation, the abandon lock."""

    delays_s: dict[RetryCause, float] = Field(default_factory=lambda: dict(_DEFAULT_DELAYS))  # type: ignore[arg-type]
    max_attempts_total: int = Field(default=6, ge=1, le=100)
    max_attempts_per_day: int = Field(default=3, ge=1, le=50)
    # dials of one lead in any 24 hours (a rolling window, not the local day: Florida's "3 calls in 24
    # hours"); None: only the per-day cap
    max_attempts_per_24h: int | None = Field(default=None, ge=1, le=50)
    next_number_on: frozenset[RetryCause] = frozenset({"no_answer", "invalid", "wrong_number", "not_available"})
    abandon_lock_h: float = Field(default=72.0, ge=72.0)

    @field_validator("delays_s", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {**_DEFAULT_DELAYS, **value}
        return value

    @field_validator("delays_s")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for cause, delay in value.items():
            if delay < 0:
                raise ValueError(f"delay for {cause} is {delay}; delays are seconds >= 0")
        return value

    def delay(self, cause: str) -> float:
        return float(self.delays_s.get(cause, _DEFAULT_DELAYS["no_answer"]))  # type: ignore[call-overload]


class HopperSettings(_Frozen):
    """How far ahead the hopper fills and how it batches Redis work."""

    target_depth: int = Field(default=200, ge=1, le=1_000_000)
    batch: int = Field(default=500, ge=10, le=20_000)
    inflight_timeout_s: float = Field(default=3600.0, ge=60.0)


class DedupRules(_Frozen):
    """A row is a duplicate when its number was loaded in the same scope within `days`.

    Inside the campaign a duplicate merges into the existing lead and keeps its history; an older match
    is merged and re-armed (called again). With scope "all", a number loaded by another campaign within
    `days` is skipped and reported.
    """

    scope: Literal["list", "campaign", "all"] = "campaign"
    days: int = Field(default=30, ge=0, le=3650)


class ZoneByField(_Frozen):
    """Override the number's time zone from a lead field (the address hook: state, region, city)."""

    field: ColumnName
    zones: dict[str, str]

    @field_validator("zones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): _check_zone(v) for k, v in value.items()}


class LeadColumns(_Frozen):
    """Which import columns mean what; every other column becomes a free-form screen-pop field."""

    number_columns: tuple[ColumnName, ...] = ("mobile", "home", "phone")
    numbers_column: ColumnName = "phones"  # JSON Lines: a list; CSV: numbers separated by ';'
    id_column: ColumnName = "id"
    subscriber_column: ColumnName = "subscriber_id"
    timezone_column: ColumnName = "timezone"
    consent_column: ColumnName = "consent"
    area_column: ColumnName = "area"
    required: tuple[ColumnName, ...] = ()
    timezone_by: ZoneByField | None = None
    # the address's region (a state, a province: "FL", "Florida", "US-FL"), for `calling_hours.regions`
    # besides the regions of the numbers; None: not read
    region_column: ColumnName | None = None
    max_row_chars: int = Field(default=64 * 1024, ge=256, le=128 * 1024)  # under csv's field limit
    max_numbers: int = Field(default=5, ge=1, le=20)


_DEFAULT_REASON_RANK: dict[CancelReason, int] = {
    CancelReason.PRICE: 0,
    CancelReason.COMPETITOR_SERVICES: 0,
    CancelReason.QUALITY: 1,
    CancelReason.SUPPORT: 1,
    CancelReason.NONE: 2,
    CancelReason.SEASONAL: 3,
    CancelReason.MOVED: 4,
}


class WinbackRules(_Frozen):
    """Who among former subscribers is called first, and what to do with recidivists ("jumpers")."""

    reason_rank: dict[CancelReason, int] = Field(default_factory=lambda: dict(_DEFAULT_REASON_RANK))
    excluded_reasons: frozenset[CancelReason] = frozenset()
    months_bands: tuple[tuple[int, int], ...] = ((1, 3), (4, 6), (7, 12))
    beyond_bands: Literal["last", "exclude"] = "last"
    recidivist: Literal["exclude", "paid_connection_only"] = "paid_connection_only"
    jumper_reasons: frozenset[CancelReason] = frozenset({CancelReason.PRICE})
    reason_field: ColumnName = "cancel_reason"
    cancelled_at_field: ColumnName = "cancelled_at"
    previous_leaves_field: ColumnName = "discount_leaves"

    @field_validator("reason_rank", mode="before")
    @classmethod
    def _merge_ranks(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {**{k.value: v for k, v in _DEFAULT_REASON_RANK.items()}, **value}
        return value

    @field_validator("months_bands")
    @classmethod
    def _bands(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        for lo, hi in value:
            if lo < 0 or hi < lo:
                raise ValueError(f"months band ({lo}, {hi}) must have 0 <= from <= to")
        return value


class ColdRules(_Frozen):
    """Cold lists: remove current subscribers on import."""

    reconcile_with_base: bool = True


class FollowUp(_Frozen):
    """After disposition `on`, queue the lead in `campaign`: after `delay_s`, or next day at a local time."""

    on: Disposition
    campaign: str = Field(pattern=_ID_RE)
    delay_s: float | None = Field(default=None, ge=0)
    next_day_at: time | None = None

    @model_validator(mode="after")
    def _one_timing(self) -> FollowUp:
        if (self.delay_s is None) == (self.next_day_at is None):
            raise ValueError("a follow-up needs exactly one of delay_s or next_day_at")
        return self


class CampaignConfig(_Frozen):
    """One campaign: a list of leads, its contact rules and its dialing settings."""

    id: str = Field(pattern=_ID_RE)
    kind: Literal["base_upsell", "winback", "cold", "confirmation"]
    name: str = Field(min_length=1, max_length=200)
    caller_id_name: str = Field(min_length=1, max_length=40)
    caller_id_number: str
    default_region: str = "US"
    jurisdiction: Literal["us", "uk"]
    calling_hours: CallingHours = CallingHours()
    retry: RetryRules = RetryRules()
    offer: str | None = None
    # a callback an agent kept for themselves ("me") waits this long past its time for that agent, then any
    # agent may take it (None: only ever that agent)
    personal_callback_wait_s: float | None = Field(default=3600.0, ge=0.0, le=30 * 86400.0)
    decline_suppress_days: int = Field(default=90, ge=0, le=3650)
    # "not again within 2 months": 62 days, the longest two calendar months (July and August), so a
    # subscriber reached on 1 July is not called before 1 September; 60 would let 30 and 31 August through
    base_contact_days: int = Field(default=62, ge=0, le=3650)
    counts_as_base: bool | None = None
    max_contacts_per_month: int | None = Field(default=4, ge=1)
    require_consent: bool | None = None
    default_timezone: str | None = None
    order_by: ColumnName | None = None
    order_desc: bool = True
    report_by: ColumnName | None = None
    dedup: DedupRules = DedupRules()
    leads: LeadColumns = LeadColumns()
    hopper: HopperSettings = HopperSettings()
    winback: WinbackRules | None = None
    cold: ColdRules = ColdRules()
    follow_ups: tuple[FollowUp, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_daemon_settings(cls, value: Any) -> Any:
        # These used to be accepted here and silently ignored: the daemon reads them from the campaign's
        # `[[campaigns]]` entry of dialer.toml (`dialer.config.CampaignSettings`), so `amd = false` in a
        # campaign file changed nothing. Refused, saying where they belong.
        if isinstance(value, Mapping):
            misplaced = [key for key in DAEMON_SETTINGS if key in value]
            if misplaced:
                names, it = ", ".join(misplaced), "it" if len(misplaced) == 1 else "them"
                raise ValueError(
                    f"{names} {'is' if len(misplaced) == 1 else 'are'} not read from a campaign file: set {it} "
                    "in this campaign's [[campaigns]] entry of dialer.toml (the one whose `file` names this file; "
                    f"`script` is the path of a call script, see docs/AGENT_DESKTOP.md) and remove {it} from "
                    "this file"
                )
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"default_region {value!r} is not an ISO 3166 region phonenumbers knows (e.g. US, GB)")
        return region

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> CampaignConfig:
        try:
            num = phonenumbers.parse(self.caller_id_number, self.default_region)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"caller_id_number {self.caller_id_number!r} is not a phone number: {exc}") from None
        if not phonenumbers.is_valid_number(num):
            raise ValueError(f"caller_id_number {self.caller_id_number!r} is not a valid number")
        object.__setattr__(
            self, "caller_id_number", phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        )
        for w in self.calling_hours.all_windows():
            if w.start_min < LEGAL_WINDOW.start_min or w.end_min > LEGAL_WINDOW.end_min:
                raise ValueError(
                    f"calling_hours window {w} leaves the legal {LEGAL_WINDOW} (called person's local time); "
                    "configure a window inside it"
                )
        if self.kind == "winback" and self.winback is None:
            object.__setattr__(self, "winback", WinbackRules())
        if self.kind != "winback" and self.winback is not None:
            raise ValueError(f"a [winback] section only applies to kind winback, not {self.kind}")
        if self.report_by is None and self.kind == "winback":
            assert self.winback is not None
            object.__setattr__(self, "report_by", self.winback.reason_field)
        for fu in self.follow_ups:
            if fu.campaign == self.id:
                raise ValueError(f"follow-up on {fu.on} points at this campaign itself ({self.id})")
        return self

    @property
    def is_base(self) -> bool:
        """Whether a contact here counts for (and is blocked by) the base-contact rule."""
        if self.counts_as_base is not None:
            return self.counts_as_base
        return self.kind == "base_upsell"

    @property
    def consent_required(self) -> bool:
        """Cold lists need consent by default in both jurisdictions (TCPA for autodialed mobiles, PECR/TPS)."""
        if self.require_consent is not None:
            return self.require_consent
        return self.kind == "cold"

    @property
    def reconcile(self) -> bool:
        return self.kind == "cold" and self.cold.reconcile_with_base
