"""Dispositions: what an agent may record as the result of a call, per campaign, and their checks.

A campaign has a `DispositionSet`: an ordered list of codes, each bound to a number key on the desktop
and to a *kind* that says what the code needs. The kinds are the ones operators use:

    sale               the person bought                                   nothing more needed
    agreed             agreed; a confirmation call follows (`follow_up`)   the agreement fields of the script
    refused            said no                                             `reason` (one of the set's reasons)
    callback           asked to be called again                            `callback_at`, `callback_owner`
    dnc                asked never to be called again                      nothing (final, all campaigns)
    wrong_number / not_available (not the subscriber) / machine / language_barrier / other

Codes are free text so a campaign can say `confirmed` where another says `sale`; the kind decides the
checks. Defaults use the words of `dialer.campaigns.vocab` (`not_available`, `wrong_number`, `dnc`) so
a code travels unchanged from the desktop to the hopper's retry rules.

`DispositionSet.validate` is the one gate a disposition passes before it reaches the engine: it never
trusts the page, names the field and the fix in its error, and returns the command with normalised
fields (a callback time becomes UTC ISO-8601 plus epoch seconds, the owner becomes an agent id or
empty for anyone).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from agents.commands import Disposition
from dialer.errors import ConfigError, DialerError

__all__ = [
    "BASE_FIELDS",
    "DEFAULT_DISPOSITIONS",
    "DEFAULT_REASONS",
    "Choice",
    "DispositionKind",
    "DispositionRejected",
    "DispositionSet",
    "DispositionSpec",
    "callback_time",
    "parse_disposition_set",
]

KEYS = "1234567890"
BASE_FIELDS = frozenset({"notes", "reason", "reason_text", "callback_at", "callback_owner", "dnc_requested"})


class DispositionRejected(DialerError):
    """A disposition the desktop sent does not fit its campaign; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class DispositionKind(StrEnum):
    SALE = "sale"
    AGREED = "agreed"
    REFUSED = "refused"
    CALLBACK = "callback"
    DNC = "dnc"
    WRONG_NUMBER = "wrong_number"
    NOT_AVAILABLE = "not_available"
    MACHINE = "machine"
    LANGUAGE_BARRIER = "language_barrier"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Choice:
    """A coded choice with the words the agent sees (a refusal reason, a pause reason)."""

    code: str
    label: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label}


@dataclass(frozen=True, slots=True)
class DispositionSpec:
    code: str
    label: str
    kind: DispositionKind
    key: str = ""
    follow_up: str | None = None  # campaign that calls back to confirm (kind agreed)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "kind": self.kind.value, "key": self.key,
                "follow_up": self.follow_up}


K = DispositionKind
_DEFAULT_SPECS: tuple[DispositionSpec, ...] = (
    DispositionSpec("sale", "Sale", K.SALE),
    DispositionSpec("agreed", "Agreed (confirm later)", K.AGREED),
    DispositionSpec("refused", "Refused", K.REFUSED),
    DispositionSpec("callback", "Call back", K.CALLBACK),
    DispositionSpec("dnc", "Do not call", K.DNC),
    DispositionSpec("wrong_number", "Wrong number", K.WRONG_NUMBER),
    DispositionSpec("not_available", "Not the subscriber", K.NOT_AVAILABLE),
    DispositionSpec("machine", "Answering machine", K.MACHINE),
    DispositionSpec("language_barrier", "Language barrier", K.LANGUAGE_BARRIER),
)
_DEFAULTS_BY_CODE = {s.code: s for s in _DEFAULT_SPECS}

DEFAULT_REASONS: tuple[Choice, ...] = (
    Choice("not_interested", "Not interested"),
    Choice("too_expensive", "Too expensive"),
    Choice("has_competitor", "Happy with another provider"),
    Choice("other", "Other"),
)


@dataclass(frozen=True, slots=True)
class DispositionSet:
    """The dispositions of one campaign, keyed 1..9, 0 in order."""

    specs: tuple[DispositionSpec, ...]
    reasons: tuple[Choice, ...] = DEFAULT_REASONS
    max_callback_days: int = 30
    min_callback_s: float = 60.0
    _by_code: dict[str, DispositionSpec] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.specs:
            raise ConfigError("a disposition set needs at least one disposition")
        specs = _assign_keys(self.specs)
        object.__setattr__(self, "specs", specs)
        self._by_code.update({s.code: s for s in specs})

    def get(self, code: str) -> DispositionSpec | None:
        return self._by_code.get(code)

    def codes(self) -> list[str]:
        return [s.code for s in self.specs]

    def to_json(self) -> dict[str, Any]:
        """What the desktop needs to draw the disposition panel."""
        return {
            "codes": [s.to_json() for s in self.specs],
            "reasons": [r.to_json() for r in self.reasons],
            "max_callback_days": self.max_callback_days,
        }

    def validate(
        self,
        cmd: Disposition,
        now: float,
        *,
        reasons: Collection[Choice] | None = None,
        extra_fields: Collection[str] = (),
    ) -> Disposition:
        """Check `cmd` against this set; return it with normalised fields. Raises DispositionRejected.

        `reasons` are the refusal reasons the agent was offered (the script's refusal steps); the
        set's own reasons apply when the script offers none. `extra_fields` are the agreement fields
        the script collects, allowed on top of `BASE_FIELDS`.
        """
        spec = self._by_code.get(cmd.code)
        if spec is None:
            raise DispositionRejected("code", f"{cmd.code!r} is not a disposition of this campaign; "
                                              f"use one of {', '.join(self.codes())}")
        fields = {k: v.strip() for k, v in cmd.fields.items()}
        unknown = sorted(set(fields) - BASE_FIELDS - set(extra_fields))
        if unknown:
            allowed = sorted(BASE_FIELDS | set(extra_fields))
            raise DispositionRejected(f"fields.{unknown[0]}", f"unknown field; allowed: {', '.join(allowed)}")
        fields = {k: v for k, v in fields.items() if v != ""}
        if spec.kind is K.REFUSED:
            self._check_reason(fields, reasons)
        else:
            for name in ("reason", "reason_text"):
                fields.pop(name, None)
        if spec.kind is K.CALLBACK:
            self._check_callback(fields, cmd.agent_id, now)
        else:
            for name in ("callback_at", "callback_owner"):
                fields.pop(name, None)
        if spec.kind is K.AGREED and spec.follow_up:
            fields["follow_up"] = spec.follow_up
        if spec.kind is K.DNC:
            fields["dnc"] = "1"
        return replace(cmd, fields=fields)

    def _check_reason(self, fields: dict[str, str], reasons: Collection[Choice] | None) -> None:
        offered = {c.code for c in (reasons or self.reasons)}
        reason = fields.get("reason", "")
        if not reason:
            raise DispositionRejected("fields.reason", f"a refusal needs a reason: one of {', '.join(sorted(offered))}")
        if reason not in offered:
            raise DispositionRejected("fields.reason", f"{reason!r} is not offered here; use one of "
                                                       f"{', '.join(sorted(offered))}")
        if reason == "other" and not fields.get("reason_text"):
            raise DispositionRejected("fields.reason_text", "reason 'other' needs the customer's words in reason_text")

    def callback_time(self, raw: str, now: float, field: str = "fields.callback_at") -> float:
        """The epoch time of a callback asked for at `raw`: see `callback_time`, with this set's limits."""
        return callback_time(raw, now, min_s=self.min_callback_s, max_days=self.max_callback_days, field=field)

    def _check_callback(self, fields: dict[str, str], agent_id: str, now: float) -> None:
        raw = fields.get("callback_at", "")
        at = self.callback_time(raw, now)
        owner = fields.get("callback_owner", "mine")
        if owner not in ("mine", "anyone"):
            raise DispositionRejected("fields.callback_owner", f"{owner!r} must be 'mine' or 'anyone'")
        fields["callback_at"] = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        fields["callback_epoch"] = f"{at:.0f}"
        fields["callback_owner"] = owner
        fields["callback_agent"] = agent_id if owner == "mine" else ""


def callback_time(raw: str, now: float, *, min_s: float = 60.0, max_days: int = 30,
                  field: str = "fields.callback_at") -> float:
    """The epoch time of a callback asked for at `raw` (ISO-8601 with an offset, or epoch seconds), which must
    be at least `min_s` ahead and at most `max_days`. Raises DispositionRejected naming `field`."""
    if not raw:
        raise DispositionRejected(field, "a callback needs a date and time")
    at = _parse_instant(raw, field)
    if at < now + min_s:
        raise DispositionRejected(field, f"{raw} is not in the future; pick a later time")
    if at > now + max_days * 86400.0:
        raise DispositionRejected(field, f"{raw} is more than {max_days} days ahead")
    return at


def _parse_instant(raw: str, field: str) -> float:
    """ISO-8601 with a UTC offset (or Z), or epoch seconds; a bare local time is refused (whose local?)."""
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise DispositionRejected(field, f"{raw!r} is not a time")
        return value
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise DispositionRejected(field,
                                  f"{raw!r} is not ISO-8601 like 2025-05-06T15:30:00+02:00") from None
    if dt.tzinfo is None:
        raise DispositionRejected(field, f"{raw!r} has no UTC offset; add one (+02:00 or Z)")
    return dt.timestamp()


def _assign_keys(specs: tuple[DispositionSpec, ...]) -> tuple[DispositionSpec, ...]:
    codes = [s.code for s in specs]
    dup = next((c for c in codes if codes.count(c) > 1), None)
    if dup is not None:
        raise ConfigError(f"disposition {dup!r} is listed twice")
    used = [s.key for s in specs if s.key]
    bad = next((k for k in used if k not in KEYS or len(k) != 1), None)
    if bad is not None:
        raise ConfigError(f"disposition key {bad!r} must be one digit 0-9")
    dup = next((k for k in used if used.count(k) > 1), None)
    if dup is not None:
        raise ConfigError(f"disposition key {dup!r} is given to two dispositions")
    free = [k for k in KEYS if k not in used]
    if len(specs) > len(KEYS):
        raise ConfigError(f"{len(specs)} dispositions but only 10 number keys; keep at most 10")
    out: list[DispositionSpec] = []
    for s in specs:
        out.append(s if s.key else replace(s, key=free.pop(0)))
    return tuple(out)


DEFAULT_DISPOSITIONS = DispositionSet(_DEFAULT_SPECS)


def parse_disposition_set(raw: object, where: str) -> DispositionSet:
    """Read the `dispositions:` section of a campaign script file.

    Either a list of entries, or a mapping with `codes` (that list), `reasons` and `max_callback_days`.
    An entry is a default code (`sale`) or a mapping `{code, label, kind, key, follow_up}` where a
    default code may omit what it keeps from the default. Raises ConfigError naming `where`.
    """
    if raw is None:
        return DEFAULT_DISPOSITIONS
    section: Mapping[str, Any]
    if isinstance(raw, list):
        section = {"codes": raw}
    elif isinstance(raw, Mapping):
        section = raw
    else:
        raise ConfigError(f"{where}: dispositions must be a list of codes or a mapping with codes:")
    extra = sorted(set(section) - {"codes", "reasons", "max_callback_days"})
    if extra:
        raise ConfigError(f"{where}: dispositions.{extra[0]} is not a setting (codes, reasons, max_callback_days)")
    codes = section.get("codes", [s.code for s in _DEFAULT_SPECS])
    if not isinstance(codes, list) or not codes:
        raise ConfigError(f"{where}: dispositions.codes must be a non-empty list")
    specs = tuple(_parse_spec(item, f"{where}: dispositions.codes[{i}]") for i, item in enumerate(codes))
    reasons = DEFAULT_REASONS
    if "reasons" in section:
        reasons = parse_choices(section["reasons"], f"{where}: dispositions.reasons")
    days = section.get("max_callback_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise ConfigError(f"{where}: dispositions.max_callback_days must be a whole number of days, 1-365")
    try:
        return DispositionSet(specs, reasons, max_callback_days=days)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _parse_spec(item: object, where: str) -> DispositionSpec:
    if isinstance(item, str):
        item = {"code": item}
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: must be a code or a mapping with code, label, kind")
    extra = sorted(set(item) - {"code", "label", "kind", "key", "follow_up"})
    if extra:
        raise ConfigError(f"{where}: {extra[0]} is not a disposition setting (code, label, kind, key, follow_up)")
    code = item.get("code")
    if not isinstance(code, str) or not _is_code(code):
        raise ConfigError(f"{where}: code must be lowercase letters, digits, _ or - (got {code!r})")
    base = _DEFAULTS_BY_CODE.get(code)
    label = item.get("label", base.label if base else None)
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{where}: {code!r} is not a default code, so it needs a label")
    kind_raw = item.get("kind", base.kind.value if base else None)
    try:
        kind = DispositionKind(str(kind_raw))
    except ValueError:
        kinds = ", ".join(k.value for k in DispositionKind)
        raise ConfigError(f"{where}: kind {kind_raw!r} of {code!r} is not one of {kinds}") from None
    key = item.get("key", "")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    follow_up = item.get("follow_up")
    if follow_up is not None and (not isinstance(follow_up, str) or not _is_code(follow_up)):
        raise ConfigError(f"{where}: follow_up must be a campaign id")
    if follow_up is not None and kind is not K.AGREED:
        raise ConfigError(f"{where}: follow_up only applies to kind agreed, not {kind.value}")
    return DispositionSpec(code, label.strip(), kind, str(key), follow_up)


def parse_choices(raw: object, where: str) -> tuple[Choice, ...]:
    """A list of `{code, label}` mappings (or bare codes, labelled from the code)."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: must be a non-empty list of {{code, label}}")
    out: list[Choice] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"code": item, "label": item.replace("_", " ").capitalize()}
        if not isinstance(item, Mapping) or set(item) - {"code", "label"}:
            raise ConfigError(f"{where}[{i}]: must be a mapping with code and label only")
        code, label = item.get("code"), item.get("label")
        if not isinstance(code, str) or not _is_code(code):
            raise ConfigError(f"{where}[{i}]: code must be lowercase letters, digits, _ or - (got {code!r})")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{where}[{i}]: {code!r} needs a label")
        if any(c.code == code for c in out):
            raise ConfigError(f"{where}[{i}]: {code!r} is listed twice")
        out.append(Choice(code, label.strip()))
    return tuple(out)


def _is_code(text: str) -> bool:
    return 0 < len(text) <= 40 and all(ch.islower() or ch.isdigit() or ch in "_-" for ch in text) and text[0].isalnum()
